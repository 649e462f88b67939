"""Apps plug into the kernel by registration (core.extensions, core.access): the API root
holds every app's routes, the menu and the start page are what they were when the kernel
wrote them itself, and the roll-up's figures come from the apps that keep the records."""

from __future__ import annotations

import pytest
from django.test import RequestFactory
from django.urls import reverse

from tongxin.core import access, extensions
from tongxin.core.api import api
from tongxin.core.context import navigation
from tongxin.grid import selectors as grid_selectors
from tongxin.people.permissions import roles_of, user_can
from tongxin.people.roles import Role


def test_the_api_root_holds_every_apps_routes():
    paths = set(api.get_openapi_schema()["paths"])
    for path in ("/api/v1/auth/token", "/api/v1/nodes/{code}/rollup", "/api/v1/households",
                 "/api/v1/users/{username}/household", "/api/v1/requests", "/api/v1/calendar/{year}"):
        assert path in paths, path
    # Mounted in the registered order: people, grid, registry, dispatch, then the kernel's own.
    tags = [op["tags"][0] for item in api.get_openapi_schema()["paths"].values() for op in item.values()]
    first = {tag: tags.index(tag) for tag in tags}
    assert first["auth"] < first["network"] < first["registry"] < first["calendar and inbox"], first


def _menu_as_the_kernel_wrote_it(user) -> list[str]:
    """The menu before apps registered it (core/context.py and base.html of the earlier code)."""
    handles = user_can(user, "request.handle")
    grid_work = bool(roles_of(user) & {Role.GRID_WORKER, Role.GRID_LEADER})
    rule = [
        ("dispatch:today", grid_work),  # issue 9: a grid worker's day, first
        ("grid:top", user_can(user, "node.view")),
        ("registry:household_list", user_can(user, "household.view")),
        ("people:staff", user_can(user, "staff.view")),
        # issue 8: the administrators' account pages (people registers them beside the roster)
        ("people:accounts", any(user_can(user, a) for a in ("user.manage", "user.secure", "role.grant"))),
        ("core:audit", user_can(user, "audit.view")),
        ("dispatch:queue", handles or user_can(user, "dispatch.stats")),
        ("dispatch:map", handles or user_can(user, "dispatch.stats")),
        # issue 9: the grid's workers record the resident's confirmation and rating at the doorstep
        ("dispatch:to_confirm", bool(roles_of(user) & {Role.GRID_WORKER, Role.GRID_LEADER})),
        ("dispatch:visits", user_can(user, "visit.view")),  # issue 9: door-knocking rounds
        ("dispatch:inbox", Role.DEPARTMENT_OFFICER in roles_of(user)),
        ("dispatch:stats", user_can(user, "dispatch.stats")),
        ("dispatch:my_requests", user_can(user, "request.file") and not handles),
        ("people:account", True),  # issue 8: everyone's own account (password, sessions, tokens)
    ]
    return [reverse(name) for name, shown in rule if shown]


@pytest.mark.django_db
def test_the_registered_menu_is_the_one_every_role_had(shared_network):
    request = RequestFactory().get("/")
    roles_seen = set()
    for name in shared_network.users:
        user = shared_network.user(name)
        request.user = user
        menu = navigation(request)["menu"]
        assert [entry["url"] for entry in menu] == _menu_as_the_kernel_wrote_it(user), name
        assert all(str(entry["label"]) for entry in menu)
        roles_seen |= roles_of(user)
    assert {Role.GRID_WORKER, Role.RESIDENT, Role.DEPARTMENT_OFFICER, Role.SYSTEM_ADMIN} <= roles_seen


@pytest.mark.django_db
def test_the_start_page_follows_the_registered_order(shared_network):
    # Each role lands where its work is (issue 9): the grid's day, the queue, the inbox; the
    # network for the others who see it; a resident's household.
    assert extensions.start_page(shared_network.user("grid_worker_a")) == reverse("dispatch:today")
    assert extensions.start_page(shared_network.user("dispatch_officer")) == reverse("dispatch:queue")
    assert extensions.start_page(shared_network.user("department_officer")) == reverse("dispatch:inbox")
    assert extensions.start_page(shared_network.user("village1_staff")) == reverse("grid:top")
    resident = shared_network.user("resident_a")
    assert extensions.start_page(resident) == reverse("registry:household",
                                                      kwargs={"household_id": resident.household_id})


def test_the_rollup_figures_come_from_the_apps_that_keep_the_records():
    assert grid_selectors.figures() == ("households", "residents", "grid_workers")
    models = [figure.rows().model._meta.label for figure in extensions.rollup_figures()]
    assert models == ["registry.Household", "registry.Resident", "people.RoleAssignment"]


@pytest.mark.django_db
def test_the_scope_function_is_the_one_people_registered(shared_network):
    from tongxin.grid.models import Node
    from tongxin.people import scope

    worker = shared_network.user("grid_worker_a")
    assert list(access.restrict(Node.objects.all(), worker, "node.view")) == list(
        scope.restrict(Node.objects.all(), worker, "node.view"))
    assert access.scope_roots(worker, "node.view") == scope.scope_roots(worker, "node.view")


def test_a_records_page_shows_the_buttons_and_blocks_the_apps_registered_for_it():
    """The household page knows no app above the registry: dispatch registers its buttons and blocks."""
    from django.utils import translation

    with translation.override("en"):
        links = {str(link.label) for link in extensions._page_links if link.page == "registry:household"}
    assert {"Record a visit", "File a request"} <= links
    templates = [s.template for s in extensions._page_sections if s.page == "registry:household"]
    assert templates == ["dispatch/_household_requests.html", "dispatch/_household_visits.html"]
    # Registering again at the same order replaces; a predicate decides per user and record.
    saved = list(extensions._page_links)
    try:
        extensions.add_page_link(page="test:page", label="A", url=lambda obj: f"/a/{obj}", order=1,
                                 visible=lambda user, obj: obj == "yes")
        extensions.add_page_link(page="test:page", label="B", url=lambda obj: f"/b/{obj}", order=1,
                                 visible=lambda user, obj: obj == "yes")
        assert extensions.page_links("test:page", None, "yes") == [{"label": "B", "url": "/b/yes",
                                                                   "primary": False}]
        assert extensions.page_links("test:page", None, "no") == []
    finally:
        extensions._page_links[:] = saved
