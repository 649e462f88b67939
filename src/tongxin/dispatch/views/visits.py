"""敲门行动 in the pages: the rounds in scope, one round as a list of households to visit (not
yet visited first), recording a visit from a household (a finding may open a request in the
same step), coverage by child node with the households nobody visited, planning a round, and
the visits out to Excel (the columns declared once in ``dispatch.tables.VISITS``).

Views are thin: the reads are dispatch selectors, the writes ``services.visit_record`` and
``services.visit_round_plan``; every list naming heads of households is audited
(``registry.selectors.list_shown``)."""

from __future__ import annotations

import datetime as dt

import uuid6
from django import forms
from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from tongxin.core import clock
from tongxin.core.errors import ApplicationError, NotFound, ValidationFailed, parse_id
from tongxin.core.export import xlsx_response
from tongxin.core.tables import Filter, Listing, Sheet
from tongxin.core.views import page_view, paginate
from tongxin.dispatch import selectors, services
from tongxin.dispatch.models import Urgency, VisitRound
from tongxin.dispatch.tables import VISITS
from tongxin.dispatch.views.common import _category_choices, _code, _safe_next
from tongxin.grid import selectors as grid_selectors
from tongxin.grid.models import Level
from tongxin.people.permissions import user_can
from tongxin.people.scope import allows_at, scope_roots
from tongxin.registry import selectors as registry_selectors
from tongxin.registry.models import Household

ROUNDS_SHOWN = 50


def _date_input() -> forms.DateInput:
    """A date picker: its value in ISO form whatever the language (else the browser shows none)."""
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def _share(households: int, visited: int) -> dict:
    percent = round(100 * visited / households, 1) if households else None
    return {"households": households, "visited": visited, "percent": percent,
            "width": round(percent) if percent is not None else 0}


def _round_status(r: VisitRound, today: dt.date) -> str:
    if r.starts_on > today:
        return "upcoming"
    return "running" if r.ends_on >= today else "ended"


STATUS_LABELS = {"running": _("running"), "upcoming": _("not started"), "ended": _("ended")}


def decorate_rounds(actor, rounds: list[VisitRound]) -> list[VisitRound]:
    """Each round's status and coverage (two queries for the whole list)."""
    today = clock.today()
    coverage = selectors.round_coverage(actor=actor, rounds=rounds)
    for r in rounds:
        r.status = _round_status(r, today)
        r.status_label = STATUS_LABELS[r.status]
        r.coverage = _share(*coverage.get(r.pk, (0, 0)))
    return rounds


def _may_plan_somewhere(user) -> bool:
    return user_can(user, "visit.plan")


@page_view
def visits_home(request):
    """The rounds in scope (running first), each with its coverage; where to see coverage and plan."""
    user = request.user
    if not user_can(user, "visit.view"):
        raise NotFound()
    today = clock.today()
    rounds = list(selectors.visit_rounds(actor=user)[:ROUNDS_SHOWN])
    decorate_rounds(user, rounds)
    order = {"running": 0, "upcoming": 1, "ended": 2}
    rounds.sort(key=lambda r: (order[r.status], r.starts_on if r.status == "upcoming" else -r.starts_on.toordinal()))
    roots = [_code(p) for p in scope_roots(user, "visit.view")]
    places = [grid_selectors.node_get(actor=user, code=code) for code in roots[:10]]
    return render(request, "dispatch/visits.html", {
        "rounds": rounds, "places": places, "today": today, "may_plan": _may_plan_somewhere(user),
        "export_url": reverse("dispatch:visits_export"),
    })


@page_view
def visit_round(request, round_id):
    """One round: the households of its grid to visit, not yet visited first."""
    user = request.user
    the_round = selectors.visit_round_get(actor=user, round_id=round_id)
    decorate_rounds(user, [the_round])
    page = paginate(request, selectors.visit_round_households(actor=user, visit_round=the_round), size=100)
    registry_selectors.list_shown(actor=user, model=Household, rows=page.items)  # heads' names: audited
    may_record = allows_at(user, "visit.record", the_round.node_path)
    return render(request, "dispatch/visit_round.html", {
        "round": the_round, "page": page, "may_record": may_record and the_round.status != "upcoming",
        "may_plan": allows_at(user, "visit.plan", the_round.node_path),
        "export_url": reverse("dispatch:visits_export") + f"?round={the_round.pk}",
    })


# --- recording a visit ---------------------------------------------------------------------


class VisitForm(forms.Form):
    client_id = forms.UUIDField(widget=forms.HiddenInput)
    round = forms.UUIDField(required=False, widget=forms.HiddenInput)
    visited_on = forms.DateField(label=_("Visited on"), widget=_date_input())
    findings = forms.CharField(label=_("What was found"), required=False, max_length=4000,
                               widget=forms.Textarea(attrs={"rows": 3}))
    follow_up = forms.BooleanField(label=_("Follow-up needed"), required=False)
    category = forms.ChoiceField(label=_("Open a request about it"), required=False)
    urgency = forms.ChoiceField(label=_("How urgent is it?"), choices=Urgency.choices, initial=Urgency.NORMAL,
                                required=False, widget=forms.RadioSelect)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = [("", _("No request"))] + _category_choices(include_private=True)


def _household_round(user, household: Household, round_id) -> VisitRound | None:
    """The round a visit belongs to: the one named (in scope, or 404), else the round running today
    for the household's grid, if any."""
    if round_id:
        return selectors.visit_round_get(actor=user, round_id=round_id)
    return selectors.visit_rounds_running(actor=user, path=household.node_path).first()


def _record(user, household: Household, visit_round: VisitRound | None, data: dict, quick: bool):
    if quick:  # "nothing to report": one tap
        return services.visit_record(actor=user, household=household, visited_on=clock.today(),
                                     visit_round=visit_round, client_id=data["client_id"])
    open_request = None
    if data.get("category"):
        if not (data.get("findings") or "").strip():
            raise ValidationFailed(fields={"findings": [gettext("Say what was found: it is the request's text.")]})
        open_request = {"category": selectors.category_get(data["category"]), "description": data["findings"],
                        "urgency": data.get("urgency") or Urgency.NORMAL}
    return services.visit_record(actor=user, household=household, visited_on=data["visited_on"],
                                 findings=data.get("findings") or "", follow_up=bool(data.get("follow_up")),
                                 visit_round=visit_round, open_request=open_request, client_id=data["client_id"])


@page_view
def visit_new(request, household_id):
    """Record a visit to a household: "nothing to report" in one tap, or what was found, whether it
    needs follow-up, and a request opened from it in the same step. The form carries an id made
    when it was shown: a double tap records one visit."""
    user = request.user
    household = registry_selectors.household_get(actor=user, household_id=household_id)
    if not allows_at(user, "visit.record", household.node_path):
        raise NotFound()
    round_id = request.POST.get("round") or request.GET.get("round") or ""
    visit_round = _household_round(user, household, round_id)
    back = _safe_next(request, reverse("dispatch:visit_round", args=[visit_round.pk]) if visit_round
                      else reverse("registry:household", args=[household.pk]))
    status = 200
    if request.method == "POST":
        quick = request.POST.get("outcome") == "well"
        data = request.POST.copy()
        if quick:
            data.setdefault("visited_on", clock.today().isoformat())
        form = VisitForm(data)
        if form.is_valid():
            try:
                visit, _created = _record(user, household, visit_round, form.cleaned_data, quick)
            except NotFound:
                raise
            except ApplicationError as exc:
                for field, msgs in exc.fields.items():
                    for m in (msgs if isinstance(msgs, (list, tuple)) else [msgs]):
                        form.add_error(field if field in form.fields else None, str(m))
                if not exc.fields:
                    form.add_error(None, str(exc.message))
                status = exc.status
            else:
                messages.success(request, gettext("Visit to household %(number)s recorded.") % {
                    "number": household.number})
                if visit.request_id:
                    messages.success(request, gettext("Request %(number)s was opened from the finding.") % {
                        "number": visit.request.number})
                    return redirect("dispatch:request", request_id=visit.request_id)
                return redirect(back)
        else:
            status = 422
    else:
        form = VisitForm(initial={"client_id": uuid6.uuid7(), "visited_on": clock.today(),
                                  "round": visit_round.pk if visit_round else None, "urgency": Urgency.NORMAL})
    return render(request, "dispatch/visit_form.html", {
        "form": form, "household": household, "round": visit_round, "back": back,
        "client_id": form["client_id"].value(),
    }, status=status)


# --- coverage ------------------------------------------------------------------------------


class PeriodForm(forms.Form):
    start = forms.DateField(required=False, label=_("Start date"), widget=_date_input())
    end = forms.DateField(required=False, label=_("End date"), widget=_date_input())

    def __init__(self, data):
        # The address says ?from=&to= (as the API does); the form's fields are start/end.
        if data:
            data = {"start": data.get("from", ""), "end": data.get("to", "")}
        super().__init__(data or None)


def _default_period(user, node) -> tuple[dt.date, dt.date]:
    """The rounds running under the node (from the earliest start), else this month, up to today."""
    today = clock.today()
    running = selectors.visit_rounds(actor=user, node=node).filter(starts_on__lte=today, ends_on__gte=today)
    first = running.order_by("starts_on").values_list("starts_on", flat=True).first()
    return (first or today.replace(day=1)), today


@page_view
def visit_coverage(request, code: str):
    """Coverage by child node for a period, and the households nobody visited in it."""
    user = request.user
    if not user_can(user, "visit.view"):
        raise NotFound()
    node = grid_selectors.node_get(actor=user, code=code)
    form = PeriodForm(request.GET)
    form.is_valid()
    data = getattr(form, "cleaned_data", {})
    start, end = _default_period(user, node)
    start, end = data.get("start") or start, data.get("end") or end
    status = 200
    try:
        figures = selectors.visit_coverage(actor=user, node=node, start=start, end=end)
    except ValidationFailed as exc:
        form.add_error("start", str(exc.fields.get("from", [exc.message])[0]))
        start, end = _default_period(user, node)
        figures, status = selectors.visit_coverage(actor=user, node=node, start=start, end=end), 422
    children = [{**c, "share": _share(c["households"], c["visited"]), "level_label": Level(c["level"]).label,
                 "plan": c["level"] == Level.GRID and allows_at(user, "visit.plan", node.path)}
                for c in figures["children"]]
    page = paginate(request, selectors.households_not_visited(actor=user, node=node, start=start, end=end))
    registry_selectors.list_shown(actor=user, model=Household, rows=page.items)  # heads' names: audited
    rounds = decorate_rounds(user, list(selectors.visit_rounds(actor=user, node=node)
                                        .filter(starts_on__lte=end, ends_on__gte=start)[:ROUNDS_SHOWN]))
    return render(request, "dispatch/visit_coverage.html", {
        "node": node, "form": form, "start": start, "end": end, "share": _share(figures["households"],
                                                                                 figures["visited"]),
        "children": children, "page": page, "rounds": rounds,
        "trail": grid_selectors.ancestors_visible(actor=user, node=node),
        "may_plan_here": node.level == Level.GRID and allows_at(user, "visit.plan", node.path),
        "may_record": allows_at(user, "visit.record", node.path),
    }, status=status)


# --- planning a round ----------------------------------------------------------------------


class RoundForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    starts_on = forms.DateField(label=_("Start date"), widget=_date_input())
    ends_on = forms.DateField(label=_("End date"), widget=_date_input())


@page_view
def visit_round_plan(request, code: str):
    """Plan a round of visits for a grid."""
    user = request.user
    grid = grid_selectors.node_get(actor=user, code=code)
    if grid.level != Level.GRID or not allows_at(user, "visit.plan", grid.path):
        raise NotFound()
    status = 200
    if request.method == "POST":
        form = RoundForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                planned = services.visit_round_plan(actor=user, grid=grid, title=data["title"],
                                                    starts_on=data["starts_on"], ends_on=data["ends_on"])
            except ValidationFailed as exc:
                for field, msgs in exc.fields.items():
                    for m in msgs:
                        form.add_error(field if field in form.fields else None, str(m))
                status = exc.status
            else:
                messages.success(request, gettext("The round “%(title)s” is planned.") % {"title": planned.title})
                return redirect("dispatch:visit_round", round_id=planned.pk)
        else:
            status = 422
    else:
        today = clock.today()
        form = RoundForm(initial={"starts_on": today, "ends_on": today + dt.timedelta(days=29)})
    return render(request, "dispatch/visit_plan.html", {
        "form": form, "grid": grid, "trail": grid_selectors.ancestors_visible(actor=user, node=grid),
    }, status=status)


@require_GET
@page_view
def visits_export(request):
    user = request.user
    if not user_can(user, "visit.view"):
        raise NotFound()
    code = (request.GET.get("node") or "").strip()[:18]
    node = grid_selectors.node_get(actor=user, code=code) if code else None
    round_id = (request.GET.get("round") or "").strip()
    filters = []
    if node is not None:
        filters.append(Filter(key="node", raw=node.code, label=_("Place"), shown=f"{node.name} ({node.code})"))
    if round_id:
        found = selectors.visit_rounds(actor=user).filter(pk=parse_id(round_id)).first()
        if found is None:
            raise NotFound()
        filters.append(Filter(key="round", raw=str(found.pk), label=_("Visit round"), shown=found.title))
    visits = (selectors.visit_list(actor=user, node=node, visit_round=round_id or None)
              .select_related("request").defer("node__boundary"))
    return xlsx_response(actor=user, listing=Listing(
        name=VISITS.name, title=VISITS.title, filters=filters, place=node.path if node else "",
        sheets=[Sheet(VISITS, visits.iterator(chunk_size=500))]))
