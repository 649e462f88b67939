"""Periodic jobs: ``run_due`` runs what is due as of a moment, each job is idempotent, and
``tongxin jobs run --now …`` moves the clock for the run and prints what was done."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.dispatch.support import at, build_net, file_request
from tongxin import cli
from tongxin.core import calendar, clock, jobs
from tongxin.core.models import JobRun, Notification
from tongxin.dispatch import services
from tongxin.dispatch.models import Request, TimelineEntry


@pytest.fixture(autouse=True)
def _isolated(monkeypatch):
    # The dispatch jobs' schedule; the kernel's own sequencer (audit.seal, every minute) is
    # tested in tests/core/test_audit_chain.py.
    monkeypatch.delitem(jobs.JOBS, "audit.seal")
    calendar.clear_cache()
    yield
    calendar.clear_cache()


@pytest.fixture
def net(db):
    return build_net()


def _names(results):
    """The dispatch jobs among those run (other apps' jobs, such as core's purge, run beside them)."""
    return [name for name, _ in results if name.startswith("dispatch.")]


def test_each_job_runs_when_its_interval_has_passed(db):
    start = at(2026, 3, 2, 9, 0)
    assert _names(jobs.run_due(start)) == ["dispatch.escalate_overdue", "dispatch.close_unrated",
                                           "dispatch.anonymise_expired"]
    assert jobs.run_due(start) == []
    assert jobs.run_due(start + dt.timedelta(minutes=4)) == []
    assert _names(jobs.run_due(start + dt.timedelta(minutes=5))) == ["dispatch.escalate_overdue"]
    assert _names(jobs.run_due(start + dt.timedelta(hours=1))) == ["dispatch.escalate_overdue",
                                                                    "dispatch.close_unrated"]
    # --all runs everything whether due or not.
    assert _names(jobs.run_due(start + dt.timedelta(hours=1), force=True)) == [
        "dispatch.escalate_overdue", "dispatch.close_unrated", "dispatch.anonymise_expired"]
    run = JobRun.objects.get(name="dispatch.close_unrated")
    assert run.last_run_at == start + dt.timedelta(hours=1)
    assert run.last_result == "0 resolved requests closed unrated"


def test_a_moment_before_the_last_run_runs_the_jobs_again(db):
    # Running "as of" an earlier moment (a test, a replay) is not skipped as "already done".
    jobs.run_due(at(2026, 3, 2, 9, 0))
    assert _names(jobs.run_due(at(2026, 3, 1, 9, 0))) == ["dispatch.escalate_overdue", "dispatch.close_unrated",
                                                          "dispatch.anonymise_expired"]


def test_the_clock_is_moved_only_while_the_jobs_run(net, monkeypatch):
    clock.set_now(at(2026, 3, 2, 10, 0))
    seen = []
    job = jobs.Job("test.clock", dt.timedelta(minutes=1), lambda now: seen.append((now, clock.now())) or "ok")
    monkeypatch.setitem(jobs.JOBS, job.name, job)
    results = jobs.run_due(at(2026, 3, 5, 12, 0))
    assert ("test.clock", "ok") in results
    assert seen == [(at(2026, 3, 5, 12, 0), at(2026, 3, 5, 12, 0))]
    assert clock.now() == at(2026, 3, 2, 10, 0)


def test_without_a_moment_the_jobs_leave_the_live_clock_alone(db, monkeypatch):
    """The embedded worker runs jobs beside the web server's threads: the process-wide clock
    must keep running for them."""
    clock.set_now(None)  # the live clock, as in `tongxin serve` (the suite's is frozen)
    seen = []
    job = jobs.Job("test.clock", dt.timedelta(minutes=1), lambda now: seen.append(clock._frozen) or "ok")
    monkeypatch.setattr(jobs, "JOBS", {job.name: job})
    assert jobs.run_due() == [("test.clock", "ok")]
    assert seen == [None]


def test_escalating_overdue_requests_is_idempotent(net):
    clock.set_now(at(2026, 3, 2, 10, 0))
    request = file_request(net)  # accept by 16:30
    on_time = file_request(net, category="roads", by="village1_staff")  # accept by 3 March 18:30
    # Called directly, as run_due calls it: with the clock at the moment it runs as of.
    clock.set_now(at(2026, 3, 2, 17, 0))
    done = services.escalate_overdue(now=at(2026, 3, 2, 17, 0))
    assert [r.pk for r in done] == [request.pk]
    assert services.escalate_overdue(now=at(2026, 3, 2, 17, 0)) == []
    request.refresh_from_db()
    assert request.state == "escalated" and request.escalations == 1
    assert TimelineEntry.objects.filter(request=request, action="auto_escalate").count() == 1
    assert Request.objects.get(pk=on_time.pk).state == "reported"


def test_at_the_dispatch_centre_the_overdue_flag_is_raised_once_per_deadline(net, django_capture_on_commit_callbacks):
    clock.set_now(at(2026, 3, 2, 10, 0))
    request = file_request(net, by="dispatch_officer", node=net.county, household=None)
    assert request.handler_level == "county"
    with django_capture_on_commit_callbacks(execute=True):
        assert _names(jobs.run_due(at(2026, 3, 2, 17, 0))) == [
            "dispatch.escalate_overdue", "dispatch.close_unrated", "dispatch.anonymise_expired"]
        jobs.run_due(at(2026, 3, 3, 9, 0))
    notes = TimelineEntry.objects.filter(request=request, action="overdue")
    assert notes.count() == 1 and Request.objects.get(pk=request.pk).state == "reported"
    [told] = Notification.objects.filter(kind="request.overdue")
    assert told.recipient.username == "dispatch_officer" and told.language == "en"


def test_resolved_requests_nobody_rated_close_after_the_reopening_window(net):
    clock.set_now(at(2026, 3, 2, 10, 0))
    worker = net.user("grid_worker_a")
    request = file_request(net)
    services.request_accept(actor=worker, request=request)
    request = services.request_resolve(actor=worker, request=request, resolution="Pipe thawed.")
    assert request.reopen_until == at(2026, 3, 9, 10, 0)  # REOPEN_DAYS = 7 calendar days
    clock.set_now(at(2026, 3, 9, 10, 0))
    assert services.close_unrated(now=at(2026, 3, 9, 10, 0)) == []
    clock.set_now(at(2026, 3, 9, 10, 1))
    closed = services.close_unrated(now=at(2026, 3, 9, 10, 1))
    assert [r.pk for r in closed] == [request.pk]
    assert services.close_unrated(now=at(2026, 3, 9, 10, 1)) == []
    request.refresh_from_db()
    assert (request.state, request.closed_at, request.rating) == ("closed", at(2026, 3, 9, 10, 1), None)
    assert TimelineEntry.objects.filter(request=request).last().action == "auto_close"


def test_the_command_prints_what_each_job_did(net, capsys):
    clock.set_now(at(2026, 3, 2, 10, 0))
    request = file_request(net)
    assert cli.main(["jobs", "run", "--now", "2026-03-02T17:00:00+08:00"]) == 0
    out = [line for line in capsys.readouterr().out.splitlines() if line.startswith("dispatch.")]
    assert out == [f"dispatch.escalate_overdue: 1 overdue requests escalated: {request.number}",
                   "dispatch.close_unrated: 0 resolved requests closed unrated",
                   "dispatch.anonymise_expired: 0 closed requests anonymised after the retention period"]
    assert cli.main(["jobs", "run", "--now", "2026-03-02T17:01:00+08:00"]) == 0
    assert capsys.readouterr().out == "no job was due\n"
    assert cli.main(["jobs", "run", "--all", "--now", "2026-03-02T17:01:00+08:00"]) == 0
    assert capsys.readouterr().out.count("\n") == len(jobs.JOBS)
    # A moment without a zone is the county's local time.
    assert cli.main(["jobs", "run", "--all", "--now", "2026-03-02T18:00:00"]) == 0
    assert JobRun.objects.get(name="dispatch.escalate_overdue").last_run_at == at(2026, 3, 2, 18, 0)
    with pytest.raises(SystemExit, match="ISO-8601"):
        cli.main(["jobs", "run", "--now", "next tuesday"])
