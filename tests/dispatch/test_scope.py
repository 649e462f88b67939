"""Scope is the security model: everyone sees and changes only requests at or below their
nodes (departments: what was escalated to them; residents: their own and their household's),
and a request outside scope answers 404 to every read and every action."""

from __future__ import annotations

import pytest

from tests.dispatch.support import at, file_request, login
from tongxin.core import clock
from tongxin.core.actors import SYSTEM
from tongxin.dispatch import services
from tongxin.dispatch.models import Request

ACTIONS = [("accept", {}), ("start", {}), ("escalate", {"reason": "r"}),
           ("escalate", {"reason": "r", "to": "departments", "lead": "water"}), ("resolve", {"resolution": "done"}),
           ("reject", {"reason": "no"}), ("rate", {"rating": 5}), ("reopen", {"reason": "again"})]


@pytest.fixture
def requests(net):
    """One request in each grid, and one each escalated to water and to housing (from grid a2)."""
    clock.set_now(at(2026, 3, 2, 10, 0))
    made = {
        "a": file_request(net, household="a1"),
        "a2": file_request(net, by="grid_worker_a2", household="a2_1"),
        "b": file_request(net, by="grid_worker_b", household="b1"),
        "b2": file_request(net, by="village2_staff", household="b2_1", category="roads"),
        "water": file_request(net, by="grid_worker_a2", household="a2_1"),
        "housing": file_request(net, by="grid_worker_a2", household="a2_1", category="heating"),
    }
    worker = net.user("grid_worker_a2")
    for name, lead in (("water", "water"), ("housing", "housing")):
        made[name] = services.request_escalate(actor=worker, request=made[name], reason="beyond the village",
                                               departments=[net.departments[lead]])
    return made


def _ids(response) -> set[str]:
    body = response.json()
    assert body["count"] == len(body["items"])
    return {item["id"] for item in body["items"]}


def _out_of_scope_everywhere(client, request, snapshot):
    """Detail and every action answer 404, and nothing changes."""
    before = snapshot()
    url = f"/api/v1/requests/{request.pk}"
    assert client.get(url).status_code == 404
    for action, body in ACTIONS:
        response = client.post(f"{url}/{action}", body)
        assert response.status_code == 404, (action, response.content)
        assert response.json()["error"]["code"] == "not_found"
    assert client.upload(f"{url}/attachments", "a.png", b"\x89PNG...").status_code == 404
    assert snapshot() == before


def test_a_grid_worker_sees_only_their_grid(net, requests, db_snapshot):
    client = login(net.user("grid_worker_a"))
    assert _ids(client.get("/api/v1/requests")) == {str(requests["a"].pk)}
    assert client.get(f"/api/v1/requests/{requests['a'].pk}").status_code == 200
    for name in ("a2", "b", "b2", "water"):
        _out_of_scope_everywhere(client, requests[name], db_snapshot)
    # Asking for a node outside scope is 404 too, not an empty list.
    assert client.get("/api/v1/requests", {"node": net.grids["b"].code}).status_code == 404


def test_a_department_officer_sees_only_what_was_escalated_to_their_department(net, requests, db_snapshot):
    water = login(net.user("water_officer"))
    assert _ids(water.get("/api/v1/requests")) == {str(requests["water"].pk)}
    for name in ("a", "a2", "b", "housing"):
        _out_of_scope_everywhere(water, requests[name], db_snapshot)
    housing = login(net.user("housing_officer"))
    assert _ids(housing.get("/api/v1/requests")) == {str(requests["housing"].pk)}


def test_after_escalation_to_another_department_the_first_loses_write_access(net, requests, db_snapshot):
    request = requests["water"]
    water, housing = login(net.user("water_officer")), login(net.user("housing_officer"))
    url = f"/api/v1/requests/{request.pk}"
    # The dispatch centre moves it from water to housing.
    moved = login(net.user("dispatch_officer")).post(f"{url}/escalate", {
        "reason": "It is the heating pipe, not the water main.", "to": "departments", "lead": "housing"})
    assert moved.status_code == 200, moved.content
    assert [d["code"] for d in moved.json()["departments"]] == ["housing"]
    before = db_snapshot()
    assert water.get(url).status_code == 200  # its own part stays on the record
    for action, body in ACTIONS[:6]:
        response = water.post(f"{url}/{action}", body)
        assert response.status_code in (403, 409), (action, response.content)
    assert db_snapshot() == before
    assert housing.post(f"{url}/accept", {}).json()["state"] == "accepted"


def test_township_staff_see_their_township_and_not_the_next(net, requests, db_snapshot):
    t1 = login(net.user("township1_staff"))
    mine = {str(requests[n].pk) for n in ("a", "a2", "water", "housing")}
    assert _ids(t1.get("/api/v1/requests")) == mine
    assert _ids(t1.get("/api/v1/requests", {"node": net.grids["a2"].code})) == mine - {str(requests["a"].pk)}
    for name in ("b", "b2"):
        _out_of_scope_everywhere(t1, requests[name], db_snapshot)
    t2 = login(net.user("township2_staff"))
    assert _ids(t2.get("/api/v1/requests")) == {str(requests["b"].pk), str(requests["b2"].pk)}


def test_the_dispatch_officer_sees_the_whole_county(net, requests):
    client = login(net.user("dispatch_officer"))
    assert _ids(client.get("/api/v1/requests")) == {str(r.pk) for r in requests.values()}
    assert _ids(client.get("/api/v1/requests", {"node": net.townships["b"].code})) == {
        str(requests["b"].pk), str(requests["b2"].pk)}


def test_statistics_count_only_what_is_in_scope(net, requests):
    period = {"from": "2026-03-01", "to": "2026-03-31"}
    county = login(net.user("dispatch_officer")).get("/api/v1/dispatch/stats", {"node": "540230", **period}).json()
    assert county["total"] == 6 and [c["total"] for c in county["children"]] == [4, 2]
    t1 = login(net.user("township1_staff"))
    assert t1.get("/api/v1/dispatch/stats", {"node": "540230", **period}).status_code == 404
    mine = t1.get("/api/v1/dispatch/stats", {"node": net.townships["a"].code, **period}).json()
    assert mine["total"] == 4 and mine["by_state"]["escalated"] == 2
    leader = login(net.user("grid_leader_a")).get("/api/v1/dispatch/stats",
                                                   {"node": net.grids["a"].code, **period}).json()
    assert leader["total"] == 1
    # Grid workers and department officers have no statistics at all.
    for name in ("grid_worker_a", "water_officer"):
        assert login(net.user(name)).get("/api/v1/dispatch/stats", {"node": net.grids["a"].code,
                                                                     **period}).status_code == 404


def test_a_second_role_widens_the_scope_only_by_what_it_opens(net, requests):
    """A department officer who is also grid leader of grid b counts, at the county, grid b's
    requests and what was escalated to water — nothing else."""
    from tongxin.people import services as people_services

    officer = net.user("water_officer")
    people_services.role_grant(actor=SYSTEM, user=officer, role="grid_leader", node=net.grids["b"])
    client = login(net.user("water_officer"))
    stats = client.get("/api/v1/dispatch/stats", {"node": "540230", "from": "2026-03-01", "to": "2026-03-31"})
    assert stats.json()["total"] == 2
    assert _ids(client.get("/api/v1/requests")) == {str(requests["water"].pk), str(requests["b"].pk)}


def test_a_resident_sees_only_their_own_and_their_household_s_requests(net, requests, db_snapshot):
    resident = login(net.user("resident_a"))
    filed = resident.post("/api/v1/requests", {"category": "water", "description": "Our tap is dry."})
    assert filed.status_code == 201, filed.content
    assert filed.json()["household"] == str(net.households["a1"].pk)
    # Their own request and the one a grid worker filed for their household; not the neighbour's.
    assert _ids(resident.get("/api/v1/requests")) == {filed.json()["id"], str(requests["a"].pk)}
    assert resident.get(f"/api/v1/requests/{requests['a2'].pk}").status_code == 404
    assert Request.objects.filter(household=net.households["a1"]).count() == 2
    # They follow and rate their requests; handling them is the staff's.
    assert resident.post(f"/api/v1/requests/{filed.json()['id']}/accept", {}).status_code == 403
    _out_of_scope_everywhere(resident, requests["a2"], db_snapshot)
    # A resident files only for their own household.
    other = resident.post("/api/v1/requests", {"category": "water", "description": "x",
                                               "household": str(net.households["a2"].pk)})
    assert other.status_code == 404
