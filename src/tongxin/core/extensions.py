"""How an app plugs into the kernel (DESIGN.md "How a capability plugs in").

The kernel knows no app: each app calls these from its ``AppConfig.ready()`` to add its API
router, its menu entries, its figures in a node's roll-up, where a user starts, and who a
bearer token names. The kernel and the apps below read the lists; nobody imports the app
that filled them. Periodic jobs are registered the same way (``core.jobs``); the scope
function has its own seat (``core.access``).

Rule: registration happens at start-up; nothing registers per request. Registering the same
thing again (an app's ``ready()`` run twice) replaces it rather than adding it twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet

Predicate = Callable[[Any], bool]


# --- API routers ----------------------------------------------------------------------------

_routers: list[tuple[int, str, object]] = []


def add_router(router, *, order: int, prefix: str = "") -> None:
    """Mount ``router`` (a ninja Router) on the API root; routers are mounted in ``order``."""
    if not any(r is router for _o, _p, r in _routers):
        _routers.append((order, prefix, router))


def routers() -> list[tuple[str, Any]]:
    return [(prefix, router) for _order, prefix, router in sorted(_routers, key=lambda r: r[0])]


# --- who a bearer token names ---------------------------------------------------------------

_token_user: Callable[[str], object | None] = lambda token: None  # noqa: E731 (nobody until one registers)


def set_token_resolver(resolver: Callable[[str], object | None]) -> None:
    """The function that answers the user a bearer token names, or None (``people``)."""
    global _token_user
    _token_user = resolver


def token_user(token: str):
    return _token_user(token)


# --- the menu -------------------------------------------------------------------------------


@dataclass(frozen=True)
class MenuEntry:
    url_name: str  # reversed without arguments
    label: str  # a lazy translation
    visible: Predicate  # over the signed-in user
    order: int


_menu: list[MenuEntry] = []


def add_menu_entry(*, url_name: str, label, visible: Predicate, order: int) -> None:
    _menu[:] = [e for e in _menu if e.url_name != url_name]
    _menu.append(MenuEntry(url_name=url_name, label=label, visible=visible, order=order))
    _menu.sort(key=lambda e: e.order)


def menu_entries() -> list[MenuEntry]:
    return list(_menu)


# --- where a signed-in user starts ----------------------------------------------------------


@dataclass(frozen=True)
class StartPage:
    target: Callable[[Any], str | None]  # the URL for this user, or None
    order: int


_start_pages: list[StartPage] = []


def add_start_page(*, target: Callable[[Any], str | None], order: int) -> None:
    _start_pages[:] = [p for p in _start_pages if p.order != order]
    _start_pages.append(StartPage(target=target, order=order))
    _start_pages.sort(key=lambda p: p.order)


def start_page(user) -> str | None:
    """The first registered start page that has a place for ``user``."""
    for page in _start_pages:
        url = page.target(user)
        if url:
            return url
    return None


# --- figures in a node's roll-up ------------------------------------------------------------


@dataclass(frozen=True)
class RollupFigure:
    """One count in a node's roll-up: ``rows()`` are the records counted, each carrying a copy
    of its node's path in ``path_field``; the roll-up groups them by child in one query."""

    name: str
    label: str
    rows: Callable[[], QuerySet]
    order: int
    path_field: str = "node_path"


_figures: list[RollupFigure] = []


def add_rollup_figure(*, name: str, label, rows: Callable[[], QuerySet], order: int,
                      path_field: str = "node_path") -> None:
    _figures[:] = [f for f in _figures if f.name != name]
    _figures.append(RollupFigure(name=name, label=label, rows=rows, order=order, path_field=path_field))
    _figures.sort(key=lambda f: f.order)


def rollup_figures() -> list[RollupFigure]:
    return list(_figures)


# --- what a node's page shows beside the network --------------------------------------------


@dataclass(frozen=True)
class NodeLink:
    """A button on a node's page (``Households here``): ``url(node)`` for users ``visible`` to."""

    label: str
    url: Callable[[Any], str]
    visible: Predicate
    order: int


@dataclass(frozen=True)
class NodeSection:
    """A block on a node's page: ``template`` rendered with ``section`` set to what
    ``context(request, node)`` answers; None leaves the block out."""

    template: str
    context: Callable[[Any, Any], dict | None]
    order: int


_node_links: list[NodeLink] = []
_node_sections: list[NodeSection] = []


def add_node_link(*, label, url: Callable[[Any], str], visible: Predicate, order: int) -> None:
    _node_links[:] = [link for link in _node_links if link.order != order]
    _node_links.append(NodeLink(label=label, url=url, visible=visible, order=order))
    _node_links.sort(key=lambda link: link.order)


def node_links() -> list[NodeLink]:
    return list(_node_links)


def add_node_section(*, template: str, context: Callable[[Any, Any], dict | None], order: int) -> None:
    _node_sections[:] = [s for s in _node_sections if s.template != template]
    _node_sections.append(NodeSection(template=template, context=context, order=order))
    _node_sections.sort(key=lambda s: s.order)


def node_sections() -> list[NodeSection]:
    return list(_node_sections)


# --- what a record's page shows from the apps above it --------------------------------------


@dataclass(frozen=True)
class PageLink:
    """A button on a record's page (``page``: the page's URL name, e.g. ``registry:household``):
    ``url(obj)`` for users ``visible(user, obj)`` says may use it."""

    page: str
    label: str
    url: Callable[[Any], str]
    visible: Callable[[Any, Any], bool]
    order: int
    primary: bool = False


@dataclass(frozen=True)
class PageSection:
    """A block on a record's page: ``template`` rendered with ``section`` set to what
    ``context(request, obj)`` answers; None leaves the block out."""

    page: str
    template: str
    context: Callable[[Any, Any], dict | None]
    order: int


_page_links: list[PageLink] = []
_page_sections: list[PageSection] = []


def add_page_link(*, page: str, label, url: Callable[[Any], str], visible: Callable[[Any, Any], bool],
                  order: int, primary: bool = False) -> None:
    _page_links[:] = [link for link in _page_links if (link.page, link.order) != (page, order)]
    _page_links.append(PageLink(page=page, label=label, url=url, visible=visible, order=order, primary=primary))
    _page_links.sort(key=lambda link: (link.page, link.order))


def page_links(page: str, user, obj) -> list[dict]:
    """The buttons the apps registered for ``page`` that ``user`` may use on ``obj``."""
    return [{"label": link.label, "url": link.url(obj), "primary": link.primary}
            for link in _page_links if link.page == page and link.visible(user, obj)]


def add_page_section(*, page: str, template: str, context: Callable[[Any, Any], dict | None], order: int) -> None:
    _page_sections[:] = [s for s in _page_sections if (s.page, s.template) != (page, template)]
    _page_sections.append(PageSection(page=page, template=template, context=context, order=order))
    _page_sections.sort(key=lambda s: (s.page, s.order))


def page_sections(page: str, request, obj) -> list[dict]:
    """The blocks the apps registered for ``page``, each with its context for ``obj``."""
    shown = []
    for section in _page_sections:
        if section.page != page:
            continue
        context = section.context(request, obj)
        if context is not None:
            shown.append({"template": section.template, "context": context})
    return shown
