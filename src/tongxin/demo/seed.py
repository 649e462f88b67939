"""Deterministic synthetic data: the reference county (``kangma``), a tiny network
(``small``) and a whole region (``region``), with one printed demo login per role.

Rules: the same profile and seed give the same values every time (ids and
timestamps aside): every random choice comes from a ``random.Random`` seeded with
the seed and the county code, never from the global generator or the clock.
Nodes, departments, accounts, roles and the demo resident's household link go
through the services; households and residents go through the bulk path of
``demo.writers``, which makes the same rows and audit entries as the services
(the region, with a hundred thousand nodes and accounts, takes the bulk path for
those too: see ``demo.region``). Seeding refuses a database that already holds data.
"""

from __future__ import annotations

import hashlib
import random
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.db.models import Count
from django.utils.translation import gettext_lazy as _

from tongxin.core.actors import SYSTEM
from tongxin.core.errors import Conflict, ValidationFailed
from tongxin.demo import families, names, writers
from tongxin.demo.families import HouseholdSpec, IdNumbers
from tongxin.demo.plan import KANGMA, SMALL, CountyPlan, NodeSpec, Shape, plan_county
from tongxin.demo.writers import StaffSpec
from tongxin.dispatch.catalogue import DEPARTMENTS as COUNTY_DEPARTMENTS
from tongxin.dispatch.models import Request
from tongxin.grid import services as grid_services
from tongxin.grid.models import Department, Level, Node
from tongxin.people.models import RoleAssignment, User
from tongxin.people.roles import SECOND_FACTOR_ROLES, Role
from tongxin.registry import services as registry_services
from tongxin.registry.models import Household, Resident

PROFILES = ("kangma", "small", "region")
DEFAULT_SEED = 540230
URL = "http://127.0.0.1:8000/"
# One password for every demo account; it passes Django's validators (tests check).
DEMO_PASSWORD = "Kangma-demo-4300m"
DEMO_USERNAMES = {role: f"demo_{role}" for role in Role.values}
# The demo department officer works in civil affairs (民政).
DEMO_DEPARTMENT = "civil_affairs"
# Households registered per transaction on the bulk path.
HOUSEHOLD_BATCH = 1000

KANGMA_CENTRE = (28.55, 89.68)


class DatabaseNotEmpty(Conflict):
    code = "database_not_empty"
    default_message = _("The database already holds data: seed an empty database.")


@dataclass(frozen=True)
class Login:
    username: str
    role: str
    node_code: str
    node_name: str
    password: str
    department: str = ""
    household: str = ""

    @property
    def second_factor(self) -> bool:
        return self.role in SECOND_FACTOR_ROLES


@dataclass
class SeedResult:
    profile: str
    seed: int | None
    seeded: bool
    logins: list[Login] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


def password_hash(seed: int) -> str:
    """The demo password hashed once for all accounts (PBKDF2 once, not per account),
    with a salt made from the seed so that the stored value is the same every run."""
    salt = hashlib.sha256(f"tongxin-demo:{seed}".encode()).hexdigest()[:22]
    return make_password(DEMO_PASSWORD, salt)


def is_empty() -> bool:
    return not (Node.objects.exists() or User.objects.exists() or Household.objects.exists())


# -- entry points -----------------------------------------------------------------

def build(*, profile: str, seed: int = DEFAULT_SEED, progress: bool | None = None) -> SeedResult:
    """Seed ``profile`` into an empty database; raises DatabaseNotEmpty otherwise."""
    if profile not in PROFILES:
        raise ValidationFailed(fields={"profile": [f"one of {', '.join(PROFILES)}"]})
    if not is_empty():
        raise DatabaseNotEmpty()
    started = time.perf_counter()
    if profile == "region":
        from tongxin.demo import region

        logins = region.seed_region(seed=seed, progress=sys.stderr.isatty() if progress is None else progress)
    else:
        logins = seed_reference(seed=seed, shape=KANGMA if profile == "kangma" else SMALL,
                                townships=list(names.TOWNSHIPS if profile == "kangma" else names.TOWNSHIPS[:2]))
        if profile == "kangma":
            # A year of requests and this month's visits, so the dispatch pages and statistics show something real.
            from tongxin.demo.requests import seed_requests

            seed_requests(county=Node.objects.get(code=names.COUNTY[0]),
                          seed=seed, password_hash=password_hash(seed))
    return SeedResult(profile=profile, seed=seed, seeded=True, logins=logins, counts=counts(),
                      seconds=time.perf_counter() - started)


def run(*, profile: str, seed: int = DEFAULT_SEED) -> SeedResult:
    """``tongxin seed``: like ``build``, but a non-empty database ends the command with a message."""
    try:
        return build(profile=profile, seed=seed)
    except DatabaseNotEmpty:
        raise SystemExit(
            f"tongxin seed: the database already holds data ({Node.objects.count()} nodes, "
            f"{User.objects.count()} accounts); seeding adds to an empty database only. "
            "Use a new database (another TONGXIN_DATABASE_URL, or another directory for the SQLite file)."
        ) from None


def ensure_reference_county() -> SeedResult:
    """``tongxin demo``: seed the reference county into an empty database; otherwise
    seed nothing and give the demo logins already there."""
    if is_empty():
        return build(profile="kangma", seed=DEFAULT_SEED)
    return SeedResult(profile="existing", seed=None, seeded=False, logins=logins_in_database(), counts=counts())


def logins_in_database() -> list[Login]:
    """The demo accounts in the database, in role order (their password is the demo password)."""
    order = {role: i for i, role in enumerate(Role.values)}
    rows = (RoleAssignment.objects.filter(user__username__in=list(DEMO_USERNAMES.values()))
            .select_related("user", "user__household", "node", "department"))
    found = [Login(username=a.user.username, role=a.role, node_code=a.node.code, node_name=a.node.name_zh,
                   password=DEMO_PASSWORD, department=a.department.name_zh if a.department else "",
                   household=household_label(a.user.household) if a.user.household else "")
             for a in rows if a.user.username == DEMO_USERNAMES.get(a.role)]
    return sorted(found, key=lambda login: order[login.role])


def counts() -> dict[str, int]:
    result = {f"{level}s": 0 for level in Level.values}
    for level, n in Node.objects.order_by().values_list("level").annotate(n=Count("pk")):
        result[f"{level}s"] = n
    result.update(
        departments=Department.objects.count(),
        households=Household.objects.count(),
        residents=Resident.objects.count(),
        accounts=User.objects.count(),
        grid_workers=RoleAssignment.objects.filter(role=Role.GRID_WORKER).count(),
        grid_leaders=RoleAssignment.objects.filter(role=Role.GRID_LEADER).count(),
        unit_heads=RoleAssignment.objects.filter(role=Role.UNIT_HEAD).count(),
        requests=Request.objects.count(),
    )
    return result


def print_logins(result: SeedResult, file=None) -> None:
    out = file or sys.stdout
    c = result.counts
    if result.seeded:
        print(f"Seeded profile {result.profile} (seed {result.seed}) in {result.seconds:.1f} s.", file=out)
    else:
        print("The database already holds data: nothing seeded.", file=out)
    if c:
        print(f"  {c.get('townships', 0):,} townships, {c.get('villages', 0):,} villages, {c.get('grids', 0):,} grids, "
              f"{c.get('units', 0):,} household units; {c.get('households', 0):,} households, "
              f"{c.get('residents', 0):,} residents; {c.get('grid_workers', 0):,} grid workers, "
              f"{c.get('accounts', 0):,} accounts; {c.get('requests', 0):,} requests. All of it is synthetic.",
              file=out)
    if not result.logins:
        print("No demo logins in this database (it was not seeded by `tongxin seed`).", file=out)
        return
    print(f"\nOpen {URL} and log in as any of these (the password of every demo account is "
          f"{DEMO_PASSWORD}):\n", file=out)
    width = max(len(login.username) for login in result.logins)
    print(f"  {'username':<{width}}  {'role':<18}  {'node':<18}  where", file=out)
    print(f"  {'-' * width}  {'-' * 18}  {'-' * 18}  {'-' * 24}", file=out)
    for login in result.logins:
        where = " · ".join(x for x in (login.node_name, login.department, login.household) if x)
        note = "  (second factor: enrol it at the first login)" if login.second_factor else ""
        print(f"  {login.username:<{width}}  {login.role:<18}  {login.node_code:<18}  {where}{note}", file=out)
    print(f"\n  password: {DEMO_PASSWORD}", file=out)


# -- the reference county and the small network -----------------------------------------

def reference_specs() -> list[NodeSpec]:
    lat, lon = KANGMA_CENTRE
    return [
        NodeSpec(names.REGION[0], Level.REGION, None, *names.REGION[1:], 29.65, 91.13),
        NodeSpec(names.PREFECTURE[0], Level.PREFECTURE, names.REGION[0], *names.PREFECTURE[1:], 29.27, 88.88),
        NodeSpec(names.COUNTY[0], Level.COUNTY, names.PREFECTURE[0], *names.COUNTY[1:], lat, lon),
    ]


def seed_reference(*, seed: int, shape: Shape, townships: list[tuple[str, str, str, str]]) -> list[Login]:
    """Kangma County (or its small cut), all through the services but for households."""
    top = reference_specs()
    county_spec = top[-1]
    plan = plan_county(random.Random(f"{seed}:{county_spec.code}:plan"), county_spec, shape, townships)
    known: dict[str, Node] = {}
    with transaction.atomic():
        writers.nodes_via_services(top, known=known)
        writers.nodes_via_services(plan.nodes, known=known)
    county = known[county_spec.code]
    hashed = password_hash(seed)
    admins = [StaffSpec(DEMO_USERNAMES[role], demo_full_name(role), "zh-hans", role, county)
              for role in (Role.SYSTEM_ADMIN, Role.SECURITY_ADMIN, Role.AUDIT_ADMIN)]
    with transaction.atomic():
        system_admin = writers.staff_via_services(admins, password_hash=hashed)[0]
        departments = create_departments(actor=system_admin, plan=plan, known=known, shape=shape)
    register_households(seed=seed, plan=plan, known=known, write=writers.households_bulk)
    staff = county_staff(random.Random(f"{seed}:{county.code}:staff"), plan=plan, shape=shape, known=known,
                         departments=departments, demo_roles=set(Role.values))
    for batch in chunks(staff, 500):
        with transaction.atomic():
            writers.staff_via_services(batch, password_hash=hashed)
    logins = [login_of(s) for s in admins + staff if s.username.startswith("demo_")]
    logins.append(resident_login(unit=known[plan.of_level(Level.UNIT)[0].code], password_hash=hashed))
    return sorted(logins, key=lambda login: Role.values.index(login.role))


def demo_full_name(role: str) -> str:
    return f"演示{Role(role).label} (demo {Role(role).label})"


def login_of(spec: StaffSpec) -> Login:
    return Login(username=spec.username, role=spec.role, node_code=spec.node.code, node_name=spec.node.name_zh,
                 password=DEMO_PASSWORD, department=spec.department.name_zh if spec.department else "")


def create_departments(*, actor: User, plan: CountyPlan, known: dict[str, Node], shape: Shape) -> list[Department]:
    """The county departments of the request catalogue, and township offices when the shape
    has them (through the services, as the system administrator)."""
    county = known[plan.county.code]
    made = [grid_services.department_create(actor=actor, node=county, code=code, name_zh=zh, name_bo=bo, name_en=en)
            for code, zh, bo, en in COUNTY_DEPARTMENTS]
    if shape.township_departments:
        for spec in plan.of_level(Level.TOWNSHIP):
            made += [grid_services.department_create(actor=actor, node=known[spec.code], code=code, name_zh=zh,
                                                     name_bo=bo, name_en=en)
                     for code, zh, bo, en in names.TOWNSHIP_DEPARTMENTS]
    return made


def household_specs(*, seed: int, plan: CountyPlan) -> Iterator[HouseholdSpec]:
    """Every household of the county, unit by unit; the same seed gives the same households."""
    rng = random.Random(f"{seed}:{plan.county.code}:people")
    ids = IdNumbers(plan.county.code)
    by_code = {n.code: n for n in plan.nodes}
    sizes = iter(plan.household_sizes)
    for unit in plan.of_level(Level.UNIT):
        grid = by_code[unit.parent_code]
        village = by_code[grid.parent_code]
        township = by_code[village.parent_code]
        count = plan.households_per_unit[unit.code]
        yield from families.households(
            rng, ids, unit_code=unit.code, count=count, sizes=[next(sizes) for _ in range(count)],
            address_prefix=f"{township.name_zh}{village.name_zh}{names.chinese_number(int(grid.code[-3:]))}组",
            lat=unit.lat, lon=unit.lon)


def register_households(*, seed: int, plan: CountyPlan, known: dict[str, Node], write, batch: int = HOUSEHOLD_BATCH,
                        on_batch=None) -> None:
    units = {code: known[code] for code in plan.households_per_unit}
    for specs in chunks(household_specs(seed=seed, plan=plan), batch):
        _, residents = write(specs, units=units)
        if on_batch:
            on_batch(residents)


def chunks(items, size: int) -> Iterator[list]:
    batch = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


# Short user-name prefixes of mass accounts: <prefix>-<node code>[-<n>].
PREFIX = {
    Role.COUNTY_ADMIN: "ca", Role.DISPATCH_OFFICER: "dc", Role.DEPARTMENT_OFFICER: "do",
    Role.TOWNSHIP_STAFF: "ts", Role.VILLAGE_STAFF: "vs", Role.GRID_LEADER: "gl", Role.GRID_WORKER: "gw",
    Role.UNIT_HEAD: "uh",
}


def county_staff(rng: random.Random, *, plan: CountyPlan, shape: Shape, known: dict[str, Node],
                 departments: list[Department], demo_roles: set[str]) -> list[StaffSpec]:
    """The county's staff, in path order: the first account of each role in ``demo_roles``
    is that role's demo login (so it counts among the county's 823 grid workers)."""
    specs: list[StaffSpec] = []
    taken: set[str] = set()

    def add(role: str, node: Node, n: int | None, department: Department | None = None) -> None:
        if role in demo_roles and role not in taken and (role != Role.DEPARTMENT_OFFICER or
                                                          department.code == DEMO_DEPARTMENT):
            taken.add(role)
            specs.append(StaffSpec(DEMO_USERNAMES[role], demo_full_name(role), "zh-hans", role, node, department))
            return
        zh, bo = names.person_name(rng, "M" if rng.random() < 0.55 else "F")
        language = "bo" if rng.random() < (0.7 if node.level in (Level.GRID, Level.UNIT) else 0.4) else "zh-hans"
        name = (PREFIX[role] + (f"-{department.code}" if department else "") + f"-{node.code}"
                + (f"-{n}" if n is not None else ""))
        specs.append(StaffSpec(name, names.display_name(zh, bo, language), language, role, node, department))

    county = known[plan.county.code]
    add(Role.COUNTY_ADMIN, county, None)
    for k in range(shape.dispatch_officers):
        add(Role.DISPATCH_OFFICER, county, k + 1)
    for dept in departments:
        per = shape.county_department_officers if dept.node_id == county.pk else shape.township_department_officers
        for k in range(per):
            add(Role.DEPARTMENT_OFFICER, known[dept.node_path.strip("/").split("/")[-1]], k + 1, dept)
    for spec in plan.nodes:
        node = known[spec.code]
        if spec.level == Level.TOWNSHIP:
            for k in range(shape.township_staff):
                add(Role.TOWNSHIP_STAFF, node, k + 1)
        elif spec.level == Level.VILLAGE:
            for k in range(shape.village_staff):
                add(Role.VILLAGE_STAFF, node, k + 1)
        elif spec.level == Level.GRID:
            add(Role.GRID_LEADER, node, None)
            for k in range(plan.workers_per_grid[spec.code]):
                add(Role.GRID_WORKER, node, k + 1)
        elif spec.level == Level.UNIT:
            add(Role.UNIT_HEAD, node, None)
    return specs


def resident_login(*, unit: Node, password_hash: str) -> Login:
    """The demo resident: an account in the first household of ``unit``, with the resident role there,
    linked to that household through the service, in the same transaction as the account."""
    household = Household.objects.filter(node=unit).order_by("number").first()
    head = household.members.filter(relation="head").first()
    with transaction.atomic():
        user = writers.staff_via_services(
            [StaffSpec(DEMO_USERNAMES[Role.RESIDENT], head.name, household.preferred_language, Role.RESIDENT, unit)],
            password_hash=password_hash)[0]
        registry_services.user_household_link(actor=SYSTEM, user=user, household=household)
    return Login(username=user.username, role=Role.RESIDENT, node_code=unit.code, node_name=unit.name_zh,
                 password=DEMO_PASSWORD, household=household_label(household))


def household_label(household: Household) -> str:
    return f"household {household.number}, {household.head_name}"
