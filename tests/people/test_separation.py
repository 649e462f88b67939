"""Separation of the three administrators (MLPS 三权分立): they exclude each other and every role
that sees personal data; a role fits the level of its node; a role can be revoked (issue 8 item 2)."""

from __future__ import annotations

import pytest

from tongxin.core.actors import SYSTEM
from tongxin.core.errors import Conflict, NotFound, PermissionDenied
from tongxin.people import services
from tongxin.people.models import RoleAssignment
from tongxin.people.roles import (
    ADMINISTRATOR_ROLES,
    PERMISSIONS,
    PERSONAL_DATA_ACTIONS,
    PERSONAL_DATA_ROLES,
    ROLE_LEVELS,
    Role,
    exclusive_with,
)


def test_personal_data_roles_are_those_whose_actions_show_personal_data():
    assert PERSONAL_DATA_ROLES == {r for r, actions in PERMISSIONS.items() if actions & PERSONAL_DATA_ACTIONS}
    assert {"resident.view", "resident.view_id", "household.view", "request.view"} <= PERSONAL_DATA_ACTIONS
    assert not PERSONAL_DATA_ROLES & ADMINISTRATOR_ROLES
    assert {Role.TOWNSHIP_STAFF, Role.GRID_WORKER, Role.COUNTY_ADMIN, Role.DEPARTMENT_OFFICER} <= PERSONAL_DATA_ROLES
    assert set(ROLE_LEVELS) == set(Role.values)


@pytest.mark.parametrize("admin", sorted(ADMINISTRATOR_ROLES))
def test_each_administrator_excludes_the_others_and_personal_data(admin):
    assert exclusive_with(admin) == (ADMINISTRATOR_ROLES - {admin}) | PERSONAL_DATA_ROLES
    for other in PERSONAL_DATA_ROLES:
        assert admin in exclusive_with(other)


def _api_grant(client, username, role, node, **extra):
    return client.post("/api/v1/role-assignments", {"username": username, "role": role, "node": node.code, **extra})


def test_the_attack_of_the_issue_is_refused_with_409(network, api, audit_entries):
    """The security administrator gave the system administrator the audit role and a township
    staff role, after which the system administrator read whole ID numbers."""
    security = api(network.user("security_admin"), language="en")
    entries = audit_entries()
    for role, node in ((Role.AUDIT_ADMIN, network.county), (Role.TOWNSHIP_STAFF, network.a.township)):
        response = _api_grant(security, "system_admin", role, node)
        assert response.status_code == 409, response.content
        error = response.json()["error"]
        assert error["code"] == "roles_exclusive"
        assert "system administrator" in error["message"]
    assert set(RoleAssignment.objects.filter(user=network.user("system_admin")).values_list("role", flat=True)) == {
        Role.SYSTEM_ADMIN}
    assert audit_entries() == entries  # nothing granted


def test_a_staff_member_cannot_become_an_administrator(network):
    with pytest.raises(Conflict) as caught:
        services.role_grant(actor=SYSTEM, user=network.user("township1_staff"), role=Role.SECURITY_ADMIN,
                            node=network.county)
    assert caught.value.code == "roles_exclusive"


def test_the_refusal_is_in_the_callers_language(network, api):
    response = api(network.user("security_admin"), language="zh-hans").post("/api/v1/role-assignments", {
        "username": "audit_admin", "role": "system_admin", "node": network.county.code})
    assert response.status_code == 409
    assert "系统管理员" in response.json()["error"]["message"]


def test_the_same_role_twice_and_compatible_roles_are_fine(network):
    worker = network.user("grid_worker_a")
    services.role_grant(actor=SYSTEM, user=worker, role=Role.GRID_WORKER, node=network.a2.grid)
    services.role_grant(actor=SYSTEM, user=worker, role=Role.GRID_LEADER, node=network.a.grid)
    admin = network.user("system_admin")
    services.role_grant(actor=SYSTEM, user=admin, role=Role.SYSTEM_ADMIN, node=network.a.township)
    assert RoleAssignment.objects.filter(user=worker).count() == 3


@pytest.mark.parametrize("role, level, fits", [
    (Role.GRID_WORKER, "grid", True), (Role.GRID_WORKER, "township", False), (Role.GRID_WORKER, "county", False),
    (Role.UNIT_HEAD, "unit", True), (Role.UNIT_HEAD, "grid", False),
    (Role.VILLAGE_STAFF, "village", True), (Role.VILLAGE_STAFF, "grid", False),
    (Role.TOWNSHIP_STAFF, "township", True), (Role.TOWNSHIP_STAFF, "county", False),
    (Role.COUNTY_ADMIN, "county", True), (Role.COUNTY_ADMIN, "township", False),
    (Role.DISPATCH_OFFICER, "county", True), (Role.DISPATCH_OFFICER, "village", False),
    (Role.SECURITY_ADMIN, "county", True), (Role.SECURITY_ADMIN, "grid", False),
    (Role.RESIDENT, "unit", True), (Role.RESIDENT, "village", True), (Role.RESIDENT, "county", False),
])
def test_a_role_fits_the_level_of_its_node(network, role, level, fits):
    node = {"county": network.county, "township": network.a.township, "village": network.a.village,
            "grid": network.a.grid, "unit": network.a.unit}[level]
    newcomer = network.user("newcomer")
    if fits:
        services.role_grant(actor=SYSTEM, user=newcomer, role=role, node=node,
                            department=network.department if role == Role.DEPARTMENT_OFFICER else None)
        assert RoleAssignment.objects.filter(user=newcomer, role=role, node=node).exists()
    else:
        with pytest.raises(Conflict) as caught:
            services.role_grant(actor=SYSTEM, user=newcomer, role=role, node=node)
        assert caught.value.code == "role_level"
        assert not RoleAssignment.objects.filter(user=newcomer).exists()


def test_a_grid_worker_at_the_township_is_a_409_through_the_api(network, api):
    client = api(network.user("security_admin_t1"), language="en")
    response = _api_grant(client, "newcomer", "grid_worker", network.a.township)
    assert response.status_code == 409 and response.json()["error"]["code"] == "role_level"


# --- revoking -----------------------------------------------------------------------------------


def _assignment(network, name) -> RoleAssignment:
    return RoleAssignment.objects.get(user=network.user(name))


def test_the_security_administrator_revokes_within_scope_with_one_audit_entry(network, api, audit_entries):
    client = api(network.user("security_admin_t1"), language="en")
    assignment = _assignment(network, "grid_worker_a")
    entries = audit_entries("role.revoke")
    response = client.request("DELETE", f"/api/v1/role-assignments/{assignment.pk}")
    assert response.status_code == 200, response.content
    assert response.json()["role"] == "grid_worker"
    assert not RoleAssignment.objects.filter(pk=assignment.pk).exists()
    assert audit_entries("role.revoke") == entries + 1
    # township 2's roles are not found; again is not found
    far = _assignment(network, "grid_worker_b")
    assert client.request("DELETE", f"/api/v1/role-assignments/{far.pk}").status_code == 404
    assert client.request("DELETE", f"/api/v1/role-assignments/{assignment.pk}").status_code == 404
    assert RoleAssignment.objects.filter(pk=far.pk).exists()


def test_a_revoked_role_opens_nothing_any_more(network, api):
    worker = api(network.user("grid_worker_a"), language="en")
    household = network.a.household
    assert worker.get(f"/api/v1/households/{household.pk}").status_code == 200
    services.role_revoke(actor=network.user("security_admin"), assignment=_assignment(network, "grid_worker_a"))
    assert worker.get(f"/api/v1/households/{household.pk}").status_code == 404


@pytest.mark.parametrize("name", ["system_admin", "township1_staff", "grid_worker_a", "audit_admin"])
def test_only_security_administrators_revoke(network, name):
    with pytest.raises(NotFound):
        services.role_revoke(actor=network.user(name), assignment=_assignment(network, "grid_worker_b"))


def test_nobody_revokes_their_own_role(network):
    security = network.user("security_admin")
    with pytest.raises(PermissionDenied):
        services.role_revoke(actor=security, assignment=_assignment(network, "security_admin"))


def test_the_revoke_page(network, page_client, audit_entries):
    client = page_client(network.user("security_admin_t1"))
    assignment = _assignment(network, "grid_leader_a")
    detail = client.get(f"/accounts/{assignment.user_id}/")
    assert detail.status_code == 200 and f"/role-assignments/{assignment.pk}/revoke/" in detail.content.decode()
    response = client.post(f"/role-assignments/{assignment.pk}/revoke/", follow=True)
    assert response.status_code == 200
    assert not RoleAssignment.objects.filter(pk=assignment.pk).exists()
    assert audit_entries("role.revoke") == 1


def test_the_grant_page_refuses_a_clash_with_the_message(network, page_client):
    client = page_client(network.user("security_admin"))
    response = client.post("/role-assignments/new/", {"username": "system_admin", "role": "audit_admin",
                                                       "node": network.county.code})
    assert response.status_code == 200
    assert "不能与" in response.content.decode()  # in the administrator's language
    assert not RoleAssignment.objects.filter(user=network.user("system_admin"), role="audit_admin").exists()
    response = client.post("/role-assignments/new/", {"username": "newcomer", "role": "department_officer",
                                                       "node": network.county.code, "department": "water"})
    assert response.status_code == 302
    assert RoleAssignment.objects.get(user=network.user("newcomer")).department == network.department
