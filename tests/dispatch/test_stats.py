"""Statistics (GET /api/v1/dispatch/stats) against figures worked out by hand, and the queue
(GET /api/v1/requests?open=true) ordered by the deadline that runs now; both answer in a
constant number of queries whatever the size of the tree."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.dispatch.support import (
    at,
    count_queries,
    file_request,
    login,
    make_household,
    make_node,
    make_resident,
)
from tongxin.core import clock
from tongxin.dispatch import services
from tongxin.grid.models import Level

PERIOD = {"from": "2026-03-01", "to": "2026-03-31"}


def _do(moment, fn, **kw):
    clock.set_now(moment)
    return fn(**kw)


@pytest.fixture
def history(net):
    """Six requests filed on Monday 2 March 2026 at 10:00 (and one in February, outside the period).

    ====  ========  =========================================  ========  ==========  =======  ======
    req   category  what happened                              accepted  resolved    hours    rating
    ====  ========  =========================================  ========  ==========  =======  ======
    r1    water     accepted 10:30, resolved 3 Mar 10:00        on time   on time      24      5
    r2    water     accepted 17:00 (due 16:30), resolved 6 Mar  late      late (5th)   96      3
    r3    heating   grid a2: accepted 11:00, resolved 16:00     on time   on time       6      4
    r4    roads     township 2: the village rejects it          —         —             —      —
    r5    water     township 2: whistle to water, accepted,     on time   on time      48      —
                    resolved 4 Mar 10:00
    r6    water     nobody acts: overdue                        —         —             —      —
    ====  ========  =========================================  ========  ==========  =======  ======

    Each rating is its household's (whoever handled a request may not rate it).
    """
    user = net.user
    clock.set_now(at(2026, 2, 25, 10, 0))
    file_request(net)  # February: outside the period
    clock.set_now(at(2026, 3, 2, 10, 0))
    r = {
        "r1": file_request(net),
        "r2": file_request(net, household="a2"),
        "r3": file_request(net, by="grid_worker_a2", household="a2_1", category="heating"),
        "r4": file_request(net, by="grid_worker_b", household="b1", category="roads"),
        "r5": file_request(net, by="grid_worker_b", household="b1"),
        "r6": file_request(net),
    }
    worker_a, worker_a2, worker_b = user("grid_worker_a"), user("grid_worker_a2"), user("grid_worker_b")
    water = user("water_officer")
    _do(at(2026, 3, 2, 10, 15), services.request_escalate, actor=worker_b, request=r["r5"], reason="main pipe",
        departments=[net.departments["water"]])
    _do(at(2026, 3, 2, 10, 30), services.request_accept, actor=worker_a, request=r["r1"])
    _do(at(2026, 3, 2, 11, 0), services.request_accept, actor=worker_a2, request=r["r3"])
    _do(at(2026, 3, 2, 11, 0), services.request_reject, actor=user("village2_staff"), request=r["r4"],
        reason="The road is the prefecture's.")
    _do(at(2026, 3, 2, 11, 0), services.request_accept, actor=water, request=r["r5"])
    _do(at(2026, 3, 2, 16, 0), services.request_resolve, actor=worker_a2, request=r["r3"], resolution="fixed")
    _do(at(2026, 3, 2, 17, 0), services.request_accept, actor=worker_a, request=r["r2"])
    _do(at(2026, 3, 3, 10, 0), services.request_resolve, actor=worker_a, request=r["r1"], resolution="fixed")
    _do(at(2026, 3, 4, 10, 0), services.request_resolve, actor=water, request=r["r5"], resolution="fixed")
    _do(at(2026, 3, 6, 10, 0), services.request_resolve, actor=worker_a, request=r["r2"], resolution="fixed")
    raters = {"a1": user("resident_a"), "a2": make_resident("resident_a2", net.households["a2"]),
              "a2_1": make_resident("resident_a2_1", net.households["a2_1"])}
    for name, by, rating in (("r1", raters["a1"], 5), ("r2", raters["a2"], 3), ("r3", raters["a2_1"], 4)):
        _do(at(2026, 3, 6, 12, 0), services.request_rate, actor=by, request=r[name], rating=rating)
    clock.set_now(at(2026, 3, 10, 12, 0))
    return r


def test_county_statistics_match_the_hand_computed_figures(net, history):
    stats = login(net.user("dispatch_officer")).get("/api/v1/dispatch/stats", {"node": "540230", **PERIOD}).json()
    assert (stats["code"], stats["level"], stats["from"], stats["to"]) == ("540230", "county", *PERIOD.values())
    assert stats["total"] == 6
    assert stats["by_state"] == {"reported": 1, "accepted": 0, "in_progress": 0, "escalated": 0, "resolved": 1,
                                 "closed": 3, "rejected": 1, "reopened": 0}
    assert stats["by_category"] == {"water": 4, "heating": 1, "roads": 1}
    assert (stats["open"], stats["resolved"], stats["closed"], stats["rejected"]) == (1, 4, 3, 1)
    assert stats["overdue"] == 1 and stats["escalations"] == 1
    # Accepted on time: r1, r3, r5 of the four accepted.
    assert (stats["accepted"], stats["accepted_on_time"], stats["on_time_acceptance_rate"]) == (4, 3, 0.75)
    # Resolved on time: r1, r3, r5 of the four resolved.
    assert (stats["resolved_on_time"], stats["on_time_resolution_rate"]) == (3, 0.75)
    assert stats["completion_rate"] == 0.8  # 4 resolved of 5 not rejected
    # Rated 5, 3 and 4: two of three satisfied (4 or better).
    assert (stats["rated"], stats["satisfied"], stats["satisfaction_rate"]) == (3, 2, 0.6667)
    # Hours filed → resolved: 6, 24, 48, 96: the median of an even count is the mean of the middle two.
    assert stats["median_hours_to_resolve"] == 36.0
    # In office hours (9:30-13:00 and 15:30-18:30, Monday 2 to Friday 6 March are working days):
    # r3 3.5 (10:00-13:00, 15:30-16:00), r1 6.5 (6 on Monday, 0.5 on Tuesday), r5 13, r2 26.
    assert stats["median_working_hours_to_resolve"] == 9.75

    t1, t2 = stats["children"]
    assert (t1["code"], t1["total"], t1["open"], t1["resolved"], t1["overdue"]) == ("540230100", 4, 1, 3, 1)
    assert (t1["on_time_acceptance_rate"], t1["satisfaction_rate"], t1["completion_rate"]) == (0.6667, 0.6667, 0.75)
    assert (t2["code"], t2["total"], t2["rejected"], t2["escalations"]) == ("540230200", 2, 1, 1)
    assert (t2["on_time_acceptance_rate"], t2["completion_rate"], t2["satisfaction_rate"]) == (1.0, 1.0, None)


def test_statistics_for_a_grid_and_for_an_empty_period(net, history):
    client = login(net.user("dispatch_officer"))
    grid = client.get("/api/v1/dispatch/stats", {"node": net.grids["a"].code, **PERIOD}).json()
    assert grid["total"] == 3 and grid["median_hours_to_resolve"] == 60.0  # 24 and 96
    assert grid["median_working_hours_to_resolve"] == 16.25  # 6.5 and 26 office hours
    assert [c["level"] for c in grid["children"]] == ["unit"]
    village = client.get("/api/v1/dispatch/stats", {"node": net.villages["a"].code, **PERIOD}).json()
    assert village["median_hours_to_resolve"] == 24.0  # 6, 24, 96
    assert village["median_working_hours_to_resolve"] == 6.5  # 3.5, 6.5, 26
    february = client.get("/api/v1/dispatch/stats", {"node": "540230", "from": "2026-02-01", "to": "2026-02-28"})
    assert february.json()["total"] == 1 and february.json()["satisfaction_rate"] is None
    assert february.json()["median_hours_to_resolve"] is None
    assert february.json()["median_working_hours_to_resolve"] is None
    backwards = client.get("/api/v1/dispatch/stats", {"node": "540230", "from": "2026-03-31", "to": "2026-03-01"})
    assert backwards.status_code == 422


def _grow(net, *, requests: int):
    """A third township of two villages with three grids each, and requests filed there."""
    township = make_node("540230300", Level.TOWNSHIP, net.county)
    households = []
    for v in ("201", "202"):
        village = make_node(f"{township.code}{v}", Level.VILLAGE, township)
        for g in ("001", "002", "003"):
            grid = make_node(f"{village.code}{g}", Level.GRID, village)
            unit = make_node(f"{grid.code}001", Level.UNIT, grid)
            households.append(make_household(unit, f"H{grid.code[-6:]}"))
    dispatcher = net.user("dispatch_officer")
    for i in range(requests):
        household = households[i % len(households)]
        request, _ = services.request_file(actor=dispatcher, category=net.category("water"), node=household.node,
                                           household=household, description=f"need {i}")
        if i % 2:
            services.request_escalate(actor=dispatcher, request=request, reason="up",
                                      departments=[net.departments["water"]], assisting=[net.departments["housing"]])
    return township


def test_statistics_answer_in_a_constant_number_of_queries(net, history):
    client = login(net.user("dispatch_officer"))
    client.get("/api/v1/dispatch/stats", {"node": "540230", **PERIOD})  # the account's roles, read once
    small, answer = count_queries(lambda: client.get("/api/v1/dispatch/stats", {"node": "540230", **PERIOD}))
    assert answer.json()["total"] == 6
    _grow(net, requests=12)
    large, answer = count_queries(lambda: client.get("/api/v1/dispatch/stats", {"node": "540230", **PERIOD}))
    assert answer.json()["total"] == 18 and len(answer.json()["children"]) == 3
    assert large == small


def test_the_queue_runs_by_deadline_and_marks_what_is_overdue(net):
    clock.set_now(at(2026, 3, 2, 10, 0))
    worker = net.user("grid_worker_a")
    late = file_request(net)                                    # accept by 2 Mar 16:30
    clock.set_now(at(2026, 3, 2, 15, 0))
    soon = file_request(net, category="safety_hazard")           # 2 h from the 15:30 session: by 17:30
    working = file_request(net, category="heating")
    working = services.request_accept(actor=worker, request=working)  # resolve within 2 days: 4 Mar 18:30
    days = file_request(net, category="roads", by="village1_staff")   # accept within 1 day: 3 Mar 18:30
    done = file_request(net)
    services.request_reject(actor=worker, request=done, reason="duplicate")
    clock.set_now(at(2026, 3, 2, 16, 45))

    response = login(net.user("village1_staff")).get("/api/v1/requests", {"open": "true"})
    body = response.json()
    assert body["count"] == 4
    assert [i["id"] for i in body["items"]] == [str(r.pk) for r in (late, soon, days, working)]
    assert [i["overdue"] for i in body["items"]] == [True, False, False, False]
    assert [dt.datetime.fromisoformat(i["due"]) for i in body["items"]] == [
        at(2026, 3, 2, 16, 30), at(2026, 3, 2, 17, 30), at(2026, 3, 3, 18, 30), at(2026, 3, 4, 18, 30)]
    overdue = login(net.user("village1_staff")).get("/api/v1/requests", {"overdue": "true"}).json()
    assert [i["id"] for i in overdue["items"]] == [str(late.pk)]


def test_the_queue_answers_in_a_constant_number_of_queries(net):
    clock.set_now(at(2026, 3, 2, 10, 0))
    client = login(net.user("dispatch_officer"))
    dispatcher = net.user("dispatch_officer")
    for i in range(3):
        file_request(net, by="dispatch_officer", description=f"need {i}")
    small, answer = count_queries(lambda: client.get("/api/v1/requests", {"open": "true"}))
    assert answer.json()["count"] == 3
    for i in range(12):
        request = file_request(net, by="dispatch_officer", household=("a1", "a2_1", "b1", "b2_1")[i % 4],
                               category=("water", "heating", "roads")[i % 3])
        if i % 3 == 0:
            services.request_escalate(actor=dispatcher, request=request, reason="up",
                                      departments=[net.departments["water"]], assisting=[net.departments["housing"]])
        elif i % 3 == 1:
            services.request_accept(actor=dispatcher, request=request)
    large, answer = count_queries(lambda: client.get("/api/v1/requests", {"open": "true"}))
    assert answer.json()["count"] == 15
    assert any(item["departments"] for item in answer.json()["items"])
    assert large == small
