"""Helpers shared by the request pages: deadlines as people read them, place and category choices, safe redirects."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from tongxin.dispatch import rules, selectors
from tongxin.dispatch.models import (
    State,
    Urgency,
)
from tongxin.grid import selectors as grid_selectors
from tongxin.grid.models import Level
from tongxin.people.permissions import user_can

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



def _place_field(form: forms.Form, user) -> None:
    """A place is chosen from a list, but any code in scope is welcome (a link to a grid, say):
    the view looks it up through the scope function, and one outside scope is 404."""
    choices = _place_choices(user)
    value = (form.data.get("node") or "") if form.is_bound else ""
    if value and value not in dict(choices):
        choices.append((value, value))
    form.fields["node"].widget.choices = [("", _("All"))] + choices


# --- pages that refresh by themselves (the queue, a department's inbox) --------------------


def since_of(request, now: dt.datetime) -> dt.datetime:
    """Since when a row counts as new: the moment the page was first opened, which the page's
    filter and its polling send back as ``since``; now for a page opened afresh."""
    try:
        value = dt.datetime.fromisoformat((request.GET.get("since") or "").strip()[:40])
    except ValueError:
        return now
    if value.tzinfo is None or value > now:
        return now
    return value


def polling(request, since: dt.datetime) -> dict:
    """The address a list fragment polls (the same filters and page, and ``since``), and how often."""
    params = {k: v for k, v in request.GET.items() if v and k != "since"}
    params["since"] = since.isoformat()
    return {"poll_url": f"{request.path}?{urlencode(params)}", "poll_seconds": settings.POLL_SECONDS,
            "since": since}



def placed(user, rows, chunk: int = 500):
    """The rows, each with ``place_text``: its node named below the reader's level, read from
    the node cache a chunk at a time (the page and its export name places alike)."""
    from itertools import islice

    from tongxin.grid.places import Places

    rows = iter(rows)
    while batch := list(islice(rows, chunk)):
        places = Places(user, [r.node for r in batch])
        for r in batch:
            r.place_text = places.text(r.node)
            yield r
