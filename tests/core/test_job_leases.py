"""Periodic jobs in several processes: the registry the apps fill, the lease that lets one
run of a job happen at a time, and the queue of the tasks framework that the worker runs."""

from __future__ import annotations

import ast
import datetime as dt
import threading
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection

from tests.dispatch.support import at
from tongxin.core import clock, jobs
from tongxin.core.models import JobRun

CORE = Path(jobs.__file__).parent
APPS = ("grid", "people", "registry", "dispatch", "demo")


def _job(name="test.job", run=None, **kwargs) -> jobs.Job:
    return jobs.Job(name, dt.timedelta(minutes=5), run or (lambda now: "done"), **kwargs)


def test_the_kernel_s_job_modules_import_no_app():
    for module in ("jobs.py", "tasks.py"):
        tree = ast.parse((CORE / module).read_text())
        imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
        imported |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
        assert not {m for m in imported if m.split(".")[:2] in (["tongxin", app] for app in APPS)}, module


def test_apps_register_their_jobs_from_ready():
    from tongxin.dispatch import tasks

    assert [name for name in jobs.JOBS if name.startswith("dispatch.")] == [
        "dispatch.escalate_overdue", "dispatch.close_unrated", "dispatch.anonymise_expired"]
    assert jobs.get("audit.seal").every == dt.timedelta(minutes=1)  # the kernel's own sequencer
    assert jobs.get("dispatch.escalate_overdue").run is tasks.escalate_overdue
    assert jobs.get("dispatch.close_unrated").every == dt.timedelta(hours=1)


def test_registering_twice_is_harmless_and_a_taken_name_is_refused(monkeypatch):
    monkeypatch.setattr(jobs, "JOBS", {})
    job = _job()
    assert jobs.register(job) is job and jobs.register(job) is job
    assert list(jobs.JOBS) == ["test.job"]
    with pytest.raises(ImproperlyConfigured, match="test.job"):
        jobs.register(_job(run=lambda now: "something else"))
    with pytest.raises(ImproperlyConfigured, match="no periodic job"):
        jobs.get("test.missing")


def test_the_lock_key_is_stable():
    # The same key in every process and release: PostgreSQL compares it across sessions.
    assert jobs.lock_key("dispatch.escalate_overdue") == jobs.lock_key("dispatch.escalate_overdue")
    assert jobs.lock_key("dispatch.escalate_overdue") != jobs.lock_key("dispatch.close_unrated")
    assert -2**63 <= jobs.lock_key("dispatch.escalate_overdue") < 2**63


def test_the_lease_refuses_a_second_holder_in_the_same_thread(db):
    job = _job()
    with jobs.lease(job) as first:
        with jobs.lease(job) as second:
            assert (first, second) == (True, False)
        with jobs.lease(_job("test.other")) as other:
            assert other  # leases are per job
    with jobs.lease(job) as again:
        assert again  # given back at the end of the block


def test_the_lease_is_given_back_when_the_job_fails(db):
    def fails(now):
        raise RuntimeError("broken")

    job = _job(run=fails)
    clock.set_now(at(2026, 3, 2, 9, 0))
    with pytest.raises(RuntimeError):
        jobs.run_job(job, clock.now())
    with jobs.lease(job) as got:
        assert got
    assert JobRun.objects.filter(name=job.name, last_run_at__isnull=False).count() == 0  # not recorded as run


def test_on_sqlite_the_lease_row_of_another_process_is_respected_until_it_expires(db):
    if connection.vendor != "sqlite":
        pytest.skip("the lease row is SQLite's lease; PostgreSQL's advisory lock is tested with two connections")
    clock.set_now(at(2026, 3, 2, 9, 0))
    ran = []
    job = _job(run=lambda now: ran.append(now) or "done")
    # What another process leaves while it runs the job: its name and the lease's end.
    JobRun.objects.create(name=job.name, lease_holder="host:4242:1:abcd", lease_until=at(2026, 3, 2, 9, 30))
    assert jobs.run_job(job, clock.now()) is None
    clock.set_now(at(2026, 3, 2, 9, 30))  # the holder died; its lease has run out
    assert jobs.run_job(job, clock.now()) == "done"
    run = JobRun.objects.get(name=job.name)
    assert (run.lease_holder, run.lease_until, run.last_run_at) == ("", None, at(2026, 3, 2, 9, 30))
    assert ran == [at(2026, 3, 2, 9, 30)]


def _in_thread(target, *args):
    """Run ``target`` in a thread with its own database connection (another session)."""
    outcome = {}

    def body():
        try:
            outcome["value"] = target(*args)
        except BaseException as error:  # noqa: BLE001 - handed to the test's thread
            outcome["error"] = error
        finally:
            connection.close()

    thread = threading.Thread(target=body)
    thread.start()
    return thread, outcome


@pytest.mark.django_db(transaction=True)
def test_on_postgresql_a_second_session_does_not_get_the_lease():
    if connection.vendor != "postgresql":
        pytest.skip("two sessions holding one advisory lock need PostgreSQL (SQLite's lease row is tested above)")
    job = _job()
    taken, release = threading.Event(), threading.Event()

    def hold():
        with jobs.lease(job) as got:
            taken.set()
            release.wait(10)
            return got

    thread, outcome = _in_thread(hold)
    assert taken.wait(10)
    try:
        with jobs.lease(job) as got:
            assert not got
        assert jobs.run_job(job, at(2026, 3, 2, 9, 0)) is None
    finally:
        release.set()
        thread.join(10)
    assert outcome == {"value": True}
    with jobs.lease(job) as got:
        assert got  # the first session let go


def test_the_worker_queues_due_jobs_once_and_runs_them_as_tasks(db, monkeypatch):
    from django_tasks_db.management.commands import db_worker
    from django_tasks_db.models import DBTaskResult

    # The test runs inside one transaction, which the worker's connection check would end.
    monkeypatch.setattr(db_worker, "close_old_connections", lambda: None)
    ran = []
    job = _job(run=lambda now: ran.append(now) or "done")
    monkeypatch.setattr(jobs, "JOBS", {job.name: job})
    clock.set_now(at(2026, 3, 2, 9, 0))
    assert jobs.enqueue_due() == ["test.job"]
    assert jobs.enqueue_due() == []  # already queued: a second scheduler does not pile up copies
    [queued] = DBTaskResult.objects.all()
    assert (queued.task_path, queued.args_kwargs) == ("tongxin.core.tasks.run_periodic_job",
                                                       {"args": ["test.job"], "kwargs": {}})
    db_worker.Worker(queue_names=["*"], interval=0, batch=True, backend_name="default", startup_delay=False,
                     max_tasks=None, worker_id="test", excluded_queue_names=[]).run()
    queued.refresh_from_db()
    assert (queued.status, queued.return_value) == ("SUCCESSFUL", "done")
    assert ran == [at(2026, 3, 2, 9, 0)]
    assert JobRun.objects.get(name="test.job").last_run_at == at(2026, 3, 2, 9, 0)
    # Not due again until its interval has passed; then queued once more.
    clock.set_now(at(2026, 3, 2, 9, 4))
    assert jobs.enqueue_due() == []
    clock.set_now(at(2026, 3, 2, 9, 5))
    assert jobs.enqueue_due() == ["test.job"]


def test_a_queued_copy_of_a_job_that_already_ran_does_nothing(db, monkeypatch):
    from tongxin.core.tasks import run_periodic_job

    ran = []
    job = _job(run=lambda now: ran.append(now) or "done")
    monkeypatch.setattr(jobs, "JOBS", {job.name: job})
    clock.set_now(at(2026, 3, 2, 9, 0))
    assert run_periodic_job.call("test.job") == "done"
    assert run_periodic_job.call("test.job") is None  # a second copy, queued by another scheduler
    assert ran == [at(2026, 3, 2, 9, 0)]
