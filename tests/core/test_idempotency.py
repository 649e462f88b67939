"""Retries under ``Idempotency-Key`` are never done twice (DESIGN.md, "Retries")."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from tongxin.core import clock
from tongxin.core.models import IdempotencyRecord
from tongxin.registry.models import Household


@pytest.fixture
def staff(network, api):
    return api(network.user("township1_staff"), language="en")


def _body(network, number="H-retry-1"):
    return {"node": network.a.unit.code, "number": number, "address": "Retry Road 1"}


def test_same_key_and_body_is_replayed_not_redone(network, staff, audit_entries):
    key = str(uuid.uuid4())
    households, entries = Household.objects.count(), audit_entries()
    first = staff.post("/api/v1/households", _body(network), headers={"Idempotency-Key": key})
    again = staff.post("/api/v1/households", _body(network), headers={"Idempotency-Key": key})
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first
    assert Household.objects.count() == households + 1
    assert audit_entries() == entries + 1
    assert audit_entries("household.create") == 1 + len(network.households)


def test_same_key_with_a_different_body_is_refused(network, staff, db_state):
    key = str(uuid.uuid4())
    assert staff.post("/api/v1/households", _body(network), headers={"Idempotency-Key": key}).status_code == 201
    before = db_state()
    response = staff.post("/api/v1/households", _body(network, "H-retry-2"), headers={"Idempotency-Key": key})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "idempotency_key_reused"
    assert db_state() == before


def test_a_retry_while_the_first_is_still_running_gets_409(network, staff, db_state):
    key = str(uuid.uuid4())
    assert staff.post("/api/v1/households", _body(network), headers={"Idempotency-Key": key}).status_code == 201
    # The stored answer removed: the claim looks like a request still in flight.
    IdempotencyRecord.objects.update(status=None, response=None)
    before = db_state()
    response = staff.post("/api/v1/households", _body(network), headers={"Idempotency-Key": key})
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "retry_in_progress"
    assert db_state() == before


def test_a_stale_claim_is_released_and_the_retry_runs(network, staff):
    key = str(uuid.uuid4())
    with clock.frozen_at(clock.now()):
        assert staff.post("/api/v1/households", _body(network), headers={"Idempotency-Key": key}).status_code == 201
        IdempotencyRecord.objects.update(status=None)  # as if the first request had died mid-way
    with clock.frozen_at(clock.now() + dt.timedelta(minutes=5)):
        response = staff.post("/api/v1/households", _body(network), headers={"Idempotency-Key": key})
    # The first request's work is done, so the re-run meets its household: refused, not duplicated.
    assert response.status_code == 422
    assert Household.objects.filter(number="H-retry-1").count() == 1


def test_a_key_that_is_not_a_uuid_is_refused(network, staff, db_state):
    before = db_state()
    response = staff.post("/api/v1/households", _body(network), headers={"Idempotency-Key": "retry-me-please"})
    assert response.status_code == 400
    assert response.json() == {"error": {"code": "bad_idempotency_key", "message": "Idempotency-Key must be a UUID.",
                                         "fields": {}}}
    assert db_state() == before


def test_keys_are_per_caller(network, api, staff):
    key = str(uuid.uuid4())
    other = api(network.user("village1_staff"))
    assert staff.post("/api/v1/households", _body(network, "H-a"), headers={"Idempotency-Key": key}).status_code == 201
    response = other.post("/api/v1/households", _body(network, "H-b"), headers={"Idempotency-Key": key})
    assert response.status_code == 201 and "Idempotent-Replayed" not in response
    assert Household.objects.filter(number__in=["H-a", "H-b"]).count() == 2


def test_reads_ignore_the_key(network, staff):
    response = staff.get("/api/v1/households", headers={"Idempotency-Key": "not-even-a-uuid"})
    assert response.status_code == 200
    assert IdempotencyRecord.objects.count() == 0


def test_an_error_answer_is_replayed_too(network, staff, audit_entries):
    key = str(uuid.uuid4())
    body = {"node": network.a.unit.code, "number": "H-bad", "address": "Somewhere", "lat": 95.0}
    first = staff.post("/api/v1/households", body, headers={"Idempotency-Key": key})
    entries = audit_entries()
    again = staff.post("/api/v1/households", body, headers={"Idempotency-Key": key})
    assert first.status_code == again.status_code == 422
    assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"
    assert audit_entries() == entries


# --- secrets are never kept, and records are purged after their window -----------------------


def test_a_login_sent_with_a_key_keeps_no_token(network, api):
    from tests.factories import PASSWORD

    key = str(uuid.uuid4())
    client = api(None, language="en")
    body = {"username": "grid_worker_a", "password": PASSWORD}
    first = client.post("/api/v1/auth/token", body, headers={"Idempotency-Key": key})
    assert first.status_code == 200
    token = first.json()["token"]
    for record in IdempotencyRecord.objects.all():
        assert token.encode() not in bytes(record.response or b"")
    assert not IdempotencyRecord.objects.filter(key=key).exists()  # nothing of the login is kept
    again = client.post("/api/v1/auth/token", body, headers={"Idempotency-Key": key})
    assert again.status_code == 200 and "Idempotent-Replayed" not in again
    assert again.json()["token"] != token


def test_records_are_purged_by_a_periodic_job_after_their_window(network, staff, settings):
    from tongxin.core import jobs

    assert "core.idempotency_purge" in jobs.JOBS
    start = clock.now()
    with clock.frozen_at(start):
        old = staff.post("/api/v1/households", _body(network, "H-old"), headers={"Idempotency-Key": str(uuid.uuid4())})
    later = start + dt.timedelta(seconds=settings.IDEMPOTENCY_KEEP_SECONDS - 60)
    with clock.frozen_at(later):
        staff.post("/api/v1/households", _body(network, "H-new"), headers={"Idempotency-Key": str(uuid.uuid4())})
    assert old.status_code == 201 and IdempotencyRecord.objects.count() == 2
    window_over = start + dt.timedelta(seconds=settings.IDEMPOTENCY_KEEP_SECONDS + 1)
    assert jobs.run_job(jobs.get("core.idempotency_purge"), window_over, force=True) == "1 idempotency records purged"
    assert list(IdempotencyRecord.objects.values_list("created_at", flat=True)) == [later]
