"""Web pages of the network: where a user's scope starts, and one node with its children."""

from __future__ import annotations

from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _

from tongxin.core import extensions
from tongxin.core.access import scope_roots
from tongxin.core.errors import NotFound
from tongxin.core.views import page_view
from tongxin.grid import selectors
from tongxin.grid.models import LEVEL_ORDER, Level

NODE_FIGURE_LABELS = {
    "townships": _("Townships"),
    "villages": _("Villages"),
    "grids": _("Grids"),
    "units": _("Household units"),
}


def _figure_labels() -> dict[str, str]:
    """The registered figures' labels (people, from the apps that keep them), then the network's."""
    return {**{f.name: f.label for f in extensions.rollup_figures()}, **NODE_FIGURE_LABELS}


def _columns_below(level: str) -> list[str]:
    """The figures worth showing for a node of ``level``: people, and the levels below it."""
    below = {lv.value for lv in LEVEL_ORDER[LEVEL_ORDER.index(Level(level)) + 1:]}
    return list(selectors.figures()) + [key for lv, key in selectors.NODE_FIGURES.items() if lv in below]


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
    labels = _figure_labels()
    links = [{"label": link.label, "url": link.url(node)}
             for link in extensions.node_links() if link.visible(request.user)]
    sections = []
    for section in extensions.node_sections():
        context = section.context(request, node)
        if context is not None:
            sections.append({"template": section.template, "context": context})
    return render(request, "grid/node.html", {
        "node": node,
        "level": Level(node.level).label,
        "ancestors": selectors.ancestors_visible(actor=request.user, node=node),
        "figures": [(labels[key], rollup.figures[key]) for key in own_columns],
        "child_headers": [labels[key] for key in child_columns],
        "children": children,
        "links": links,
        "sections": sections,
    })
