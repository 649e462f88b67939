"""Dispatch's periodic jobs when more than one worker runs them: an overdue request goes up
one level once, whether the workers race for the job's lease or both read the list of
overdue requests before either escalates."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection

from tests.dispatch.support import at, build_net, file_request
from tongxin.core import clock, jobs
from tongxin.dispatch import services, tasks
from tongxin.dispatch.models import Request, TimelineEntry
from tongxin.dispatch.services import jobs as dispatch_jobs

FILED = at(2026, 3, 2, 10, 0)  # a Monday: accept by 16:30
LATE = at(2026, 3, 2, 17, 0)


@pytest.fixture(autouse=True)
def _dispatch_jobs_only(monkeypatch):
    """The dispatch jobs' runs (the kernel's audit sequencer is tested in tests/core)."""
    monkeypatch.delitem(jobs.JOBS, "audit.seal")


def _escalated_once(request: Request) -> None:
    request.refresh_from_db()
    assert (request.state, request.escalations, request.handler_level) == ("escalated", 1, "village")
    assert TimelineEntry.objects.filter(request=request, action="auto_escalate").count() == 1


def _overdue_request(net) -> Request:
    clock.set_now(FILED)
    request = file_request(net)
    clock.set_now(LATE)
    return request


def test_a_second_run_does_nothing(db):
    request = _overdue_request(build_net())
    def dispatch_jobs(results):  # other apps' jobs (core's purge) run beside them
        return [r for r in results if r[0].startswith("dispatch.")]

    assert dispatch_jobs(jobs.run_due(LATE)) == [
        ("dispatch.escalate_overdue", f"1 overdue requests escalated: {request.number}"),
        ("dispatch.close_unrated", "0 resolved requests closed unrated"),
        ("dispatch.anonymise_expired", "0 closed requests anonymised after the retention period")]
    assert dispatch_jobs(jobs.run_due(LATE, force=True))[0] == ("dispatch.escalate_overdue",
                                                                "0 overdue requests escalated")
    _escalated_once(request)


def test_a_request_another_worker_escalated_after_the_list_was_read_is_left_alone(db, monkeypatch):
    """The list of overdue requests is read without locks; each one is checked again under
    its row lock. Here the "other worker" escalates between the read and the lock."""
    request = _overdue_request(build_net())
    check = dispatch_jobs._still_overdue
    other_worker = []

    def another_worker_first(candidate, now):
        monkeypatch.setattr(dispatch_jobs, "_still_overdue", check)  # the other worker runs unhindered
        other_worker.extend(services.escalate_overdue(now=now))
        return check(candidate, now)

    monkeypatch.setattr(dispatch_jobs, "_still_overdue", another_worker_first)
    assert services.escalate_overdue(now=LATE) == []
    assert [r.pk for r in other_worker] == [request.pk]
    _escalated_once(request)


# --- two workers with their own database connections (PostgreSQL) ----------------------------

def _needs_postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("two workers racing need two concurrent database sessions: PostgreSQL only "
                    "(set TONGXIN_TEST_DATABASE_URL); on SQLite the sequential runs above are tested")


def _workers(*targets):
    """Run each target in its own thread (its own database session); returns their outcomes."""
    outcomes = [{} for _ in targets]

    def body(target, outcome):
        try:
            outcome["value"] = target()
        except BaseException as error:  # noqa: BLE001 - reported by the test's thread
            outcome["error"] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=body, args=(t, o)) for t, o in zip(targets, outcomes, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not any(thread.is_alive() for thread in threads)
    for outcome in outcomes:
        if "error" in outcome:
            raise outcome["error"]
    return [outcome["value"] for outcome in outcomes]


@pytest.mark.django_db(transaction=True)
def test_two_workers_racing_for_the_job_escalate_an_overdue_request_once():
    _needs_postgresql()
    request = _overdue_request(build_net())
    running, tried = threading.Event(), threading.Event()

    def slow_escalation(now: dt.datetime) -> str:
        result = tasks.escalate_overdue(now)
        running.set()
        tried.wait(20)  # hold the lease until the other worker has tried
        return result

    job = jobs.Job("dispatch.escalate_overdue", dt.timedelta(minutes=5), slow_escalation)

    def first():
        return jobs.run_job(job, LATE)

    def second():
        assert running.wait(20)
        try:
            return jobs.run_job(job, LATE, force=True)  # even forced: the lease is taken
        finally:
            tried.set()

    assert _workers(first, second) == [f"1 overdue requests escalated: {request.number}", None]
    _escalated_once(request)
    # Once the first has let go, a run is refused by nothing but finds nothing to do.
    assert jobs.run_job(job, LATE, force=True) == "0 overdue requests escalated"
    _escalated_once(request)


@pytest.mark.django_db(transaction=True)
def test_two_workers_that_read_the_same_overdue_list_escalate_it_once(monkeypatch):
    """Without the lease (a run that outlived it, or a direct call): both workers read the
    list before either escalates; the row lock and the check under it let one through."""
    _needs_postgresql()
    request = _overdue_request(build_net())
    both_read = threading.Barrier(2, timeout=20)
    check = dispatch_jobs._still_overdue

    def after_both_read(candidate, now):
        both_read.wait()
        return check(candidate, now)

    monkeypatch.setattr(dispatch_jobs, "_still_overdue", after_both_read)
    done = _workers(lambda: services.escalate_overdue(now=LATE), lambda: services.escalate_overdue(now=LATE))
    assert sorted(len(d) for d in done) == [0, 1]
    _escalated_once(request)


@pytest.mark.django_db(transaction=True)
def test_two_job_runners_started_together_escalate_once():
    """The whole path as two processes run it: both call ``run_due`` at the same moment."""
    _needs_postgresql()
    request = _overdue_request(build_net())
    start = threading.Barrier(2, timeout=20)

    def runner():
        start.wait()
        return jobs.run_due(LATE)

    first, second = _workers(runner, runner)
    escalated = [r for r in first + second if r[0] == "dispatch.escalate_overdue"]
    assert escalated == [("dispatch.escalate_overdue", f"1 overdue requests escalated: {request.number}")]
    _escalated_once(request)
