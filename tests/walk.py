"""The scope walk's tables, filled by the apps: each app's ``tests/<app>/walk.py`` has a
``contribute(rows)`` that adds what the walk needs to try that app's routes — how to fill
its path, query and body parameters from one grid's objects, the objects it makes for each
grid, and the operations that name no object (with the reason). The walk
(``tests/test_scope_walk.py``) collects them from the installed apps: a new app adds its own
file and never edits the walk.
"""

from __future__ import annotations

import dataclasses
import importlib
import io
import itertools
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

from django.apps import apps


@dataclasses.dataclass
class WalkRows:
    # Path parameters that name an object: how to fill each from a side.
    path_params: dict[str, Callable[[Any], str]] = dataclasses.field(default_factory=dict)
    # Path parameters of pages that name no object, and the value the walk sends.
    page_plain: dict[str, str] = dataclasses.field(default_factory=dict)
    # Form fields a page that takes POST needs to succeed (by URL name).
    page_forms: dict[str, dict] = dataclasses.field(default_factory=dict)
    # Pages that name their object only in the query (a list's export filtered to a place), by
    # URL name: the query parameters (each filled through ``query_refs``) the walk sends.
    page_queries: dict[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)
    # Pages without an object of anyone's scope in their address (by URL name), with the reason.
    page_unscoped: dict[str, str] = dataclasses.field(default_factory=dict)
    # Query parameters that name an object.
    query_refs: dict[str, Callable[[Any], str]] = dataclasses.field(default_factory=dict)
    # Query parameters that name no object: a filler when the route requires one (None: none needed).
    query_plain: dict[str, Callable[[], str] | None] = dataclasses.field(default_factory=dict)
    # Body fields that name objects: every body must fill them from the side under test.
    body_refs: set[str] = dataclasses.field(default_factory=set)
    # The body each write sends, by "METHOD /path".
    bodies: dict[str, Callable[[Any], dict]] = dataclasses.field(default_factory=dict)
    # Operations that name no object, with the reason they are outside the walk.
    unscoped: dict[str, str] = dataclasses.field(default_factory=dict)
    # Who plays "township 1" for operations township staff may not take at all.
    insiders: dict[str, str] = dataclasses.field(default_factory=dict)
    # State a write needs before the insider takes it: fn(world, side).
    prepare: dict[str, Callable[[Any, Any], None]] = dataclasses.field(default_factory=dict)
    # Objects each app makes for one grid: fn(net, grid_side, filer, side) sets attributes on side.
    side_builders: list[Callable[[Any, Any, str, SimpleNamespace], None]] = dataclasses.field(default_factory=list)


def png() -> bytes:
    """A tiny photo, for uploads."""
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (4, 4), (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


fresh = itertools.count(1)


def collect() -> WalkRows:
    """The rows of every installed Tongxin app, in the apps' order."""
    rows = WalkRows()
    for config in apps.get_app_configs():
        if not config.name.startswith("tongxin."):
            continue
        try:
            module = importlib.import_module(f"tests.{config.label}.walk")
        except ModuleNotFoundError as exc:
            if exc.name != f"tests.{config.label}.walk":
                raise
            continue
        module.contribute(rows)
    return rows
