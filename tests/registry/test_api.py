"""The registry through the API: masking by role, audited views, ID numbers in bodies only."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from tests.factories import id_number
from tongxin.core.actors import SYSTEM
from tongxin.core.models import AuditEntry
from tongxin.people.roles import Role
from tongxin.people.services import role_grant
from tongxin.registry.models import Resident

BIRTH = dt.date(1988, 2, 29)


def _new(network, **fields):
    return {"household": str(network.a.household.pk), "name": "Tenzin", "sex": "M",
            "birth_date": BIRTH.isoformat(), "id_number": id_number(BIRTH, 321), **fields}


@pytest.mark.parametrize("name, whole", [("grid_worker_a", False), ("village1_staff", True),
                                         ("township1_staff", True), ("county_admin", False)])
def test_id_number_masked_or_whole_by_role(network, api, name, whole):
    resident = network.a.resident
    number = network.id_numbers[str(resident.pk)]
    body = api(network.user(name)).get(f"/api/v1/residents/{resident.pk}").json()
    assert body["id_number"] == (number if whole else "*" * 16 + number[-2:])
    # The birth date beside a masked number would give most of it away: the year only.
    assert body["birth_year"] == resident.birth_date.year
    assert body["birth_date"] == (resident.birth_date.isoformat() if whole else None)


@pytest.mark.parametrize("name, whole", [("grid_worker_a", False), ("unit_head_a", False), ("resident_a", False),
                                         ("village1_staff", True)])
def test_members_and_lists_show_the_birth_year_or_date_by_role(network, api, name, whole):
    client = api(network.user(name))
    members = client.get(f"/api/v1/households/{network.a.household.pk}").json()["members"]
    listed = client.get("/api/v1/residents").json()["items"]
    births = {r.pk: r.birth_date for r in network.a.residents}
    for item in members + [i for i in listed if i["household"] == str(network.a.household.pk)]:
        birth = births[uuid.UUID(item["id"])]
        assert item["birth_year"] == birth.year
        assert item["birth_date"] == (birth.isoformat() if whole else None)


def test_whole_numbers_only_where_the_role_that_grants_them_is(network, api):
    # Township staff of township 2 who is also grid worker in grid A: masked in grid A.
    user = network.user("grid_worker_b")
    role_grant(actor=SYSTEM, user=user, role=Role.GRID_WORKER, node=network.a.grid)
    role_grant(actor=SYSTEM, user=user, role=Role.TOWNSHIP_STAFF, node=network.b.township)
    client = api(network.user("grid_worker_b"))
    here = client.get(f"/api/v1/residents/{network.a.resident.pk}").json()
    there = client.get(f"/api/v1/residents/{network.b.resident.pk}").json()
    assert here["id_number"].startswith("*") and here["birth_date"] is None
    assert there["id_number"] == network.id_numbers[str(network.b.resident.pk)] and there["birth_date"]


def test_viewing_a_resident_writes_one_audit_entry_and_is_not_cached(network, api, audit_entries):
    client = api(network.user("grid_worker_a"))
    entries = audit_entries()
    response = client.get(f"/api/v1/residents/{network.a.resident.pk}")
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    assert audit_entries() == entries + 1 and audit_entries("resident.view") == 1


def test_lists_carry_no_id_numbers_and_each_page_writes_one_audit_entry(network, api, audit_entries):
    client = api(network.user("township1_staff"))
    entries = audit_entries()
    items = client.get("/api/v1/residents").json()["items"]
    assert len(items) == 4 and all("id_number" not in item for item in items)
    assert audit_entries() == entries + 1 and audit_entries("resident.list") == 1
    assert len(client.get("/api/v1/households", {"limit": 1}).json()["items"]) == 1
    assert audit_entries() == entries + 2 and audit_entries("household.list") == 1
    # An empty page names nobody and is not audited.
    assert client.get("/api/v1/residents", {"offset": 100}).json()["items"] == []
    assert audit_entries() == entries + 2


def test_a_list_entry_is_placed_where_the_rows_are(network, api):
    api(network.user("township1_staff")).get("/api/v1/residents", {"node": network.a.grid.code})
    entry = AuditEntry.objects.get(action="resident.list")
    assert entry.node_path == network.a.unit.path  # grid A's residents all live in unit A
    api(network.user("county_admin")).get("/api/v1/households")
    entry = AuditEntry.objects.get(action="household.list")
    assert entry.node_path == network.county.path and entry.chain == network.county.code


def test_a_household_with_its_members_is_an_audited_view(network, api, audit_entries):
    client = api(network.user("grid_worker_a"))
    entries = audit_entries()
    assert client.get(f"/api/v1/households/{network.a.household.pk}").status_code == 200
    assert audit_entries() == entries + 1 and audit_entries("household.view") == 1
    assert client.get(f"/api/v1/households/{network.b.household.pk}").status_code == 404
    assert audit_entries() == entries + 1


def test_search_by_id_number_in_the_body(network, api, audit_entries):
    client = api(network.user("grid_worker_a"))
    number = network.id_numbers[str(network.a.resident.pk)]
    entries = audit_entries()
    response = client.post("/api/v1/residents/search", {"id_number": number})
    assert response.status_code == 200 and response.json()["id"] == str(network.a.resident.pk)
    assert audit_entries() == entries + 1 and audit_entries("resident.view") == 1
    other = network.id_numbers[str(network.b.resident.pk)]
    assert client.post("/api/v1/residents/search", {"id_number": other}).status_code == 404
    assert audit_entries() == entries + 1


def test_create_a_resident(network, api, audit_entries):
    client = api(network.user("township1_staff"))
    entries = audit_entries()
    response = client.post("/api/v1/residents", _new(network))
    assert response.status_code == 201
    assert response.json()["id_number"] == id_number(BIRTH, 321)  # township staff see it whole
    assert audit_entries() == entries + 1


@pytest.mark.parametrize("fields, field", [
    ({"id_number": "54023019880229"}, "id_number"),
    ({"id_number": id_number(BIRTH, 321)[:17] + ("1" if id_number(BIRTH, 321)[-1] != "1" else "2")}, "id_number"),
    ({"birth_date": "1988-03-01"}, "birth_date"),
    ({"sex": "unknown"}, "sex"),
    ({"religion": "none"}, "religion"),
])
def test_bad_residents_are_refused_with_a_field_error(network, api, db_state, fields, field):
    client = api(network.user("township1_staff"), language="en")
    before = db_state()
    response = client.post("/api/v1/residents", _new(network, **fields))
    assert response.status_code == 422
    assert field in response.json()["error"]["fields"]
    assert db_state() == before


def test_a_duplicate_id_number_is_refused(network, api, db_state):
    client = api(network.user("township1_staff"))
    existing = network.b.resident
    before = db_state()
    response = client.post("/api/v1/residents", _new(network, id_number=network.id_numbers[str(existing.pk)],
                                                      birth_date=existing.birth_date.isoformat()))
    assert response.status_code == 422 and "id_number" in response.json()["error"]["fields"]
    assert db_state() == before


def test_households(network, api, audit_entries):
    client = api(network.user("grid_worker_a"))
    detail = client.get(f"/api/v1/households/{network.a.household.pk}").json()
    assert detail["node"] == network.a.unit.code
    assert {m["id"] for m in detail["members"]} == {str(r.pk) for r in network.a.residents}
    entries = audit_entries()
    response = client.patch(f"/api/v1/households/{network.a.household.pk}", {"phone": "0892-123456"})
    assert response.status_code == 200 and response.json()["phone"] == "0892-123456"
    assert audit_entries() == entries + 1
    assert Resident.objects.filter(household=network.a.household).count() == 2


def test_a_duplicate_outside_the_callers_scope_is_refused_without_saying_where_or_that_it_is_registered(
        network, api, db_state):
    """Grid worker A learns nothing about ID numbers registered outside their grid: the refusal
    names no place and does not say the number is registered."""
    client = api(network.user("grid_worker_a"), language="en")
    answers = []
    for existing in (network.b.resident, network.a2.resident):  # township 2; grid A2 of the same village
        before = db_state()
        response = client.post("/api/v1/residents", _new(network, id_number=network.id_numbers[str(existing.pk)],
                                                          birth_date=existing.birth_date.isoformat()))
        assert response.status_code == 422 and db_state() == before
        body = response.content.decode()
        assert "already registered" not in body
        for node in (existing.household.node, network.b.township, network.b.village, network.a2.grid):
            assert node.code not in body and node.name_zh not in body
        answers.append(response.json()["error"]["fields"]["id_number"])
    assert answers[0] == answers[1]
    inside = client.post("/api/v1/residents", _new(network, id_number=network.id_numbers[str(network.a.resident.pk)],
                                                    birth_date=network.a.resident.birth_date.isoformat()))
    assert inside.status_code == 422 and "already registered" in inside.json()["error"]["fields"]["id_number"][0]
