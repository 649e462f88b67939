"""Retries never file twice: a client-generated id on the record, or an ``Idempotency-Key``
header, makes the second attempt answer with the first result (DESIGN.md, "Retries")."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from tests.dispatch.support import at, audit_count
from tongxin.core import clock
from tongxin.dispatch.models import Request, TimelineEntry, Visit


def _body(net, **extra):
    return {"category": "water", "household": str(net.households["a1"].pk), "reporter_kind": "grid_worker",
            "description": "No water since the frost.", **extra}


def test_the_same_client_id_twice_files_one_request(net, login_as):
    clock.set_now(at(2026, 3, 2, 10, 0))
    client = login_as("grid_worker_a")
    client_id = str(uuid.uuid4())
    before = audit_count(action="request.file")
    first = client.post("/api/v1/requests", _body(net, id=client_id))
    again = client.post("/api/v1/requests", _body(net, id=client_id))
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"] == client_id
    assert again.json()["number"] == first.json()["number"]
    assert Request.objects.filter(pk=client_id).count() == Request.objects.count() == 1
    assert TimelineEntry.objects.filter(request_id=client_id).count() == 1
    assert audit_count(action="request.file") == before + 1


def test_someone_else_cannot_take_a_used_client_id(net, login_as, db_snapshot):
    clock.set_now(at(2026, 3, 2, 10, 0))
    client_id = str(uuid.uuid4())
    assert login_as("grid_worker_a").post("/api/v1/requests", _body(net, id=client_id)).status_code == 201
    leader = login_as("grid_leader_a")
    before = db_snapshot()
    response = leader.post("/api/v1/requests", _body(net, id=client_id, description="Another need."))
    assert response.status_code == 409 and response.json()["error"]["code"] == "id_taken"
    assert db_snapshot() == before


def test_the_same_idempotency_key_is_replayed(net, login_as):
    clock.set_now(at(2026, 3, 2, 10, 0))
    client = login_as("grid_worker_a")
    key = str(uuid.uuid4())
    before = audit_count()
    first = client.post("/api/v1/requests", _body(net), headers={"Idempotency-Key": key})
    again = client.post("/api/v1/requests", _body(net), headers={"Idempotency-Key": key})
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first
    assert Request.objects.count() == 1 and audit_count() == before + 1


def test_the_same_key_with_another_body_is_refused_and_changes_nothing(net, login_as, db_snapshot):
    clock.set_now(at(2026, 3, 2, 10, 0))
    client = login_as("grid_worker_a")
    key = str(uuid.uuid4())
    assert client.post("/api/v1/requests", _body(net), headers={"Idempotency-Key": key}).status_code == 201
    before = db_snapshot()
    response = client.post("/api/v1/requests", _body(net, description="Something else."),
                           headers={"Idempotency-Key": key})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "idempotency_key_reused"
    assert db_snapshot() == before


def test_an_action_retried_with_its_key_is_not_done_twice(net, login_as):
    clock.set_now(at(2026, 3, 2, 10, 0))
    client = login_as("grid_worker_a")
    request_id = client.post("/api/v1/requests", _body(net)).json()["id"]
    key = str(uuid.uuid4())
    first = client.post(f"/api/v1/requests/{request_id}/accept", {}, headers={"Idempotency-Key": key})
    before = audit_count()
    again = client.post(f"/api/v1/requests/{request_id}/accept", {}, headers={"Idempotency-Key": key})
    assert first.status_code == again.status_code == 200 and again["Idempotent-Replayed"] == "true"
    assert audit_count() == before
    # Without the key, a second accept is an illegal transition, not a second acceptance.
    third = client.post(f"/api/v1/requests/{request_id}/accept", {})
    assert third.status_code == 409 and third.json()["error"]["code"] == "illegal_transition"
    assert TimelineEntry.objects.filter(request_id=request_id, action="accept").count() == 1


def test_a_visit_with_a_client_id_is_recorded_once(net, login_as, db_snapshot):
    clock.set_now(at(2026, 3, 2, 10, 0))
    client = login_as("grid_worker_a")
    visit_id = str(uuid.uuid4())
    body = {"id": visit_id, "household": str(net.households["a1"].pk), "visited_on": "2026-03-02",
            "findings": "All well; stove checked."}
    before = audit_count(action="visit.record")
    first = client.post("/api/v1/visits", body)
    again = client.post("/api/v1/visits", body)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json() == again.json() and first.json()["id"] == visit_id
    assert Visit.objects.count() == 1 and audit_count(action="visit.record") == before + 1

    # A visit with a finding, retried, opens one request, not two.
    finding_id = str(uuid.uuid4())
    body = {"id": finding_id, "household": str(net.households["a2"].pk), "visited_on": "2026-03-02",
            "findings": "Roof leaking", "open_request": {"category": "housing_safety"}}
    first = client.post("/api/v1/visits", body)
    again = client.post("/api/v1/visits", body)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["request"] == again.json()["request"] is not None
    assert Request.objects.filter(reporter_kind="visit").count() == 1

    # Another worker re-using the id gets 409 and nothing changes.
    other = login_as("grid_leader_a")
    before = db_snapshot()
    response = other.post("/api/v1/visits", {**body, "findings": "other"})
    assert response.status_code == 409 and response.json()["error"]["code"] == "id_taken"
    assert db_snapshot() == before


def test_a_visit_retried_under_an_idempotency_key_is_replayed(net, login_as):
    clock.set_now(at(2026, 3, 2, 10, 0))
    client = login_as("grid_worker_a")
    key = str(uuid.uuid4())
    body = {"household": str(net.households["a1"].pk), "visited_on": str(dt.date(2026, 3, 1))}
    first = client.post("/api/v1/visits", body, headers={"Idempotency-Key": key})
    again = client.post("/api/v1/visits", body, headers={"Idempotency-Key": key})
    assert first.status_code == again.status_code == 201 and again.json() == first.json()
    assert Visit.objects.count() == 1


def test_a_request_number_drawn_twice_is_drawn_again(net, login_as, monkeypatch):
    """The number's random part is six hex digits: two requests of one county and day may draw
    the same. The second draws again instead of failing (a 500 would lose a resident's need)."""
    from tongxin.dispatch.services import filing

    clock.set_now(at(2026, 3, 2, 10, 0))
    client = login_as("grid_worker_a")
    first = client.post("/api/v1/requests", _body(net)).json()
    draws = iter([first["number"], first["number"], "540230-260302-ABCDEF"])
    monkeypatch.setattr(filing, "number", lambda node, moment: next(draws))
    second = client.post("/api/v1/requests", _body(net, description="The pipe burst again."))
    assert second.status_code == 201, second.content
    assert second.json()["number"] == "540230-260302-ABCDEF"
    assert Request.objects.count() == 2
    assert TimelineEntry.objects.filter(request_id=second.json()["id"]).count() == 1
    assert audit_count(action="request.file") == 2


def test_a_request_number_that_keeps_repeating_fails_and_writes_nothing(net, login_as, monkeypatch):
    from django.db import IntegrityError

    from tongxin.dispatch import services

    clock.set_now(at(2026, 3, 2, 10, 0))
    client = login_as("grid_worker_a")
    first = client.post("/api/v1/requests", _body(net)).json()
    monkeypatch.setattr(services.filing, "number", lambda node, moment: first["number"])
    with pytest.raises(IntegrityError):
        services.request_file(actor=net.user("grid_worker_a"), category=net.category("water"),
                              node=net.households["a1"].node, household=net.households["a1"],
                              description="again", reporter_kind="grid_worker")
    assert Request.objects.count() == 1
