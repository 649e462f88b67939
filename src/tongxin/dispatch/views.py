"""Web pages of requests (群众诉求): the dispatch centre's queue and map, one request with its
timeline and action forms, a department's inbox, statistics, and residents' own requests.

Rules: views are thin — they parse, call a dispatch selector or service, and render. A page
draws the buttons of ``workflow.available_actions`` (the table's answer for this user, the
same one the services enforce and the API returns); an error a service raises re-renders the
page with its message and status (POST-redirect-GET on success).
"""

from __future__ import annotations

import datetime as dt
import math

import uuid6
from django import forms
from django.conf import settings
from django.contrib import messages
from django.db import transaction
from django.db.models import Q
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from tongxin.core import clock
from tongxin.core.errors import ApplicationError, NotFound, ValidationFailed
from tongxin.core.views import paginate, page_view, wants_fragment
from tongxin.dispatch import rules, selectors, services, workflow
from tongxin.dispatch.models import DepartmentRole, ReporterKind, Request, State, Urgency
from tongxin.grid import selectors as grid_selectors
from tongxin.grid.models import Department, Level, Node
from tongxin.people.permissions import user_can
from tongxin.people.roles import Role
from tongxin.people.scope import department_ids, is_resident_only, scope_roots
from tongxin.registry import selectors as registry_selectors

# Nodes offered in a filter's place list: enough to choose a township, village or grid
# without sending a thousand household units down a slow link.
PLACE_CHOICES_MAX = 250
MAP_POINTS_MAX = 1000
HANDLING_ACTIONS = ("accept", "start", "escalate", "resolve", "reject")
RATINGS = [
    (5, _("5 — very satisfied")),
    (4, _("4 — satisfied")),
    (3, _("3 — fairly satisfied")),
    (2, _("2 — dissatisfied")),
    (1, _("1 — very dissatisfied")),
]


# --- small helpers shared by the pages ---------------------------------------------------


def _code(path: str) -> str:
    return path.strip("/").rsplit("/", 1)[-1]


def _may_watch(user) -> bool:
    """The queue and the map: people who handle requests, and those who follow the figures."""
    return user_can(user, "request.handle") or user_can(user, "dispatch.stats")


def due_info(due: dt.datetime | None, now: dt.datetime) -> dict | None:
    """A running deadline as people read it: "in 3 h" or "overdue 2 d", and the exact local time."""
    if due is None:
        return None
    seconds = (due - now).total_seconds()
    overdue = seconds < 0
    span = abs(seconds)
    if span < 3600:
        n = max(1, int(span // 60))
        text = gettext("overdue %(n)s min") if overdue else gettext("in %(n)s min")
    elif span < 48 * 3600:
        n = int(span // 3600)
        text = gettext("overdue %(n)s h") if overdue else gettext("in %(n)s h")
    else:
        n = int(span // 86400)
        text = gettext("overdue %(n)s d") if overdue else gettext("in %(n)s d")
    return {"text": text % {"n": n}, "overdue": overdue, "at": timezone.localtime(due)}


def _decorate(rows, now) -> list:
    """Labels and the humanised deadline for a page of requests (no queries: all prefetched)."""
    for r in rows:
        r.state_label = State(r.state).label
        r.due_info = due_info(r.due_at, now) if r.state in rules.OPEN_STATES else None
        r.handler_name = rules.handler_name(r)
        r.urgent = r.urgency == Urgency.URGENT
    return rows


def _place_choices(user, *, deepest: str = Level.GRID) -> list[tuple[str, str]]:
    """Places in the user's part of the network for a select, county down to ``deepest``."""
    levels = [Level.COUNTY, Level.TOWNSHIP, Level.VILLAGE, Level.GRID, Level.UNIT]
    levels = levels[: levels.index(deepest) + 1]
    nodes = list(grid_selectors.node_list(actor=user).filter(level__in=levels)
                 .only("code", "name_zh", "name_bo", "name_en", "level", "path")[: PLACE_CHOICES_MAX + 1])
    if len(nodes) > PLACE_CHOICES_MAX and deepest in (Level.GRID, Level.UNIT):
        return _place_choices(user, deepest=Level.VILLAGE if deepest == Level.GRID else Level.GRID)
    top = min((n.depth for n in nodes), default=0)
    return [(n.code, "\u2003" * (n.depth - top) + n.name) for n in nodes[:PLACE_CHOICES_MAX]]


def _category_choices(*, include_private: bool) -> list[tuple[str, str]]:
    return [(c.code, c.name) for c in selectors.category_list(include_private=include_private)]


def _safe_next(request, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        return target
    return default


# --- the dispatch centre's queue ---------------------------------------------------------


def _place_field(form: forms.Form, user) -> None:
    """A place is chosen from a list, but any code in scope is welcome (a link to a grid, say):
    the view looks it up through the scope function, and one outside scope is 404."""
    choices = _place_choices(user)
    value = (form.data.get("node") or "") if form.is_bound else ""
    if value and value not in dict(choices):
        choices.append((value, value))
    form.fields["node"].widget.choices = [("", _("All"))] + choices


class QueueFilter(forms.Form):
    node = forms.CharField(required=False, max_length=18, label=_("Place"), widget=forms.Select)
    category = forms.ChoiceField(required=False, label=_("Category"))
    state = forms.ChoiceField(required=False, label=_("State"))
    department = forms.ChoiceField(required=False, label=_("Department"))
    overdue = forms.BooleanField(required=False, label=_("Overdue only"))

    def __init__(self, data, *, user):
        super().__init__(data)
        everything = [("", _("All"))]
        _place_field(self, user)
        self.fields["category"].choices = everything + _category_choices(include_private=True)
        self.fields["state"].choices = everything + [(s.value, s.label) for s in State if s in rules.OPEN_STATES]
        departments: dict[str, str] = {}  # the filter is by code: the county's name for it first
        for d in Department.objects.filter(rules.departments_near(user)).order_by("node_path", "code"):
            departments.setdefault(d.code, d.name)
        self.fields["department"].choices = everything + list(departments.items())


def _queue_context(request) -> dict:
    user = request.user
    form = QueueFilter(request.GET or None, user=user)
    form.is_valid()  # a field with a bad value is shown with its error and left out of the filter
    data = getattr(form, "cleaned_data", {})
    node = grid_selectors.node_get(actor=user, code=data["node"]) if data.get("node") else None
    filters = dict(actor=user, node=node, state=data.get("state") or None, category=data.get("category") or None,
                   department=data.get("department") or None)
    requests = selectors.request_list(open_only=True, overdue=bool(data.get("overdue")), **filters)
    requests = requests.defer("node__boundary", "handler_node__boundary", "description")
    page = paginate(request, requests)
    now = clock.now()
    _decorate(page.items, now)
    overdue = selectors.request_list(overdue=True, **filters).count()
    return {"form": form, "page": page, "node": node, "overdue_count": overdue, "now": now}


@page_view
def queue(request):
    """指挥调度中心: open requests in scope, the earliest running deadline first."""
    if not _may_watch(request.user):
        raise NotFound()
    context = _queue_context(request)
    context["may_file"] = user_can(request.user, "request.file")
    if wants_fragment(request):
        return render(request, "dispatch/_queue_results.html", context)
    return render(request, "dispatch/queue.html", context)


# --- the map -----------------------------------------------------------------------------


def _spread(points: list[dict]) -> None:
    """Requests placed at the same node centre would hide each other: lay them on a small
    spiral around it (a few hundred metres), so each can be seen and tapped."""
    seen: dict[tuple[float, float], int] = {}
    for p in points:
        key = (round(p["lat"], 5), round(p["lon"], 5))
        i = seen.get(key, 0)
        seen[key] = i + 1
        if i:
            angle, radius = i * 2.39996, 0.0012 * math.sqrt(i)
            p["lat"] += radius * math.sin(angle)
            p["lon"] += radius * math.cos(angle) / max(0.2, math.cos(math.radians(p["lat"])))


def _centres(nodes: list[Node]) -> dict[str, tuple[float, float]]:
    """For nodes without a centre of their own, the nearest ancestor's centre (one query).
    Read past the scope on purpose: a place's centre says where a village is, not who lives
    there, and a grid worker's unit would otherwise have no position at all."""
    wanted = {path for n in nodes if n.centre_lat is None for path in n.ancestor_paths()}
    if not wanted:
        return {}
    return {n.path: (n.centre_lat, n.centre_lon) for n in Node.objects.filter(
        path__in=wanted, centre_lat__isnull=False, centre_lon__isnull=False).only("path", "centre_lat", "centre_lon")}


def _map_data(request, node: Node | None) -> dict:
    user = request.user
    now = clock.now()
    requests = list(selectors.request_list(actor=user, node=node, open_only=True)
                    .defer("node__boundary", "handler_node__boundary", "description")[:MAP_POINTS_MAX + 1])
    truncated = len(requests) > MAP_POINTS_MAX
    requests = requests[:MAP_POINTS_MAX]
    centres = _centres([r.node for r in requests])
    points, unplaced = [], 0
    for r in requests:
        if r.lat is not None and r.lon is not None:
            lat, lon, approx = r.lat, r.lon, False
        elif r.node.centre_lat is not None and r.node.centre_lon is not None:
            lat, lon, approx = r.node.centre_lat, r.node.centre_lon, True
        else:
            found = next((centres[p] for p in reversed(r.node.ancestor_paths()) if p in centres), None)
            if found is None:
                unplaced += 1
                continue
            (lat, lon), approx = found, True
        due = due_info(r.due_at, now)
        points.append({
            "lat": lat, "lon": lon, "approx": approx, "number": r.number, "category": r.category.name,
            "place": r.node.name, "state": str(State(r.state).label), "urgent": r.urgency == Urgency.URGENT,
            "overdue": bool(due and due["overdue"]), "due": due["text"] if due else "",
            "url": reverse("dispatch:request", args=[r.pk]),
        })
    _spread(points)
    # Outlines: the place shown and the places just below it.
    if node is not None:
        outlined = [node]
    else:
        outlined = list(grid_selectors.node_list(actor=user).filter(path__in=scope_roots(user, "node.view")))
    children = list(grid_selectors.node_list(actor=user).filter(parent__in=outlined)) if outlined else []
    boundaries = [{"name": n.name, "level": n.level, "geometry": n.boundary}
                  for n in [*outlined, *children] if n.boundary]
    centre = next(((n.centre_lat, n.centre_lon) for n in outlined if n.centre_lat is not None), None)
    return {"points": points, "boundaries": boundaries, "centre": centre, "unplaced": unplaced,
            "truncated": truncated,
            "labels": {"open": gettext("Open the request"), "approx": gettext("placed at the centre of its place")}}


@page_view
def request_map(request):
    """Open requests on a plain background: place outlines and points, no internet tiles."""
    if not _may_watch(request.user):
        raise NotFound()
    code = (request.GET.get("node") or "").strip()
    node = grid_selectors.node_get(actor=request.user, code=code) if code else None
    data = _map_data(request, node)
    overdue = sum(1 for p in data["points"] if p["overdue"])
    return render(request, "dispatch/map.html", {
        "node": node, "map_data": data, "places": _place_choices(request.user),
        "shown": len(data["points"]), "overdue": overdue,
    })


# --- one request -------------------------------------------------------------------------


def _timeline(req: Request) -> list[dict]:
    steps = []
    for e in req.timeline.all():
        label = workflow.label(e.action)
        steps.append({
            "at": timezone.localtime(e.at), "actor": e.actor_name if e.actor_id else "",
            "action": e.action, "label": label,
            "from": State(e.from_state).label if e.from_state in State.values else "",
            "to": State(e.to_state).label if e.to_state in State.values else "",
            "changed": bool(e.from_state) and e.from_state != e.to_state, "handler": e.handler_name, "note": e.note,
        })
    return steps


def _detail_context(request, req: Request, *, error: ApplicationError | None = None, failed: str = "") -> dict:
    user = request.user
    now = clock.now()
    actions = workflow.available_actions(user, req)
    departments = [{
        "name": d.department.name, "code": d.department.code, "role": DepartmentRole(d.role).label,
        "lead": d.role == DepartmentRole.LEAD, "active": d.active, "accepted_at": d.accepted_at,
        "accept_due": due_info(d.accept_due, now) if d.active and d.accepted_at is None and req.is_open else None,
        "accept_by": d.accept_due, "resolve_by": d.resolve_due,
    } for d in req.departments.all()]
    context = {
        "req": req, "state_label": State(req.state).label, "urgent": req.urgency == Urgency.URGENT,
        "due": due_info(req.due_at, now) if req.is_open else None, "handler": rules.handler_name(req),
        "timeline": _timeline(req), "departments": departments, "actions": actions,
        "photos": [a.pk for a in req.attachments.all()],
        "may_see_household": req.household_id is not None and user_can(user, "household.view"),
        "error": error, "failed": failed, "posted": request.POST if error else {},
        "ratings": RATINGS, "now": now,
    }
    if "escalate" in actions:
        context["departments_to_call"] = list(rules.callable_departments(req.node).values())
        posted_lead = request.POST.get("lead") if error else None
        context["lead_code"] = posted_lead if posted_lead is not None else req.category.department_code
        context["assisting_codes"] = request.POST.getlist("assisting") if error else []
        context["escalate_to"] = (request.POST.get("to") if error else "") or "next"
    return context


@page_view
def request_detail(request, request_id):
    req = selectors.request_get(actor=request.user, request_id=request_id)
    return render(request, "dispatch/detail.html", _detail_context(request, req))


def _escalation_departments(req: Request, data) -> tuple[list[Department], list[Department]]:
    if data.get("to") != "departments":
        return [], []
    by_code = rules.callable_departments(req.node)
    lead_code = (data.get("lead") or "").strip()
    if not lead_code:
        raise ValidationFailed(fields={"lead": [_("Choose the lead department.")]})
    codes = [lead_code, *[c for c in data.getlist("assisting") if c]]
    unknown = [c for c in codes if c not in by_code]
    if unknown:
        raise ValidationFailed(fields={"departments": [
            gettext("Unknown department: %(code)s.") % {"code": c} for c in unknown]})
    return [by_code[lead_code]], [by_code[c] for c in codes[1:] if c != lead_code]


def _rating(value: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValidationFailed(fields={"rating": [_("A rating is a whole number from 1 to 5.")]}) from None


def _escalate(user, req: Request, data) -> None:
    lead, assisting = _escalation_departments(req, data)
    services.request_escalate(actor=user, request=req, reason=data.get("reason", ""), departments=lead,
                              assisting=assisting)


# Each action's one service, called with the form's fields.
ACT = {
    "accept": lambda user, req, data: services.request_accept(actor=user, request=req, note=data.get("note", "")),
    "start": lambda user, req, data: services.request_start(actor=user, request=req, note=data.get("note", "")),
    "escalate": _escalate,
    "resolve": lambda user, req, data: services.request_resolve(actor=user, request=req,
                                                                resolution=data.get("resolution", "")),
    "reject": lambda user, req, data: services.request_reject(actor=user, request=req, reason=data.get("reason", "")),
    "rate": lambda user, req, data: services.request_rate(actor=user, request=req, rating=_rating(data.get("rating")),
                                                          comment=data.get("comment", "")),
    "reopen": lambda user, req, data: services.request_reopen(actor=user, request=req,
                                                              reason=data.get("reason", "")),
}


DONE = {
    "accept": _("Accepted."), "start": _("Work started."), "escalate": _("Escalated."),
    "resolve": _("Marked as resolved."), "reject": _("Rejected."), "rate": _("Thank you for your rating."),
    "reopen": _("Reopened."),
}


@page_view
@require_POST
def request_act(request, request_id, action: str):
    """One action on a request (POST); on success back to the page it came from, else the
    request's page again with the error and its status."""
    if action not in ACT:
        raise NotFound()
    req = selectors.request_get(actor=request.user, request_id=request_id)
    try:
        ACT[action](request.user, req, request.POST)
    except NotFound:
        raise
    except ApplicationError as exc:
        req = selectors.request_get(actor=request.user, request_id=request_id)
        context = _detail_context(request, req, error=exc, failed=action)
        return render(request, "dispatch/detail.html", context, status=exc.status)
    messages.success(request, DONE[action])
    return redirect(_safe_next(request, reverse("dispatch:request", args=[req.pk])))


@page_view
def request_photo(request, request_id, photo_id):
    """A photo of a request, for the page (the API serves the same bytes to bearer tokens)."""
    req = selectors.request_get(actor=request.user, request_id=request_id)
    photo = next((a for a in req.attachments.all() if a.pk == photo_id), None)
    if photo is None:
        raise NotFound()
    # Like every page, never kept by browsers or proxies (the middleware says no-store).
    return HttpResponse(bytes(photo.data), content_type=photo.content_type)


# --- a department's inbox ----------------------------------------------------------------


@page_view
def inbox(request):
    """吹哨报到: what was escalated to the officer's departments and still waits for them."""
    user = request.user
    if not user_can(user, "request.handle"):
        raise NotFound()
    mine = department_ids(user)
    rows = selectors.department_inbox(actor=user).defer("node__boundary", "handler_node__boundary")
    page = paginate(request, rows)
    now = clock.now()
    _decorate(page.items, now)
    for r in page.items:
        calls = [d for d in r.departments.all() if d.active and (d.department_id in mine or not mine)]
        r.calls = [{"name": d.department.name, "role": DepartmentRole(d.role).label, "accepted_at": d.accepted_at,
                    "accept_due": due_info(d.accept_due, now) if d.accepted_at is None else None,
                    "resolve_due": due_info(d.resolve_due, now)} for d in calls]
        r.may_accept = "accept" in workflow.available_actions(user, r)
    return render(request, "dispatch/inbox.html", {"page": page, "is_officer": bool(mine)})


# --- statistics --------------------------------------------------------------------------


class StatsFilter(forms.Form):
    node = forms.CharField(required=False, max_length=18, label=_("Place"), widget=forms.Select)
    start = forms.DateField(required=False, label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(required=False, label=_("Until"), widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, data, *, user):
        # The address says ?node=&from=&to= (as the API does); the form's fields are start/end.
        if data is not None:
            data = {"node": data.get("node", ""), "start": data.get("from", ""), "end": data.get("to", "")}
        super().__init__(data)
        _place_field(self, user)


def _share(value) -> dict | None:
    return None if value is None else {"percent": round(value * 100, 1), "width": round(value * 100)}


@page_view
def stats(request):
    user = request.user
    if not user_can(user, "dispatch.stats"):
        raise NotFound()
    form = StatsFilter(request.GET if request.GET else None, user=user)
    form.is_valid()
    data = getattr(form, "cleaned_data", {})
    code = data.get("node") or next((_code(p) for p in scope_roots(user, "dispatch.stats")), "")
    if not code:
        raise NotFound()
    node = grid_selectors.node_get(actor=user, code=code)
    status = 200 if not form.errors else 422
    try:
        figures = selectors.request_stats(actor=user, node=node, start=data.get("start"), end=data.get("end"))
    except ValidationFailed as exc:
        for messages_ in exc.fields.values():
            for m in messages_:
                form.add_error("start", str(m))
        figures, status = selectors.request_stats(actor=user, node=node), 422
    categories = dict(_category_choices(include_private=True))
    rates = [
        (_("Accepted on time"), _share(figures["on_time_acceptance_rate"])),
        (_("Resolved on time"), _share(figures["on_time_resolution_rate"])),
        (_("Completion rate"), _share(figures["completion_rate"])),
        (_("Satisfaction rate"), _share(figures["satisfaction_rate"])),
    ]
    total = figures["total"] or 0
    by_state = [(State(s).label, n, round(100 * n / total) if total else 0) for s, n in figures["by_state"].items()]
    by_category = sorted(((categories.get(c, c), n, round(100 * n / total) if total else 0)
                          for c, n in figures["by_category"].items()), key=lambda row: -row[1])
    children = [{**c, "completion": _share(c["completion_rate"]), "on_time": _share(c["on_time_resolution_rate"]),
                 "satisfaction": _share(c["satisfaction_rate"]), "level_label": Level(c["level"]).label}
                for c in figures["children"]]
    return render(request, "dispatch/stats.html", {
        "form": form, "node": node, "figures": figures, "rates": rates, "by_state": by_state,
        "by_category": by_category, "children": children,
    }, status=status)


# --- residents' own requests -------------------------------------------------------------


@page_view
def my_requests(request):
    """A resident's own requests and their household's (the scope function gives no more)."""
    user = request.user
    if not user_can(user, "request.file"):
        raise NotFound()
    rows = selectors.request_list(actor=user).filter(Request.resident_scope(user)).defer(
        "node__boundary", "handler_node__boundary")
    page = paginate(request, rows, size=20)
    _decorate(page.items, clock.now())
    return render(request, "dispatch/my_requests.html", {"page": page})


class RequestForm(forms.Form):
    client_id = forms.UUIDField(widget=forms.HiddenInput)
    category = forms.ChoiceField(label=_("What is it about?"))
    description = forms.CharField(label=_("Describe the need"), max_length=4000,
                                  widget=forms.Textarea(attrs={"rows": 5}))
    urgency = forms.ChoiceField(label=_("How urgent is it?"), choices=Urgency.choices, initial=Urgency.NORMAL,
                                widget=forms.RadioSelect)
    photo = forms.FileField(label=_("Photo (optional)"), required=False, widget=forms.FileInput(
        attrs={"accept": "image/jpeg,image/png,image/webp"}))
    # Staff filing for a resident say for which household, or for which place.
    household = forms.UUIDField(required=False, widget=forms.HiddenInput)
    household_number = forms.CharField(label=_("Household number"), required=False, max_length=32)
    place = forms.ChoiceField(label=_("Or a place"), required=False)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = [("", "—")] + _category_choices(include_private=True)
        # Larger photos are made smaller in the browser (dispatch-photo.js): the body limit
        # holds the whole form, so leave room for the other fields.
        self.fields["photo"].widget.attrs["data-shrink-above"] = max(0, settings.MAX_BODY_BYTES - 64 * 1024)
        self.staff = not is_resident_only(user)
        if self.staff:
            self.fields["place"].choices = [("", "—")] + _place_choices(user)
        else:
            for name in ("household", "household_number", "place"):
                del self.fields[name]


def _where(user, form: RequestForm):
    """The household and the place a request is filed for."""
    data = form.cleaned_data
    if not form.staff:
        household = registry_selectors.household_get(actor=user, household_id=user.household_id) \
            if user.household_id else None
        if household is None:
            raise ValidationFailed(fields={"household": [_("Your account is not linked to a household.")]})
        return household, household.node
    if data.get("household"):
        household = registry_selectors.household_get(actor=user, household_id=data["household"])
        return household, household.node
    number = (data.get("household_number") or "").strip()
    if number:
        found = list(registry_selectors.household_list(actor=user).filter(number=number)[:2])
        if not found:
            raise ValidationFailed(fields={"household_number": [
                _("No household with this number in your part of the network.")]})
        if len(found) > 1:
            raise ValidationFailed(fields={"household_number": [
                _("Several households have this number: file from the household's own page.")]})
        return found[0], found[0].node
    if data.get("place"):
        return None, grid_selectors.node_get(actor=user, code=data["place"])
    raise ValidationFailed(fields={"household_number": [_("Say which household, or choose a place.")]})


def _photo_hint() -> str:
    return gettext("A large photo is made smaller before it is sent (%(size)s at most).") % {
        "size": f"{settings.MAX_BODY_BYTES / (1024 * 1024):g} MB"}


@page_view
def request_new(request):
    """File a request. The form carries an id made when it was shown: sending it twice
    (a double tap, a retry on a bad link) files one request."""
    user = request.user
    if not user_can(user, "request.file"):
        raise NotFound()
    household = None
    preset = request.GET.get("household")
    if preset and not is_resident_only(user):
        household = registry_selectors.household_get(actor=user, household_id=preset)
    status = 200
    if request.method == "POST":
        form = RequestForm(request.POST, request.FILES, user=user)
        if form.is_valid():
            try:
                req = _file(user, form)
            except ApplicationError as exc:
                if isinstance(exc, NotFound) and not exc.fields:
                    raise
                for field, msgs in exc.fields.items():
                    for m in (msgs if isinstance(msgs, (list, tuple)) else [msgs]):
                        form.add_error(field if field in form.fields else None, str(m))
                if not exc.fields:
                    form.add_error(None, str(exc.message))
                status = exc.status
            else:
                return redirect("dispatch:request", request_id=req.pk)
        else:
            status = 422
        chosen = getattr(form, "cleaned_data", {}).get("household")
        if chosen:
            household = registry_selectors.household_get(actor=user, household_id=chosen)
    else:
        form = RequestForm(initial={"client_id": uuid6.uuid7(), "urgency": Urgency.NORMAL,
                                    "household": household.pk if household else None}, user=user)
    return render(request, "dispatch/request_form.html", {
        "form": form, "household": household, "photo_hint": _photo_hint(),
    }, status=status)


def _file(user, form: RequestForm) -> Request:
    data = form.cleaned_data
    household, node = _where(user, form)
    category = selectors.category_get(data["category"])
    photo = data.get("photo")
    if photo is not None and photo.size > services.MAX_PHOTO_BYTES:
        raise ValidationFailed(fields={"photo": [gettext("A photo may be 5 MB at most.")]})
    # The request and its photo are one step: a photo the services refuse files nothing.
    with transaction.atomic():
        req, created = services.request_file(
            actor=user, category=category, node=node, household=household, description=data["description"],
            urgency=data["urgency"], client_id=data["client_id"],
            reporter_kind=ReporterKind.RESIDENT if not form.staff else ReporterKind.GRID_WORKER)
        if created and photo is not None:
            try:
                services.request_attach(actor=user, request=req, data=photo.read(services.MAX_PHOTO_BYTES + 1))
            except ValidationFailed as exc:
                raise ValidationFailed(fields={"photo": exc.fields.get("file", [exc.message])}) from None
    return req
