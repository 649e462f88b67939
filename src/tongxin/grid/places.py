"""Where a record is, as its reader reads it: the path of its node below the reader's own level
(a township's staff read "East Village › Grid 1 › Unit 1", a grid worker "Unit 1").

Rules: the names come from the node cache (``grid.selectors.node_cache``), for a whole page of
rows at once — one query for the names the cache lacks, never one per row; and a place is named
from just below the deepest node at which the reader works that holds it (its scope root), or,
for a reader who works at none of them (a resident), from below the county. Every list that
shows a node (the queue, the inbox, the map's popups, statistics) names it through here, in
templates with ``{% place node %}`` (``grid/templatetags/tongxin_places.py``).
"""

from __future__ import annotations

from collections.abc import Iterable

from tongxin.core.access import scope_roots
from tongxin.core.i18n import active_code
from tongxin.grid.models import Level, Node
from tongxin.grid.selectors import node_cache

SEPARATOR = " › "
# Levels a reader who works at no node above the place does not need named: the county is known.
_ABOVE_TOWNSHIP = frozenset({Level.REGION, Level.PREFECTURE, Level.COUNTY})
_SUFFIX = {"zh-hans": "name_zh", "bo": "name_bo", "en": "name_en"}


def ancestor_paths(path: str) -> list[str]:
    """The paths of a node's ancestors and of itself, top first."""
    parts = path.strip("/").split("/")
    return ["/" + "/".join(parts[: i + 1]) + "/" for i in range(len(parts))] if parts[0] else []


def _load(keys: list) -> dict:
    rows = Node.objects.filter(path__in=[path for _kind, path in keys]).values_list(
        "path", "level", "name_zh", "name_bo", "name_en")
    return {("names", path): {"level": level, "name_zh": zh, "name_bo": bo, "name_en": en}
            for path, level, zh, bo, en in rows}


def names_of(paths: Iterable[str]) -> dict[str, dict]:
    """Each path's level and names in every language (from the cache; one query for the rest)."""
    found = node_cache.get_many([("names", p) for p in paths], _load)
    return {path: value for (_kind, path), value in found.items()}


def path_of(node_or_path) -> str:
    return node_or_path if isinstance(node_or_path, str) else node_or_path.path


class Places:
    """The places of one page of rows, for one reader: built once with every node the page
    shows (``Places(actor, [r.node for r in rows])``), then asked per row without a query."""

    def __init__(self, actor, nodes: Iterable[Node | str] = ()):
        self.roots = sorted(scope_roots(actor, "node.view"), key=len, reverse=True) if actor is not None else []
        self.names: dict[str, dict] = {}
        self._asked: set[str] = set()
        self.add(nodes)

    def add(self, nodes: Iterable[Node | str]) -> Places:
        wanted = {a for n in nodes if n is not None for a in ancestor_paths(path_of(n))} - self._asked
        if wanted:
            self._asked |= wanted
            self.names.update(names_of(sorted(wanted)))
        return self

    def trail(self, node_or_path) -> list[str]:
        """The names from just below the reader's level down to the place itself; the place's
        own name when the reader works there or below."""
        path = path_of(node_or_path)
        if not path:
            return []
        if path not in self._asked:
            self.add([path])
        paths = ancestor_paths(path)
        root = next((r for r in self.roots if path.startswith(r)), None)
        if root is not None:
            below = paths[paths.index(root) + 1:] if root in paths else paths[-1:]
        else:
            below = [p for p in paths if self.names.get(p, {}).get("level") not in _ABOVE_TOWNSHIP]
        below = below or paths[-1:]
        key = _SUFFIX[active_code()]
        return [(self.names[p].get(key) or self.names[p]["name_zh"]) for p in below if p in self.names]

    def text(self, node_or_path) -> str:
        return SEPARATOR.join(self.trail(node_or_path))
