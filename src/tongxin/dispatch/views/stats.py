"""Statistics of requests for a node and its children.

Every figure's words and what it counts are declared once in dispatch/tables.py: the page's
headline, its tables and the export read the same declarations, so "resolved (incl. closed)"
in the headline is the sum of "waiting for rating" and "closed" below it.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from tongxin.core.errors import NotFound, ValidationFailed
from tongxin.core.export import xlsx_response
from tongxin.core.tables import Filter, Listing, Sheet
from tongxin.core.views import export_link, page_view
from tongxin.dispatch import selectors, tables
from tongxin.dispatch.models import State
from tongxin.dispatch.views.common import _category_choices, _code
from tongxin.dispatch.views.forms import ALL_STATES, DONE, StatsFilter
from tongxin.grid import selectors as grid_selectors
from tongxin.grid.places import Places
from tongxin.people.permissions import user_can
from tongxin.people.scope import scope_roots

# --- statistics --------------------------------------------------------------------------


def _stats_figures(request) -> dict:
    """The filter, the place and its figures; a bad period is shown with its error (422)."""
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
    headline = tables.figure_rows(figures, tables.FIGURES)
    for row in headline:
        row["url"] = links.get(row["key"], "")
    by_state = tables.state_rows(figures)
    for row in by_state:
        row["url"] = requests_behind(state=row["key"])
    by_category = tables.category_rows(figures, categories)
    for row in by_category:
        row["url"] = requests_behind(state=ALL_STATES, category=row["key"])
    children = [{**c, "path": f"{node.path}{c['code']}/",
                 "links": {"total": requests_behind(state=ALL_STATES, node=c["code"]),
                           "open": requests_behind(node=c["code"]),
                           "overdue": requests_behind(overdue="on", node=c["code"])}}
                for c in figures["children"]]
    places = Places(user, [c["path"] for c in children])
    for c in children:
        c["place_text"] = places.text(c["path"])
    return {
        "form": form, "node": node, "figures": figures, "status": status, "links": links,
        "headline": headline,
        "rates": tables.figure_rows(figures, tables.RATES),
        "by_state": by_state,
        "by_category": by_category,
        "children": children, "places": places,
    }


@page_view
def stats(request):
    context = _stats_figures(request)
    context.update(figures_table=tables.FIGURES_TABLE, rates_table=tables.RATES_TABLE,
                   states_table=tables.STATES_TABLE, categories_table=tables.CATEGORIES_TABLE,
                   children_table=tables.CHILDREN_TABLE, export_url=export_link(request, "dispatch:stats_export"))
    return render(request, "dispatch/stats.html", context, status=context["status"])


@require_GET
@page_view
def stats_export(request):
    """The statistics as shown, one sheet per table, to Excel."""
    context = _stats_figures(request)
    if context["status"] != 200:
        raise ValidationFailed(fields={k: [str(m) for m in v] for k, v in context["form"].errors.items()})
    node, figures = context["node"], context["figures"]
    period = f"{figures['from']:%Y-%m-%d} – {figures['to']:%Y-%m-%d}"
    filters = [Filter(key="node", raw=node.code, label=_("Place"), shown=f"{node.name} ({node.code})"),
               Filter(key="period", raw=f"{figures['from']:%Y-%m-%d}..{figures['to']:%Y-%m-%d}",
                      label=_("Requests filed"), shown=period)]
    listing = Listing(name="stats", title=_("Request statistics"), filters=filters, place=node.path, sheets=[
        Sheet(tables.FIGURES_TABLE, context["headline"]),
        Sheet(tables.RATES_TABLE, context["rates"]),
        Sheet(tables.STATES_TABLE, context["by_state"]),
        Sheet(tables.CATEGORIES_TABLE, context["by_category"]),
        Sheet(tables.CHILDREN_TABLE, context["children"]),
    ])
    return xlsx_response(actor=request.user, listing=listing)
