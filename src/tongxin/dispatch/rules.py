"""Dispatch's rules, each in one place: which states are open, waiting or in work; who
handles a request now; who may handle it and who speaks for its reporter; the reopen
window; the departments a request may call.

Everything here reads only what the caller has loaded (the request with its departments
prefetched, the actor's assignments): no rule costs a query of its own, so the API, the
pages, Open311, the workflow table and the notifications can all ask it. The one exception
is ``handled_by``, which reads the request's timeline: one query (none when the timeline is
prefetched, as for the detail), asked only of someone who could otherwise rate or reopen.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db.models import Q

from tongxin.core import clock
from tongxin.core.actors import Actor
from tongxin.dispatch.models import (
    OPEN_STATES,
    WAITING,
    WORKING,
    DepartmentRole,
    Request,
    State,
    TimelineEntry,
)
from tongxin.grid.models import Department, Level, Node
from tongxin.grid.selectors import ancestor_at
from tongxin.people import scope

__all__ = ["FINISHED", "HANDLING_STEPS", "OPEN_STATES", "WAITING", "WORKING"]


def active_departments(request: Request) -> list:
    """The departments called in the current round (going up a level or reopening releases them)."""
    return [d for d in request.departments.all() if d.active]


def lead_departments(request: Request) -> list:
    """The departments that hold the request now: the active lead (or, without one, every active one)."""
    active = active_departments(request)
    return [d for d in active if d.role == DepartmentRole.LEAD] or active


def current_handlers(request: Request) -> list:
    """Who handles the request now (or handled it, once it is resolved, rejected or closed):
    the departments that hold it, or else its handling node. The one answer for the API's
    ``handler_name``, the pages, Open311's ``agency_responsible``, the timeline and the
    notifications."""
    departments = lead_departments(request)
    if departments:
        return [d.department for d in departments]
    return [request.handler_node]


def handler_name(request: Request, separator: str = "、") -> str:
    """``current_handlers`` by name, in the active language."""
    return separator.join(h.name for h in current_handlers(request))


def county_of(node: Node) -> Node:
    return ancestor_at(node, Level.COUNTY) or node


def next_level(request: Request) -> Node | None:
    """Where "the next level up" takes a request: from departments back to the county's
    dispatch centre; from a node to its parent (a unit's request climbs past its grid, which
    shares the unit's workers); None at the top of the ladder. The service escalates there
    and the escalate form names it."""
    if active_departments(request) and request.state in WORKING + (State.ESCALATED,):
        return county_of(request.node)
    node = request.handler_node
    if node.level in (Level.COUNTY, Level.PREFECTURE, Level.REGION) or node.parent_id is None:
        return None
    parent = node.parent
    while parent.level in (Level.UNIT, Level.GRID) and node.level == Level.UNIT and parent.parent_id:
        node, parent = parent, parent.parent
    return parent


def reopen_until(resolved_at: dt.datetime) -> dt.datetime:
    """Until when a request resolved at ``resolved_at`` may be reopened by its reporter."""
    return resolved_at + dt.timedelta(days=settings.REOPEN_DAYS)


def may_still_reopen(request: Request, now: dt.datetime | None = None) -> bool:
    return request.reopen_until is not None and (now or clock.now()) <= request.reopen_until


# --- who ------------------------------------------------------------------------------


def may_handle(actor: Actor, request: Request) -> bool:
    """Handling belongs to the current handler: officers of the departments that hold the
    request, with the dispatch centre above able to step in; else staff at or above the
    handling node."""
    holding = {d.department_id for d in active_departments(request) if d.role == DepartmentRole.LEAD}
    if holding & scope.department_ids(actor):
        return True
    if holding:
        return scope.allows_at(actor, "request.handle", request.node_path, roles=scope.DISPATCH_CENTRE)
    return scope.allows_at(actor, "request.handle", request.handler_node.path)


def assisting_waits(actor: Actor, request: Request) -> bool:
    """The actor is an officer of an assisting department called in this round, which has
    not reported for duty yet."""
    mine = scope.department_ids(actor)
    return any(d.role == DepartmentRole.ASSIST and d.department_id in mine and d.accepted_at is None
               for d in active_departments(request))


def assists_only(actor: Actor, request: Request) -> bool:
    """All of the actor's departments in this round assist (none leads): their ``accept`` is a
    report for duty that leaves the state as it is."""
    mine = [d for d in active_departments(request) if d.department_id in scope.department_ids(actor)]
    return bool(mine) and all(d.role == DepartmentRole.ASSIST for d in mine)


# The steps of the workflow that handle a request (every step a person takes but the
# reporter's side's own ``rate`` and ``reopen``): whoever took one of them handled it.
HANDLING_STEPS = frozenset({"accept", "department_accept", "start", "escalate", "resolve", "reject"})


def handled_by(actor: Actor, request: Request) -> bool:
    """The actor took a handling step on this request (``HANDLING_STEPS``, by its timeline): an
    acceptance, a report for duty, a start, an escalation, a resolution or a rejection.

    Read from the prefetched timeline when the caller loaded it (the detail), else with one
    query, whose answer the object keeps as it keeps the rest of what was loaded."""
    pk = getattr(actor, "pk", None)
    if pk is None:
        return False  # the system actor (jobs) and nobody handle nothing in person
    known = request.__dict__.setdefault("_handled_by", {})
    if pk not in known:
        timeline = getattr(request, "_prefetched_objects_cache", {}).get("timeline")
        if timeline is not None:
            known[pk] = any(e.actor_id == pk and e.action in HANDLING_STEPS for e in timeline)
        else:
            known[pk] = TimelineEntry.objects.filter(request_id=request.pk, actor_id=pk,
                                                     action__in=HANDLING_STEPS).exists()
    return known[pk]


def preload_handled_by(actor: Actor, requests) -> None:
    """``handled_by`` for a whole list of requests in one query (a list page that shows each
    row's actions would otherwise ask once per resolved row)."""
    pk = getattr(actor, "pk", None)
    wanted = [r for r in requests if pk is not None and pk not in r.__dict__.get("_handled_by", {})]
    if not wanted:
        return
    handled = set(TimelineEntry.objects.filter(request_id__in=[r.pk for r in wanted], actor_id=pk,
                                               action__in=HANDLING_STEPS).values_list("request_id", flat=True))
    for r in wanted:
        r.__dict__.setdefault("_handled_by", {})[pk] = r.pk in handled


def is_reporter_side(actor: Actor, request: Request) -> bool:
    """The reporter themself, their household's account, or staff who may handle requests where
    it was filed (recording for the resident) — but never whoever handled it, not even a
    reporter who handled their own request: a handler does not rate their own work."""
    if not (speaks_for_reporter(actor, request) or scope.allows_at(actor, "request.handle", request.node_path)):
        return False
    return not handled_by(actor, request)


def on_handling_side(actor: Actor, request: Request) -> bool:
    """Staff of the handler's side (never the reporter or their household's account): an
    officer of a department that held the request as lead in any round, or staff whose scope
    reaches its handling node. A rating they record is kept but not counted in satisfaction
    (``Request.rating_by_handlers``)."""
    if speaks_for_reporter(actor, request):
        return False
    held = {d.department_id for d in request.departments.all() if d.role == DepartmentRole.LEAD}
    if held & scope.department_ids(actor):
        return True
    return scope.allows_at(actor, "request.handle", request.handler_node.path)


def speaks_for_reporter(actor: Actor, request: Request) -> bool:
    """The reporter themself, or their household's account (never staff)."""
    if request.reporter_id and getattr(actor, "pk", None) == request.reporter_id:
        return True
    return bool(request.household_id) and scope.speaks_for_household(actor, request.household_id)


def may_publish(actor: Actor, request: Request) -> bool:
    """Who may approve the public description of a request (the only text of it the public
    feed shows): its reporter's side, or whoever may handle it now."""
    return speaks_for_reporter(actor, request) or may_handle(actor, request)


def sees_household_contact(actor: Actor, request: Request) -> bool:
    """吹哨报到: an officer of a department called to the request in this round reaches the
    household (its address and phone on the request's page and in the inbox), though the
    registry is not theirs to read; staff of the place read it on the household's own page."""
    return bool(request.household_id) and bool(
        scope.department_ids(actor) & {d.department_id for d in active_departments(request)})


# States in which a request takes no more photos.
FINISHED = (State.CLOSED, State.REJECTED)


def may_attach(actor: Actor, request: Request) -> bool:
    """Who may attach a photo: whoever may handle the request or a department called to it in
    this round, and those who may file requests where it was filed (a resident only to their
    own). Seeing a request (a leader following the figures, say) is not enough."""
    if may_handle(actor, request):
        return True
    if scope.department_ids(actor) & {d.department_id for d in active_departments(request)}:
        return True
    if not scope.may(actor, "request.file"):
        return False
    return speaks_for_reporter(actor, request) or scope.allows_at(actor, "request.file", request.node_path)


# --- departments ----------------------------------------------------------------------


def callable_departments(node: Node) -> dict[str, Department]:
    """The departments a request at ``node`` may call, by code: those of its county, and of its
    townships where the county has none of that code. Departments are the government's own
    structure, not anyone's personal data."""
    county = county_of(node)
    found: dict[str, Department] = {}
    for d in Department.objects.filter(node_path__startswith=county.path).order_by("node_path", "code"):
        found.setdefault(d.code, d)
    return found


def departments_near(actor: Actor) -> Q:
    """Departments at or above the actor's part of the network (those their requests may reach),
    or the officer's own department: the choices of a department filter."""
    q = Q(pk__in=list(scope.department_ids(actor)))
    for path in scope.node_paths(actor):
        parts = path.strip("/").split("/")
        ancestors = ["/" + "/".join(parts[: i + 1]) + "/" for i in range(len(parts))]
        q |= Q(node_path__in=ancestors) | Q(node_path__startswith=path)
    return q
