"""Dispatch's periodic work: overdue requests go up a level by themselves, resolved ones
nobody rated close by themselves. Both act as the system actor, and both are safe to run
twice: each request is checked again under its row lock before anything is written."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils.translation import gettext

from tongxin.core import clock
from tongxin.core.actors import SYSTEM
from tongxin.core.errors import Conflict
from tongxin.core.notify import notify
from tongxin.dispatch import rules
from tongxin.dispatch.models import Request, State
from tongxin.dispatch.services.common import handlers_to_notify, link, locked
from tongxin.dispatch.services.handling import request_escalate
from tongxin.dispatch.workflow import WORKFLOW


def _still_overdue(pk, now: dt.datetime) -> bool:
    """Locks the request's row and reads its deadline afresh: another worker may have escalated
    it since the list of overdue requests was read."""
    request = (Request.objects.select_for_update().only("state", "accept_due", "resolve_due")
               .filter(pk=pk).first())
    return request is not None and request.due is not None and request.due < now


def escalate_overdue(*, now: dt.datetime | None = None) -> list[Request]:
    """Requests whose acceptance or resolution deadline has passed go up one level by
    themselves; both sides are told. Safe to run twice, and beside another worker: a request
    another run escalated first has new deadlines, seen under the lock, and is left alone."""
    now = now or clock.now()
    waiting = Request.objects.filter(state__in=rules.WAITING, accept_due__lt=now)
    working = Request.objects.filter(state__in=rules.WORKING, resolve_due__lt=now)
    done = []
    for pk in (list(waiting.order_by("accept_due").values_list("pk", flat=True)[:1000])
               + list(working.order_by("resolve_due").values_list("pk", flat=True)[:1000])):
        with transaction.atomic():
            if not _still_overdue(pk, now):
                continue
            try:
                done.append(request_escalate(actor=SYSTEM, request=pk, reason=gettext("Deadline passed.")))
            except Conflict:
                _flag_overdue_at_top(locked(SYSTEM, pk), now)
    return done


def _flag_overdue_at_top(request: Request, now: dt.datetime) -> None:
    """At the dispatch centre there is no level above: tell the dispatch officers once per deadline."""
    due = request.due
    if due is None or due >= now or request.timeline.filter(action="overdue", at__gte=due).exists():
        return
    WORKFLOW.step(request, actor=SYSTEM, action="overdue", note=str(due), audited=True)
    notify(recipients=handlers_to_notify(request), kind="request.overdue",
           subject=lambda: gettext("Request %(number)s is overdue at the dispatch centre") % {
               "number": request.number},
           link=link(request), object_id=str(request.pk))


def close_unrated(*, now: dt.datetime | None = None) -> list[Request]:
    """Resolved requests nobody rated or reopened in time close by themselves."""
    now = now or clock.now()
    closed = []
    for pk in Request.objects.filter(state=State.RESOLVED, reopen_until__lt=now).order_by(
            "reopen_until").values_list("pk", flat=True)[:2000]:
        with transaction.atomic():
            request = locked(SYSTEM, pk)
            if request.state != State.RESOLVED or request.reopen_until is None or request.reopen_until >= now:
                continue
            WORKFLOW.take(request, actor=SYSTEM, name="auto_close", changes={"closed_at": now})
            closed.append(request)
    return closed
