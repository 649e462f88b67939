"""A resident's account linked to their own household: the service (who may link, where,
and what it writes) and ``PUT``/``DELETE /api/v1/users/{username}/household``."""

from __future__ import annotations

import pytest

from tongxin.core import audit
from tongxin.core.actors import SYSTEM
from tongxin.core.errors import NotFound, PermissionDenied, ValidationFailed
from tongxin.core.models import AuditEntry
from tongxin.people import services as people_services
from tongxin.people.models import User
from tongxin.people.roles import Role, role_allows
from tongxin.people.scope import assignments
from tongxin.registry import services
from tongxin.registry.models import Household

LINK = "user.household_link"
UNLINK = "user.household_unlink"


def _path(user: User) -> str:
    return f"/api/v1/users/{user.username}/household"


def _entries(user: User, action: str):
    return AuditEntry.objects.filter(action=action, object_type="people.user", object_id=str(user.pk))


def _household_of(user: User):
    return User.objects.values_list("household_id", flat=True).get(pk=user.pk)


@pytest.fixture
def resident(network, make) -> User:
    """A resident's account with its role at unit A, linked to no household yet."""
    return make.user("pema", Role.RESIDENT, network.a.unit)


# --- the roles table ------------------------------------------------------------------------


def test_the_staff_who_register_households_link_accounts_to_them():
    linkers = {r for r in Role.values if role_allows(r, "household.link")}
    assert linkers == {Role.TOWNSHIP_STAFF, Role.VILLAGE_STAFF, Role.GRID_LEADER, Role.GRID_WORKER}
    assert linkers == {r for r in Role.values if role_allows(r, "household.change")}


# --- the service ----------------------------------------------------------------------------


def test_link_writes_the_field_and_one_audit_entry_with_before_and_after(network, resident):
    actor = network.user("grid_worker_a")
    household = network.a.household
    entries = AuditEntry.objects.count()
    user = services.user_household_link(actor=actor, user=resident, household=household)
    assert user is resident and resident.household_id == household.pk
    assert _household_of(resident) == household.pk
    assert AuditEntry.objects.count() == entries + 1
    entry = _entries(resident, LINK).get()
    assert (entry.actor_id, entry.node_path, entry.chain) == (actor.pk, household.node_path, "540230")
    assert entry.changes == ["household_id"]
    assert entry.before_digest == audit.digest({"household_id": None})
    assert entry.after_digest == audit.digest({"household_id": str(household.pk)})
    assert audit.verify().ok


def test_a_repeat_changes_nothing_and_writes_no_second_entry(network, resident, db_state):
    actor = network.user("grid_worker_a")
    services.user_household_link(actor=actor, user=resident, household=network.a.household)
    before = db_state()
    again = services.user_household_link(actor=actor, user=User.objects.get(pk=resident.pk),
                                         household=network.a.household)
    assert again.household_id == network.a.household.pk
    assert db_state() == before  # no row, no timestamp, no audit entry
    assert _entries(resident, LINK).count() == 1


@pytest.mark.parametrize("name", ["grid_worker_a", "grid_leader_a", "village1_staff", "township1_staff"])
def test_staff_at_or_above_the_household_may_link(network, resident, name):
    services.user_household_link(actor=network.user(name), user=resident, household=network.a.household)
    assert _household_of(resident) == network.a.household.pk


@pytest.mark.parametrize("name", ["county_admin", "dispatch_officer", "department_officer", "unit_head_a",
                                  "resident_a", "system_admin", "security_admin", "audit_admin", "newcomer",
                                  "grid_worker_b", "township2_staff"])
def test_everyone_else_gets_not_found_and_nothing_changes(network, resident, name, db_state):
    before = db_state()
    with pytest.raises(NotFound):
        services.user_household_link(actor=network.user(name), user=resident, household=network.a.household)
    assert db_state() == before


@pytest.mark.parametrize("side", ["a2", "b"])
def test_a_household_outside_the_actor_s_scope_is_not_found(network, make, side, db_state):
    # A resident of the village (role above both grids), so only scope can refuse.
    villager = make.user("dawa", Role.RESIDENT, network.a.village)
    household = getattr(network, side).household
    before = db_state()
    with pytest.raises(NotFound):
        services.user_household_link(actor=network.user("grid_worker_a"), user=villager, household=household)
    assert db_state() == before


def test_an_account_without_the_resident_role_is_refused(network, make, db_state):
    for user in (network.user("newcomer"), network.user("unit_head_a"), make.user("tenzin")):
        before = db_state()
        with pytest.raises(ValidationFailed) as exc:
            services.user_household_link(actor=network.user("grid_worker_a"), user=user,
                                         household=network.a.household)
        assert exc.value.status == 422 and exc.value.code == "not_a_resident"
        assert "username" in exc.value.fields
        assert db_state() == before


def test_the_household_must_lie_where_the_resident_role_is(network, make, db_state):
    elsewhere = make.user("lhakpa", Role.RESIDENT, network.a2.unit)  # the next grid's unit
    before = db_state()
    with pytest.raises(ValidationFailed) as exc:
        services.user_household_link(actor=network.user("village1_staff"), user=elsewhere,
                                     household=network.a.household)
    assert exc.value.code == "household_elsewhere" and "household" in exc.value.fields
    assert db_state() == before
    # Above the unit is fine: a resident role at the grid covers the grid's households.
    above = make.user("norbu", Role.RESIDENT, network.a.grid)
    services.user_household_link(actor=network.user("grid_worker_a"), user=above, household=network.a.household)
    assert _household_of(above) == network.a.household.pk


def test_nobody_links_their_own_account(network, db_state):
    worker = network.user("grid_worker_a")
    people_services.role_grant(actor=SYSTEM, user=worker, role=Role.RESIDENT, node=network.a.unit)
    before = db_state()
    with pytest.raises(PermissionDenied):
        services.user_household_link(actor=network.user("grid_worker_a"), user=worker,
                                     household=network.a.household)
    assert db_state() == before
    # A colleague may.
    services.user_household_link(actor=network.user("grid_leader_a"), user=worker, household=network.a.household)
    with pytest.raises(PermissionDenied):
        services.user_household_unlink(actor=network.user("grid_worker_a"), user=worker)
    assert _household_of(worker) == network.a.household.pk


def test_relinking_moves_the_link_with_one_entry(network, make):
    villager = make.user("dawa", Role.RESIDENT, network.a.village)
    staff = network.user("village1_staff")
    services.user_household_link(actor=staff, user=villager, household=network.a.household)
    services.user_household_link(actor=staff, user=villager, household=network.a2.household)
    assert _household_of(villager) == network.a2.household.pk
    moved = _entries(villager, LINK).order_by("id").last()
    assert moved.before_digest == audit.digest({"household_id": str(network.a.household.pk)})
    assert moved.after_digest == audit.digest({"household_id": str(network.a2.household.pk)})
    assert _entries(villager, LINK).count() == 2
    # The link now lies in grid A2: grid A's worker may not move it back.
    with pytest.raises(NotFound):
        services.user_household_link(actor=network.user("grid_worker_a"), user=villager,
                                     household=network.a.household)
    assert _household_of(villager) == network.a2.household.pk


def test_unlink_and_its_repeat(network, resident, db_state):
    actor = network.user("grid_leader_a")
    services.user_household_link(actor=actor, user=resident, household=network.a.household)
    user = services.user_household_unlink(actor=actor, user=resident)
    assert user.household_id is None and _household_of(resident) is None
    entry = _entries(resident, UNLINK).get()
    assert entry.node_path == network.a.household.node_path and entry.changes == ["household_id"]
    assert entry.before_digest == audit.digest({"household_id": str(network.a.household.pk)})
    before = db_state()
    services.user_household_unlink(actor=actor, user=User.objects.get(pk=resident.pk))
    assert db_state() == before


def test_unlink_outside_scope_is_not_found(network, resident, db_state):
    services.user_household_link(actor=network.user("grid_worker_a"), user=resident, household=network.a.household)
    for name in ("grid_worker_b", "township2_staff", "county_admin", "resident_a"):
        before = db_state()
        with pytest.raises(NotFound):
            services.user_household_unlink(actor=network.user(name), user=resident)
        assert db_state() == before
    # An account linked to nothing is placed where its resident role is.
    services.user_household_unlink(actor=network.user("grid_worker_a"), user=resident)
    with pytest.raises(NotFound):
        services.user_household_unlink(actor=network.user("grid_worker_b"), user=resident)


def test_the_link_opens_the_household_to_the_same_user_object(network, resident):
    assert assignments(resident) and "_tongxin_assignments" in resident.__dict__
    assert not Household.objects.visible_to(resident, "household.view").exists()
    services.user_household_link(actor=network.user("grid_worker_a"), user=resident, household=network.a.household)
    assert "_tongxin_assignments" not in resident.__dict__
    assert list(Household.objects.visible_to(resident, "household.view")) == [network.a.household]
    services.user_household_unlink(actor=network.user("grid_worker_a"), user=resident)
    assert not Household.objects.visible_to(resident, "household.view").exists()


# --- the API ----------------------------------------------------------------------------------


def test_put_links_and_delete_unlinks_through_the_api(network, resident, api, audit_entries):
    client = api(network.user("grid_worker_a"))
    entries, links = audit_entries(), audit_entries(LINK)  # the network's own resident is linked already
    response = client.request("PUT", _path(resident), {"household": str(network.a.household.pk)})
    assert response.status_code == 200, response.content
    assert response.json() == {"username": "pema", "household": str(network.a.household.pk)}
    assert audit_entries() == entries + 1 and audit_entries(LINK) == links + 1
    again = client.request("PUT", _path(resident), {"household": str(network.a.household.pk)})
    assert again.status_code == 200 and audit_entries() == entries + 1

    response = client.request("DELETE", _path(resident))
    assert response.status_code == 200 and response.json() == {"username": "pema", "household": None}
    assert audit_entries() == entries + 2 and audit_entries(UNLINK) == 1
    assert client.request("DELETE", _path(resident)).status_code == 200
    assert audit_entries() == entries + 2


def test_relinking_through_the_api(network, make, api):
    villager = make.user("dawa", Role.RESIDENT, network.a.village)
    client = api(network.user("village1_staff"))
    for household in (network.a.household, network.a2.household):
        response = client.request("PUT", _path(villager), {"household": str(household.pk)})
        assert response.status_code == 200 and response.json()["household"] == str(household.pk)
    assert _household_of(villager) == network.a2.household.pk


def test_api_errors_use_the_error_body_and_change_nothing(network, resident, api, db_state):
    client = api(network.user("grid_worker_a"), language="en")
    cases = [
        ("PUT", _path(resident), {"household": str(network.b.household.pk)}, 404, "not_found"),
        ("PUT", _path(resident), {"household": str(network.a2.household.pk)}, 404, "not_found"),
        ("PUT", "/api/v1/users/nobody/household", {"household": str(network.a.household.pk)}, 404, "not_found"),
        ("DELETE", "/api/v1/users/nobody/household", None, 404, "not_found"),
        ("PUT", _path(network.user("newcomer")), {"household": str(network.a.household.pk)}, 422, "not_a_resident"),
        ("PUT", _path(resident), {"household": "not-an-id"}, 422, "invalid"),
        ("PUT", _path(resident), {}, 422, "invalid"),
        ("PUT", _path(resident), {"household": str(network.a.household.pk), "user": "x"}, 422, "invalid"),
    ]
    for method, path, body, status, code in cases:
        before = db_state()
        response = client.request(method, path, body)
        assert response.status_code == status, (method, path, body, response.content)
        error = response.json()["error"]
        assert set(error) == {"code", "message", "fields"} and error["code"] == code and error["message"]
        assert db_state() == before
    assert client.request("PUT", _path(resident), {"household": "x"}).json()["error"]["fields"] == {
        "household": ["Expected an id."]}
    refused = client.request("PUT", _path(network.user("newcomer")), {"household": str(network.a.household.pk)})
    assert refused.json()["error"]["fields"] == {"username": ["This account does not hold the resident role."]}


def test_a_resident_may_not_link_themself_or_anyone(network, resident, api, db_state):
    client = api(network.user("resident_a"))
    before = db_state()
    for user in (resident, network.user("resident_a")):
        response = client.request("PUT", _path(user), {"household": str(network.a.household.pk)})
        assert response.status_code == 404
        assert client.request("DELETE", _path(user)).status_code == 404
    assert db_state() == before


def test_a_linked_resident_files_a_request_about_their_household(network, resident, api):
    mine = api(resident, language="en")
    body = {"category": "water", "description": "Our tap has been dry since Monday."}
    # Linked to nothing, the account has nowhere to file about.
    assert mine.post("/api/v1/requests", body).status_code == 422
    assert mine.post("/api/v1/requests", {**body, "household": str(network.a.household.pk)}).status_code == 404

    staff = api(network.user("grid_worker_a"))
    assert staff.request("PUT", _path(resident), {"household": str(network.a.household.pk)}).status_code == 200

    filed = mine.post("/api/v1/requests", body)
    assert filed.status_code == 201, filed.content
    assert filed.json()["household"] == str(network.a.household.pk)
    assert filed.json()["node"] == network.a.unit.code
    seen = mine.get(f"/api/v1/households/{network.a.household.pk}")
    assert seen.status_code == 200 and seen.json()["number"] == network.a.household.number
    # Only their own household: another one is not found, for filing and for reading.
    other = mine.post("/api/v1/requests", {**body, "household": str(network.a2.household.pk)})
    assert other.status_code == 404
    assert mine.get(f"/api/v1/households/{network.a2.household.pk}").status_code == 404
