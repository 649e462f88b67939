"""The one scope function: a user sees and changes what lies at or below their nodes."""

from __future__ import annotations

import pytest

from tongxin.core.actors import SYSTEM
from tongxin.grid.models import Node
from tongxin.people import scope
from tongxin.people.models import User
from tongxin.people.roles import Role
from tongxin.registry.models import Household, Resident


def _codes(qs) -> set[str]:
    return {n.code for n in qs}


def test_a_grid_worker_sees_their_grid_only(network):
    worker = network.user("grid_worker_a")
    assert _codes(scope.restrict(Node.objects.all(), worker, "node.view")) == {network.a.grid.code,
                                                                               network.a.unit.code}
    assert set(scope.restrict(Household.objects.all(), worker, "household.view")) == {network.a.household}
    assert set(scope.restrict(Resident.objects.all(), worker, "resident.view")) == set(network.a.residents)


def test_township_staff_see_their_township(network):
    staff = network.user("township1_staff")
    visible = set(scope.restrict(Household.objects.all(), staff, "household.view"))
    assert visible == {network.a.household, network.a2.household}


def test_county_roles_see_the_county(network):
    assert scope.restrict(Resident.objects.all(), network.user("county_admin"), "resident.view").count() == 8


def test_a_resident_sees_their_own_household_only(network):
    resident = network.user("resident_a")
    assert set(scope.restrict(Household.objects.all(), resident, "household.view")) == {network.a.household}
    assert set(scope.restrict(Resident.objects.all(), resident, "resident.view")) == set(network.a.residents)
    assert not scope.restrict(Node.objects.all(), resident, "node.view").exists()
    assert not scope.allows_at(resident, "household.view", network.a.unit.path)  # nothing by node


def test_actions_the_role_lacks_open_nothing(network):
    assert not scope.restrict(Resident.objects.all(), network.user("unit_head_a"), "resident.change").exists()
    assert not scope.restrict(Resident.objects.all(), network.user("system_admin"), "resident.view").exists()
    assert not scope.restrict(Resident.objects.all(), network.user("newcomer"), "resident.view").exists()
    assert not scope.restrict(Resident.objects.all(), None, "resident.view").exists()


def test_an_inactive_user_sees_nothing(network):
    User.objects.filter(username="township1_staff").update(is_active=False)
    assert not scope.restrict(Household.objects.all(), network.user("township1_staff"), "household.view").exists()


def test_several_assignments_add_up(network, make):
    user = make.user("two_grids", Role.GRID_WORKER, network.a.grid)
    from tongxin.people import services

    services.role_grant(actor=SYSTEM, user=user, role=Role.GRID_WORKER, node=network.b.grid)
    user = User.objects.get(pk=user.pk)
    assert set(scope.restrict(Household.objects.all(), user, "household.view")) == {network.a.household,
                                                                                    network.b.household}
    assert scope.scope_roots(user, "household.view") == sorted([network.a.grid.path, network.b.grid.path])


def test_nested_assignments_collapse_to_the_top(network, make):
    user = make.user("village_and_grid", Role.VILLAGE_STAFF, network.a.village)
    from tongxin.people import services

    services.role_grant(actor=SYSTEM, user=user, role=Role.GRID_WORKER, node=network.a.grid)
    user = User.objects.get(pk=user.pk)
    assert scope.scope_roots(user, "household.view") == [network.a.village.path]


@pytest.mark.parametrize("name, path_of, allowed", [
    ("grid_worker_a", "a_unit", True),
    ("grid_worker_a", "a2_grid", False),
    ("grid_worker_a", "a_village", False),
    ("village1_staff", "a2_grid", True),
    ("township1_staff", "b_grid", False),
])
def test_allows_at(network, name, path_of, allowed):
    side, node = path_of.split("_")
    path = getattr(getattr(network, side), node).path
    assert scope.allows_at(network.user(name), "household.change", path) is allowed


def test_can_is_the_same_decision_for_one_record(network):
    worker = network.user("grid_worker_a")
    assert scope.can(worker, "household.view", network.a.household)
    assert not scope.can(worker, "household.view", network.b.household)


def test_the_system_actor_is_the_one_way_to_act_without_a_person(network):
    """Jobs, the command line and the seeder act as SYSTEM: the scope function lets it do
    everything, everywhere, and the audit log names it; no service takes a flag instead."""
    import inspect

    from django.db import transaction

    from tongxin.core import audit
    from tongxin.grid import services as grid_services
    from tongxin.people import services as people_services
    from tongxin.registry import services as registry_services

    assert set(scope.restrict(Household.objects.all(), SYSTEM, "household.view")) == set(Household.objects.all())
    assert scope.allows_at(SYSTEM, "node.change", network.b.grid.path)
    assert scope.may(SYSTEM, "calendar.change")
    scope.require(SYSTEM, "household.change", network.b.household)
    with transaction.atomic():
        entry = audit.record(action="test.system", actor=SYSTEM, obj=network.b.household)
    assert entry.actor_id is None and entry.actor_name == "system"
    for module in (grid_services, people_services, registry_services):
        for name, fn in inspect.getmembers(module, inspect.isfunction):
            if fn.__module__ == module.__name__:
                assert "check_scope" not in inspect.signature(fn).parameters, name


def test_require_answers_not_found_outside_scope(network):
    from tongxin.core.errors import NotFound

    worker = network.user("grid_worker_a")
    scope.require(worker, "household.change", network.a.household)
    with pytest.raises(NotFound):
        scope.require(worker, "household.change", network.b.household)
    with pytest.raises(NotFound):
        scope.require(network.user("resident_a"), "household.change", network.a.household)
