"""敲门行动: visit rounds per grid, visits to households, a finding that opens a request in one
step, and coverage (the share of households visited in a period) rolled up in one query."""

from __future__ import annotations

import pytest

from tests.dispatch.support import at, audit_count, count_queries, login, make_household, make_node
from tongxin.core import clock
from tongxin.dispatch.models import Request, TimelineEntry, Visit, VisitRound
from tongxin.grid.models import Level


@pytest.fixture
def leader(net):
    clock.set_now(at(2026, 3, 10, 10, 0))
    return login(net.user("grid_leader_a"))


def test_a_grid_leader_plans_a_round_for_their_grid(net, leader, db_snapshot):
    before = audit_count()
    response = leader.post("/api/v1/visit-rounds", {"node": net.grids["a"].code, "title": "Spring round",
                                                    "starts_on": "2026-03-01", "ends_on": "2026-03-31"})
    assert response.status_code == 201, response.content
    assert response.json()["node"] == net.grids["a"].code and audit_count() == before + 1
    assert leader.get("/api/v1/visit-rounds").json()["count"] == 1
    worker = login(net.user("grid_worker_a"))
    snapshot = db_snapshot()
    # Per grid only; ends after it starts; not another grid; grid workers do not plan.
    bad = leader.post("/api/v1/visit-rounds", {"node": net.units["a"].code, "title": "x",
                                               "starts_on": "2026-03-01", "ends_on": "2026-03-31"})
    assert bad.status_code == 422 and "node" in bad.json()["error"]["fields"]
    bad = leader.post("/api/v1/visit-rounds", {"node": net.grids["a"].code, "title": "x",
                                               "starts_on": "2026-03-31", "ends_on": "2026-03-01"})
    assert bad.status_code == 422 and "ends_on" in bad.json()["error"]["fields"]
    assert leader.post("/api/v1/visit-rounds", {"node": net.grids["a2"].code, "title": "x",
                                                "starts_on": "2026-03-01", "ends_on": "2026-03-31"}).status_code == 404
    assert worker.post("/api/v1/visit-rounds", {"node": net.grids["a"].code, "title": "x",
                                                "starts_on": "2026-03-01", "ends_on": "2026-03-31"}).status_code == 404
    assert db_snapshot() == snapshot


def test_recording_visits_refuses_the_future_and_other_grids(net, leader, db_snapshot):
    round_id = leader.post("/api/v1/visit-rounds", {"node": net.grids["a"].code, "title": "Spring round",
                                                    "starts_on": "2026-03-01", "ends_on": "2026-03-31"}).json()["id"]
    worker = login(net.user("grid_worker_a"))
    before = audit_count()
    ok = worker.post("/api/v1/visits", {"household": str(net.households["a1"].pk), "visited_on": "2026-03-10",
                                        "round": round_id, "findings": "Stove safe; coal enough for March."})
    assert ok.status_code == 201, ok.content
    assert ok.json()["round"] == round_id and ok.json()["node"] == net.units["a"].code
    assert ok.json()["worker"] == "Grid Worker A" and audit_count() == before + 1

    village = login(net.user("village1_staff"))
    snapshot = db_snapshot()
    future = worker.post("/api/v1/visits", {"household": str(net.households["a1"].pk), "visited_on": "2026-03-11"})
    assert future.status_code == 422 and "visited_on" in future.json()["error"]["fields"]
    elsewhere = worker.post("/api/v1/visits", {"household": str(net.households["b1"].pk), "visited_on": "2026-03-10"})
    assert elsewhere.status_code == 404
    neighbour = worker.post("/api/v1/visits", {"household": str(net.households["a2_1"].pk),
                                               "visited_on": "2026-03-10"})
    assert neighbour.status_code == 404
    # Village staff may visit grid a2, but not inside grid a's round.
    wrong_round = village.post("/api/v1/visits", {"household": str(net.households["a2_1"].pk),
                                                  "visited_on": "2026-03-10", "round": round_id})
    assert wrong_round.status_code == 422 and "round" in wrong_round.json()["error"]["fields"]
    assert db_snapshot() == snapshot
    assert worker.get("/api/v1/visits", {"round": round_id}).json()["count"] == 1


def test_a_finding_opens_a_request_in_one_step(net, leader):
    worker = login(net.user("grid_worker_a"))
    before = audit_count()
    response = worker.post("/api/v1/visits", {
        "household": str(net.households["a2"].pk), "visited_on": "2026-03-09",
        "findings": "Cracked wall after the quake",
        "open_request": {"category": "housing_safety", "urgency": "urgent"}})
    assert response.status_code == 201, response.content
    visit = Visit.objects.get(pk=response.json()["id"])
    request = Request.objects.get(pk=response.json()["request"])
    assert visit.follow_up and visit.request_id == request.pk
    assert (request.reporter_kind, request.state, request.urgency) == ("visit", "reported", "urgent")
    assert request.household_id == net.households["a2"].pk and request.node_id == net.units["a"].pk
    assert request.description == "Cracked wall after the quake"  # the finding, when no description is given
    assert request.handler_node_id == net.villages["a"].pk  # housing safety starts at the village
    assert list(TimelineEntry.objects.filter(request=request).values_list("action", flat=True)) == ["file"]
    # Two records, two audit entries, one transaction.
    assert audit_count() == before + 2
    detail = worker.get(f"/api/v1/requests/{request.pk}").json()
    assert detail["reporter_kind"] == "visit"

    # A finding with an unknown category opens nothing and records nothing.
    count = Visit.objects.count()
    bad = worker.post("/api/v1/visits", {"household": str(net.households["a2"].pk), "visited_on": "2026-03-09",
                                         "open_request": {"category": "no-such-thing"}})
    assert bad.status_code == 404 and Visit.objects.count() == count


def _coverage(client, node, start="2026-03-01", end="2026-03-31"):
    response = client.get("/api/v1/visits/coverage", {"node": node.code, "from": start, "to": end})
    assert response.status_code == 200, response.content
    return response.json()


def _figures(entry):
    return entry["households"], entry["visited"], entry["coverage"]


def test_coverage_is_the_share_of_households_visited_in_the_period(net, leader):
    worker_a, worker_a2 = login(net.user("grid_worker_a")), login(net.user("grid_worker_a2"))
    worker_b = login(net.user("grid_worker_b"))
    for client, household, day in [(worker_a, "a1", "2026-03-02"), (worker_a, "a1", "2026-03-09"),  # twice: once
                                   (worker_a2, "a2_1", "2026-03-05"),
                                   (worker_b, "b1", "2026-02-27")]:  # before the period
        assert client.post("/api/v1/visits", {"household": str(net.households[household].pk),
                                              "visited_on": day}).status_code == 201
    dispatcher = login(net.user("dispatch_officer"))
    county = _coverage(dispatcher, net.county)
    assert _figures(county) == (5, 2, 0.4)
    assert [(c["code"], *_figures(c)) for c in county["children"]] == [
        (net.townships["a"].code, 3, 2, 0.6667), (net.townships["b"].code, 2, 0, 0.0)]
    village = _coverage(dispatcher, net.villages["a"])
    assert [(c["level"], *_figures(c)) for c in village["children"]] == [("grid", 2, 1, 0.5), ("grid", 1, 1, 1.0)]
    grid = _coverage(dispatcher, net.grids["a"])
    assert _figures(grid) == (2, 1, 0.5) and [_figures(c) for c in grid["children"]] == [(2, 1, 0.5)]
    # February: only grid b's visit.
    february = _coverage(dispatcher, net.county, "2026-02-01", "2026-02-28")
    assert _figures(february) == (5, 1, 0.2)
    assert [_figures(c) for c in february["children"]] == [(3, 0, 0.0), (2, 1, 0.5)]
    # Township staff see their own township's figures; the county is not theirs.
    township = login(net.user("township1_staff"))
    assert _figures(_coverage(township, net.townships["a"])) == (3, 2, 0.6667)
    assert township.get("/api/v1/visits/coverage", {"node": "540230", "from": "2026-03-01",
                                                    "to": "2026-03-31"}).status_code == 404
    bad = dispatcher.get("/api/v1/visits/coverage", {"node": "540230", "from": "2026-03-31", "to": "2026-03-01"})
    assert bad.status_code == 422


def test_coverage_answers_in_a_constant_number_of_queries(net, leader):
    dispatcher = login(net.user("dispatch_officer"))
    worker = login(net.user("grid_worker_a"))
    worker.post("/api/v1/visits", {"household": str(net.households["a1"].pk), "visited_on": "2026-03-02"})
    _coverage(dispatcher, net.county)  # the account's roles, read once
    small, answer = count_queries(lambda: _coverage(dispatcher, net.county))
    assert answer["households"] == 5

    # Grow the tree: a third township with two villages of three grids, each with households and visits.
    township = make_node("540230300", Level.TOWNSHIP, net.county)
    for v in ("201", "202"):
        village = make_node(f"{township.code}{v}", Level.VILLAGE, township)
        for g in ("001", "002", "003"):
            grid = make_node(f"{village.code}{g}", Level.GRID, village)
            unit = make_node(f"{grid.code}001", Level.UNIT, grid)
            for h in range(3):
                household = make_household(unit, f"H{grid.code[-6:]}{h}")
                Visit.objects.create(node=unit, node_path=unit.path, household=household,
                                     visited_on=at(2026, 3, 3).date())
    large, answer = count_queries(lambda: _coverage(dispatcher, net.county))
    assert answer["households"] == 5 + 18 and answer["visited"] == 1 + 18
    assert len(answer["children"]) == 3
    assert large == small
    # The same for a village's grids, small and large.
    small_village, _ = count_queries(lambda: _coverage(dispatcher, net.villages["a"]))
    large_village, answer = count_queries(lambda: _coverage(dispatcher, village))
    assert small_village == large_village and len(answer["children"]) == 3
    assert VisitRound.objects.count() == 0
