"""The generated scope walk (DESIGN.md principle 2): every route that names an object, found
at run time, is tried against objects inside and outside the caller's scope.

For every API operation (from the Ninja ``api`` object) and every web page (from Django's
URL resolver) that takes an object id or code, in a path, a query or a body:

- a grid worker of grid A gets 404 for the objects of grid B (another township) and of grid
  A2 (the next grid in the same village), for reads and writes alike, and nothing changes;
- staff of township 1 get 200 for their own township's objects and 404 for township 2's;
- every write that succeeds adds exactly one audit entry.

A parameter the walk does not know how to fill, or an operation it has no rule for, fails
the walk: a new route cannot escape it. Teach the walk in the app's own ``tests/<app>/walk.py``
(collected by ``tests/walk.py``): each app adds the rows its routes need.
"""

from __future__ import annotations

import dataclasses
import re
from types import SimpleNamespace

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from tests.factories import Factory, Network, build_network, module_transaction
from tests.walk import collect
from tongxin.core.api import api as ninja_api

# --- discovery -------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Route:
    kind: str  # "api" or "page"
    method: str
    path: str  # API: "/api/v1/nodes/{code}"; page: "/network/<str:code>/"
    path_params: tuple[str, ...]
    query_params: tuple[tuple[str, bool], ...] = ()  # (name, required)
    body: str = ""  # "", "json" or "multipart"
    body_fields: tuple[tuple[str, str], ...] = ()  # (name, type) of a JSON body's fields
    name: str = ""

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"

    def __str__(self) -> str:
        return self.key if self.kind == "api" else f"page {self.path}"


def _api_prefix() -> str:
    from django.urls import reverse

    return reverse(f"{ninja_api.urls_namespace}:api-root").rstrip("/")


def _fields(model) -> dict:
    return getattr(model, "model_fields", {}) if isinstance(model, type) else {}


def api_routes() -> list[Route]:
    """Every operation of the Ninja API, read from its routers (the OpenAPI document is built
    from the same operations, but a route that breaks the document must not break the walk)."""
    prefix = _api_prefix()
    routes = []
    for router_prefix, router in ninja_api.mount_registered()._routers:
        for path, path_view in router.path_operations.items():
            for operation in path_view.operations:
                path_params, query_params, body, body_fields = [], [], "", {}
                for model in operation.signature.models:
                    source = model.__ninja_param_source__
                    for name, info in model.model_fields.items():
                        inner = _fields(info.annotation)
                        if source == "path":
                            path_params.append(name)
                        elif source == "query":
                            query_params += ([(f.alias or n, f.is_required()) for n, f in inner.items()] if inner
                                             else [(info.alias or name, info.is_required())])
                        elif source == "body":
                            body, body_fields = "json", (inner or {name: info})
                        else:  # file, form
                            body = "multipart"
                for method in operation.methods:
                    routes.append(Route(
                        kind="api", method=method, path=f"{prefix}{router_prefix}{path}",
                        path_params=tuple(path_params), query_params=tuple(query_params), body=body,
                        body_fields=tuple((n, repr(f.annotation)) for n, f in body_fields.items()),
                        name=getattr(operation, "url_name", "") or ""))
    return routes


_CONVERTER = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>[^>]+)>")


def _patterns(resolver: URLResolver, prefix: str = "", namespace: str = ""):
    for pattern in resolver.url_patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from _patterns(pattern, route, inner)
        elif isinstance(pattern, URLPattern):
            yield route, pattern, namespace


# Page routes outside the walk, with the reason.
PUBLIC_PAGES = {
    "open311/v2/": "Open311 GeoReport v2: a public feed of public fields by construction, no object of "
                   "anyone's scope (see dispatch.open311); its one write is walked in "
                   "test_open311_filing_respects_scope",
}


def page_routes() -> list[Route]:
    """Web pages that take an object parameter (the API's own patterns are walked above)."""
    routes = []
    for route, pattern, namespace in _patterns(get_resolver()):
        if route.startswith(("api/", "i18n/", "static/", *PUBLIC_PAGES)):
            continue
        names = tuple(m.group("name") for m in _CONVERTER.finditer(route)) or tuple(pattern.pattern.regex.groupindex)
        name = f"{namespace}{pattern.name}" if pattern.name else ""
        if names:
            routes.append(Route(kind="page", method="GET", path="/" + route, path_params=names, name=name))
        elif name in ROWS.page_queries:  # a list's export: its object is a place in the query
            routes.append(Route(kind="page", method="GET", path="/" + route, path_params=(),
                                query_params=tuple((q, True) for q in ROWS.page_queries[name]), name=name))
    return routes


def export_routes() -> list[str]:
    """Every page that answers a file of a list (its address ends in .xlsx)."""
    return [f"{namespace}{pattern.name}" for route, pattern, namespace in _patterns(get_resolver())
            if route.endswith(".xlsx")]


# --- what each parameter means: the apps' rows (tests/<app>/walk.py) ----------------------

ROWS = collect()
PATH_PARAMS = ROWS.path_params
PAGE_PLAIN = ROWS.page_plain
PAGE_FORMS = ROWS.page_forms
QUERY_REFS = ROWS.query_refs
QUERY_PLAIN = ROWS.query_plain
BODY_REFS = ROWS.body_refs
BODIES = ROWS.bodies
UNSCOPED = ROWS.unscoped
INSIDERS = ROWS.insiders
PREPARE = ROWS.prepare


class WalkError(Exception):
    """The walk met something it cannot fill: teach it (see the tables above)."""


def fill(route: Route, side: SimpleNamespace) -> tuple[str, dict, dict | None]:
    """The URL, query and body of ``route`` with every object parameter taken from ``side``."""
    path = route.path
    values = {}
    for name in route.path_params:
        if route.kind == "page" and name in PAGE_PLAIN:
            values[name] = PAGE_PLAIN[name]
            continue
        if name not in PATH_PARAMS:
            raise WalkError(f"{route}: the walk does not know how to fill path parameter {name!r}")
        values[name] = PATH_PARAMS[name](side)
        path = path.replace(f"{{{name}}}", values[name])
    if route.kind == "page":
        if not route.name:
            raise WalkError(f"{route}: a page route needs a name for the walk to build its address")
        path = reverse(route.name, kwargs=values)
    query = {}
    for name, required in route.query_params:
        if name in QUERY_REFS:
            query[name] = QUERY_REFS[name](side)
        elif name in QUERY_PLAIN:
            if required:
                if QUERY_PLAIN[name] is None:
                    raise WalkError(f"{route}: required query parameter {name!r} has no filler")
                query[name] = QUERY_PLAIN[name]()
        else:
            raise WalkError(f"{route}: the walk does not know query parameter {name!r}")
    body = None
    if route.body:
        if route.key not in BODIES:
            raise WalkError(f"{route}: the walk has no body for this write; add one to BODIES")
        body = BODIES[route.key](side)
        missing = _body_refs(route) - set(body)
        if missing:
            raise WalkError(f"{route}: the body must fill the object fields {sorted(missing)}")
    return path, query, body


def _body_refs(route: Route) -> set[str]:
    """The body fields that name objects; a field typed as an id the walk does not know fails."""
    unknown_ids = {name for name, kind in route.body_fields
                   if name != "id" and "UUID" in kind and name not in BODY_REFS}
    if unknown_ids:
        raise WalkError(f"{route}: body fields {sorted(unknown_ids)} name objects the walk does not know")
    return {name for name, _ in route.body_fields} & BODY_REFS


# --- the world ----------------------------------------------------------------------------


@dataclasses.dataclass
class World:
    net: Network
    own: SimpleNamespace  # grid A, township 1
    near: SimpleNamespace  # grid A2: same village as A, not grid worker A's
    far: SimpleNamespace  # grid B, township 2


def _side(net: Network, s, filer: str) -> SimpleNamespace:
    """One grid's objects: the network's own, and what each app makes there (its side builders)."""
    side = SimpleNamespace(township=s.township, village=s.village, grid=s.grid, unit=s.unit, household=s.household,
                           resident=s.resident, id_number=net.id_numbers[str(s.resident.pk)])
    for build in ROWS.side_builders:
        build(net, s, filer, side)
    return side


@pytest.fixture(scope="module")
def _module_world(django_db_setup, django_db_blocker):
    # Built once for the module; each test runs in a savepoint (the ``db`` fixture), so tests
    # never see each other's writes.
    with module_transaction(django_db_blocker):
        with django_db_blocker.unblock():
            net = build_network(Factory())
            built = World(net=net, own=_side(net, net.a, "grid_worker_a"),
                          near=_side(net, net.a2, "township1_staff"), far=_side(net, net.b, "grid_worker_b"))
        yield built


@pytest.fixture
def world(_module_world, db) -> World:
    return _module_world


# --- the walk ---------------------------------------------------------------------------

API_ROUTES = api_routes()
PAGE_ROUTES = page_routes()


def _takes_objects(route: Route) -> bool:
    return bool(route.path_params or any(n in QUERY_REFS for n, _ in route.query_params) or route.body)


def _call(client, route: Route, path: str, query: dict, body: dict | None):
    """Call the route; answers (response, whether it was a write)."""
    if route.kind == "page":
        response = client.get(path, query, follow=True)
        if response.status_code == 405:  # a page that only takes a form
            # Not followed: the page it redirects to may write an entry of its own (a view).
            return client.post(path, PAGE_FORMS.get(route.name, {})), True
        return response, False
    if route.body == "multipart":
        return client.client.generic(route.method, path, **_multipart(body)), True
    if route.method == "GET":
        return client.get(path, query), False
    query_string = "?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else ""
    return client.request(route.method, path + query_string, body), True


def _multipart(body: dict) -> dict:
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart

    files = {k: SimpleUploadedFile(v[0], v[1]) for k, v in body.items()}
    return {"data": encode_multipart(BOUNDARY, files), "content_type": MULTIPART_CONTENT}


def _walked_api_routes() -> list[Route]:
    return [r for r in API_ROUTES if r.key not in UNSCOPED]


def test_every_api_operation_is_walked_or_explained():
    unexplained = [r.key for r in API_ROUTES if r.key not in UNSCOPED and not _takes_objects(r)]
    assert not unexplained, f"operations that name no object and are not in UNSCOPED: {unexplained}"
    stale = set(UNSCOPED) - {r.key for r in API_ROUTES}
    assert not stale, f"UNSCOPED names operations that no longer exist: {stale}"
    assert len(_walked_api_routes()) >= 15  # the walk found the API at all


def test_the_walk_fails_loudly_on_a_parameter_it_cannot_fill(world):
    for route in [Route("api", "GET", "/api/v1/widgets/{widget_id}", ("widget_id",)),
                  Route("api", "GET", "/api/v1/things", (), (("owner", False),)),
                  Route("api", "POST", "/api/v1/things", (), body="json"),
                  Route("page", "GET", "/widgets/<uuid:widget_id>/", ("widget_id",), name="widget")]:
        with pytest.raises(WalkError):
            fill(route, world.own)


def test_the_page_walk_discovers_routes_from_the_resolver():
    # Pages are written beside the API; whatever is there now is discovered, with its parameters.
    for route in PAGE_ROUTES:
        assert route.path.startswith("/") and (route.path_params or route.query_params)
    found = {p.name for _, p, _ in _patterns(get_resolver())}
    assert "node_detail" in found and "resident_detail" in found  # the API's own patterns, at least


def test_every_export_is_walked_or_explained():
    """A list's export copies data out of the platform: each is walked from a place in its query,
    or says why it names no object (it lists the caller's own work)."""
    walked = {r.name for r in PAGE_ROUTES}
    exports = export_routes()
    assert len(exports) >= 6  # queue, inbox, households, staff, visits, statistics
    unexplained = [n for n in exports if n not in walked and n not in ROWS.page_unscoped]
    assert not unexplained, f"exports the walk does not try and page_unscoped does not explain: {unexplained}"


def _insider(route: Route) -> str:
    return INSIDERS.get(route.key, "township1_staff")


@pytest.mark.parametrize("route", _walked_api_routes() + PAGE_ROUTES, ids=str)
def test_scope_walk(world, route, api, page_client, db_state, audit_entries):
    net = world.net

    def client_for(user_name: str):
        user = net.user(user_name)
        return page_client(user) if route.kind == "page" else api(user)

    # A grid worker of grid A: outside scope is 404, for reads and writes, and nothing changes.
    outsider = client_for("grid_worker_a")
    for side in (world.far, world.near):
        path, query, body = fill(route, side)
        before = db_state()
        response, _ = _call(outsider, route, path, query, body)
        assert response.status_code == 404, f"grid worker A: {route} on {side.grid.code} -> {response.status_code}"
        if route.kind == "api":
            assert set(response.json()["error"]) == {"code", "message", "fields"}
        assert db_state() == before, f"{route} on {side.grid.code} changed the database"
        if route.kind == "page":  # a form posted to a page out of scope is refused the same way
            posted = outsider.post(path, {"name_zh": "x", "address": "x"})
            assert posted.status_code in (404, 405), f"POST {route.path} -> {posted.status_code}"
            assert db_state() == before

    # Township 1: township 2's objects are not found, whatever the route.
    insider = client_for(_insider(route))
    path, query, body = fill(route, world.far)
    before = db_state()
    response, _ = _call(insider, route, path, query, body)
    assert response.status_code == 404, f"{_insider(route)}: {route} on township 2 -> {response.status_code}"
    assert db_state() == before

    # Township 1's own objects answer, and a write adds exactly one audit entry.
    if route.key in PREPARE:
        PREPARE[route.key](world, world.own)
    path, query, body = fill(route, world.own)
    entries = audit_entries()
    response, wrote = _call(insider, route, path, query, body)
    written = audit_entries() - entries
    if route.kind == "page" and wrote and response.status_code == 302:  # a form's POST-redirect-GET
        assert "login" not in response["Location"], f"{route}: redirected to {response['Location']}"
        response = insider.get(response["Location"], follow=True)
    assert response.status_code in (200, 201), (
        f"{_insider(route)}: {route} on own {world.own.grid.code} -> {response.status_code} "
        f"{response.content[:300]!r}")
    if route.kind == "page":
        chain = getattr(response, "redirect_chain", None)
        assert not chain or "login" not in chain[-1][0]
    if wrote:
        assert written == 1, f"{route}: {written} audit entries for one write"


def test_open311_filing_respects_scope(world, api, db_state, audit_entries):
    """The one Open311 write files at ``address_id``, which must lie in the api_key holder's scope."""
    token = api(world.net.user("grid_worker_a")).token
    for side in (world.far, world.near):
        before = db_state()
        response = api(None).client.post("/open311/v2/requests.json", {
            "api_key": token, "service_code": "water", "address_id": side.grid.code,
            "description": "The pipe is frozen."})
        assert response.status_code == 404, response.content
        assert db_state() == before
    entries = audit_entries()
    response = api(None).client.post("/open311/v2/requests.json", {
        "api_key": token, "service_code": "water", "address_id": world.own.grid.code,
        "description": "The pipe is frozen."})
    assert response.status_code == 201, response.content
    assert audit_entries() == entries + 1
