"""Reads about requests and visits, always through the scope function.

The queue, the statistics and visit coverage are each a constant number of queries,
whatever the node: roll-ups group by a fixed-length prefix of the path copies.
"""

from __future__ import annotations

import datetime as dt
import operator
import os
from collections.abc import Sequence
from functools import reduce

from django.db import transaction
from django.db.models import (
    Case,
    Count,
    DateTimeField,
    DurationField,
    ExpressionWrapper,
    F,
    IntegerField,
    Prefetch,
    Q,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Substr

from tongxin.core import audit, clock
from tongxin.core.errors import NotFound, ValidationFailed, parse_id
from tongxin.core.refcache import ReferenceCache
from tongxin.dispatch.models import (
    Attachment,
    Category,
    Request,
    RequestDepartment,
    State,
    TimelineEntry,
    Visit,
    VisitRound,
)
from tongxin.dispatch.rules import OPEN_STATES, WAITING, WORKING
from tongxin.grid.models import Node
from tongxin.grid.selectors import children_and_prefix
from tongxin.registry.models import Household

DUE = Case(
    When(state__in=WAITING, then=F("accept_due")),
    When(state__in=WORKING, then=F("resolve_due")),
    default=Value(None),
    output_field=DateTimeField(),
)


def category_list(*, include_private: bool = True):
    qs = Category.objects.filter(active=True)
    if not include_private:
        qs = qs.filter(private=False)
    return qs.order_by("sort", "code")


_categories = ReferenceCache("categories", models=("dispatch.Category",))


def category_get(code: str, *, include_private: bool = True) -> Category:
    """An active category by code (read through the reference cache: filing asks for it every time)."""
    code = str(code)[:40]
    category = _categories.get(code, lambda: Category.objects.filter(active=True, code=code).one_or_none())
    if category is None or (category.private and not include_private):
        raise NotFound()
    return category


def request_search(*, actor, text: str) -> Q:
    """找诉求: the requests a search names, by request number, household number, the name of the
    head of the household or of any member, or words of the description (all of them).

    Households and residents are matched through the scope function's ``household.view`` and
    ``resident.view`` (the registry's selectors), never around it: a reader who may not see a
    household cannot find its requests by its people's names. The requests themselves are
    narrowed by the caller's ``visible_to``."""
    from tongxin.registry.selectors import household_list, resident_list

    text = " ".join((text or "").split())[:100]
    if not text:
        return Q()
    q = Q(number__icontains=text)
    q |= Q(household_id__in=household_list(actor=actor, search=text).values("pk"))
    q |= Q(household_id__in=resident_list(actor=actor).filter(name__icontains=text).values("household_id"))
    words = text.split()[:8]
    q |= reduce(operator.and_, [Q(description__icontains=w) for w in words])
    return q


def request_list(*, actor, node: Node | None = None, state: str | None = None, category: str | None = None,
                 department: str | None = None, open_only: bool = False, overdue: bool = False,
                 states: Sequence[str] | None = None, search: str = "", filed_from: dt.date | None = None,
                 filed_to: dt.date | None = None):
    """Requests in scope; open ones ordered by the deadline that runs now, earliest first, the
    others newest first. ``states`` narrows to several states; ``search`` is ``request_search``;
    ``filed_from`` and ``filed_to`` are whole local days of filing (statistics link here)."""
    qs = Request.objects.visible_to(actor, "request.view").select_related("category", "handler_node", "node")
    if node is not None:
        qs = qs.filter(node_path__startswith=node.path)
    if state:
        qs = qs.filter(state=state)
    if states:
        qs = qs.filter(state__in=list(states))
    if search:
        qs = qs.filter(request_search(actor=actor, text=search))
    if filed_from:
        qs = qs.filter(created_at__gte=_start_of(filed_from))
    if filed_to:
        qs = qs.filter(created_at__lt=_start_of(filed_to + dt.timedelta(days=1)))
    if open_only or overdue:
        qs = qs.filter(state__in=OPEN_STATES)
    if category:
        qs = qs.filter(category__code=category)
    if department:
        qs = qs.filter(pk__in=RequestDepartment.objects.filter(department__code=department, active=True)
                       .values("request_id"))
    qs = qs.annotate(due_at=DUE)
    if overdue:
        qs = qs.filter(due_at__lt=clock.now())
    qs = qs.prefetch_related(Prefetch("departments", queryset=RequestDepartment.objects.filter(active=True)
                                      .select_related("department")))
    if open_only or overdue or (state in OPEN_STATES) or (states and set(states) <= set(OPEN_STATES)):
        return qs.order_by(F("due_at").asc(nulls_last=True), "created_at", "id")
    return qs.order_by("-created_at", "-id")


def search_shown(*, actor, rows: Sequence[Request]) -> None:
    """A page of requests found by a search was shown (a search may name a person, and its
    answer says who asked for what): one audit entry for the page, placed at the deepest node
    that holds every row shown, with how many were shown — never the words searched for, which
    may be a name the log could not forget. Nothing when nothing was found."""
    if not rows:
        return
    with transaction.atomic():
        audit.record(action="request.search", actor=actor, object_type="dispatch.request",
                     node_path=_common_path([r.node_path for r in rows]), after={"shown": len(rows)})


def _common_path(paths: Sequence[str]) -> str:
    common = os.path.commonprefix([p.strip("/").split("/") for p in paths])
    return "/" + "/".join(common) + "/" if common and common[0] else ""


def household_contacts(*, actor, requests: Sequence[Request]) -> dict:
    """The address and phone of the household of each request (by request id) that the actor's
    department is called to now (``rules.sees_household_contact``): the request came through the
    scope function, and the rule says its household is theirs to reach. One query for a page;
    showing them is a view of personal data, audited (one entry for the page)."""
    from tongxin.dispatch.rules import sees_household_contact

    wanted = [r for r in requests if sees_household_contact(actor, r)]
    if not wanted:
        return {}
    households = {h.pk: h for h in Household.objects.filter(pk__in={r.household_id for r in wanted}).only(
        "pk", "number", "address", "phone", "node_path")}
    contacts = {r.pk: {"number": h.number, "address": h.address, "phone": h.phone}
                for r in wanted if (h := households.get(r.household_id)) is not None}
    if contacts:
        with transaction.atomic():
            audit.record(action="request.household_contact", actor=actor, object_type="registry.household",
                         object_id=str(wanted[0].household_id) if len(households) == 1 else "",
                         node_path=_common_path([h.node_path for h in households.values()]),
                         after={"shown": len(contacts)})
    return contacts


def request_get(*, actor, request_id) -> Request:
    request = (Request.objects.visible_to(actor, "request.view")
               .select_related("category", "handler_node", "node", "household", "reporter")
               .annotate(due_at=DUE)
               .prefetch_related(Prefetch("departments", queryset=RequestDepartment.objects
                                          .select_related("department").order_by("created_at")),
                                 Prefetch("timeline", queryset=TimelineEntry.objects.select_related("actor")
                                          .order_by("id")),
                                 Prefetch("attachments", queryset=Attachment.objects.defer("data")
                                          .order_by("created_at")))
               .filter(pk=parse_id(request_id)).first())
    if request is None:
        raise NotFound()
    return request


def request_place(*, actor, request_id) -> Request:
    """Where a request in scope is (its node), without its timeline: what choosing departments needs."""
    request = (Request.objects.visible_to(actor, "request.view").select_related("node")
               .defer("node__boundary").filter(pk=parse_id(request_id)).first())
    if request is None:
        raise NotFound()
    return request


def department_inbox(*, actor):
    """What was escalated to the actor's own departments and is still with them."""
    from tongxin.people.scope import department_ids

    mine = list(department_ids(actor))
    return request_list(actor=actor, open_only=True).filter(
        pk__in=RequestDepartment.objects.filter(active=True, department_id__in=mine).values("request_id"))


def _start_of(day: dt.date) -> dt.datetime:
    from django.utils import timezone

    return dt.datetime.combine(day, dt.time.min, tzinfo=timezone.get_current_timezone())


def _period(start: dt.date | None, end: dt.date | None) -> tuple[dt.datetime, dt.datetime]:
    from django.utils import timezone

    end = end or clock.today()
    start = start or (end - dt.timedelta(days=365))
    if start > end:
        raise ValidationFailed(fields={"from": [_msg_period()]})
    tz = timezone.get_current_timezone()
    return (dt.datetime.combine(start, dt.time.min, tzinfo=tz),
            dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=tz))


def _msg_period() -> str:
    from django.utils.translation import gettext as _

    return _("The period must start before it ends.")


# What each figure counts (the page's words for them, and their explanations, are declared once
# in dispatch/tables.py): "resolved" counts every request with a resolution in force, so it is
# "waiting_rating" (state resolved: not yet confirmed by the resident) plus "closed"; a reopened
# request loses its resolution and counts as open again.
STAT_FIELDS = ("total", "open", "resolved", "waiting_rating", "closed", "rejected", "overdue", "escalations",
               "accepted", "accepted_on_time", "resolved_on_time", "rated", "satisfied")


def _stat_aggregates(now: dt.datetime) -> dict:
    return {
        "total": Count("pk"),
        "open": Count("pk", filter=Q(state__in=OPEN_STATES)),
        "resolved": Count("pk", filter=Q(resolved_at__isnull=False)),
        "waiting_rating": Count("pk", filter=Q(state=State.RESOLVED)),
        "closed": Count("pk", filter=Q(state=State.CLOSED)),
        "rejected": Count("pk", filter=Q(state=State.REJECTED)),
        "overdue": Count("pk", filter=Q(state__in=WAITING, accept_due__lt=now) | Q(state__in=WORKING,
                                                                                   resolve_due__lt=now)),
        "escalations": Sum("escalations"),
        "accepted": Count("pk", filter=Q(accepted_on_time__isnull=False)),
        "accepted_on_time": Count("pk", filter=Q(accepted_on_time=True)),
        "resolved_on_time": Count("pk", filter=Q(resolved_on_time=True)),
        # Satisfaction counts the reporter's side only: a rating the handler's side recorded
        # (``rating_by_handlers``) is kept on the request but counts neither way.
        "rated": Count("pk", filter=Q(rating__isnull=False, rating_by_handlers=False)),
        "satisfied": Count("pk", filter=Q(rating__gte=4, rating_by_handlers=False)),
    }


def _rates(figures: dict) -> dict:
    def share(a: int, b: int) -> float | None:
        return round(a / b, 4) if b else None

    return {
        **figures,
        "on_time_acceptance_rate": share(figures["accepted_on_time"], figures["accepted"]),
        "on_time_resolution_rate": share(figures["resolved_on_time"], figures["resolved"]),
        "completion_rate": share(figures["resolved"], figures["total"] - figures["rejected"]),
        "satisfaction_rate": share(figures["satisfied"], figures["rated"]),
    }


def _median(ordered, n: int, zero):
    """The middle value of an ordered query of ``n`` values, or the mean of the middle two for
    an even count (one query either way); None when there are none."""
    middle = list(ordered[(n - 1) // 2: n // 2 + 1]) if n else []
    return sum(middle, zero) / len(middle) if middle else None


def request_stats(*, actor, node: Node, start: dt.date | None = None, end: dt.date | None = None) -> dict:
    """Counts by state and category, on-time rates, median handling time, escalations and
    satisfaction for a node and each of its children, over requests filed in the period.
    ``rated``, ``satisfied`` and ``satisfaction_rate`` count only ratings of the reporter's side
    (not ``rating_by_handlers``)."""
    since, until = _period(start, end)
    now = clock.now()
    qs = (Request.objects.visible_to(actor, "request.view")
          .filter(node_path__startswith=node.path, created_at__gte=since, created_at__lt=until))
    children, length = children_and_prefix(node)
    rows = {r.pop("prefix"): r for r in qs.annotate(prefix=Substr("node_path", 1, length)).order_by()
            .values("prefix").annotate(**_stat_aggregates(now))}
    empty = dict.fromkeys(STAT_FIELDS, 0)
    total = dict(empty)
    for r in rows.values():
        for k in STAT_FIELDS:
            total[k] += r[k] or 0
    by_state = dict(qs.order_by().values_list("state").annotate(n=Count("pk")))
    by_category = {code: n for code, n in qs.order_by().values_list("category__code").annotate(n=Count("pk"))}
    handled = (qs.filter(resolved_at__isnull=False)
               .annotate(took=ExpressionWrapper(F("resolved_at") - F("created_at"), output_field=DurationField()))
               .order_by("took").values_list("took", flat=True))
    n = total["resolved"]
    median = _median(handled, n, dt.timedelta(0))
    working = _median(qs.filter(resolved_at__isnull=False, resolve_working_hours__isnull=False)
                      .order_by("resolve_working_hours").values_list("resolve_working_hours", flat=True), n, 0.0)
    return {
        "code": node.code, "name": node.name, "level": node.level,
        "from": since.date(), "to": (until - dt.timedelta(days=1)).date(),
        **_rates({k: total[k] or 0 for k in STAT_FIELDS}),
        "median_hours_to_resolve": round(median.total_seconds() / 3600, 1) if median is not None else None,
        "median_working_hours_to_resolve": round(working, 2) if working is not None else None,
        "by_state": {s: by_state.get(s, 0) for s in State.values},
        "by_category": by_category,
        "children": [{"code": c.code, "name": c.name, "level": c.level,
                      **_rates({k: (rows.get(c.path, empty)[k] or 0) for k in STAT_FIELDS})} for c in children],
    }


def visit_rounds(*, actor, node: Node | None = None):
    qs = VisitRound.objects.visible_to(actor, "visit.view").select_related("node")
    if node is not None:
        qs = qs.filter(node_path__startswith=node.path)
    return qs.order_by("-starts_on", "node_path", "id")


def visit_list(*, actor, node: Node | None = None, visit_round: str | None = None):
    qs = Visit.objects.visible_to(actor, "visit.view").select_related("household", "worker", "node")
    if node is not None:
        qs = qs.filter(node_path__startswith=node.path)
    if visit_round:
        qs = qs.filter(round_id=parse_id(visit_round))
    return qs.order_by("-visited_on", "-created_at", "id")


def visit_coverage(*, actor, node: Node, start: dt.date, end: dt.date) -> dict:
    """Share of households visited in the period, for the node and each child (grid, village, township)."""
    if start > end:
        raise ValidationFailed(fields={"from": [_msg_period()]})
    children, length = children_and_prefix(node)
    households = (Household.objects.visible_to(actor, "household.view").filter(node_path__startswith=node.path)
                  .annotate(prefix=Substr("node_path", 1, length), kind=Value(0, output_field=IntegerField()))
                  .order_by().values("prefix", "kind").annotate(n=Count("pk")))
    visited = (Visit.objects.visible_to(actor, "visit.view")
               .filter(node_path__startswith=node.path, visited_on__gte=start, visited_on__lte=end)
               .annotate(prefix=Substr("node_path", 1, length), kind=Value(1, output_field=IntegerField()))
               .order_by().values("prefix", "kind").annotate(n=Count("household", distinct=True)))
    figures: dict[str, list[int]] = {}
    for prefix, kind, n in households.union(visited, all=True).values_list("prefix", "kind", "n"):
        figures.setdefault(prefix, [0, 0])[kind] += n

    def entry(households_n: int, visited_n: int) -> dict:
        return {"households": households_n, "visited": visited_n,
                "coverage": round(visited_n / households_n, 4) if households_n else None}

    total = [sum(v[0] for v in figures.values()), sum(v[1] for v in figures.values())]
    return {
        "code": node.code, "name": node.name, "level": node.level, "from": start, "to": end, **entry(*total),
        "children": [{"code": c.code, "name": c.name, "level": c.level, **entry(*figures.get(c.path, [0, 0]))}
                     for c in children],
    }


# --- the pages of visits and of a household's work ------------------------------------------


def _ancestor_paths(path: str) -> list[str]:
    parts = path.strip("/").split("/")
    return ["/" + "/".join(parts[: i + 1]) + "/" for i in range(len(parts))]


def visit_round_get(*, actor, round_id) -> VisitRound:
    """One visit round in scope, or 404."""
    visit_round = visit_rounds(actor=actor).filter(pk=parse_id(round_id)).first()
    if visit_round is None:
        raise NotFound()
    return visit_round


def visit_rounds_running(*, actor, on: dt.date | None = None, path: str | None = None):
    """The rounds in scope that run on ``on`` (today), those of the grid above ``path`` when given."""
    on = on or clock.today()
    qs = visit_rounds(actor=actor).filter(starts_on__lte=on, ends_on__gte=on)
    if path is not None:
        qs = qs.filter(node_path__in=_ancestor_paths(path))
    return qs


def visit_round_households(*, actor, visit_round: VisitRound):
    """The households of a round's grid (in scope), each with its latest visit in the round
    (``visited_on``, ``visit_id``, ``visit_follow_up``, ``visit_request_id``): not yet visited
    first. One query."""
    from django.db.models import OuterRef, Subquery, UUIDField

    visits = (Visit.objects.visible_to(actor, "visit.view")
              .filter(household=OuterRef("pk"), round=visit_round)
              .order_by("-visited_on", "-created_at"))
    return (Household.objects.visible_to(actor, "household.view")
            .filter(node_path__startswith=visit_round.node_path).select_related("node")
            .defer("node__boundary")
            # Typed: SQLite answers a bare subquery's UUID as 32 hex digits.
            .annotate(visited_on=Subquery(visits.values("visited_on")[:1]),
                      visit_id=Subquery(visits.values("pk")[:1], output_field=UUIDField()),
                      visit_follow_up=Subquery(visits.values("follow_up")[:1]),
                      visit_request_id=Subquery(visits.values("request_id")[:1], output_field=UUIDField()))
            .order_by(F("visited_on").asc(nulls_first=True), "node_path", "number", "id"))


def round_coverage(*, actor, rounds: list[VisitRound]) -> dict:
    """For each round: its grid's households in scope and how many of them were visited in the
    round (``{round_id: (households, visited)}``), in two queries whatever the number."""
    if not rounds:
        return {}
    households: dict[str, int] = {}
    by_length: dict[int, set[str]] = {}
    for r in rounds:  # grids of one network share one path length: one query, as a rule
        by_length.setdefault(len(r.node_path), set()).add(r.node_path)
    for length, paths in by_length.items():
        q = Q()
        for p in paths:
            q |= Q(node_path__startswith=p)
        households.update(Household.objects.visible_to(actor, "household.view").filter(q)
                          .annotate(prefix=Substr("node_path", 1, length)).order_by()
                          .values_list("prefix").annotate(n=Count("pk")))
    visited = dict(Visit.objects.visible_to(actor, "visit.view").filter(round__in=rounds)
                   .order_by().values_list("round_id").annotate(n=Count("household", distinct=True)))
    return {r.pk: (households.get(r.node_path, 0), visited.get(r.pk, 0)) for r in rounds}


def households_not_visited(*, actor, node: Node, start: dt.date, end: dt.date):
    """The households under ``node`` (in scope) that nobody visited in the period."""
    visited = (Visit.objects.visible_to(actor, "visit.view")
               .filter(node_path__startswith=node.path, visited_on__gte=start, visited_on__lte=end)
               .values("household_id"))
    return (Household.objects.visible_to(actor, "household.view").filter(node_path__startswith=node.path)
            .exclude(pk__in=visited).select_related("node").defer("node__boundary")
            .order_by("node_path", "number", "id"))


def household_requests(*, actor, household: Household):
    """A household's requests in scope, newest first (the household page)."""
    return (request_list(actor=actor).filter(household=household)
            .defer("node__boundary", "handler_node__boundary").order_by("-created_at", "-id"))


def household_visits(*, actor, household: Household):
    """A household's visits in scope, newest first (the household page)."""
    return (Visit.objects.visible_to(actor, "visit.view").filter(household=household)
            .select_related("worker", "request").order_by("-visited_on", "-created_at", "id"))


def requests_handled_here(*, actor):
    """Open requests handled now at a node in the actor's own part of the network (not through a
    department): a grid worker's requests for today, the earliest running deadline first."""
    from tongxin.people.scope import node_paths

    paths = node_paths(actor)
    if not paths:
        return request_list(actor=actor, open_only=True).none()
    q = Q()
    for p in paths:
        q |= Q(handler_node__path__startswith=p)
    return (request_list(actor=actor, open_only=True).filter(q)
            .defer("node__boundary", "handler_node__boundary"))
