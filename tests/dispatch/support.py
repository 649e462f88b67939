"""Helpers for the dispatch tests: the network builder, an API client, small counters."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tongxin.core.models import AuditEntry
from tongxin.dispatch import catalogue, services
from tongxin.dispatch.catalogue import DEPARTMENTS
from tongxin.dispatch.models import Category, Request
from tongxin.grid import services as grid_services
from tongxin.grid.models import Department, Level, Node
from tongxin.people import services as people_services
from tongxin.people.models import User
from tongxin.people.roles import Role
from tongxin.registry import services as registry_services
from tongxin.registry.models import Household

PASSWORD = "Yak-butter-tea-at-4300m"
COUNTY = "540230"
TZ = ZoneInfo("Asia/Shanghai")


def at(*args) -> dt.datetime:
    """A moment in the county's time zone: ``at(2026, 9, 30, 16)``."""
    return dt.datetime(*args, tzinfo=TZ)


def ensure_categories() -> None:
    """The data migration's categories (a flush by a transactional test removes them)."""
    catalogue.ensure_categories()


@dataclass
class Net:
    county: Node
    townships: dict[str, Node]
    villages: dict[str, Node]
    grids: dict[str, Node]
    units: dict[str, Node]
    households: dict[str, Household]
    departments: dict[str, Department]
    users: dict[str, User] = field(default_factory=dict)

    def user(self, name: str) -> User:
        """A fresh copy (role assignments are cached on the object)."""
        return User.objects.get(pk=self.users[name].pk)

    def category(self, code: str) -> Category:
        return Category.objects.get(code=code)


def make_node(code: str, level: str, parent: Node | None) -> Node:
    return grid_services.node_create(actor=None, code=code, level=level, parent=parent, name_zh=f"节点{code}",
                                     name_en=f"Node {code}", check_scope=False)


def make_household(unit: Node, number: str) -> Household:
    return registry_services.household_create(actor=None, node=unit, number=number, address=f"{number} 路 1 号",
                                              head_name="Tashi", check_scope=False)


def make_user(name: str, role: str | None, node: Node | None, *, department: Department | None = None,
              language: str = "zh-hans") -> User:
    user = people_services.user_create(actor=None, username=name, password=PASSWORD,
                                       full_name=name.replace("_", " ").title(), preferred_language=language,
                                       check_scope=False)
    if role:
        people_services.role_grant(actor=None, user=user, role=role, node=node, department=department,
                                   check_scope=False)
    return user


def build_net() -> Net:
    """The network, with every node, household and account made through the real services::

        540230 county                       dispatch_officer (en), water_officer (bo), housing_officer (en);
        │                                   all 14 catalogue departments
        ├── 540230100 township 1            township1_staff
        │   └── 540230100201 village 1      village1_staff
        │       ├── …201001 grid a          grid_worker_a (en), grid_leader_a
        │       │   └── …001 unit a         households a1 (resident_a, bo) and a2
        │       └── …201002 grid a2         grid_worker_a2
        │           └── …001 unit a2        household a2_1
        └── 540230200 township 2            township2_staff
            └── 540230200201 village 2      village2_staff
                ├── …201001 grid b          grid_worker_b
                │   └── …001 unit b         household b1
                └── …201002 grid b2         (no worker)
                    └── …001 unit b2        household b2_1

    No role here logs in with a second factor, so the API clients need no TOTP."""
    ensure_categories()
    county = make_node(COUNTY, Level.COUNTY, None)
    townships, villages, grids, units = {}, {}, {}, {}
    for t, side in (("1", "a"), ("2", "b")):
        township = townships[side] = make_node(f"{COUNTY}{t}00", Level.TOWNSHIP, county)
        village = villages[side] = make_node(f"{township.code}201", Level.VILLAGE, township)
        for g, name in (("1", side), ("2", side + "2")):
            grid = grids[name] = make_node(f"{village.code}00{g}", Level.GRID, village)
            units[name] = make_node(f"{grid.code}001", Level.UNIT, grid)
    households = {
        "a1": make_household(units["a"], "A1"),
        "a2": make_household(units["a"], "A2"),
        "a2_1": make_household(units["a2"], "A21"),
        "b1": make_household(units["b"], "B1"),
        "b2_1": make_household(units["b2"], "B21"),
    }
    departments = {code: Department.objects.create(node=county, node_path=county.path, code=code, name_zh=zh,
                                                   name_bo=bo, name_en=en)
                   for code, zh, bo, en in DEPARTMENTS}
    net = Net(county=county, townships=townships, villages=villages, grids=grids, units=units,
              households=households, departments=departments)
    for name, role, node, kw in [
        ("dispatch_officer", Role.DISPATCH_OFFICER, county, {"language": "en"}),
        ("water_officer", Role.DEPARTMENT_OFFICER, county, {"department": departments["water"], "language": "bo"}),
        ("housing_officer", Role.DEPARTMENT_OFFICER, county, {"department": departments["housing"],
                                                              "language": "en"}),
        ("township1_staff", Role.TOWNSHIP_STAFF, townships["a"], {}),
        ("township2_staff", Role.TOWNSHIP_STAFF, townships["b"], {}),
        ("village1_staff", Role.VILLAGE_STAFF, villages["a"], {}),
        ("village2_staff", Role.VILLAGE_STAFF, villages["b"], {}),
        ("grid_worker_a", Role.GRID_WORKER, grids["a"], {"language": "en"}),
        ("grid_leader_a", Role.GRID_LEADER, grids["a"], {}),
        ("grid_worker_a2", Role.GRID_WORKER, grids["a2"], {}),
        ("grid_worker_b", Role.GRID_WORKER, grids["b"], {}),
        ("resident_a", Role.RESIDENT, units["a"], {"language": "bo"}),
    ]:
        net.users[name] = make_user(name, role, node, **kw)
    people_services.user_household_link(actor=None, user=net.users["resident_a"], household=households["a1"],
                                        check_scope=False)
    return net


class ApiClient:
    """Django's test client sending ``Authorization: Bearer`` and JSON bodies."""

    def __init__(self, token: str, language: str | None = "en"):
        headers = {"Authorization": f"Bearer {token}"}
        if language:
            headers["Accept-Language"] = language
        self.client = Client(headers=headers)

    def get(self, path: str, data: dict | None = None, **kw):
        return self.client.get(path, data or {}, **kw)

    def post(self, path: str, data=None, *, headers: dict | None = None):
        body = "" if data is None else data if isinstance(data, (str, bytes)) else json.dumps(data, default=str)
        return self.client.post(path, body, content_type="application/json", headers=headers or {})

    def upload(self, path: str, name: str, content: bytes, content_type: str = "application/octet-stream"):
        from django.core.files.uploadedfile import SimpleUploadedFile

        return self.client.post(path, {"file": SimpleUploadedFile(name, content, content_type=content_type)})


def login(user: User, language: str | None = "en") -> ApiClient:
    """Log in through the API at the clock's current moment (tokens idle out as the clock moves)."""
    response = Client().post("/api/v1/auth/token", {"username": user.username, "password": PASSWORD},
                             content_type="application/json")
    assert response.status_code == 200, response.content
    return ApiClient(response.json()["token"], language)


def file_request(net: Net, *, by: str = "grid_worker_a", category: str = "water", household: str = "a1",
                 node: Node | None = None, description: str = "The tap at the well is frozen.",
                 reporter_kind: str = "grid_worker", urgency: str = "normal") -> Request:
    hh = net.households[household] if household else None
    request, created = services.request_file(
        actor=net.user(by), category=net.category(category), node=node or hh.node, household=hh,
        description=description, reporter_kind=reporter_kind, urgency=urgency)
    assert created
    return request


def audit_count(**filters) -> int:
    return AuditEntry.objects.filter(**filters).count()


def count_queries(fn) -> tuple[int, object]:
    with CaptureQueriesContext(connection) as ctx:
        result = fn()
    return len(ctx.captured_queries), result


def database_state() -> dict[str, tuple]:
    """Row count and last change of every Tongxin table, and every request's state and
    timeline length: equal before and after means nothing was written."""
    from django.apps import apps
    from django.db.models import Count, Max

    state: dict[str, tuple] = {}
    for model in apps.get_models():
        if not model.__module__.startswith("tongxin."):
            continue
        names = {f.name for f in model._meta.concrete_fields}
        qs = model._default_manager.all()
        last = qs.aggregate(m=Max("updated_at"))["m"] if "updated_at" in names else None
        state[model._meta.label] = (qs.count(), last)
    state["requests"] = tuple(Request.objects.annotate(steps=Count("timeline")).order_by("id")
                              .values_list("id", "state", "steps", "updated_at"))
    return state
