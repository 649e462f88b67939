"""Web pages of the network: where a user's scope starts, and one node with its children."""

from __future__ import annotations

from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _

from tongxin.core.errors import NotFound
from tongxin.core.views import page_view
from tongxin.grid import selectors
from tongxin.grid.models import LEVEL_ORDER, Level
from tongxin.people.permissions import user_can
from tongxin.people.scope import scope_roots
from tongxin.registry.selectors import household_list

FIGURE_LABELS = {
    "households": _("Households"),
    "residents": _("Residents"),
    "grid_workers": _("Grid workers"),
    "townships": _("Townships"),
    "villages": _("Villages"),
    "grids": _("Grids"),
    "units": _("Household units"),
}
UNIT_HOUSEHOLDS_SHOWN = 50


def _columns_below(level: str) -> list[str]:
    """The figures worth showing for a node of ``level``: people, and the levels below it."""
    below = {lv.value for lv in LEVEL_ORDER[LEVEL_ORDER.index(Level(level)) + 1:]}
    return list(selectors.FIGURES) + [key for lv, key in selectors.NODE_FIGURES.items() if lv in below]


def _code(path: str) -> str:
    return path.strip("/").rsplit("/", 1)[-1]


@page_view
def top(request):
    """The top of the user's scope: straight there when there is one, else a choice."""
    roots = scope_roots(request.user, "node.view")
    if not roots:
        raise NotFound()
    if len(roots) == 1:
        return redirect("grid:node", code=_code(roots[0]))
    nodes = [selectors.node_get(actor=request.user, code=_code(path)) for path in roots]
    return render(request, "grid/top.html", {"nodes": nodes})


@page_view
def node_detail(request, code: str):
    node = selectors.node_get(actor=request.user, code=code)
    rollup = selectors.node_rollup(actor=request.user, node=node)
    own_columns = _columns_below(node.level)
    child_columns = _columns_below(rollup.children[0].level) if rollup.children else []
    children = [
        {"code": row.code, "name": row.name, "level": Level(row.level).label,
         "values": [row.figures[key] for key in child_columns]}
        for row in rollup.children
    ]
    households = None
    may_see_households = user_can(request.user, "household.view")
    if node.level == Level.UNIT and may_see_households:
        households = list(household_list(actor=request.user, node=node)[:UNIT_HOUSEHOLDS_SHOWN])
    return render(request, "grid/node.html", {
        "node": node,
        "level": Level(node.level).label,
        "ancestors": selectors.ancestors_visible(actor=request.user, node=node),
        "figures": [(FIGURE_LABELS[key], rollup.figures[key]) for key in own_columns],
        "child_headers": [FIGURE_LABELS[key] for key in child_columns],
        "children": children,
        "households": households,
        "may_see_households": may_see_households,
        "may_see_staff": user_can(request.user, "staff.view"),
    })
