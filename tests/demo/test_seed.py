"""The demo seeder: deterministic, the bulk path makes what the services make, and the
reference county has DESIGN.md's figures, in the database and through the API roll-up."""

from __future__ import annotations

import io
import random
from collections import Counter

import pytest
from django.contrib.auth.password_validation import validate_password
from django.db import transaction
from django.db.models import Count, Max
from django.test import Client

from tongxin.core import audit
from tongxin.core.models import AuditEntry
from tongxin.demo import names, region, seed, writers
from tongxin.demo.families import REFERENCE_DATE
from tongxin.demo.plan import KANGMA, SMALL, plan_county, split
from tongxin.dispatch.catalogue import DEPARTMENTS
from tongxin.grid.models import Department, Level, Node
from tongxin.people.models import RoleAssignment, User
from tongxin.people.roles import SECOND_FACTOR_ROLES, Role
from tongxin.registry import idnumber
from tongxin.registry.models import Household, Resident

SKIP = {"id", "created_at", "updated_at", "id_number_sealed"}


# -- helpers ----------------------------------------------------------------------

def stored(obj, **replace) -> dict:
    """A saved row's values, ids and timestamps aside (foreign keys replaced by readable keys)."""
    values = {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields if f.attname not in SKIP}
    values.update(replace)
    return values


def everything() -> dict:
    """Every value the seeder writes, in a comparable form (no ids, no timestamps)."""
    return {
        "nodes": sorted(tuple(sorted(stored(n, parent_id=n.parent.code if n.parent else None).items()))
                        for n in Node.objects.select_related("parent")),
        "departments": sorted(tuple(sorted(stored(d, node_id=d.node.code).items()))
                              for d in Department.objects.select_related("node")),
        "households": sorted(tuple(sorted(stored(h, node_id=h.node.code).items()))
                             for h in Household.objects.select_related("node")),
        "residents": sorted(tuple(sorted(stored(r, node_id=r.node.code, household_id=r.household.number,
                                                id_number=r.id_number).items()))
                            for r in Resident.objects.select_related("node", "household")),
        "users": sorted(User.objects.values_list("username", "full_name", "preferred_language", "password",
                                                 "household__number", "totp_secret", "is_active")),
        "roles": sorted(RoleAssignment.objects.values_list("user__username", "role", "node__code", "node_path",
                                                           "department__code")),
        "audit": sorted(Counter(AuditEntry.objects.values_list("action", "object_type", "node_path", "chain",
                                                               "actor_name")).items()),
    }


def audit_since(last_id: int) -> list[AuditEntry]:
    audit.seal()  # the services' entries wait for the sequencer; the bulk path links at once
    return list(AuditEntry.objects.filter(id__gt=last_id).order_by("chain", "seq"))


def last_audit_id() -> int:
    return AuditEntry.objects.aggregate(m=Max("id"))["m"] or 0


def audit_shape(entries: list[AuditEntry]) -> list[tuple]:
    """What an entry says, without ids, times and hashes, in chain order."""
    return [(e.chain, e.action, e.object_type, e.node_path, e.actor_name, e.actor_id, tuple(e.changes),
             e.before_digest) for e in entries]


def assert_entries_describe_rows(entries: list[AuditEntry], model) -> None:
    """Each entry names one stored row, and its after-digest is that row's stored values."""
    rows = {str(r.pk): r for r in model.objects.filter(pk__in=[e.object_id for e in entries])}
    assert len(rows) == len(entries)
    for entry in entries:
        assert entry.after_digest == audit.digest(audit.snapshot(rows[entry.object_id])), entry.action


def small_network(seed_value: int = 7):
    """The small profile's nodes through the services; gives (plan, known nodes)."""
    top = seed.reference_specs()
    plan = plan_county(random.Random(f"{seed_value}:540230:plan"), top[-1], SMALL, list(names.TOWNSHIPS[:2]))
    known: dict[str, Node] = {}
    with transaction.atomic():
        writers.nodes_via_services(top, known=known)
    return plan, known


# -- the demo password and the plan ------------------------------------------------------

def test_demo_password_passes_django_validators_for_every_demo_account():
    for username in seed.DEMO_USERNAMES.values():
        validate_password(seed.DEMO_PASSWORD, User(username=username, full_name="演示"))
    assert set(seed.DEMO_USERNAMES) == set(Role.values) and len(Role.values) == 12


def test_split_adds_up_within_bounds_and_repeats_with_the_seed():
    parts = split(random.Random(3), 823, 162, 5, 6)
    assert sum(parts) == 823 and len(parts) == 162 and set(parts) == {5, 6}
    assert parts == split(random.Random(3), 823, 162, 5, 6)
    with pytest.raises(ValueError):
        split(random.Random(3), 10, 3, 4, 6)


def test_kangma_plan_has_the_reference_figures_and_real_township_codes():
    plan = plan_county(random.Random("540230:540230:plan"), seed.reference_specs()[-1], KANGMA,
                       list(names.TOWNSHIPS))
    counts = Counter(n.level for n in plan.nodes)
    assert counts == {Level.TOWNSHIP: 9, Level.VILLAGE: 49, Level.GRID: 162, Level.UNIT: KANGMA.units}
    assert [n.code for n in plan.of_level(Level.TOWNSHIP)] == ["540230100"] + [f"540230{c}" for c in range(200, 208)]
    assert sum(plan.workers_per_grid.values()) == 823
    assert sum(plan.household_sizes) == 23800 and len(plan.household_sizes) == sum(plan.households_per_unit.values())
    assert all(n.name_en.endswith("(synthetic)") for n in plan.nodes if n.level != Level.TOWNSHIP)
    # Centres lie around Kangma (28.55 N, 89.68 E).
    assert all(abs(n.lat - 28.55) < 0.5 and abs(n.lon - 89.68) < 0.6 for n in plan.nodes)


def test_region_plan_has_74_counties_with_county_codes_and_36_million_residents():
    counties = region.county_specs(random.Random("540230:540000:region"), residents=region.REGION_RESIDENTS)
    codes = [spec.code for spec, _ in counties]
    assert len(codes) == 74 == len(set(codes))
    assert sum(n for _, n in counties) == 3_600_000
    prefectures = {code for code, *_ in names.PREFECTURES}
    for spec, _ in counties:
        assert len(spec.code) == 6 and spec.code.isdigit() and not spec.code.endswith("00")
        assert spec.parent_code in prefectures and spec.code[:4] == spec.parent_code[:4]
        assert audit.chain_for(f"/540000/{spec.parent_code}/{spec.code}/") == spec.code
    assert Counter(spec.parent_code for spec, _ in counties) == {code: n for code, *_, n in names.PREFECTURES}


# -- (a) determinism ----------------------------------------------------------------

@pytest.mark.django_db
def test_small_profile_gives_the_same_values_for_the_same_seed():
    runs = []
    for _ in range(2):
        with transaction.atomic():
            seed.build(profile="small", seed=11)
            runs.append(everything())
            transaction.set_rollback(True)
    assert not Node.objects.exists()
    first, second = runs
    for key in first:
        assert first[key] == second[key], key
    assert len(first["residents"]) == SMALL.residents and len(first["nodes"]) == 3 + 2 + 4 + 8 + 16

    # Another seed gives other people in the same network.
    seed.build(profile="small", seed=12)
    other = everything()
    assert sorted(dict(n)["code"] for n in other["nodes"]) == sorted(dict(n)["code"] for n in first["nodes"])
    assert other["residents"] != first["residents"]


# -- (b) the bulk path makes the same rows as the services -----------------------------------

@pytest.mark.django_db
def test_bulk_households_and_residents_equal_the_services_path():
    plan, known = small_network()
    writers.nodes_via_services(plan.nodes, known=known)
    units = {code: known[code] for code in plan.households_per_unit}
    specs = list(seed.household_specs(seed=7, plan=plan))
    # Households of many sizes and every usual relation are compared.
    assert len({len(s.members) for s in specs}) >= 5
    assert {m["relation"] for s in specs for m in s.members} >= {"head", "spouse", "child", "parent"}

    def written(write) -> tuple[dict, list, list[AuditEntry]]:
        start = last_audit_id()
        write(specs, units=units)
        households = {h.number: stored(h) for h in Household.objects.all()}
        residents = sorted(tuple(sorted(stored(r, household_id=r.household.number, id_number=r.id_number).items()))
                           for r in Resident.objects.select_related("household"))
        entries = audit_since(start)
        for action, model in (("household.create", Household), ("resident.create", Resident)):
            assert_entries_describe_rows([e for e in entries if e.action == action], model)
        return households, residents, entries

    with transaction.atomic():
        by_services = written(writers.households_via_services)
        transaction.set_rollback(True)
    assert not Household.objects.exists()
    by_bulk = written(writers.households_bulk)

    assert by_bulk[0] == by_services[0] and len(by_bulk[0]) == SMALL.households
    assert by_bulk[1] == by_services[1] and len(by_bulk[1]) == SMALL.residents
    # The same entries, in the same order in the county's chain: household, then its members.
    assert audit_shape(by_bulk[2]) == audit_shape(by_services[2])
    assert Counter((e.action, e.object_type, e.node_path) for e in by_bulk[2]) == Counter(
        (e.action, e.object_type, e.node_path) for e in by_services[2])
    assert Counter(e.action for e in by_bulk[2]) == {"household.create": 32, "resident.create": 150}
    assert {e.chain for e in by_bulk[2]} == {"540230"}
    assert audit.verify().ok


@pytest.mark.django_db
def test_bulk_nodes_and_staff_equal_the_services_path():
    plan, known = small_network()
    county = known["540230"]

    def nodes(write):
        start = last_audit_id()
        local = dict(known)
        write(plan.nodes, known=local)
        rows = sorted(tuple(sorted(stored(n, parent_id=n.parent.code).items()))
                      for n in Node.objects.filter(level__in=[Level.TOWNSHIP, Level.VILLAGE, Level.GRID, Level.UNIT])
                      .select_related("parent"))
        entries = audit_since(start)
        assert_entries_describe_rows(entries, Node)
        return rows, audit_shape(entries), local

    with transaction.atomic():
        node_services = nodes(writers.nodes_via_services)
        transaction.set_rollback(True)
    node_bulk = nodes(writers.nodes_bulk)
    assert node_bulk[:2] == node_services[:2] and len(node_bulk[0]) == 30
    known = node_bulk[2]

    hashed = seed.password_hash(7)
    staff = seed.county_staff(random.Random("7:540230:staff"), plan=plan, shape=SMALL, known=known,
                              departments=[], demo_roles={Role.GRID_WORKER})
    assert staff and all(s.node.path.startswith(county.path) for s in staff)

    def accounts(write):
        start = last_audit_id()
        write(staff, password_hash=hashed)
        # The roles stamp is a fresh random key on each path (only its changing matters).
        users = sorted(tuple(sorted(stored(u, last_login=None, date_joined=None, roles_stamp=None).items()))
                       for u in User.objects.all())
        grants = sorted(tuple(sorted(stored(a, user_id=a.user.username).items()))
                        for a in RoleAssignment.objects.select_related("user"))
        entries = audit_since(start)
        assert_entries_describe_rows([e for e in entries if e.action == "role.grant"], RoleAssignment)
        for e in entries:
            if e.action == "user.create":
                user = User.objects.get(pk=e.object_id)
                assert e.after_digest == audit.digest({"username": user.username})
        return users, grants, audit_shape(entries)

    with transaction.atomic():
        staff_services = accounts(writers.staff_via_services)
        transaction.set_rollback(True)
    staff_bulk = accounts(writers.staff_bulk)
    assert staff_bulk == staff_services
    assert len(staff_bulk[0]) == len(staff) and {dict(u)["password"] for u in staff_bulk[0]} == {hashed}
    assert audit.verify().ok


# -- the small profile, in detail -------------------------------------------------------

@pytest.mark.django_db
def test_small_profile_contents_logins_and_refusal_to_seed_twice(capsys):
    result = seed.build(profile="small", seed=seed.DEFAULT_SEED)
    assert result.seeded and result.counts["townships"] == 2 and result.counts["villages"] == 4
    assert result.counts["grids"] == 8 and result.counts["units"] == 16
    assert result.counts["households"] == 32 and result.counts["residents"] == 150

    logins = {login.role: login for login in result.logins}
    assert set(logins) == set(Role.values)
    for role, login in logins.items():
        assert login.username == f"demo_{role}" and login.password == seed.DEMO_PASSWORD
        user = User.objects.get(username=login.username)
        grants = list(user.assignments.select_related("node"))
        assert [(g.role, g.node.code) for g in grants] == [(role, login.node_code)]
        assert not user.totp_secret and not user.totp_confirmed  # enrolled at the first login
        assert login.second_factor == (role in SECOND_FACTOR_ROLES)
    assert logins[Role.DEPARTMENT_OFFICER].department == "县民政局"
    resident = User.objects.get(username="demo_resident")
    assert resident.household is not None and resident.household.node.code == logins[Role.RESIDENT].node_code
    # Linked through the service: one entry, in the household's chain.
    link = AuditEntry.objects.get(action="user.household_link", object_id=str(resident.pk))
    assert link.node_path == resident.household.node_path and link.after_digest == audit.digest(
        {"household_id": str(resident.household_id)})
    assert seed.logins_in_database() == result.logins

    seed.print_logins(result)
    printed = capsys.readouterr().out
    assert seed.URL in printed and seed.DEMO_PASSWORD in printed
    assert all(f"demo_{role}" in printed for role in Role.values)

    with pytest.raises(seed.DatabaseNotEmpty):
        seed.build(profile="small", seed=1)
    with pytest.raises(SystemExit) as stop:
        seed.run(profile="kangma", seed=1)
    assert "already holds data" in str(stop.value.code)
    before = seed.counts()
    again = seed.ensure_reference_county()
    assert not again.seeded and seed.counts() == before and again.logins == result.logins
    assert audit.verify().ok


@pytest.mark.django_db
def test_small_profile_households_and_id_numbers_are_realistic_and_visibly_synthetic():
    seed.build(profile="small", seed=5)
    for household in Household.objects.prefetch_related("members"):
        members = list(household.members.all())
        relations = Counter(m.relation for m in members)
        assert relations["head"] == 1 and relations["spouse"] <= 1 and relations["parent"] <= 2
        head = next(m for m in members if m.relation == "head")
        assert household.head_name == head.name
        assert household.preferred_language in ("bo", "zh-hans")
        for m in members:
            number = m.id_number
            assert idnumber.problem(number) is None
            assert number[:6] == "540230" and number[14] == "9"  # the county's code; sequence 9xx
            assert number[6:14] == m.birth_date.strftime("%Y%m%d") and m.birth_date <= REFERENCE_DATE
            assert int(number[16]) % 2 == (1 if m.sex == "M" else 0)
            assert m.id_number_masked == idnumber.mask(number)
            assert m.preferred_language == household.preferred_language
            assert "(" in m.name and ")" in m.name  # both scripts
            if m.relation == "child":
                assert m.birth_date > head.birth_date
            if m.relation == "parent":
                assert m.birth_date < head.birth_date
    assert Resident.objects.values("id_number_hash").distinct().count() == Resident.objects.count()


@pytest.mark.django_db
def test_region_profile_in_miniature_goes_through_the_same_code():
    logins = region.seed_region(seed=3, progress=False, residents=3000, counties=3, workers=1)
    assert Node.objects.filter(level=Level.PREFECTURE).count() == 7
    counties = list(Node.objects.filter(level=Level.COUNTY).order_by("code"))
    assert [c.code for c in counties] == ["540151", "540152", "540153"]
    assert all(c.parent.level == Level.PREFECTURE and not c.code.endswith("00") for c in counties)
    assert Resident.objects.count() == 3000
    for county in counties:
        assert Resident.objects.filter(node_path__startswith=county.path).exists()
        assert RoleAssignment.objects.filter(role=Role.GRID_WORKER, node_path__startswith=county.path).exists()
        assert Department.objects.filter(node=county).count() == len(DEPARTMENTS)
    by_role = {login.role: login for login in logins}
    assert set(by_role) == set(Role.values)
    assert by_role[Role.DISPATCH_OFFICER].node_code == "540000"
    assert by_role[Role.GRID_WORKER].node_code.startswith("540151")
    entries = Counter(AuditEntry.objects.values_list("action", flat=True))
    assert entries["resident.create"] == 3000 and entries["household.create"] == Household.objects.count()
    assert entries["node.create"] == Node.objects.count()
    assert entries["role.grant"] == RoleAssignment.objects.count()
    assert audit.verify().ok


# -- (c) the reference county ------------------------------------------------------------

@pytest.fixture(scope="module")
def kangma(django_db_setup, django_db_blocker):
    """The reference county, seeded once for this module, in a transaction rolled back at its end."""
    with django_db_blocker.unblock():
        with transaction.atomic():
            result = seed.build(profile="kangma", seed=seed.DEFAULT_SEED)
            yield result
            transaction.set_rollback(True)


@pytest.mark.slow
@pytest.mark.django_db
def test_kangma_has_the_reference_figures(kangma):
    print(f"kangma seeded in {kangma.seconds:.1f} s")
    levels = dict(Node.objects.order_by().values_list("level").annotate(n=Count("pk")))
    assert levels == {"region": 1, "prefecture": 1, "county": 1, "township": 9, "village": 49, "grid": 162,
                      "unit": KANGMA.units}
    assert Household.objects.count() == 4800 and Resident.objects.count() == 23800
    workers = RoleAssignment.objects.filter(role=Role.GRID_WORKER)
    assert workers.count() == 823
    per_grid = Counter(workers.values_list("node__code", flat=True))
    assert len(per_grid) == 162 and set(per_grid.values()) <= {5, 6}
    for role, level in ((Role.GRID_LEADER, Level.GRID), (Role.UNIT_HEAD, Level.UNIT),
                        (Role.VILLAGE_STAFF, Level.VILLAGE), (Role.TOWNSHIP_STAFF, Level.TOWNSHIP)):
        held = RoleAssignment.objects.filter(role=role)
        assert set(held.values_list("node__level", flat=True)) == {level}
        assert held.values("node").distinct().count() == Node.objects.filter(level=level).count()
    assert RoleAssignment.objects.filter(role=Role.GRID_LEADER).count() == 162
    per_unit = Counter(Household.objects.values_list("node__code", flat=True))
    assert set(per_unit.values()) <= set(range(8, 13))
    townships = dict(Node.objects.filter(level=Level.TOWNSHIP).values_list("code", "name_zh"))
    assert townships == {code: zh for code, zh, _bo, _en in names.TOWNSHIPS}
    county = Node.objects.get(code="540230")
    assert (county.name_zh, county.name_bo, county.parent.code, county.parent.parent.code) == (
        "康马县", "ཁང་དམར་རྫོང་།", "540200", "540000")
    departments = Department.objects.filter(node=county)
    # Water, housing, civil affairs, emergency management, health, human resources, agriculture,
    # natural resources, education, … : the request catalogue's departments, so every category has one.
    assert {d.code for d in departments} == {code for code, *_ in DEPARTMENTS}
    assert {d.code for d in departments} >= {"water", "housing", "civil_affairs", "emergency", "health", "hr",
                                             "agriculture", "natural_resources", "education"}
    assert all(d.name_bo for d in Department.objects.all())
    assert Department.objects.filter(node__level=Level.TOWNSHIP).count() == 9 * len(names.TOWNSHIP_DEPARTMENTS)
    assert {login.role for login in kangma.logins} == set(Role.values)


@pytest.mark.slow
@pytest.mark.django_db
def test_kangma_rollup_through_the_api_gives_the_same_figures(kangma, settings):
    # The suite's conftest swaps in a fast hasher; the seeded accounts use the real one.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher",
                                 "django.contrib.auth.hashers.MD5PasswordHasher"]
    login = next(x for x in kangma.logins if x.role == Role.DISPATCH_OFFICER)
    response = Client().post("/api/v1/auth/token", {"username": login.username, "password": login.password},
                             content_type="application/json")
    assert response.status_code == 200, response.content
    api = Client(headers={"Authorization": f"Bearer {response.json()['token']}"})
    body = api.get("/api/v1/nodes/540230/rollup").json()
    assert (body["townships"], body["villages"], body["grids"], body["units"]) == (9, 49, 162, KANGMA.units)
    assert (body["households"], body["residents"], body["grid_workers"]) == (4800, 23800, 823)
    assert [c["code"] for c in body["children"]] == [code for code, *_ in names.TOWNSHIPS]
    assert sum(c["residents"] for c in body["children"]) == 23800
    assert sum(c["villages"] for c in body["children"]) == 49
    # A grid worker sees only their grid.
    worker = next(x for x in kangma.logins if x.role == Role.GRID_WORKER)
    token = Client().post("/api/v1/auth/token", {"username": worker.username, "password": worker.password},
                          content_type="application/json").json()["token"]
    mine = Client(headers={"Authorization": f"Bearer {token}"})
    assert mine.get("/api/v1/nodes/540230/rollup").status_code == 404
    grid = mine.get(f"/api/v1/nodes/{worker.node_code}/rollup").json()
    assert grid["grid_workers"] in (5, 6) and grid["units"] == len(grid["children"])


@pytest.mark.slow
@pytest.mark.django_db
def test_kangma_audit_log_verifies_and_has_one_entry_per_row(kangma):
    entries = Counter(AuditEntry.objects.values_list("action", flat=True))
    assert entries["household.create"] == 4800 and entries["resident.create"] == 23800
    assert entries["node.create"] == Node.objects.count()
    assert entries["role.grant"] == RoleAssignment.objects.count()
    assert entries["user.create"] == User.objects.count()
    result = audit.verify()
    assert result.ok, result.problem


@pytest.mark.slow
@pytest.mark.django_db
def test_kangma_printed_logins_and_demo_command_reuse(kangma):
    out = io.StringIO()
    again = seed.ensure_reference_county()
    assert not again.seeded and again.counts["residents"] == 23800
    seed.print_logins(again, file=out)
    text = out.getvalue()
    assert "nothing seeded" in text and seed.URL in text
    for role in Role.values:
        assert f"demo_{role}" in text
