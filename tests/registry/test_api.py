"""The registry through the API: masking by role, audited views, ID numbers in bodies only."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.factories import id_number
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
    assert body["id_number"] == (number if whole else number[:6] + "********" + number[-4:])


def test_viewing_a_resident_writes_one_audit_entry_and_is_not_cached(network, api, audit_entries):
    client = api(network.user("grid_worker_a"))
    entries = audit_entries()
    response = client.get(f"/api/v1/residents/{network.a.resident.pk}")
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    assert audit_entries() == entries + 1 and audit_entries("resident.view") == 1


def test_lists_carry_no_id_numbers_and_write_no_audit_entries(network, api, audit_entries):
    client = api(network.user("township1_staff"))
    entries = audit_entries()
    items = client.get("/api/v1/residents").json()["items"]
    assert len(items) == 4 and all("id_number" not in item for item in items)
    assert audit_entries() == entries


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
