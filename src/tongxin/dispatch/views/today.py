"""A grid worker's day (where they land): the requests handled in their grid that are overdue or
due today, the others still open, and the households still to visit in the rounds running now.
And what the household page shows of requests and visits (registered from ``apps.py``)."""

from __future__ import annotations

import datetime as dt

from django.shortcuts import render
from django.utils import timezone

from tongxin.core import clock
from tongxin.core.errors import NotFound
from tongxin.core.views import page_view
from tongxin.dispatch import rules, selectors, workflow
from tongxin.dispatch.views.common import _decorate
from tongxin.dispatch.views.visits import decorate_rounds
from tongxin.people.permissions import user_can
from tongxin.people.scope import allows_at
from tongxin.registry import selectors as registry_selectors
from tongxin.registry.models import Household

TODAY_SHOWN = 50
TO_VISIT_SHOWN = 20
HOUSEHOLD_SHOWN = 20


def _end_of_today(now: dt.datetime) -> dt.datetime:
    local = timezone.localtime(now)
    return local.replace(hour=0, minute=0, second=0, microsecond=0) + dt.timedelta(days=1)


def _with_actions(user, rows) -> list:
    """What the user may do with each request now: the workflow table's answer (no page decides it)."""
    rows = list(rows)
    rules.preload_handled_by(user, rows)  # who may rate or reopen: one query for the list
    for r in rows:
        r.actions = workflow.available_actions(user, r)
        r.may_accept = "accept" in r.actions
    return rows


@page_view
def today(request):
    """网格员的今天: overdue and due requests of the grid, and the households to visit."""
    user = request.user
    if not (user_can(user, "request.handle") or user_can(user, "visit.record")):
        raise NotFound()
    now = clock.now()
    rows = list(selectors.requests_handled_here(actor=user)[:TODAY_SHOWN + 1])
    more = len(rows) > TODAY_SHOWN
    rows = _with_actions(user, _decorate(rows[:TODAY_SHOWN], now))
    end = _end_of_today(now)
    overdue = [r for r in rows if r.due_at is not None and r.due_at < now]
    due_today = [r for r in rows if r.due_at is not None and now <= r.due_at < end]
    later = [r for r in rows if r not in overdue and r not in due_today]
    rounds = decorate_rounds(user, list(selectors.visit_rounds_running(actor=user)[:10]))
    to_visit = []
    for r in rounds:
        households = [h for h in selectors.visit_round_households(actor=user, visit_round=r)[:TO_VISIT_SHOWN]
                      if h.visited_on is None]
        registry_selectors.list_shown(actor=user, model=Household, rows=households)  # heads' names: audited
        to_visit.append({"round": r, "households": households,
                         "may_record": allows_at(user, "visit.record", r.node_path)})
    return render(request, "dispatch/today.html", {
        "overdue": overdue, "due_today": due_today, "later": later, "more": more, "rounds": to_visit,
        "today": clock.today(), "may_file": user_can(user, "request.file"),
    })


# --- the household page's blocks (registry:household) ---------------------------------------


def household_requests_section(request, household: Household) -> dict | None:
    user = request.user
    if not user_can(user, "request.view"):
        return None
    rows = list(selectors.household_requests(actor=user, household=household)[:HOUSEHOLD_SHOWN])
    _with_actions(user, _decorate(rows, clock.now()))
    return {"requests": rows, "household": household}


def household_visits_section(request, household: Household) -> dict | None:
    user = request.user
    if not user_can(user, "visit.view"):
        return None
    rows = list(selectors.household_visits(actor=user, household=household)[:HOUSEHOLD_SHOWN])
    return {"visits": rows, "household": household}
