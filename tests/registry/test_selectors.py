"""Reads of households and residents: scoped, masked, and every view of a resident audited."""

from __future__ import annotations

import uuid

import pytest

from tongxin.core.errors import NotFound, ValidationFailed
from tongxin.core.models import AuditEntry
from tongxin.registry import selectors


def test_resident_view_is_audited_once(network):
    staff = network.user("grid_worker_a")
    resident = selectors.resident_view(actor=staff, resident_id=network.a.resident.pk)
    assert resident == network.a.resident
    entry = AuditEntry.objects.get(action="resident.view")
    assert entry.object_id == str(resident.pk) and entry.actor_id == staff.pk


@pytest.mark.parametrize("resident_id", ["b", "nonsense", str(uuid.uuid4()), None, 12])
def test_resident_view_answers_not_found_and_audits_nothing(network, resident_id):
    if resident_id == "b":
        resident_id = network.b.resident.pk
    with pytest.raises(NotFound):
        selectors.resident_view(actor=network.user("grid_worker_a"), resident_id=resident_id)
    assert not AuditEntry.objects.filter(action="resident.view").exists()


def test_find_by_id_number_finds_exactly_one_in_scope(network):
    number = network.id_numbers[str(network.a.resident.pk)]
    found = selectors.resident_find_by_id_number(actor=network.user("grid_worker_a"), id_number=number.lower())
    assert found == network.a.resident
    assert AuditEntry.objects.filter(action="resident.view").count() == 1
    with pytest.raises(NotFound):
        selectors.resident_find_by_id_number(actor=network.user("grid_worker_b"), id_number=number)
    with pytest.raises(ValidationFailed):
        selectors.resident_find_by_id_number(actor=network.user("grid_worker_a"), id_number="123")


@pytest.mark.parametrize("name, whole", [
    ("grid_worker_a", False), ("grid_leader_a", False), ("unit_head_a", False), ("resident_a", False),
    ("county_admin", False), ("village1_staff", True), ("township1_staff", True),
])
def test_whole_id_number_only_for_village_and_township_staff(network, name, whole):
    resident = network.a.resident
    number = network.id_numbers[str(resident.pk)]
    shown = selectors.shown_id_number(actor=network.user(name), resident=resident)
    assert shown == (number if whole else "*" * 16 + number[-2:])


def test_household_members_and_lists_are_scoped(network):
    worker = network.user("grid_worker_a")
    assert list(selectors.household_list(actor=worker)) == [network.a.household]
    assert set(selectors.household_members(actor=worker, household=network.a.household)) == set(network.a.residents)
    assert set(selectors.resident_list(actor=worker)) == set(network.a.residents)
    assert list(selectors.household_list(actor=network.user("township1_staff"), node=network.a2.grid)) == [
        network.a2.household]
    with pytest.raises(NotFound):
        selectors.household_get(actor=worker, household_id=network.a2.household.pk)


def test_household_search(network):
    staff = network.user("township1_staff")
    assert list(selectors.household_list(actor=staff, search=network.a.household.number)) == [network.a.household]
    assert list(selectors.household_list(actor=staff, search=network.b.household.number)) == []
