"""Whoever handled a request cannot rate it, and ratings by the handler's own side do not
count in satisfaction (issue 8, item 9, from the security review).

- The grid worker who accepted and resolved a request is not offered ``rate`` (nor
  ``reopen``), and the workflow refuses them with 403 — even when they filed it themself;
  the reporter's household account rates.
- Staff who may handle requests where it was filed, took no step and are not on the
  handler's side (a township's staff when departments of the county held it) record the
  rating for the resident, and it counts.
- Staff on the handler's side who took no step (above the handling node, or the dispatch
  centre above the departments holding it) may still record it, but it is kept as
  ``rating_by_handlers`` and left out of satisfaction; reopening clears it.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tests.dispatch.support import PASSWORD, at, file_request, login
from tongxin.core import clock
from tongxin.core.errors import PermissionDenied
from tongxin.dispatch import rules, services
from tongxin.dispatch.models import Request, State
from tongxin.dispatch.selectors import request_get
from tongxin.dispatch.workflow import TRANSITIONS, available_actions

pytestmark = pytest.mark.django_db


def _resolved_by_the_grid(net) -> Request:
    """Filed by grid worker a for household a1 (resident_a's), accepted and resolved by the same worker."""
    clock.set_now(at(2026, 3, 2, 10, 0))
    request = file_request(net)
    worker = net.user("grid_worker_a")
    services.request_accept(actor=worker, request=request)
    services.request_resolve(actor=worker, request=request, resolution="Thawed the pipe.")
    clock.set_now(at(2026, 3, 3, 10, 0))
    return Request.objects.get(pk=request.pk)


def _resolved_by_a_department(net) -> Request:
    """Filed by grid worker a, who blew the whistle to the water bureau; its officer accepted and resolved."""
    clock.set_now(at(2026, 3, 2, 10, 0))
    request = file_request(net)
    services.request_escalate(actor=net.user("grid_worker_a"), request=request, reason="The main pipe.",
                              departments=[net.departments["water"]])
    water = net.user("water_officer")
    services.request_accept(actor=water, request=request)
    services.request_resolve(actor=water, request=request, resolution="Replaced the main pipe.")
    clock.set_now(at(2026, 3, 3, 10, 0))
    return Request.objects.get(pk=request.pk)


def _stats(net, node_code: str) -> dict:
    return login(net.user("dispatch_officer")).get(
        "/api/v1/dispatch/stats", {"node": node_code, "from": "2026-03-01", "to": "2026-03-31"}).json()


def test_the_handling_steps_are_every_step_but_the_reporters_own():
    steps = {t.name for t in TRANSITIONS if not t.system and t.who is not rules.is_reporter_side}
    assert steps == rules.HANDLING_STEPS


def test_the_grid_worker_who_handled_it_cannot_rate_it_and_the_reporter_can(net):
    request = _resolved_by_the_grid(net)
    worker = net.user("grid_worker_a")
    assert request.reporter_id == worker.pk  # they filed it too: a handler never rates
    assert rules.handled_by(worker, request) and not rules.is_reporter_side(worker, request)

    api = login(worker)
    detail = api.get(f"/api/v1/requests/{request.pk}").json()
    assert "rate" not in detail["actions"] and "reopen" not in detail["actions"]
    for action, body in (("rate", {"rating": 5}), ("reopen", {"reason": "Again."})):
        refused = api.post(f"/api/v1/requests/{request.pk}/{action}", body)
        assert refused.status_code == 403, refused.content
        assert "handl" in refused.json()["error"]["message"]  # says why: they handled it
        for language in ("zh-hans", "bo"):  # in every language
            message = login(worker, language).post(f"/api/v1/requests/{request.pk}/{action}", body).json()
            assert message["error"]["message"] and "handl" not in message["error"]["message"], language
    with pytest.raises(PermissionDenied):
        services.request_rate(actor=net.user("grid_worker_a"), request=request.pk, rating=5)
    fresh = Request.objects.get(pk=request.pk)
    assert fresh.state == State.RESOLVED and fresh.rating is None

    # The request's page draws no rate button for them either.
    page = Client()
    page.post("/login/", {"username": "grid_worker_a", "password": PASSWORD})
    html = page.get(f"/dispatch/requests/{request.pk}/").content.decode()
    assert f"/dispatch/requests/{request.pk}/rate/" not in html and 'id="do-rate"' not in html

    # The reporter's household account rates, and it counts.
    resident = login(net.user("resident_a"))
    assert "rate" in resident.get(f"/api/v1/requests/{request.pk}").json()["actions"]
    rated = resident.post(f"/api/v1/requests/{request.pk}/rate", {"rating": 5})
    assert rated.status_code == 200, rated.content
    assert rated.json()["state"] == State.CLOSED and rated.json()["rating_by_handlers"] is False
    assert Request.objects.get(pk=request.pk).rating_by_handlers is False
    stats = _stats(net, net.county.code)
    assert (stats["rated"], stats["satisfied"], stats["satisfaction_rate"]) == (1, 1, 1.0)


def test_any_handling_step_makes_a_handler_and_a_step_by_someone_else_does_not(net):
    clock.set_now(at(2026, 3, 2, 10, 0))
    request = file_request(net, by="resident_a", reporter_kind="resident")
    leader, worker = net.user("grid_leader_a"), net.user("grid_worker_a")
    services.request_accept(actor=worker, request=request)
    services.request_start(actor=worker, request=request)
    services.request_resolve(actor=leader, request=request, resolution="Fixed.")
    request = Request.objects.get(pk=request.pk)
    assert rules.handled_by(worker, request) and rules.handled_by(leader, request)
    assert not rules.handled_by(net.user("resident_a"), request)  # filing is the reporter's step
    assert not rules.handled_by(net.user("grid_worker_a2"), request)
    # With the timeline loaded (the detail), the rule asks nothing more of the database.
    loaded = request_get(actor=worker, request_id=request.pk)
    with CaptureQueriesContext(connection) as queries:
        assert rules.handled_by(worker, loaded) and not rules.is_reporter_side(worker, loaded)
        assert available_actions(worker, loaded) == []
    assert len(queries) == 0


def test_a_township_staff_member_who_did_not_handle_it_records_the_rating_and_it_counts(net):
    request = _resolved_by_a_department(net)
    assert request.handler_level == "county"  # held by the county's water bureau
    for handler in ("grid_worker_a", "water_officer"):
        assert "rate" not in available_actions(net.user(handler), request_get(actor=net.user(handler),
                                                                              request_id=request.pk))
    staff = net.user("township1_staff")
    assert "rate" in login(staff).get(f"/api/v1/requests/{request.pk}").json()["actions"]
    rated = services.request_rate(actor=staff, request=request.pk, rating=4, comment="Recorded for Dorje.")
    assert rated.state == State.CLOSED and rated.rating == 4 and rated.rating_by_handlers is False
    stats = _stats(net, net.townships["a"].code)
    assert (stats["rated"], stats["satisfied"], stats["satisfaction_rate"]) == (1, 1, 1.0)


def test_a_rating_by_the_handlers_side_is_kept_but_does_not_count(net):
    counted = _resolved_by_the_grid(net)
    services.request_rate(actor=net.user("resident_a"), request=counted.pk, rating=2)
    # The village's staff, above the grid that handled it, took no step: they may record it,
    # but it is the handler's side speaking.
    request = _resolved_by_the_grid(net)
    village = net.user("village1_staff")
    assert not rules.handled_by(village, request) and rules.is_reporter_side(village, request)
    rated = services.request_rate(actor=village, request=request.pk, rating=5)
    assert rated.state == State.CLOSED and rated.rating == 5 and rated.rating_by_handlers is True
    # So is the dispatch centre above departments that held a request.
    held = _resolved_by_a_department(net)
    dispatched = services.request_rate(actor=net.user("dispatch_officer"), request=held.pk, rating=5)
    assert dispatched.rating_by_handlers is True

    # Only the resident's 2 counts: nobody of three satisfied, not two of three.
    stats = _stats(net, net.county.code)
    assert (stats["closed"], stats["rated"], stats["satisfied"], stats["satisfaction_rate"]) == (3, 1, 0, 0.0)
    grid = _stats(net, net.grids["a"].code)
    assert (grid["rated"], grid["satisfied"], grid["satisfaction_rate"]) == (1, 0, 0.0)

    # The API and the page say so where they show the rating.
    api = login(net.user("dispatch_officer"))
    assert api.get(f"/api/v1/requests/{request.pk}").json()["rating_by_handlers"] is True
    assert api.get(f"/api/v1/requests/{counted.pk}").json()["rating_by_handlers"] is False
    page = Client(headers={"Accept-Language": "en"})
    page.post("/login/", {"username": "dispatch_officer", "password": PASSWORD})
    html = page.get(f"/dispatch/requests/{request.pk}/").content.decode()
    assert 'id="rating-by-handlers"' in html
    assert 'id="rating-by-handlers"' not in page.get(f"/dispatch/requests/{counted.pk}/").content.decode()


def test_reopening_clears_a_handler_side_rating(net):
    request = _resolved_by_the_grid(net)
    services.request_rate(actor=net.user("village1_staff"), request=request.pk, rating=5)
    assert Request.objects.get(pk=request.pk).rating_by_handlers is True
    reopened = services.request_reopen(actor=net.user("resident_a"), request=request.pk, reason="Frozen again.")
    assert reopened.state == State.REOPENED and reopened.rating is None and reopened.rating_by_handlers is False
    assert Request.objects.get(pk=request.pk).rating_by_handlers is False
