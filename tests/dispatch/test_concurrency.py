"""Two officers accepting the same request at the same moment: exactly one wins, the other
gets 409, and the request carries one acceptance, one timeline step and one audit entry."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection

from tests.dispatch.support import at, audit_count, build_net, ensure_categories, file_request
from tongxin.core import clock
from tongxin.core.errors import ApplicationError
from tongxin.dispatch import rules, services
from tongxin.dispatch.models import Request, TimelineEntry
from tongxin.dispatch.workflow import WORKFLOW


@pytest.fixture
def catalogue_kept(django_db_blocker):
    """A transactional test ends with a flush, which also empties the category table the data
    migration filled; put the catalogue back for the tests that run after this one. (Requested
    before ``transactional_db`` so that it tears down after the flush.)"""
    yield
    with django_db_blocker.unblock():
        ensure_categories()


def _attempt(user, request_id, barrier, outcomes):
    try:
        request = Request.objects.get(pk=request_id)
        barrier.wait(timeout=10)
        services.request_accept(actor=user, request=request)
        outcomes.append(("accepted", user.username))
    except ApplicationError as exc:
        outcomes.append((exc.status, exc.code))
    except Exception as exc:  # anything else is a failure the test must show
        outcomes.append(("error", repr(exc)))
    finally:
        connection.close()


def _check_one_winner(request_id, outcomes, before):
    winners = [o for o in outcomes if o[0] == "accepted"]
    assert len(winners) == 1, outcomes
    assert [o for o in outcomes if o[0] != "accepted"] == [(409, "illegal_transition")], outcomes
    request = Request.objects.get(pk=request_id)
    assert request.state == "accepted"
    accepts = TimelineEntry.objects.filter(request=request, action="accept").select_related("actor")
    assert [t.actor.username for t in accepts] == [winners[0][1]]
    assert audit_count(action="request.accept") == before + 1


def test_two_officers_accept_at_once_in_two_connections(catalogue_kept, transactional_db, monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("needs two real database connections: the SQLite test database is in memory (settings give "
                    "it no file), and SQLite has no row locks to contend on; the sequential variant below runs "
                    "on every database")
    net = build_net()
    clock.set_now(at(2026, 3, 2, 10, 0))
    request = file_request(net)
    worker, leader = net.user("grid_worker_a"), net.user("grid_leader_a")
    for user in (worker, leader):
        assert rules.may_handle(user, request)  # both really may accept it (and load their roles now)
    # Whoever locks the row first holds it a moment, so the other surely waits on the lock
    # rather than arriving after the first has committed.
    take = WORKFLOW.take

    def slow_take(*args, **kwargs):
        time.sleep(0.3)
        return take(*args, **kwargs)

    monkeypatch.setattr(WORKFLOW, "take", slow_take)
    before = audit_count(action="request.accept")
    barrier, outcomes = threading.Barrier(2), []
    threads = [threading.Thread(target=_attempt, args=(user, request.pk, barrier, outcomes))
               for user in (worker, leader)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(outcomes) == 2, outcomes
    _check_one_winner(request.pk, outcomes, before)


def test_two_officers_accept_one_after_the_other(net):
    clock.set_now(at(2026, 3, 2, 10, 0))
    request = file_request(net)
    before = audit_count(action="request.accept")
    # Both hold the request as loaded before either accepted (the same page open on two phones).
    stale = {name: Request.objects.get(pk=request.pk) for name in ("grid_worker_a", "grid_leader_a")}
    outcomes = []
    for name, copy in stale.items():
        try:
            services.request_accept(actor=net.user(name), request=copy)
            outcomes.append(("accepted", name))
        except ApplicationError as exc:
            outcomes.append((exc.status, exc.code))
    assert outcomes == [("accepted", "grid_worker_a"), (409, "illegal_transition")]
    _check_one_winner(request.pk, outcomes, before)
