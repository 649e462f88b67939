"""Fixtures for the whole suite: a small network built through the real services, a user
for every role, households and residents in every grid, and an API client that logs in
through ``POST /api/v1/auth/token``.

The network (codes are real in shape: county 6 digits, township 9, village 12, grid 15,
unit 18)::

    540230 county
    ├── 540230100 township 1            township1_staff, system_admin_t1, security_admin_t1
    │   └── 540230100201 village 1      village1_staff
    │       ├── 540230100201001 grid A  grid_worker_a, grid_leader_a
    │       │   └── …001 unit A         unit_head_a, resident_a (own household: household A)
    │       └── 540230100201002 grid A2
    │           └── …001 unit A2
    └── 540230200 township 2            township2_staff
        └── 540230200201 village 2
            ├── 540230200201001 grid B  grid_worker_b
            │   └── …001 unit B
            └── 540230200201002 grid B2
                └── …001 unit B2

County-level: county_admin, dispatch_officer, department_officer (department "water"),
system_admin, security_admin, audit_admin. ``newcomer`` has no role. Each unit has one
household of two residents.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import json
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import pyotp
import pytest
from django.apps import apps
from django.db import transaction
from django.db.models import Count, Max
from django.test import Client
from django.utils import translation

from tongxin.core import clock
from tongxin.grid import services as grid_services
from tongxin.grid.models import Department, Level, Node
from tongxin.people import services as people_services
from tongxin.people.models import User
from tongxin.people.roles import Role
from tongxin.registry import services as registry_services
from tongxin.registry.idnumber import check_digit
from tongxin.registry.models import Household, Resident

PASSWORD = "Yak-butter-tea-at-4300m"
COUNTY = "540230"
# The moment every test starts at: a working morning in the county (Wednesday, 10:00 in
# Asia/Shanghai), the hour at which a test that read the host's clock used to fail.
FROZEN_AT = dt.datetime(2026, 12, 2, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def pytest_report_header(config):
    from django.conf import settings

    return [f"tongxin: {getattr(settings, 'TEST_DATABASE_NOTE', '')}; the clock is frozen at {FROZEN_AT.isoformat()}"]


@pytest.fixture(autouse=True, scope="session")
def _frozen_clock_for_the_session():
    """Module- and session-wide data (``shared_network``) is made at the frozen moment too."""
    clock.set_now(FROZEN_AT)
    yield
    clock.set_now(None)


@pytest.fixture(autouse=True)
def _frozen_clock_and_language_reset():
    """Every test starts at ``FROZEN_AT`` whatever the host's time; a test moves the clock on
    purpose (``clock.set_now``, ``clock.frozen_at``). The clock is process-wide, so a live
    server's threads and a job worker's read the same moment."""
    clock.set_now(FROZEN_AT)
    yield
    clock.set_now(FROZEN_AT)
    translation.deactivate()


@pytest.fixture(autouse=True)
def _category_catalogue(request):
    """A transactional test (browser, concurrency) flushes every table, the data migration's
    category catalogue included: put it back for tests that use the database."""
    uses_db = request.node.get_closest_marker("django_db") or {
        "db", "transactional_db", "live_server"} & set(request.fixturenames)
    if uses_db:
        from tongxin.dispatch.catalogue import ensure_categories

        request.getfixturevalue("transactional_db" if {"transactional_db", "live_server"} & set(
            request.fixturenames) else "db")
        ensure_categories()
    yield
    if uses_db:
        from tongxin.core import refcache

        refcache.clear_all()  # a flush or a rollback leaves nothing a later test could be served


def id_number(birth: dt.date, serial: int, region: str = COUNTY) -> str:
    """A valid national ID number (GB 11643) for someone born on ``birth``."""
    first17 = f"{region}{birth:%Y%m%d}{serial % 1000:03d}"
    return first17 + check_digit(first17)


class Factory:
    """Small helpers that make records through the real services (bootstrap mode where the
    service offers it, as the CLI does). ``start`` keeps the numbers of two factories apart."""

    def __init__(self, start: int = 1):
        self._serial = itertools.count(start)

    def next(self) -> int:
        return next(self._serial)

    def id_number(self, birth: dt.date | None = None) -> tuple[str, dt.date]:
        serial = self.next()
        birth = birth or dt.date(1950, 1, 1) + dt.timedelta(days=serial)  # one birth date per serial
        return id_number(birth, serial), birth

    def node(self, *, code: str, level: str, parent: Node | None, name: str | None = None) -> Node:
        return grid_services.node_create(actor=None, code=code, level=level, parent=parent,
                                         name_zh=name or f"节点{code}", name_en=name or f"Node {code}",
                                         check_scope=False)

    def user(self, username: str, role: str | None = None, node: Node | None = None, *,
             department: Department | None = None, password: str = PASSWORD, language: str = "zh-hans") -> User:
        user = people_services.user_create(actor=None, username=username, password=password,
                                           full_name=username.replace("_", " ").title(),
                                           preferred_language=language, check_scope=False)
        if role:
            people_services.role_grant(actor=None, user=user, role=role, node=node, department=department,
                                       check_scope=False)
        return user

    def household(self, unit: Node, *, number: str | None = None, **fields) -> Household:
        fields.setdefault("address", f"{unit.name_zh} 路 {self.next()} 号")
        fields.setdefault("head_name", "Tashi")
        return registry_services.household_create(actor=None, node=unit, number=number or f"H{self.next():04d}",
                                                  check_scope=False, **fields)

    def resident(self, household: Household, *, name: str = "Pema", sex: str = "F", birth: dt.date | None = None,
                 relation: str = "other", **fields) -> Resident:
        number, birth = self.id_number(birth)
        return registry_services.resident_create(actor=None, household=household, name=name, sex=sex,
                                                 birth_date=birth, id_number=number, relation=relation,
                                                 check_scope=False, **fields)


@pytest.fixture
def make() -> Factory:
    return Factory(start=5000)  # apart from the numbers of the network's own records


@dataclass
class Side:
    """The objects of one grid, and of the township and village above it."""

    township: Node
    village: Node
    grid: Node
    unit: Node
    household: Household
    residents: list[Resident] = field(default_factory=list)

    @property
    def resident(self) -> Resident:
        return self.residents[0]


@dataclass
class Network:
    county: Node
    department: Department
    a: Side   # grid A (township 1)
    a2: Side  # grid A2, A's sibling in village 1
    b: Side   # grid B (township 2)
    b2: Side  # grid B2
    users: dict[str, User]
    id_numbers: dict[str, str]  # resident id -> the clear ID number

    def user(self, name: str) -> User:
        return User.objects.get(pk=self.users[name].pk)

    def fresh(self) -> Network:
        """The same network with every record read again from the database."""

        def side(s: Side) -> Side:
            return Side(township=Node.objects.get(pk=s.township.pk), village=Node.objects.get(pk=s.village.pk),
                        grid=Node.objects.get(pk=s.grid.pk), unit=Node.objects.get(pk=s.unit.pk),
                        household=Household.objects.get(pk=s.household.pk),
                        residents=list(Resident.objects.filter(pk__in=[r.pk for r in s.residents]).order_by(
                            "birth_date", "id")))

        return Network(county=Node.objects.get(pk=self.county.pk),
                       department=Department.objects.get(pk=self.department.pk), a=side(self.a), a2=side(self.a2),
                       b=side(self.b), b2=side(self.b2),
                       users={k: User.objects.get(pk=u.pk) for k, u in self.users.items()},
                       id_numbers=dict(self.id_numbers))

    @property
    def households(self) -> list[Household]:
        return [s.household for s in (self.a, self.a2, self.b, self.b2)]

    @property
    def residents(self) -> list[Resident]:
        return [r for s in (self.a, self.a2, self.b, self.b2) for r in s.residents]


def build_network(make: Factory) -> Network:
    county = make.node(code=COUNTY, level=Level.COUNTY, parent=None, name="康马县")
    sides = {}
    id_numbers = {}
    for t in ("1", "2"):
        township = make.node(code=f"{COUNTY}{t}00", level=Level.TOWNSHIP, parent=county)
        village = make.node(code=f"{township.code}201", level=Level.VILLAGE, parent=township)
        for g in ("1", "2"):
            grid = make.node(code=f"{village.code}00{g}", level=Level.GRID, parent=village)
            unit = make.node(code=f"{grid.code}001", level=Level.UNIT, parent=grid)
            household = make.household(unit)
            residents = [make.resident(household, name="Dorje", sex="M", relation="head"),
                         make.resident(household, name="Yangchen", sex="F", relation="spouse")]
            for r in residents:
                id_numbers[str(r.pk)] = r.id_number
            sides[("a" if t == "1" else "b") + ("" if g == "1" else "2")] = Side(
                township=township, village=village, grid=grid, unit=unit, household=household, residents=residents)
    a, b = sides["a"], sides["b"]

    users = {}
    users["system_admin"] = make.user("system_admin", Role.SYSTEM_ADMIN, county)
    department = grid_services.department_create(actor=users["system_admin"], node=county, code="water",
                                                 name_zh="水利局", name_en="Water Resources Bureau")
    for name, role, node in [
        ("county_admin", Role.COUNTY_ADMIN, county),
        ("dispatch_officer", Role.DISPATCH_OFFICER, county),
        ("security_admin", Role.SECURITY_ADMIN, county),
        ("audit_admin", Role.AUDIT_ADMIN, county),
        ("township1_staff", Role.TOWNSHIP_STAFF, a.township),
        ("township2_staff", Role.TOWNSHIP_STAFF, b.township),
        ("system_admin_t1", Role.SYSTEM_ADMIN, a.township),
        ("security_admin_t1", Role.SECURITY_ADMIN, a.township),
        ("village1_staff", Role.VILLAGE_STAFF, a.village),
        ("grid_leader_a", Role.GRID_LEADER, a.grid),
        ("grid_worker_a", Role.GRID_WORKER, a.grid),
        ("grid_worker_b", Role.GRID_WORKER, b.grid),
        ("unit_head_a", Role.UNIT_HEAD, a.unit),
        ("resident_a", Role.RESIDENT, a.unit),
        ("newcomer", None, None),
    ]:
        users[name] = make.user(name, role, node)
    users["department_officer"] = make.user("department_officer", Role.DEPARTMENT_OFFICER, county,
                                            department=department)
    people_services.user_household_link(actor=None, user=users["resident_a"], household=a.household,
                                        check_scope=False)
    users["resident_a"].refresh_from_db()
    return Network(county=county, department=department, a=a, a2=sides["a2"], b=b, b2=sides["b2"],
                   users=users, id_numbers=id_numbers)


@pytest.fixture
def network(db) -> Network:
    """The network, built for this test (committed under ``transactional_db``, so a live server
    sees it)."""
    return build_network(Factory())


@contextlib.contextmanager
def module_transaction(django_db_blocker):
    """A transaction open for a whole test module and rolled back at its end. Tests inside it
    run in savepoints (the ``db`` fixture), so each starts from what the module built."""
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
    try:
        yield
    finally:
        with django_db_blocker.unblock():
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


@pytest.fixture(scope="module")
def _module_network(django_db_setup, django_db_blocker):
    with module_transaction(django_db_blocker):
        with django_db_blocker.unblock():
            built = build_network(Factory())
        yield built


@pytest.fixture
def shared_network(_module_network, db) -> Network:
    """The network built once per module, read afresh for each test. Packages whose tests all
    run in transactions (no ``transactional_db``, no live server) use it as ``network``."""
    return _module_network.fresh()


class ApiClient:
    """Django's test client sending ``Authorization: Bearer`` and JSON bodies."""

    def __init__(self, token: str | None, language: str | None = None):
        headers = {}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if language:
            headers["Accept-Language"] = language
        self.token = token
        self.client = Client(headers=headers)

    def request(self, method: str, path: str, data=None, *, headers: dict | None = None, **extra):
        if data is None:
            body = ""
        elif isinstance(data, (bytes, str)):
            body = data
        else:
            body = json.dumps(data, default=str)
        return self.client.generic(method.upper(), path, body, content_type="application/json",
                                   headers=headers or {}, **extra)

    def get(self, path: str, data: dict | None = None, **kw):
        return self.client.get(path, data or {}, **kw)

    def post(self, path: str, data=None, **kw):
        return self.request("POST", path, data, **kw)

    def patch(self, path: str, data=None, **kw):
        return self.request("PATCH", path, data, **kw)


def totp_code(user: User) -> str:
    """Enrol the user's second factor if needed, and give a code no earlier login used.

    Each code is good once (no replay) and the verifier allows one step of drift either way:
    the enrolment uses the current step's code, a login the next step's. A test that logs the
    same user in again within those 30 seconds moves the clock."""
    if not (user.totp_secret and user.totp_confirmed):
        secret = people_services.totp_setup(user=user)
        people_services.totp_confirm(user=user, code=pyotp.TOTP(secret).at(clock.now()))
    user = User.objects.get(pk=user.pk)
    totp = pyotp.TOTP(people_services.totp_secret(user))
    current = totp.timecode(clock.now())
    step = current if user.totp_last_step is None else max(current, user.totp_last_step + 1)
    assert step <= current + 1, f"{user.username}'s codes near now are all used: move the clock to log in again"
    return totp.generate_otp(step)


@pytest.fixture
def api(db):
    """``api(user)`` logs in through the API (with a TOTP code for the roles that need one)
    and gives a client sending the bearer token; ``api(None)`` is anonymous."""

    def login(user: User | None, *, language: str | None = None, password: str = PASSWORD) -> ApiClient:
        if user is None:
            return ApiClient(None, language)
        user = User.objects.get(pk=user.pk)
        body = {"username": user.username, "password": password}
        if people_services.needs_second_factor(user):
            body["otp"] = totp_code(user)
        response = ApiClient(None).post("/api/v1/auth/token", body)
        assert response.status_code == 200, response.content
        return ApiClient(response.json()["token"], language)

    return login


@pytest.fixture
def page_client(db):
    """``page_client(user)``: a session-authenticated client for web pages."""

    def login(user: User | None) -> Client:
        client = Client()
        if user is not None:
            client.force_login(user)
        return client

    return login


def database_state() -> dict[str, tuple]:
    """Row count and last change of every Tongxin table: equal before and after means
    nothing was written."""
    state = {}
    for model in apps.get_models():
        if not model.__module__.startswith("tongxin."):
            continue
        names = {f.name for f in model._meta.concrete_fields}
        figures = {"n": Count("pk")} | ({"last": Max("updated_at")} if "updated_at" in names else {})
        state[model._meta.label] = tuple(model._default_manager.aggregate(**figures).values())
    return state


@pytest.fixture
def db_state(db):
    return database_state


@pytest.fixture
def audit_entries(db):
    """``audit_entries()`` counts the log; ``audit_entries(action)`` counts one action."""
    from tongxin.core.models import AuditEntry

    def count(action: str | None = None) -> int:
        qs = AuditEntry.objects.all()
        return qs.filter(action=action).count() if action else qs.count()

    return count
