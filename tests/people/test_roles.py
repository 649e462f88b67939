"""The one permissions table: every role has an entry, and the administrators are separated."""

from __future__ import annotations

import pytest

from tongxin.people.permissions import roles_of, user_can
from tongxin.people.roles import ALL_ACTIONS, PERMISSIONS, Role, role_allows


def test_every_role_has_an_entry_and_nothing_else_does():
    assert set(PERMISSIONS) == set(Role.values)
    assert all(isinstance(actions, frozenset) for actions in PERMISSIONS.values())


def test_unknown_roles_and_actions_allow_nothing():
    assert not role_allows("overlord", "node.view")
    assert not any(role_allows(role, "everything") for role in Role.values)
    assert ALL_ACTIONS == frozenset().union(*PERMISSIONS.values())


def test_the_three_administrators_are_separated():
    system, security, auditor = (PERMISSIONS[Role.SYSTEM_ADMIN], PERMISSIONS[Role.SECURITY_ADMIN],
                                 PERMISSIONS[Role.AUDIT_ADMIN])
    assert "audit.view" not in system and "role.grant" not in system
    assert "user.manage" not in security and "audit.view" not in security
    assert auditor == {"audit.view"}
    assert [r for r in Role.values if role_allows(r, "role.grant")] == [Role.SECURITY_ADMIN]
    assert [r for r in Role.values if role_allows(r, "audit.view")] == [Role.AUDIT_ADMIN]
    assert [r for r in Role.values if role_allows(r, "user.manage")] == [Role.SYSTEM_ADMIN]


def test_administrators_do_not_read_the_registry():
    for role in (Role.SYSTEM_ADMIN, Role.SECURITY_ADMIN, Role.AUDIT_ADMIN):
        assert not {"household.view", "resident.view", "resident.view_id"} & PERMISSIONS[role]


def test_whole_id_numbers_only_for_village_and_township_staff():
    assert {r for r in Role.values if role_allows(r, "resident.view_id")} == {Role.VILLAGE_STAFF,
                                                                               Role.TOWNSHIP_STAFF}


@pytest.mark.parametrize("name, action, allowed", [
    ("system_admin", "audit.view", False),
    ("system_admin", "role.grant", False),
    ("system_admin", "user.manage", True),
    ("security_admin", "role.grant", True),
    ("audit_admin", "audit.view", True),
    ("audit_admin", "node.view", False),
    ("grid_worker_a", "resident.change", True),
    ("grid_worker_a", "resident.view_id", False),
    ("unit_head_a", "household.change", False),
    ("newcomer", "node.view", False),
])
def test_user_can_reads_the_table(network, name, action, allowed):
    user = network.user(name)
    assert user_can(user, action) is allowed
    assert user_can(user, action) == any(role_allows(r, action) for r in roles_of(user))
