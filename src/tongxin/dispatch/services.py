"""Writes about requests: filing, the ladder and the whistle, closing the loop, visits, jobs.

Every service takes the acting user, checks scope and permission first, runs in one
transaction, changes state only through ``dispatch.workflow``, and sends notifications
after commit.
"""

from __future__ import annotations

import datetime as dt
import io
import uuid
from collections.abc import Sequence

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from tongxin.core import audit, calendar, clock
from tongxin.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from tongxin.core.notify import Recipient, notify
from tongxin.core.rows import insert
from tongxin.dispatch import workflow
from tongxin.dispatch.models import (
    Attachment,
    Category,
    DepartmentRole,
    ReporterKind,
    Request,
    RequestDepartment,
    State,
    TimeUnit,
    Urgency,
    Visit,
    VisitRound,
)
from tongxin.grid.models import LEVEL_ORDER, Department, Level, Node
from tongxin.grid.selectors import ancestor_at
from tongxin.people.permissions import user_can
from tongxin.people.roles import Role
from tongxin.people.scope import allows_at, assignments
from tongxin.people.selectors import officers_of, staff_at
from tongxin.registry.models import Household

# Roles that handle requests at each level of the ladder.
HANDLERS_AT = {
    Level.UNIT: [Role.GRID_WORKER, Role.GRID_LEADER],
    Level.GRID: [Role.GRID_WORKER, Role.GRID_LEADER],
    Level.VILLAGE: [Role.VILLAGE_STAFF],
    Level.TOWNSHIP: [Role.TOWNSHIP_STAFF],
    Level.COUNTY: [Role.DISPATCH_OFFICER],
}
MAX_PHOTO_BYTES = 5 * 1024 * 1024
NUMBER_ATTEMPTS = 5  # draws of a request number's random part before giving up
PHOTO_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}


def _deadline(start: dt.datetime, amount: int, unit: str) -> dt.datetime:
    if unit == TimeUnit.HOURS:
        return calendar.add_working_hours(start, amount)
    return calendar.add_working_days(start, amount)


def _accept_due(category: Category, start: dt.datetime, urgency: str) -> dt.datetime:
    amount = category.accept_within
    if urgency == Urgency.URGENT and category.accept_unit == TimeUnit.HOURS:
        amount = max(1, amount // 2)
    return _deadline(start, amount, category.accept_unit)


def _resolve_due(category: Category, start: dt.datetime) -> dt.datetime:
    return _deadline(start, category.resolve_within, category.resolve_unit)


def _ancestor_at(node: Node, level: str) -> Node:
    """The node's ancestor (or itself) at ``level``; the node itself when it is above that level."""
    if LEVEL_ORDER.index(Level(node.level)) <= LEVEL_ORDER.index(Level(level)):
        return node
    return ancestor_at(node, level) or node


def county_of(node: Node) -> Node:
    return ancestor_at(node, Level.COUNTY) or node


def _lock(request: Request) -> Request:
    return (Request.objects.select_for_update().select_related("category", "handler_node", "node")
            .get(pk=request.pk))


def working_hours(start: dt.datetime, end: dt.datetime) -> float:
    """Office hours between two moments (working days and sessions of the official calendar)."""
    return round(calendar.working_time_between(start, end).total_seconds() / 3600, 4)


def _number(node: Node, moment: dt.datetime) -> str:
    county = node.county_code if node.county_code != "_" else node.code[:6]
    return f"{county}-{moment.strftime('%y%m%d')}-{uuid.uuid4().hex[:6].upper()}"


def _handlers(request: Request) -> list[Recipient]:
    """The people who handle the request now: officers of its active lead departments, or
    the staff at its handling node."""
    departments = [d.department_id for d in request.departments.all() if d.active and d.role == DepartmentRole.LEAD]
    if departments and request.state in (State.ESCALATED, State.ACCEPTED, State.IN_PROGRESS):
        return officers_of(departments)
    return staff_at(request.handler_node_id, HANDLERS_AT.get(Level(request.handler_level), []))


def is_reporter_side(actor, request: Request) -> bool:
    """The reporter themself, or a grid worker who may handle it (recording for the resident)."""
    if request.reporter_id and getattr(actor, "pk", None) == request.reporter_id:
        return True
    if any(a.role == Role.RESIDENT for a in assignments(actor)) and request.household_id and \
            getattr(actor, "household_id", None) == request.household_id:
        return True
    return allows_at(actor, "request.handle", request.node_path)


def may_handle(actor, request: Request) -> bool:
    """Handling belongs to the current handler: lead department officers while departments
    hold it, else staff at or above the handling node."""
    active_leads = [d.department_id for d in request.departments.all() if d.active and d.role == DepartmentRole.LEAD]
    for a in assignments(actor):
        if a.role == Role.DEPARTMENT_OFFICER and a.department_id in active_leads:
            return True
    if active_leads and request.state in (State.ESCALATED, State.ACCEPTED, State.IN_PROGRESS):
        # With departments on it, only the dispatch centre above may step in.
        return any(a.role == Role.DISPATCH_OFFICER and request.node_path.startswith(a.node_path)
                   for a in assignments(actor))
    return allows_at(actor, "request.handle", request.handler_node.path)


def _visible(actor, request: Request, action: str = "request.view") -> None:
    if not Request.objects.visible_to(actor, action).filter(pk=request.pk).exists():
        raise NotFound()


# --- filing -----------------------------------------------------------------------------


def request_file(*, actor, category: Category, node: Node, description: str, lat: float | None = None,
                 lon: float | None = None, household: Household | None = None,
                 reporter_kind: str = ReporterKind.RESIDENT, urgency: str = Urgency.NORMAL,
                 client_id: uuid.UUID | None = None) -> tuple[Request, bool]:
    """File a request. A retry with the same ``client_id`` returns the first one: (request, created)."""
    if client_id is not None:
        existing = Request.objects.filter(pk=client_id).first()
        if existing is not None:
            if existing.reporter_id != getattr(actor, "pk", None):
                raise Conflict(_("This id is already used by another request."), code="id_taken")
            return existing, False
    if not user_can(actor, "request.file"):
        raise PermissionDenied()
    is_resident = any(a.role == Role.RESIDENT for a in assignments(actor)) and not any(
        a.role != Role.RESIDENT for a in assignments(actor))
    if is_resident:
        own = Household.objects.filter(pk=actor.household_id).first()
        if own is None:
            raise ValidationFailed(fields={"household": [_("Your account is not linked to a household.")]})
        household = household or own
        if household.pk != own.pk:
            raise NotFound()
        if not own.node_path.startswith(node.path):
            node = own.node  # a resident reports where they live, or somewhere above it
    elif not allows_at(actor, "request.file", node.path):
        raise NotFound()
    if household is not None and not household.node_path.startswith(node.path) and not node.path.startswith(
            household.node_path):
        raise ValidationFailed(fields={"household": [_("The household is not at this place.")]})
    errors = {}
    if not category.active:
        errors["category"] = [_("This category is not in use.")]
    if not (description or "").strip():
        errors["description"] = [_("Please describe the need.")]
    if len(description or "") > 4000:
        errors["description"] = [_("The description is too long (4,000 characters at most).")]
    if reporter_kind not in ReporterKind.values:
        errors["reporter_kind"] = [_("Unknown reporter kind.")]
    if urgency not in Urgency.values:
        errors["urgency"] = [_("Unknown urgency.")]
    if lat is not None and not -90 <= lat <= 90:
        errors["lat"] = [_("Latitude is between -90 and 90.")]
    if lon is not None and not -180 <= lon <= 180:
        errors["lon"] = [_("Longitude is between -180 and 180.")]
    if node.level in (Level.REGION, Level.PREFECTURE):
        errors["node"] = [_("A request belongs to a place in a county.")]
    if errors:
        raise ValidationFailed(fields=errors)
    now = clock.now()
    handler = _ancestor_at(node, category.first_level)
    fields = dict(
        category=category, description=description.strip(), lat=lat, lon=lon,
        household=household, reporter=actor if getattr(actor, "pk", None) else None, reporter_kind=reporter_kind,
        urgency=urgency, node=node, node_path=node.path, handler_node=handler, handler_level=handler.level,
        accept_due=_accept_due(category, now, urgency), state=State.REPORTED)
    if client_id is not None:
        fields["id"] = client_id
    # Read before the transaction, where the staff cache may answer (core/refcache.py).
    staff = staff_at(handler.pk, HANDLERS_AT.get(Level(handler.level), []))
    for attempt in range(1, NUMBER_ATTEMPTS + 1):
        # The number's random part may, rarely, repeat one already given: then draw again.
        fields["number"] = _number(node, now)
        try:
            with transaction.atomic():
                request = insert(Request(**fields))
                entry = workflow.timeline_step(request, actor=actor, action="file", from_state="", note="",
                                               handler=workflow.names_of(handler))
                notify(recipients=staff, kind="request.new",
                       subject=lambda: gettext("New request %(number)s: %(category)s") % {
                           "number": request.number, "category": category.name},
                       link=f"/dispatch/requests/{request.pk}/", object_id=str(request.pk))
                # Last write of the transaction: the county's audit chain stays locked only until commit.
                audit.record(action="request.file", actor=actor, obj=request)
                # What the caller shows next is known already: no need to read it back.
                request._prefetched_objects_cache = {"timeline": [entry], "departments": [], "attachments": []}
            break
        except IntegrityError:
            if client_id is not None:  # a concurrent retry won the race
                existing = Request.objects.filter(pk=client_id).first()
                if existing is not None:
                    return existing, False
            if attempt == NUMBER_ATTEMPTS or not Request.objects.filter(number=fields["number"]).exists():
                raise
    return request, True


# --- the ladder and the whistle ---------------------------------------------------------


def request_accept(*, actor, request: Request, note: str = "") -> Request:
    """Accept (签收): the handling level, or a department called by the whistle, reports for duty."""
    _visible(actor, request)
    with transaction.atomic():
        request = _lock(request)
        now = clock.now()
        mine = [d for d in request.departments.select_for_update() if d.active and any(
            a.role == Role.DEPARTMENT_OFFICER and a.department_id == d.department_id for a in assignments(actor))]
        if mine and all(d.role == DepartmentRole.ASSIST for d in mine):
            # An assisting department reports without changing the request's state, while
            # departments hold it; a resolved, closed or rejected request is a 409.
            if request.state not in (State.ESCALATED, State.ACCEPTED, State.IN_PROGRESS):
                workflow.guard(request, "accept")
            fresh = [d for d in mine if d.accepted_at is None]
            if not fresh:
                raise Conflict(_("Your department has already accepted this request."), code="already_accepted")
            for d in fresh:
                d.accepted_at, d.accepted_by = now, actor
                d.save()
            workflow.note(request, actor=actor, action="department_accept", note=note)
            return request
        if not may_handle(actor, request):
            raise PermissionDenied(_("This request is handled by someone else now."))
        workflow.guard(request, "accept")
        for d in mine:
            d.accepted_at, d.accepted_by = now, actor
            d.save()
        due = request.accept_due
        lead = next((d for d in mine if d.role == DepartmentRole.LEAD), None)
        resolve_due = lead.resolve_due if lead else _resolve_due(request.category, now)
        on_time = due is None or now <= due
        workflow.transition(request, actor=actor, action="accept", note=note, changes={
            "accepted_at": now, "resolve_due": resolve_due,
            "accepted_on_time": on_time if request.accepted_on_time is None else request.accepted_on_time and on_time,
        })
        reporter = [request.reporter] if request.reporter_id else []
        notify(recipients=reporter, kind="request.accepted",
               subject=lambda: gettext("Your request %(number)s was accepted") % {"number": request.number},
               link=f"/dispatch/requests/{request.pk}/", object_id=str(request.pk))
    return request


def request_start(*, actor, request: Request, note: str = "") -> Request:
    _visible(actor, request)
    with transaction.atomic():
        request = _lock(request)
        if not may_handle(actor, request):
            raise PermissionDenied(_("This request is handled by someone else now."))
        workflow.transition(request, actor=actor, action="start", note=note)
    return request


def _next_level(request: Request) -> Node:
    """One rung up the ladder: from departments to the county's dispatch centre; from a node to its parent."""
    active = [d for d in request.departments.all() if d.active]
    if active and request.state in (State.ESCALATED, State.ACCEPTED, State.IN_PROGRESS):
        return county_of(request.node)
    node = request.handler_node
    if node.level in (Level.COUNTY, Level.PREFECTURE, Level.REGION) or node.parent_id is None:
        raise Conflict(_("The request is already at the dispatch centre: call departments instead."),
                       code="top_of_ladder")
    parent = node.parent
    # Unit and grid share the grid's workers: a unit's request climbs to the village.
    while parent.level in (Level.UNIT, Level.GRID) and node.level == Level.UNIT and parent.parent_id:
        node, parent = parent, parent.parent
    return parent


def request_escalate(*, actor, request: Request, reason: str, departments: Sequence[Department] = (),
                     assisting: Sequence[Department] = (), automatic: bool = False) -> Request:
    """Blow the whistle (吹哨): to the next level up, or to a lead department with any
    assisting departments (连心共治). Departments must accept, then resolve, within the
    category's deadlines."""
    if not automatic:
        _visible(actor, request)
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
        request = _lock(request)
        if not automatic and not may_handle(actor, request):
            raise PermissionDenied(_("This request is handled by someone else now."))
        action = "auto_escalate" if automatic else "escalate"
        workflow.guard(request, action)
        county = county_of(request.node)
        for d in [*lead, *assisting]:
            if not county.path.startswith(d.node_path) and not d.node_path.startswith(county.path):
                raise ValidationFailed(fields={"departments": [_("The department is not in this county.")]})
        now = clock.now()
        previous_handlers = _handlers(request)
        accept_due = _accept_due(request.category, now, request.urgency)
        late = {}
        if automatic:
            if request.state in (State.ACCEPTED, State.IN_PROGRESS):
                late["resolved_on_time"] = False
            else:
                late["accepted_on_time"] = False
        if lead:
            request.departments.filter(active=True).update(active=False, updated_at=now)
            resolve_due = _resolve_due(request.category, accept_due)
            for d, role in [(lead[0], DepartmentRole.LEAD), *[(a, DepartmentRole.ASSIST) for a in assisting]]:
                RequestDepartment.objects.create(request=request, department=d, role=role, accept_due=accept_due,
                                                 resolve_due=resolve_due)
            changes = {"handler_node": county, "handler_level": county.level}
        else:
            target = _next_level(request)
            request.departments.filter(active=True).update(active=False, updated_at=now)
            changes = {"handler_node": target, "handler_level": target.level}
        changes.update(accept_due=accept_due, resolve_due=None, escalations=request.escalations + 1, **late)
        workflow.transition(request, actor=None if automatic else actor, action=action,
                            note=reason or "", changes=changes)
        request = Request.objects.select_related("handler_node", "category").get(pk=request.pk)
        new_handlers = _handlers(request)
        notify(recipients=new_handlers, kind="request.escalated",
               subject=lambda: gettext("Request %(number)s was escalated to you") % {"number": request.number},
               body=lambda: reason or "", link=f"/dispatch/requests/{request.pk}/", object_id=str(request.pk))
        if assisting:
            # 连心共治: the assisting departments must report too; an officer of the lead
            # department already has the lead's message.
            leading = {r.pk for r in new_handlers}
            notify(recipients=[r for r in officers_of([d.pk for d in assisting]) if r.pk not in leading],
                   kind="request.assist",
                   subject=lambda: gettext("Request %(number)s: your department is asked to assist") % {
                       "number": request.number},
                   body=lambda: reason or "", link=f"/dispatch/requests/{request.pk}/", object_id=str(request.pk))
        if automatic:
            notify(recipients=previous_handlers, kind="request.overdue",
                   subject=lambda: gettext("Request %(number)s was overdue and has gone up a level") % {
                       "number": request.number},
                   link=f"/dispatch/requests/{request.pk}/", object_id=str(request.pk))
    return request


def request_resolve(*, actor, request: Request, resolution: str) -> Request:
    _visible(actor, request)
    if not (resolution or "").strip():
        raise ValidationFailed(fields={"resolution": [_("Say what was done.")]})
    with transaction.atomic():
        request = _lock(request)
        if not may_handle(actor, request):
            raise PermissionDenied(_("This request is handled by someone else now."))
        now = clock.now()
        on_time = request.resolve_due is None or now <= request.resolve_due
        workflow.transition(request, actor=actor, action="resolve", note=resolution, changes={
            "resolved_at": now, "resolution": resolution.strip(),
            "resolve_working_hours": working_hours(request.created_at, now),
            "resolved_on_time": on_time if request.resolved_on_time is None else request.resolved_on_time and on_time,
            "reopen_until": now + dt.timedelta(days=settings.REOPEN_DAYS),
        })
        reporter = [request.reporter] if request.reporter_id else []
        notify(recipients=reporter, kind="request.resolved",
               subject=lambda: gettext("Your request %(number)s was resolved: please confirm and rate it") % {
                   "number": request.number},
               body=lambda: resolution, link=f"/dispatch/requests/{request.pk}/", object_id=str(request.pk))
    return request


def request_reject(*, actor, request: Request, reason: str) -> Request:
    _visible(actor, request)
    if not (reason or "").strip():
        raise ValidationFailed(fields={"reason": [_("Say why the request is rejected.")]})
    with transaction.atomic():
        request = _lock(request)
        if not may_handle(actor, request):
            raise PermissionDenied(_("This request is handled by someone else now."))
        workflow.transition(request, actor=actor, action="reject", note=reason,
                            changes={"closed_at": clock.now(), "resolution": reason.strip()})
        reporter = [request.reporter] if request.reporter_id else []
        notify(recipients=reporter, kind="request.rejected",
               subject=lambda: gettext("Your request %(number)s was not taken up") % {"number": request.number},
               body=lambda: reason, link=f"/dispatch/requests/{request.pk}/", object_id=str(request.pk))
    return request


# --- closing the loop -------------------------------------------------------------------


def request_rate(*, actor, request: Request, rating: int, comment: str = "") -> Request:
    """The reporter (or the grid worker with them) confirms the result and rates it on five levels."""
    _visible(actor, request)
    if not isinstance(rating, int) or not 1 <= rating <= 5:
        raise ValidationFailed(fields={"rating": [_("A rating is a whole number from 1 to 5.")]})
    with transaction.atomic():
        request = _lock(request)
        if not is_reporter_side(actor, request):
            raise PermissionDenied(_("Only the person who reported it can rate this request."))
        workflow.transition(request, actor=actor, action="rate", note=comment, changes={
            "rating": rating, "rating_comment": (comment or "")[:500], "closed_at": clock.now()})
    return request


def request_reopen(*, actor, request: Request, reason: str) -> Request:
    _visible(actor, request)
    if not (reason or "").strip():
        raise ValidationFailed(fields={"reason": [_("Say why the request is reopened.")]})
    with transaction.atomic():
        request = _lock(request)
        if not is_reporter_side(actor, request):
            raise PermissionDenied(_("Only the person who reported it can reopen this request."))
        workflow.guard(request, "reopen")  # a request never resolved is a 409 illegal_transition, not a late one
        if request.reopen_until is None or clock.now() > request.reopen_until:
            raise Conflict(_("The time to reopen this request has passed; please file a new one."),
                           code="reopen_window_passed")
        now = clock.now()
        handler = _ancestor_at(request.node, request.category.first_level)
        request.departments.filter(active=True).update(active=False, updated_at=now)
        workflow.transition(request, actor=actor, action="reopen", note=reason, changes={
            "handler_node": handler, "handler_level": handler.level, "rating": None, "rating_comment": "",
            "closed_at": None, "resolved_at": None, "resolve_working_hours": None, "accept_due": _accept_due(request.category, now, request.urgency),
            "resolve_due": None, "reopen_until": None})
        notify(recipients=_handlers(request), kind="request.reopened",
               subject=lambda: gettext("Request %(number)s was reopened") % {"number": request.number},
               body=lambda: reason, link=f"/dispatch/requests/{request.pk}/", object_id=str(request.pk))
    return request


def request_attach(*, actor, request: Request, data: bytes) -> Attachment:
    """Attach a photo: its type is read from its content, and it is re-encoded without metadata
    (so no location leaves the phone through us)."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    _visible(actor, request)
    if len(data) > MAX_PHOTO_BYTES:
        raise ValidationFailed(fields={"file": [_("A photo may be 5 MB at most.")]})
    try:
        image = Image.open(io.BytesIO(data))
        image.verify()
        image = Image.open(io.BytesIO(data))
        # MPO is the JPEG of many phone cameras, carrying extra pictures (previews, depth maps).
        fmt = "JPEG" if image.format == "MPO" else image.format
        if fmt in PHOTO_FORMATS:
            image.load()  # an upload cut off by a dropped signal fails here, not with a 500
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError, ValueError):
        raise ValidationFailed(fields={"file": [_("This file is not a JPEG, PNG or WebP photo.")]}) from None
    if fmt not in PHOTO_FORMATS:
        raise ValidationFailed(fields={"file": [_("This file is not a JPEG, PNG or WebP photo.")]})
    image = ImageOps.exif_transpose(image)  # the orientation tag goes with the EXIF: keep the photo upright
    image.info = {}  # EXIF (with GPS), XMP and text chunks are not written back
    out = io.BytesIO()
    image.save(out, format=fmt)
    with transaction.atomic():
        request = _lock(request)
        attachment = Attachment.objects.create(request=request, content_type=PHOTO_FORMATS[fmt],
                                               size=out.tell(), data=out.getvalue(),
                                               uploaded_by=actor if getattr(actor, "pk", None) else None)
        workflow.note(request, actor=actor, action="attach", audit_it=False)
        audit.record(action="request.attach", actor=actor, obj=attachment, node_path=request.node_path,
                     after={"size": attachment.size, "content_type": attachment.content_type})
    return attachment


# --- visits (敲门行动) -----------------------------------------------------------------------


def visit_round_plan(*, actor, grid: Node, title: str, starts_on: dt.date, ends_on: dt.date) -> VisitRound:
    if grid.level != Level.GRID:
        raise ValidationFailed(fields={"node": [_("Visit rounds are planned per grid.")]})
    if not allows_at(actor, "visit.plan", grid.path):
        raise NotFound()
    if ends_on < starts_on:
        raise ValidationFailed(fields={"ends_on": [_("The round must end after it starts.")]})
    if not (title or "").strip():
        raise ValidationFailed(fields={"title": [_("A title is required.")]})
    with transaction.atomic():
        visit_round = VisitRound.objects.create(node=grid, node_path=grid.path, title=title.strip(),
                                                starts_on=starts_on, ends_on=ends_on, planned_by=actor)
        audit.record(action="visit_round.plan", actor=actor, obj=visit_round)
    return visit_round


def visit_record(*, actor, household: Household, visited_on: dt.date, findings: str = "", follow_up: bool = False,
                 visit_round: VisitRound | None = None, open_request: dict | None = None,
                 client_id: uuid.UUID | None = None) -> tuple[Visit, bool]:
    """Record a visit; a finding can open a request in the same step (``open_request``:
    ``{"category": Category, "description": str, "urgency": str}``)."""
    if client_id is not None:
        existing = Visit.objects.filter(pk=client_id).first()
        if existing is not None:
            if existing.worker_id != getattr(actor, "pk", None):
                raise Conflict(_("This id is already used by another visit."), code="id_taken")
            return existing, False
    if not allows_at(actor, "visit.record", household.node_path):
        raise NotFound()
    if visited_on > clock.today():
        raise ValidationFailed(fields={"visited_on": [_("A visit cannot be in the future.")]})
    if visit_round is not None and not household.node_path.startswith(visit_round.node_path):
        raise ValidationFailed(fields={"round": [_("The household is not in this round's grid.")]})
    with transaction.atomic():
        fields = dict(node_id=household.node_id, node_path=household.node_path, round=visit_round,
                      household=household, worker=actor, visited_on=visited_on, findings=(findings or "").strip(),
                      follow_up=follow_up or bool(open_request))
        if client_id is not None:
            fields["id"] = client_id
        visit = Visit.objects.create(**fields)
        audit.record(action="visit.record", actor=actor, obj=visit)
        if open_request:
            request, _created = request_file(
                actor=actor, category=open_request["category"], node=household.node, household=household,
                description=open_request.get("description") or findings, reporter_kind=ReporterKind.VISIT,
                urgency=open_request.get("urgency", Urgency.NORMAL))
            visit.request = request
            visit.save(update_fields=["request"])
    return visit, True


# --- periodic jobs ----------------------------------------------------------------------


def escalate_overdue(*, now: dt.datetime | None = None) -> list[Request]:
    """Requests whose acceptance or resolution deadline has passed go up one level by
    themselves; both sides are told. Safe to run twice: an escalated request has new
    deadlines in the future."""
    now = now or clock.now()
    waiting = Request.objects.filter(state__in=[State.REPORTED, State.ESCALATED, State.REOPENED], accept_due__lt=now)
    working = Request.objects.filter(state__in=[State.ACCEPTED, State.IN_PROGRESS], resolve_due__lt=now)
    done = []
    for request in list(waiting.order_by("accept_due")[:1000]) + list(working.order_by("resolve_due")[:1000]):
        try:
            done.append(request_escalate(actor=None, request=request, reason=gettext("Deadline passed."),
                                         automatic=True))
        except Conflict:
            _flag_overdue_at_top(request, now)
    return done


def _flag_overdue_at_top(request: Request, now: dt.datetime) -> None:
    """At the dispatch centre there is no level above: tell the dispatch officers once per deadline."""
    with transaction.atomic():
        request = _lock(request)
        due = request.due
        if due is None or due >= now or request.timeline.filter(action="overdue", at__gte=due).exists():
            return
        workflow.note(request, actor=None, action="overdue", note=str(due))
        notify(recipients=_handlers(request), kind="request.overdue",
               subject=lambda: gettext("Request %(number)s is overdue at the dispatch centre") % {"number": request.number},
               link=f"/dispatch/requests/{request.pk}/", object_id=str(request.pk))


def close_unrated(*, now: dt.datetime | None = None) -> list[Request]:
    """Resolved requests nobody rated or reopened in time close by themselves."""
    now = now or clock.now()
    closed = []
    for request in Request.objects.filter(state=State.RESOLVED, reopen_until__lt=now).order_by("reopen_until")[:2000]:
        with transaction.atomic():
            request = _lock(request)
            if request.state != State.RESOLVED:
                continue
            workflow.transition(request, actor=None, action="auto_close", changes={"closed_at": now})
            closed.append(request)
    return closed
