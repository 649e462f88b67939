"""Handling a request: the ladder and the whistle (吹哨报到), resolving, rejecting, and
closing the loop (rating, reopening).

Each service takes the request or its id, locks it through the actor's scope
(``common.locked``: missing or out of scope is 404), and takes its step through the
workflow table (``dispatch.workflow.WORKFLOW``): who, from which state and when are decided
there and nowhere else. Only the fields a step changes are written; notifications leave
after commit.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from django.db import transaction
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from tongxin.core import clock
from tongxin.core.actors import Actor, is_system
from tongxin.core.errors import Conflict, ValidationFailed
from tongxin.core.notify import notify
from tongxin.dispatch import rules
from tongxin.dispatch.models import DepartmentRole, Request, RequestDepartment
from tongxin.dispatch.services.common import (
    accept_due,
    ancestor_or_self_at,
    handlers_to_notify,
    link,
    locked,
    replace_departments,
    resolve_due,
    working_hours,
)
from tongxin.dispatch.workflow import WORKFLOW
from tongxin.grid.models import Department, Node
from tongxin.people.selectors import officers_of

RequestRef = Request | uuid.UUID | str


def _tell_reporter(request: Request, kind: str, subject, body=lambda: "") -> None:
    notify(recipients=[request.reporter] if request.reporter_id else [], kind=kind, subject=subject, body=body,
           link=link(request), object_id=str(request.pk))


def request_accept(*, actor: Actor, request: RequestRef, note: str = "") -> Request:
    """Accept (签收): the handling level, or a department called by the whistle, reports for duty.
    An officer whose departments only assist reports without changing the state."""
    with transaction.atomic():
        request = locked(actor, request)
        now = clock.now()
        mine = [d for d in rules.active_departments(request) if d.department_id in _departments_of(actor)]
        if rules.assists_only(actor, request):
            WORKFLOW.check(actor, request, "department_accept")
            fresh = [d for d in mine if d.accepted_at is None]
            _update_departments(fresh, now, accepted_at=now, accepted_by_id=getattr(actor, "pk", None))
            WORKFLOW.take(request, actor=actor, name="department_accept", note=note, checked=True)
            return request
        WORKFLOW.check(actor, request, "accept")
        _update_departments(mine, now, accepted_at=now, accepted_by_id=getattr(actor, "pk", None))
        due = request.accept_due
        lead = next((d for d in mine if d.role == DepartmentRole.LEAD), None)
        on_time = due is None or now <= due
        WORKFLOW.take(request, actor=actor, name="accept", note=note, checked=True, changes={
            "accepted_at": now, "resolve_due": lead.resolve_due if lead else resolve_due(request.category, now,
                                                                                             request.node_path),
            "accepted_on_time": on_time if request.accepted_on_time is None else request.accepted_on_time and on_time,
        })
        _tell_reporter(request, "request.accepted",
                       lambda: gettext("Your request %(number)s was accepted") % {"number": request.number})
    return request


def _update_departments(rows: list[RequestDepartment], now, **changes) -> None:
    """Change the departments of this round in one statement, and the loaded rows with them
    (the rules and the timeline read those)."""
    if not rows:
        return
    RequestDepartment.objects.filter(pk__in=[d.pk for d in rows]).update(updated_at=now, **changes)
    for d in rows:
        for key, value in changes.items():
            setattr(d, key, value)


def _departments_of(actor: Actor) -> set:
    from tongxin.people.scope import department_ids

    return department_ids(actor)


def request_start(*, actor: Actor, request: RequestRef, note: str = "") -> Request:
    with transaction.atomic():
        request = locked(actor, request)
        WORKFLOW.take(request, actor=actor, name="start", note=note)
    return request


def _next_level(request: Request) -> Node:
    """One rung up the ladder (``rules.next_level``); at the top, call departments instead."""
    target = rules.next_level(request)
    if target is None:
        raise Conflict(_("The request is already at the dispatch centre: call departments instead."),
                       code="top_of_ladder")
    return target


def request_escalate(*, actor: Actor, request: RequestRef, reason: str, departments: Sequence[Department] = (),
                     assisting: Sequence[Department] = ()) -> Request:
    """Blow the whistle (吹哨): to the next level up, or to a lead department with any
    assisting departments (连心共治). Departments must accept, then resolve, within the
    category's deadlines. The system actor escalates what is overdue (``auto_escalate``)."""
    automatic = is_system(actor)
    if not automatic and not (reason or "").strip():
        raise ValidationFailed(fields={"reason": [_("Say why the request is escalated.")]})
    lead = list(departments)
    if len(lead) > 1:
        raise ValidationFailed(fields={"departments": [_("Name one lead department; the others assist.")]})
    if assisting and not lead:
        raise ValidationFailed(fields={"departments": [_("Assisting departments need a lead department.")]})
    if lead and any(a.pk == lead[0].pk for a in assisting):
        raise ValidationFailed(fields={"assisting": [_("The lead department cannot also assist.")]})
    with transaction.atomic():
        request = locked(actor, request)
        action = "auto_escalate" if automatic else "escalate"
        WORKFLOW.check(actor, request, action)
        county = rules.county_of(request.node)
        for d in [*lead, *assisting]:
            if not county.path.startswith(d.node_path) and not d.node_path.startswith(county.path):
                raise ValidationFailed(fields={"departments": [_("The department is not in this county.")]})
        now = clock.now()
        previous_handlers = handlers_to_notify(request) if automatic else []
        new_accept_due = accept_due(request.category, now, request.urgency, request.node_path)
        late = {}
        if automatic:
            late["resolved_on_time" if request.state in rules.WORKING else "accepted_on_time"] = False
        target = county if lead else _next_level(request)
        _update_departments(rules.active_departments(request), now, active=False)
        rows = list(request.departments.all())
        if lead:
            due = resolve_due(request.category, new_accept_due, request.node_path)
            for d, role in [(lead[0], DepartmentRole.LEAD), *[(a, DepartmentRole.ASSIST) for a in assisting]]:
                rows.append(RequestDepartment.objects.create(request=request, department=d, role=role,
                                                             accept_due=new_accept_due, resolve_due=due))
        replace_departments(request, rows)
        WORKFLOW.take(request, actor=actor, name=action, note=reason or "", checked=True, changes={
            "handler_node": target, "handler_level": target.level, "accept_due": new_accept_due,
            "resolve_due": None, "escalations": request.escalations + 1, **late})
        new_handlers = handlers_to_notify(request)
        notify(recipients=new_handlers, kind="request.escalated",
               subject=lambda: gettext("Request %(number)s was escalated to you") % {"number": request.number},
               body=lambda: reason or "", link=link(request), object_id=str(request.pk))
        if assisting:
            # 连心共治: the assisting departments must report too; an officer of the lead
            # department already has the lead's message.
            leading = {r.pk for r in new_handlers}
            notify(recipients=[r for r in officers_of([d.pk for d in assisting]) if r.pk not in leading],
                   kind="request.assist",
                   subject=lambda: gettext("Request %(number)s: your department is asked to assist") % {
                       "number": request.number},
                   body=lambda: reason or "", link=link(request), object_id=str(request.pk))
        if automatic:
            notify(recipients=previous_handlers, kind="request.overdue",
                   subject=lambda: gettext("Request %(number)s was overdue and has gone up a level") % {
                       "number": request.number},
                   link=link(request), object_id=str(request.pk))
    return request


def request_resolve(*, actor: Actor, request: RequestRef, resolution: str) -> Request:
    if not (resolution or "").strip():
        raise ValidationFailed(fields={"resolution": [_("Say what was done.")]})
    with transaction.atomic():
        request = locked(actor, request)
        WORKFLOW.check(actor, request, "resolve")
        now = clock.now()
        on_time = request.resolve_due is None or now <= request.resolve_due
        WORKFLOW.take(request, actor=actor, name="resolve", note=resolution, checked=True, changes={
            "resolved_at": now, "resolution": resolution.strip(),
            "resolve_working_hours": working_hours(request.created_at, now, request.node_path),
            "resolved_on_time": on_time if request.resolved_on_time is None else request.resolved_on_time and on_time,
            "reopen_until": rules.reopen_until(now),
        })
        _tell_reporter(request, "request.resolved",
                       lambda: gettext("Your request %(number)s was resolved: please confirm and rate it") % {
                           "number": request.number}, body=lambda: resolution)
    return request


def request_reject(*, actor: Actor, request: RequestRef, reason: str) -> Request:
    if not (reason or "").strip():
        raise ValidationFailed(fields={"reason": [_("Say why the request is rejected.")]})
    with transaction.atomic():
        request = locked(actor, request)
        WORKFLOW.take(request, actor=actor, name="reject", note=reason,
                      changes={"closed_at": clock.now(), "resolution": reason.strip()})
        _tell_reporter(request, "request.rejected",
                       lambda: gettext("Your request %(number)s was not taken up") % {"number": request.number},
                       body=lambda: reason)
    return request


# --- closing the loop -------------------------------------------------------------------


def request_rate(*, actor: Actor, request: RequestRef, rating: int, comment: str = "") -> Request:
    """The reporter (or staff recording it with them) confirms the result and rates it on five
    levels. Whoever handled the request may not (``rules.is_reporter_side``); staff of the
    handler's side who took no step may record it, but it is kept as ``rating_by_handlers`` and
    left out of satisfaction (``rules.on_handling_side``)."""
    if not isinstance(rating, int) or isinstance(rating, bool) or not 1 <= rating <= 5:
        raise ValidationFailed(fields={"rating": [_("A rating is a whole number from 1 to 5.")]})
    with transaction.atomic():
        request = locked(actor, request)
        WORKFLOW.check(actor, request, "rate")
        WORKFLOW.take(request, actor=actor, name="rate", note=comment, checked=True, changes={
            "rating": rating, "rating_comment": (comment or "")[:500], "closed_at": clock.now(),
            "rating_by_handlers": rules.on_handling_side(actor, request)})
    return request


def request_reopen(*, actor: Actor, request: RequestRef, reason: str) -> Request:
    if not (reason or "").strip():
        raise ValidationFailed(fields={"reason": [_("Say why the request is reopened.")]})
    with transaction.atomic():
        request = locked(actor, request)
        WORKFLOW.check(actor, request, "reopen")
        now = clock.now()
        handler = ancestor_or_self_at(request.node, request.category.first_level)
        _update_departments(rules.active_departments(request), now, active=False)
        WORKFLOW.take(request, actor=actor, name="reopen", note=reason, checked=True, changes={
            "handler_node": handler, "handler_level": handler.level, "rating": None, "rating_comment": "",
            "rating_by_handlers": False, "closed_at": None, "resolved_at": None, "resolve_working_hours": None,
            "accept_due": accept_due(request.category, now, request.urgency, request.node_path), "resolve_due": None,
            "reopen_until": None})
        notify(recipients=handlers_to_notify(request), kind="request.reopened",
               subject=lambda: gettext("Request %(number)s was reopened") % {"number": request.number},
               body=lambda: reason, link=link(request), object_id=str(request.pk))
    return request
