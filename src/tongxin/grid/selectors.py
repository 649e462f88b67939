"""Reads of the network: node lists, one node, and the roll-up of a node's figures.

A roll-up is a constant number of queries whatever the node: the figures of every
child come from one UNION of GROUP BYs over a fixed-length prefix of the path copies.
The figures about people (households, residents, grid workers, …) are registered by the
apps that keep those records (``core.extensions.add_rollup_figure``); the network counts
its own nodes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Count, IntegerField, Value
from django.db.models.functions import Substr

from tongxin.core import extensions
from tongxin.core.errors import NotFound
from tongxin.core.refcache import ReferenceCache
from tongxin.grid.models import Node


def node_list(*, actor, level: str | None = None, parent: Node | None = None):
    qs = Node.objects.visible_to(actor, "node.view")
    if level:
        qs = qs.filter(level=level)
    if parent is not None:
        qs = qs.filter(parent=parent)
    return qs.order_by("path")


def node_get(*, actor, code: str) -> Node:
    node = Node.objects.visible_to(actor, "node.view").filter(code=str(code)[:18]).first()
    if node is None:
        raise NotFound()
    return node


# The node tree as this process last read it (see core/refcache.py). Keys carry the node's
# path, so a node that has moved is read afresh under its new path.
node_cache = ReferenceCache("nodes", models=("grid.Node",))


def node_cached(node_id, path: str) -> Node:
    """The node ``node_id``, whose path the caller has just read from the database (a
    household's or a request's copy): served from the cache while that path still matches.
    No scope check: the caller has already read the record that names the node."""
    return node_cache.get(("id", node_id, path), lambda: Node.objects.get(pk=node_id))


def ancestor_at(node: Node, level: str) -> Node | None:
    """The node's ancestor (or itself) at ``level``, or None."""
    return node_cache.get(("ancestor", node.pk, node.path, level), lambda: Node.objects.filter(
        path__in=node.ancestor_paths(), level=level).one_or_none())


def ancestors_visible(*, actor, node: Node) -> list[Node]:
    """The breadcrumb: the node's ancestors the actor may see, top first."""
    paths = node.ancestor_paths()[:-1]
    return list(Node.objects.visible_to(actor, "node.view").filter(path__in=paths).order_by("path"))


# Counts of nodes below, by level, reported beside the registered figures.
NODE_FIGURES = {"township": "townships", "village": "villages", "grid": "grids", "unit": "units"}


def figures() -> tuple[str, ...]:
    """The names of the registered figures, in their order."""
    return tuple(f.name for f in extensions.rollup_figures())


def all_figures() -> tuple[str, ...]:
    return figures() + tuple(NODE_FIGURES.values())


@dataclass
class RollupRow:
    code: str
    name: str
    level: str
    figures: dict[str, int] = field(default_factory=dict)


@dataclass
class Rollup:
    node: Node
    figures: dict[str, int]
    children: list[RollupRow]


def _grouped(path: str, length: int, registered: list):
    """One UNION query: (prefix, figure index, count) for every registered figure."""

    def part(figure, kind: int):
        return (figure.rows().filter(**{f"{figure.path_field}__startswith": path})
                .annotate(prefix=Substr(figure.path_field, 1, length),
                          kind=Value(kind, output_field=IntegerField()))
                .order_by().values("prefix", "kind").annotate(n=Count("*")))

    first, *others = [part(figure, kind) for kind, figure in enumerate(registered)]
    return first.union(*others, all=True) if others else first


def children_and_prefix(node: Node) -> tuple[list[Node], int]:
    """A node's children, and the path-prefix length that groups every record below the node
    by child: children of a node share one code length (one query)."""
    children = list(Node.objects.filter(parent=node).order_by("path"))
    return children, len(children[0].path) if children else len(node.path)


def node_rollup(*, actor, node: Node) -> Rollup:
    children, length = children_and_prefix(node)
    registered = extensions.rollup_figures()
    names = all_figures()
    by_prefix: dict[str, dict[str, int]] = {}
    total = dict.fromkeys(names, 0)

    def add(prefix: str, name: str, n: int) -> None:
        by_prefix.setdefault(prefix, dict.fromkeys(names, 0))[name] += n
        total[name] += n

    if registered:
        for prefix, kind, n in _grouped(node.path, length, registered).values_list("prefix", "kind", "n"):
            add(prefix, registered[kind].name, n)
    nodes_below = (Node.objects.filter(path__startswith=node.path, level__in=list(NODE_FIGURES))
                   .exclude(pk=node.pk).exclude(parent=node).annotate(prefix=Substr("path", 1, length))
                   .order_by().values_list("prefix", "level").annotate(n=Count("*")))
    for prefix, level, n in nodes_below:
        add(prefix, NODE_FIGURES[level], n)
    for child in children:  # a child counts among the nodes below its parent, not below itself
        if child.level in NODE_FIGURES:
            total[NODE_FIGURES[child.level]] += 1
    rows = [RollupRow(code=c.code, name=c.name, level=c.level,
                      figures=by_prefix.get(c.path, dict.fromkeys(names, 0))) for c in children]
    return Rollup(node=node, figures=total, children=rows)
