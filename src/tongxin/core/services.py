"""Writes to the shared kernel: the official calendar, reading one's notifications, and the audit
administrator's checkpoints of the audit log."""

from __future__ import annotations

import datetime as dt

from django.apps import apps
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from tongxin.core import audit, calendar, clock
from tongxin.core.access import restrict, scope_roots, user_can
from tongxin.core.actors import is_system
from tongxin.core.errors import NotFound, PermissionDenied, ValidationFailed
from tongxin.core.models import AuditHead, CalendarDay, Notification
from tongxin.core.types import Actor


def calendar_year_set(*, actor: Actor, year: int, days: list[tuple[dt.date, bool, str]], region: str = "") -> int:
    """Enter a year's official schedule (the State Council's notice): holidays and make-up
    working days; with a ``region`` (a node code prefix, "54" for Tibet), that region's own
    days over the national ones (Losar, the Shoton festival). Replaces that year's earlier
    entries for the same region; dates outside the year are refused."""
    if not user_can(actor, "calendar.change"):
        raise PermissionDenied()
    if not 2000 <= year <= 2100:
        raise ValidationFailed(fields={"year": [_("Choose a year between 2000 and 2100.")]})
    region = (region or "").strip()
    if region and not _region_known(region):
        raise ValidationFailed(fields={"region": [_(
            "No place in the network has a code that starts with %(region)s.") % {"region": region[:18]}]})
    outside = [d.isoformat() for d, _w, _n in days if d.year != year]
    if outside:
        raise ValidationFailed(fields={"days": [_("These dates are not in %(year)d: %(dates)s") % {
            "year": year, "dates": ", ".join(outside[:10])}]})
    if len({d for d, _w, _n in days}) != len(days):
        raise ValidationFailed(fields={"days": [_("A date appears twice.")]})
    with transaction.atomic():
        entered = CalendarDay.objects.filter(date__year=year, region=region)
        before = {"entries": entered.count(), **({"region": region} if region else {})}
        entered.delete()
        CalendarDay.objects.bulk_create([CalendarDay(date=d, region=region, is_working_day=w, name=(n or "")[:100],
                                                     updated_at=clock.now()) for d, w, n in days])
        # bulk_create sends no signal: every process's calendar forgets (now and on commit).
        calendar.entries_changed()
        audit.record(action="calendar.set_year", actor=actor, object_type="core.calendarday",
                     object_id=f"{year}/{region}" if region else str(year),
                     before=before, after={"entries": len(days), **({"region": region} if region else {})})
    return len(days)


def _region_known(region: str) -> bool:
    """A region is a prefix of some node's code (national division codes: "54" Tibet, "540230" Kangma)."""
    if not region.isdigit() or len(region) > 18:
        return False
    # The network's table through the registry: the kernel imports no app.
    Node = apps.get_model("grid", "Node")
    return Node.objects.filter(code__startswith=region).exists()


def notification_read(*, actor: Actor, notification_id: int) -> Notification:
    with transaction.atomic():
        notification = (Notification.objects.select_for_update()
                        .filter(pk=notification_id, recipient_id=actor.pk).first())
        if notification is None:
            raise NotFound()
        if notification.read_at is None:
            notification.read_at = clock.now()
            notification.save(update_fields=["read_at"])
    return notification


def notifications_read(*, actor: Actor, ids: list[int] | None = None) -> int:
    """Mark the actor's own unread notifications read: those ``ids``, or all of them. Like
    ``notification_read``, a reader's own inbox is not a record of anyone's data: not audited."""
    unread = Notification.objects.filter(recipient_id=getattr(actor, "pk", None), read_at__isnull=True)
    if ids is not None:
        unread = unread.filter(pk__in=ids)
    with transaction.atomic():
        return unread.update(read_at=clock.now())


def audit_checkpoint_take(*, actor: Actor) -> dict:
    """A signed checkpoint of the audit chains in the actor's ``audit.view`` scope (every chain
    for the system actor: the command line), after chaining every entry committed so far.

    The audit administrator keeps it outside the database (printed, downloaded, written to a
    file); ``tongxin audit verify --checkpoint FILE`` later proves that the log still extends
    it. Taking one is itself audited, at the taker's place."""
    if not user_can(actor, "audit.view"):
        raise NotFound()
    audit.seal()  # every chain committed so far has its head, in scope or not
    chains = None if is_system(actor) else list(
        restrict(AuditHead.objects.all(), actor, "audit.view").values_list("chain", flat=True))
    body = audit.checkpoint_body(chains=chains, taken_by=getattr(actor, "username", "") or "system")
    roots = [] if is_system(actor) else scope_roots(actor, "audit.view")
    with transaction.atomic():
        audit.record(action="audit.checkpoint", actor=actor, node_path=roots[0] if roots else "",
                     object_type="core.auditcheckpoint", object_id=body["signature"][:16],
                     after={"chains": {c: v["seq"] for c, v in body["chains"].items()}})
    return body
