"""Statistics of requests for a node and its children."""

from __future__ import annotations

from urllib.parse import urlencode

from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from tongxin.core.errors import NotFound, ValidationFailed
from tongxin.core.views import page_view
from tongxin.dispatch import selectors
from tongxin.dispatch.models import (
    State,
)
from tongxin.dispatch.views.common import _category_choices, _code
from tongxin.dispatch.views.forms import ALL_STATES, DONE, StatsFilter
from tongxin.grid import selectors as grid_selectors
from tongxin.grid.models import Level
from tongxin.grid.places import Places
from tongxin.people.permissions import user_can
from tongxin.people.scope import scope_roots

# --- statistics --------------------------------------------------------------------------


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
    period = {"node": node.code, "from": figures["from"].isoformat(), "to": figures["to"].isoformat()}

    def requests_behind(**params) -> str:
        """The queue showing the requests a figure counts: the same place, period and state."""
        return f"{reverse('dispatch:queue')}?{urlencode({**period, **params})}"

    links = {"total": requests_behind(state=ALL_STATES), "open": requests_behind(),
             "overdue": requests_behind(overdue="on"), "resolved": requests_behind(state=DONE),
             "rejected": requests_behind(state=State.REJECTED)}
    rates = [
        (_("Accepted on time"), _share(figures["on_time_acceptance_rate"])),
        (_("Resolved on time"), _share(figures["on_time_resolution_rate"])),
        (_("Completion rate"), _share(figures["completion_rate"])),
        (_("Satisfaction rate"), _share(figures["satisfaction_rate"])),
    ]
    total = figures["total"] or 0
    by_state = [(State(s).label, n, round(100 * n / total) if total else 0, requests_behind(state=s))
                for s, n in figures["by_state"].items()]
    by_category = sorted(((categories.get(c, c), n, round(100 * n / total) if total else 0,
                           requests_behind(state=ALL_STATES, category=c))
                          for c, n in figures["by_category"].items()), key=lambda row: -row[1])
    children = [{**c, "completion": _share(c["completion_rate"]), "on_time": _share(c["on_time_resolution_rate"]),
                 "satisfaction": _share(c["satisfaction_rate"]), "level_label": Level(c["level"]).label,
                 "path": f"{node.path}{c['code']}/",
                 "links": {"total": requests_behind(state=ALL_STATES, node=c["code"]),
                           "open": requests_behind(node=c["code"]),
                           "overdue": requests_behind(overdue="on", node=c["code"])}}
                for c in figures["children"]]
    return render(request, "dispatch/stats.html", {
        "form": form, "node": node, "figures": figures, "rates": rates, "by_state": by_state,
        "by_category": by_category, "children": children, "links": links,
        "places": Places(user, [c["path"] for c in children]),
    }, status=status)


