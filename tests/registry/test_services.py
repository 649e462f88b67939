"""Writes to the registry: households and residents, validated, encrypted, audited."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection

from tests.factories import id_number
from tongxin.core.errors import NotFound, ValidationFailed
from tongxin.core.models import AuditEntry
from tongxin.registry import idnumber, services
from tongxin.registry.models import Household, Resident

BIRTH = dt.date(1990, 5, 17)
GOOD = id_number(BIRTH, 777)
WRONG_CHECK = GOOD[:17] + ("0" if GOOD[-1] != "0" else "1")


def _resident(network, actor="township1_staff", household=None, **fields):
    fields.setdefault("id_number", GOOD)
    fields.setdefault("birth_date", BIRTH)
    return services.resident_create(actor=network.user(actor), household=household or network.a.household,
                                    name=fields.pop("name", "Lhamo"), sex=fields.pop("sex", "F"), **fields)


def test_a_resident_is_created_with_one_audit_entry(network):
    entries = AuditEntry.objects.count()
    resident = _resident(network)
    assert resident.node_path == network.a.household.node_path and resident.node_id == network.a.unit.pk
    assert resident.preferred_language == network.a.household.preferred_language
    assert AuditEntry.objects.count() == entries + 1
    assert AuditEntry.objects.get(action="resident.create", object_id=str(resident.pk)).actor_name == "township1_staff"


@pytest.mark.parametrize("number, field", [
    (GOOD[:17], "id_number"),                                # length
    (WRONG_CHECK, "id_number"),                              # check digit
    (id_number(dt.date(1991, 5, 17), 777), "birth_date"),    # the birth date does not match
])
def test_id_number_validation(network, number, field):
    before = Resident.objects.count()
    with pytest.raises(ValidationFailed) as exc:
        _resident(network, id_number=number)
    assert field in exc.value.fields
    assert Resident.objects.count() == before


def test_a_duplicate_id_number_is_refused(network):
    existing = network.id_numbers[str(network.b.resident.pk)]
    with pytest.raises(ValidationFailed) as exc:
        _resident(network, id_number=existing.lower(), birth_date=network.b.resident.birth_date)
    assert "id_number" in exc.value.fields


def test_the_id_number_is_encrypted_at_rest(network):
    resident = _resident(network)
    number = GOOD
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {Resident._meta.db_table}")
        rows = cursor.fetchall()
    assert len(rows) == Resident.objects.count()
    for clear in [number, *network.id_numbers.values()]:
        assert not any(clear in str(value) for row in rows for value in row)
    stored = Resident.objects.filter(pk=resident.pk).values_list("id_number_sealed", "id_number_masked").get()
    assert idnumber.unseal(stored[0]) == number
    assert stored[1] == "*" * 16 + number[-2:]


def test_resident_create_is_scoped(network):
    with pytest.raises(NotFound):
        _resident(network, actor="grid_worker_a", household=network.b.household)
    with pytest.raises(NotFound):
        _resident(network, actor="unit_head_a")  # may view, may not change


def test_resident_update_keeps_the_number_and_audits_the_change(network):
    resident = network.a.resident
    number = network.id_numbers[str(resident.pk)]
    updated = services.resident_update(actor=network.user("grid_worker_a"), resident=resident, phone="13900000000")
    assert updated.phone == "13900000000" and updated.id_number == number
    entry = AuditEntry.objects.get(action="resident.update")
    assert entry.changes == ["phone"]
    new_number = id_number(resident.birth_date, 901)
    updated = services.resident_update(actor=network.user("grid_worker_a"), resident=updated, id_number=new_number)
    assert updated.id_number == new_number and updated.id_number_masked == idnumber.mask(new_number)


@pytest.mark.parametrize("changes, field", [
    ({"birth_date": None}, "birth_date"),
    ({"phone": None}, "phone"),
    ({"sex": "X"}, "sex"),
    ({"relation": "cousin"}, "relation"),
    ({"ethnicity": "x"}, "ethnicity"),
    ({"birth_date": dt.date(1950, 1, 1)}, "birth_date"),
])
def test_resident_update_refuses_bad_changes(network, changes, field):
    with pytest.raises(ValidationFailed) as exc:
        services.resident_update(actor=network.user("township1_staff"), resident=network.a.resident, **changes)
    assert field in exc.value.fields


def test_household_create_and_update(network):
    staff = network.user("grid_worker_a")
    household = services.household_create(actor=staff, node=network.a.unit, number="H-900", address="Gyantse Road 3")
    assert household.node_path == network.a.unit.path
    with pytest.raises(ValidationFailed) as exc:  # the number is unique in its unit
        services.household_create(actor=staff, node=network.a.unit, number="H-900", address="elsewhere")
    assert "number" in exc.value.fields
    with pytest.raises(ValidationFailed) as exc:  # households live at units
        services.household_create(actor=staff, node=network.a.grid, number="H-901", address="x")
    assert "node" in exc.value.fields
    with pytest.raises(NotFound):
        services.household_create(actor=staff, node=network.b.unit, number="H-902", address="x")
    updated = services.household_update(actor=staff, household=household, lat=28.9, lon=89.6, head_name="Nyima")
    assert (updated.lat, updated.lon, updated.head_name) == (28.9, 89.6, "Nyima")
    assert services.household_update(actor=staff, household=updated, lat=None, lon=None).lat is None


@pytest.mark.parametrize("changes, field", [
    ({"lat": 91}, "lat"), ({"lon": -181}, "lon"), ({"address": "  "}, "address"), ({"phone": None}, "phone"),
    ({"preferred_language": "fr"}, "preferred_language"), ({"number": "H-1"}, "number"),
])
def test_household_update_refuses_bad_changes(network, changes, field):
    before = Household.objects.get(pk=network.a.household.pk).updated_at
    with pytest.raises(ValidationFailed) as exc:
        services.household_update(actor=network.user("township1_staff"), household=network.a.household, **changes)
    assert field in exc.value.fields
    assert Household.objects.get(pk=network.a.household.pk).updated_at == before
