"""The test suite's one factory module: the test networks, departments, categories, people,
households and requests, every one made through the real services; the API client that
logs in through ``POST /api/v1/auth/token``; and the helpers that observe the database.

A new app's tests extend this module (a method on ``Factory``, a builder beside the ones
here), never a private copy of it. Fixtures (``make``, ``network``, ``shared_network``,
``api``, ``net``, ``login_as``, ``db_state`` …) live in the conftest files and call into it.

Three networks, one shape of code:

- ``build_network``: the suite's network (``network``/``shared_network`` fixtures), with a
  user for every role and two residents in every unit;
- ``build_net``: the dispatch network (``net`` in tests/dispatch), with every catalogue
  department and a user for every handler on the ladder;
- ``build_pages_network``: the page and browser tests' network (``net`` in tests/web and
  tests/browser), with real township names and Tibetan names.

Time: the suite's clock is frozen at ``FROZEN_AT`` (tests/conftest.py); ``at(...)`` makes a
moment in the county's zone for a test that moves it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import json
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import pyotp
from django.apps import apps
from django.db import connection, transaction
from django.db.models import Count, Max
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tongxin.core import clock
from tongxin.core.actors import SYSTEM
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
TZ = ZoneInfo("Asia/Shanghai")
# The moment every test starts at: a working morning in the county (Wednesday, 10:00 in
# Asia/Shanghai), the hour at which a test that read the host's clock used to fail.
FROZEN_AT = dt.datetime(2026, 12, 2, 10, 0, tzinfo=TZ)


def at(*args) -> dt.datetime:
    """A moment in the county's time zone: ``at(2026, 9, 30, 16)``."""
    return dt.datetime(*args, tzinfo=TZ)


def id_number(birth: dt.date, serial: int, region: str = COUNTY) -> str:
    """A valid national ID number (GB 11643) for someone born on ``birth``."""
    first17 = f"{region}{birth:%Y%m%d}{serial % 1000:03d}"
    return first17 + check_digit(first17)


# --- records, one at a time, through the services -----------------------------------------


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

    def node(self, *, code: str, level: str, parent: Node | None, name: str | None = None, name_bo: str = "",
             name_en: str | None = None) -> Node:
        return grid_services.node_create(actor=SYSTEM, code=code, level=level, parent=parent,
                                         name_zh=name or f"节点{code}", name_bo=name_bo,
                                         name_en=name_en if name_en is not None else name or f"Node {code}")

    def department(self, *, actor: User, node: Node, code: str, name_zh: str, name_bo: str = "",
                   name_en: str = "") -> Department:
        return grid_services.department_create(actor=actor, node=node, code=code, name_zh=name_zh, name_bo=name_bo,
                                               name_en=name_en)

    def catalogue_departments(self, *, actor: User, node: Node) -> dict[str, Department]:
        """Every department the category catalogue routes to, at ``node`` (the county)."""
        from tongxin.dispatch.catalogue import DEPARTMENTS

        return {code: self.department(actor=actor, node=node, code=code, name_zh=zh, name_bo=bo, name_en=en)
                for code, zh, bo, en in DEPARTMENTS}

    def categories(self) -> None:
        """The data migration's category catalogue (a flush by a transactional test removes it)."""
        from tongxin.dispatch.catalogue import ensure_categories

        ensure_categories()

    def user(self, username: str, role: str | None = None, node: Node | None = None, *,
             department: Department | None = None, password: str = PASSWORD, language: str = "zh-hans",
             full_name: str | None = None) -> User:
        user = people_services.user_create(actor=SYSTEM, username=username, password=password,
                                           full_name=full_name or username.replace("_", " ").title(),
                                           preferred_language=language)
        if role:
            people_services.role_grant(actor=SYSTEM, user=user, role=role, node=node, department=department)
        return user

    def household(self, unit: Node, *, number: str | None = None, actor: User | None = None, **fields) -> Household:
        fields.setdefault("address", f"{unit.name_zh} 路 {self.next()} 号")
        fields.setdefault("head_name", "Tashi")
        return registry_services.household_create(actor=actor or SYSTEM, node=unit,
                                                  number=number or f"H{self.next():04d}", **fields)

    def resident(self, household: Household, *, name: str = "Pema", sex: str = "F", birth: dt.date | None = None,
                 relation: str = "other", number: str | None = None, actor: User | None = None,
                 **fields) -> Resident:
        if number is None:
            number, birth = self.id_number(birth)
        return registry_services.resident_create(actor=actor or SYSTEM, household=household, name=name, sex=sex,
                                                 birth_date=birth, id_number=number, relation=relation, **fields)

    def link(self, user: User, household: Household) -> User:
        """A resident's account linked to their household."""
        registry_services.user_household_link(actor=SYSTEM, user=user, household=household)
        user.refresh_from_db()
        return user


# --- the suite's network ------------------------------------------------------------------


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
    """The suite's network (see tests/conftest.py for its picture)."""
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
    department = make.department(actor=users["system_admin"], node=county, code="water", name_zh="水利局",
                                 name_en="Water Resources Bureau")
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
    make.link(users["resident_a"], a.household)
    return Network(county=county, department=department, a=a, a2=sides["a2"], b=b, b2=sides["b2"],
                   users=users, id_numbers=id_numbers)


# --- the dispatch network -----------------------------------------------------------------


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

    def category(self, code: str):
        from tongxin.dispatch.models import Category

        return Category.objects.get(code=code)


def build_net(make: Factory | None = None) -> Net:
    """The dispatch network, with every node, department, household and account made through
    the real services::

        540230 county                       dispatch_officer (en), water_officer (bo), housing_officer (en),
        │                                   net_admin (made the departments); all 14 catalogue departments
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
    make = make or Factory()
    make.categories()
    county = make.node(code=COUNTY, level=Level.COUNTY, parent=None)
    townships, villages, grids, units = {}, {}, {}, {}
    for t, side in (("1", "a"), ("2", "b")):
        township = townships[side] = make.node(code=f"{COUNTY}{t}00", level=Level.TOWNSHIP, parent=county)
        village = villages[side] = make.node(code=f"{township.code}201", level=Level.VILLAGE, parent=township)
        for g, name in (("1", side), ("2", side + "2")):
            grid = grids[name] = make.node(code=f"{village.code}00{g}", level=Level.GRID, parent=village)
            units[name] = make.node(code=f"{grid.code}001", level=Level.UNIT, parent=grid)

    def household(unit: str, number: str) -> Household:
        return make.household(units[unit], number=number, address=f"{number} 路 1 号", head_name="Tashi")

    households = {"a1": household("a", "A1"), "a2": household("a", "A2"), "a2_1": household("a2", "A21"),
                  "b1": household("b", "B1"), "b2_1": household("b2", "B21")}
    admin = make.user("net_admin", Role.SYSTEM_ADMIN, county)
    departments = make.catalogue_departments(actor=admin, node=county)
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
        net.users[name] = make.user(name, role, node, **kw)
    make.link(net.users["resident_a"], households["a1"])
    return net


def file_request(net: Net, *, by: str = "grid_worker_a", category: str = "water", household: str = "a1",
                 node: Node | None = None, description: str = "The tap at the well is frozen.",
                 reporter_kind: str = "grid_worker", urgency: str = "normal"):
    """A request filed through the service by one of the dispatch network's users."""
    from tongxin.dispatch import services

    hh = net.households[household] if household else None
    request, created = services.request_file(
        actor=net.user(by), category=net.category(category), node=node or hh.node, household=hh,
        description=description, reporter_kind=reporter_kind, urgency=urgency)
    assert created
    return request


# --- the page and browser tests' network ---------------------------------------------------

PAGES_PASSWORD = "Kangma-Pages-2024!"


def build_pages_network(make: Factory | None = None) -> SimpleNamespace:
    """Kangma County (real name and code) with two townships; everything below the townships
    (villages, grids, units, households, people) is synthetic. Households are registered by
    their grid's worker, as in the field. Every account's password is ``PAGES_PASSWORD``."""
    make = make or Factory()

    def node(code, level, parent, zh, bo, en=""):
        return make.node(code=code, level=level, parent=parent, name=zh, name_bo=bo, name_en=en)

    county = node("540230", "county", None, "康马县", "ཁང་དམར་རྫོང་།", "Kangma County")
    town = node("540230100", "township", county, "康马镇", "ཁང་དམར་གྲོང་རྡལ།", "Kangma Town")
    samada = node("540230201", "township", county, "萨玛达乡", "ས་མ་མདའ་ཤང་།", "Samada Township")
    village = node("540230100001", "village", town, "东村（示例）", "ཤར་གྲོང་ཚོ།（དཔེ་མཚོན།）", "East Village (sample)")
    grid1 = node("540230100001001", "grid", village, "一号网格", "དྲ་མིག་དང་པོ།", "Grid 1")
    grid2 = node("540230100001002", "grid", village, "二号网格", "དྲ་མིག་གཉིས་པ།", "Grid 2")
    unit1 = node("540230100001001001", "unit", grid1, "一号联户单元", "མཉམ་སྡོད་ཚན་ཁག་དང་པོ།", "Unit 1")
    unit2 = node("540230100001002001", "unit", grid2, "二号联户单元", "མཉམ་སྡོད་ཚན་ཁག་གཉིས་པ།", "Unit 2")
    village_b = node("540230201001", "village", samada, "北村（示例）", "བྱང་གྲོང་ཚོ།（དཔེ་མཚོན།）",
                     "North Village (sample)")
    grid_b = node("540230201001001", "grid", village_b, "北村一号网格", "བྱང་གྲོང་དྲ་མིག་དང་པོ།", "North Grid 1")
    unit_b = node("540230201001001001", "unit", grid_b, "北村一号联户单元", "བྱང་གྲོང་ཚན་ཁག་དང་པོ།", "North Unit 1")

    def person(username, full_name, role, at, language="zh-hans"):
        return make.user(username, role, at, password=PAGES_PASSWORD, full_name=full_name, language=language)

    users = SimpleNamespace(
        county_admin=person("county.admin", "县管理员", Role.COUNTY_ADMIN, county),
        auditor=person("audit.admin", "审计管理员", Role.AUDIT_ADMIN, county),
        township_auditor=person("audit.town", "镇审计员", Role.AUDIT_ADMIN, town),
        village_staff=person("village.staff", "村干部 索朗", Role.VILLAGE_STAFF, village),
        grid_worker=person("grid.worker1", "次仁 ཚེ་རིང་།", Role.GRID_WORKER, grid1),
        grid_worker2=person("grid.worker2", "普布", Role.GRID_WORKER, grid2),
        grid_worker_b=person("grid.worker.b", "达瓦", Role.GRID_WORKER, grid_b),
        resident=None,
    )

    def household(actor, unit, number, head, address, members):
        h = make.household(unit, actor=actor, number=number, head_name=head, address=address, phone="0892-0000000",
                           preferred_language="bo")
        made = [make.resident(h, actor=actor, name=name, sex=sex, birth=birth, number=id_number(birth, seq),
                              relation=relation)
                for name, sex, birth, seq, relation in members]
        return h, made

    h1, h1_members = household(users.grid_worker, unit1, "A-0001", "扎西顿珠", "东村一组 1 号", [
        ("扎西顿珠", "M", dt.date(1970, 3, 5), 11, "head"),
        ("卓玛", "F", dt.date(1973, 6, 10), 12, "spouse"),
    ])
    h2, h2_members = household(users.grid_worker, unit1, "A-0002", "བཀྲ་ཤིས་དོན་གྲུབ།", "ཤར་གྲོང་ཚོ། ཨང་ 2", [
        ("བཀྲ་ཤིས་དོན་གྲུབ།", "M", dt.date(1965, 1, 20), 21, "head"),
        ("སྒྲོལ་མ།", "F", dt.date(1990, 11, 2), 22, "child"),
    ])
    h3, h3_members = household(users.grid_worker2, unit2, "B-0001", "次仁", "东村二组 3 号", [
        ("次仁", "M", dt.date(1980, 8, 8), 31, "head"),
    ])
    h4, h4_members = household(users.grid_worker_b, unit_b, "N-0001", "白玛拉姆", "北村 1 号", [
        ("白玛拉姆", "F", dt.date(1985, 2, 14), 41, "head"),
    ])

    users.resident = make.link(person("resident.a1", "扎西顿珠", Role.RESIDENT, unit1, language="bo"), h1)

    return SimpleNamespace(
        nodes=SimpleNamespace(county=county, town=town, samada=samada, village=village, grid1=grid1, grid2=grid2,
                              unit1=unit1, unit2=unit2, village_b=village_b, grid_b=grid_b, unit_b=unit_b),
        users=users,
        households=SimpleNamespace(h1=h1, h2=h2, h3=h3, h4=h4),
        residents=SimpleNamespace(h1=h1_members, h2=h2_members, h3=h3_members, h4=h4_members),
        password=PAGES_PASSWORD,
    )


def tibetan_selectable(settings, tmp_dir) -> bool:
    """Make sure Django lets a user choose Tibetan.

    Django offers a language (cookie, switcher) only when some ``django`` catalogue for it
    exists, and Django ships none for ``bo``. Until the project's own bo catalogue is in
    place, an empty one is compiled into ``tmp_dir`` and appended to LOCALE_PATHS (real
    catalogues, earlier in the list, still win). Returns whether the stand-in was needed.
    """
    from babel.messages.catalog import Catalog
    from babel.messages.mofile import write_mo
    from django.utils.translation import check_for_language

    if check_for_language("bo"):
        return False
    target = tmp_dir / "bo" / "LC_MESSAGES"
    target.mkdir(parents=True, exist_ok=True)
    with (target / "django.mo").open("wb") as f:
        write_mo(f, Catalog(locale="bo", domain="django"))
    settings.LOCALE_PATHS = [*settings.LOCALE_PATHS, tmp_dir]
    return True


# --- clients ------------------------------------------------------------------------------


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

    def upload(self, path: str, name: str, content: bytes, content_type: str = "application/octet-stream"):
        from django.core.files.uploadedfile import SimpleUploadedFile

        return self.client.post(path, {"file": SimpleUploadedFile(name, content, content_type=content_type)})


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


def login(user: User | None, language: str | None = None, *, password: str = PASSWORD) -> ApiClient:
    """A client logged in through the API at the clock's current moment (with a TOTP code for
    the roles that need one; tokens idle out as the clock moves); ``None`` is anonymous."""
    if user is None:
        return ApiClient(None, language)
    user = User.objects.get(pk=user.pk)
    body = {"username": user.username, "password": password}
    if people_services.needs_second_factor(user):
        body["otp"] = totp_code(user)
    response = ApiClient(None).post("/api/v1/auth/token", body)
    assert response.status_code == 200, response.content
    return ApiClient(response.json()["token"], language)


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


# --- observing the database ---------------------------------------------------------------


def database_state() -> dict[str, Any]:
    """Row count and last change of every Tongxin table, and every request's state and
    timeline length: equal before and after means nothing was written.

    The suite's clock stands still, so a row changed after a snapshot would keep the same
    change stamp: each snapshot moves a frozen clock on by a second, as time passes between
    the snapshots of a live clock."""
    from tongxin.dispatch.models import Request

    state: dict[str, Any] = {}
    for model in apps.get_models():
        if not model.__module__.startswith("tongxin."):
            continue
        names = {f.name for f in model._meta.concrete_fields}
        figures = {"n": Count("pk")} | ({"last": Max("updated_at")} if "updated_at" in names else {})
        state[model._meta.label] = tuple(model._default_manager.aggregate(**figures).values())
    state["requests"] = tuple(Request.objects.annotate(steps=Count("timeline")).order_by("id")
                              .values_list("id", "state", "steps", "updated_at"))
    if clock._frozen is not None:
        clock.set_now(clock.now() + dt.timedelta(seconds=1))
    return state


def count_queries(fn) -> tuple[int, object]:
    with CaptureQueriesContext(connection) as ctx:
        result = fn()
    return len(ctx.captured_queries), result


def audit_count(action: str | None = None, **filters) -> int:
    """Entries in the audit log, of one ``action`` or matching ``filters``."""
    from tongxin.core.models import AuditEntry

    qs = AuditEntry.objects.filter(**filters)
    return qs.filter(action=action).count() if action else qs.count()
