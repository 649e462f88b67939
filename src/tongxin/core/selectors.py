"""Reads of the shared kernel: the audit log, for the audit administrator, and one's own
notifications (a recipient sees only their own: another's is "not found").

Rule: audit entries are scoped like every other record. An entry is visible when its
``node_path`` lies under one of the actor's ``audit.view`` scope roots; entries that
belong to no node (logins, accounts) are visible only to an audit administrator whose
scope root is a root node of the network (depth 1).
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Q
from django.utils import timezone

from tongxin.core.access import restrict, user_can
from tongxin.core.errors import NotFound
from tongxin.core.models import AuditEntry, Notification
from tongxin.core.types import Actor


def _start_of(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def audit_list(*, actor: Actor, action: str = "", actor_name: str = "", object_id: str = "",
               since: dt.date | None = None, until: dt.date | None = None):
    """Audit entries in the actor's ``audit.view`` scope, newest first.

    ``action`` is one action's name, or a family ending in a dot (``resident.`` finds every
    resident action); ``actor_name``
    matches part of the user name or full name; ``since`` and ``until`` are whole local days.
    A user without ``audit.view`` gets NotFound, like any record outside scope.
    """
    if not user_can(actor, "audit.view"):
        raise NotFound()
    qs = restrict(AuditEntry.objects.all(), actor, "audit.view")
    action = action.strip()
    if action.endswith("."):
        qs = qs.filter(action__startswith=action)
    elif action:
        qs = qs.filter(action=action)
    if actor_name:
        name = actor_name.strip()
        qs = qs.filter(Q(actor_name__icontains=name) | Q(actor__full_name__icontains=name))
    if object_id:
        qs = qs.filter(object_id=object_id.strip())
    if since:
        qs = qs.filter(created_at__gte=_start_of(since))
    if until:
        qs = qs.filter(created_at__lt=_start_of(until + dt.timedelta(days=1)))
    return qs.select_related("actor").order_by("-created_at", "-id")


def notification_list(*, actor: Actor):
    """The actor's own notifications, newest first."""
    return Notification.objects.filter(recipient_id=getattr(actor, "pk", None)).order_by("-created_at", "-id")


def notification_get(*, actor: Actor, notification_id: int) -> Notification:
    notification = notification_list(actor=actor).filter(pk=notification_id).first()
    if notification is None:
        raise NotFound()
    return notification


def unread_notifications(*, actor: Actor) -> int:
    """How many of the actor's notifications are unread (one indexed count)."""
    return Notification.objects.filter(recipient_id=getattr(actor, "pk", None), read_at__isnull=True).count()

