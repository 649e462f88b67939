"""Periodic jobs: each app registers its own, and any number of processes may run them.

An app registers a job from its ``AppConfig.ready()`` with ``register(Job(...))``; the
kernel knows no app. ``run_due(now)`` runs every job whose interval has passed since its
last run, as of ``now`` (``tongxin jobs run --now …`` moves it). Two rules make it safe
to run in several processes at once:

- each run of a job holds that job's **lease** (a PostgreSQL advisory lock, or on SQLite a
  lease row won by one conditional UPDATE); a process that does not get it skips the job
  this round, and one that gets it reads the last run again before deciding it is due;
- every job is idempotent and checks each step again under the row lock, so even a run
  that overlaps another (a lease that expired under a very slow run) takes no step twice.

The embedded worker (``start_worker``) enqueues due jobs as tasks of the django-tasks
backport (database backend) and executes them; ``tongxin jobs run`` runs them directly.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError, close_old_connections, connection
from django.db.models import Q

from tongxin.core import clock
from tongxin.core.models import JobRun

log = logging.getLogger("tongxin.jobs")


@dataclass(frozen=True)
class Job:
    """A periodic job: ``run(now)`` does the work as of ``now`` and says what it did."""

    name: str
    every: dt.timedelta
    run: Callable[[dt.datetime], str]
    # On SQLite the lease expires after this long, in case its holder died without letting
    # go (a PostgreSQL advisory lock ends with its session by itself).
    lease: dt.timedelta = dt.timedelta(minutes=30)


# Registered jobs by name, in the order the apps registered them.
JOBS: dict[str, Job] = {}


def register(job: Job) -> Job:
    """Add a periodic job (from an app's ``AppConfig.ready()``). Registering the same job
    again is harmless; a different job under a taken name is a configuration error."""
    known = JOBS.get(job.name)
    if known is not None and known != job:
        raise ImproperlyConfigured(f"two different periodic jobs are named {job.name!r}")
    JOBS[job.name] = job
    return job


def get(name: str) -> Job:
    try:
        return JOBS[name]
    except KeyError:
        raise ImproperlyConfigured(f"no periodic job is named {name!r}") from None


# --- the lease -------------------------------------------------------------------------------

# Leases this thread holds: a PostgreSQL advisory lock is re-entrant within one session (one
# thread's connection), so a nested attempt in the same thread must be refused here.
_held = threading.local()


def _held_here() -> set[str]:
    if not hasattr(_held, "names"):
        _held.names = set()
    return _held.names


def lock_key(name: str) -> int:
    """A stable signed 64-bit key for ``name`` (the same in every process and every release)."""
    return int.from_bytes(hashlib.sha256(f"tongxin.job:{name}".encode()).digest()[:8], "big", signed=True)


@contextlib.contextmanager
def lease(job: Job) -> Iterator[bool]:
    """Hold ``job``'s lease for the block; yields False (and holds nothing) when another
    process or thread holds it."""
    held = _held_here()
    if job.name in held:
        yield False
        return
    take, give_back = (_advisory_lock if connection.vendor == "postgresql" else _lease_row)(job)
    if not take():
        yield False
        return
    held.add(job.name)
    try:
        yield True
    finally:
        held.discard(job.name)
        give_back()


def _advisory_lock(job: Job) -> tuple[Callable[[], bool], Callable[[], None]]:
    # Session-level, not transaction-level: a job runs many short transactions of its own.
    key = lock_key(job.name)

    def take() -> bool:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
            row = cursor.fetchone()
            return bool(row and row[0])

    def give_back() -> None:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [key])
        except DatabaseError:
            log.exception("could not release the lease of %s; closing the connection instead", job.name)
            if not connection.in_atomic_block:
                connection.close()  # the session's locks end with it

    return take, give_back


def _lease_row(job: Job) -> tuple[Callable[[], bool], Callable[[], None]]:
    # The lease's clock is the one clock: a run "as of" a moment leases as of that moment too.
    holder = f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}:{uuid.uuid4().hex[:8]}"[:100]

    def take() -> bool:
        moment = clock.now()
        JobRun.objects.get_or_create(name=job.name)
        # One statement that only one process can win: SQLite runs writers one at a time.
        won = (JobRun.objects.filter(name=job.name)
               .filter(Q(lease_until__isnull=True) | Q(lease_until__lte=moment))
               .update(lease_holder=holder, lease_until=moment + job.lease))
        return won == 1

    def give_back() -> None:
        JobRun.objects.filter(name=job.name, lease_holder=holder).update(lease_holder="", lease_until=None)

    return take, give_back


# --- running jobs -----------------------------------------------------------------------------

def _is_due(job: Job, now: dt.datetime) -> bool:
    previous = JobRun.objects.filter(name=job.name).values_list("last_run_at", flat=True).first()
    # Running "as of" a moment before the last run (a test, a replay) is not "already done".
    return previous is None or previous + job.every <= now or previous > now


def run_job(job: Job, now: dt.datetime, *, force: bool = False) -> str | None:
    """Run ``job`` as of ``now`` if it is due (or ``force``) and this process gets its lease;
    returns what it did, or None when it was skipped."""
    with lease(job) as got:
        if not got:
            log.info("%s: another process is running it; skipped this round", job.name)
            return None
        # Read the last run again under the lease: another process may have just finished it.
        if not force and not _is_due(job, now):
            return None
        result = job.run(now)
        JobRun.objects.update_or_create(name=job.name, defaults={"last_run_at": now, "last_result": result[:200]})
        return result


def run_due(now: dt.datetime | None = None, *, force: bool = False) -> list[tuple[str, str]]:
    """Run the jobs that are due as of ``now``; returns (job, what it did) for each one run.

    An explicit ``now`` (``tongxin jobs run --now``, tests) moves the clock while the jobs run.
    Without one the live clock is left alone: the clock is process-wide, and the embedded
    worker runs beside the web server's threads, which must not see time stand still."""
    moved = now is not None
    now = now or clock.now()
    results = []
    with clock.frozen_at(now) if moved else contextlib.nullcontext():
        for job in list(JOBS.values()):
            result = run_job(job, now, force=force)
            if result is not None:
                results.append((job.name, result))
    return results


def enqueue_due(now: dt.datetime | None = None) -> list[str]:
    """Enqueue a task for each job that is due (the worker runs it under its lease); returns
    the names enqueued. The task runs as of the moment it runs, not the moment it was queued."""
    from tongxin.core.tasks import run_periodic_job

    now = now or clock.now()
    names = []
    for job in list(JOBS.values()):
        if not _is_due(job, now):
            continue
        # Claim the enqueueing once per interval, so that the schedulers of several
        # processes (or one whose worker is down) do not pile up copies of the same task.
        JobRun.objects.get_or_create(name=job.name)
        claimed = (JobRun.objects.filter(name=job.name)
                   .filter(Q(enqueued_at__isnull=True) | Q(enqueued_at__lte=now - job.every) | Q(enqueued_at__gt=now))
                   .update(enqueued_at=now))
        if claimed:
            run_periodic_job.enqueue(job.name)
            names.append(job.name)
    return names


def start_worker(interval: float = 60.0, poll: float = 5.0) -> threading.Thread:
    """The worker beside ``tongxin serve`` (and in ``tongxin worker``): every ``interval``
    seconds it enqueues the due jobs, and a task worker of the database backend runs the
    queued tasks, polling every ``poll`` seconds. Returns the scheduler's thread; ``stop()``
    on it ends both."""
    from django_tasks_db.management.commands.db_worker import Worker

    stop = threading.Event()
    worker = Worker(queue_names=["*"], interval=poll, batch=False, backend_name="default", startup_delay=True,
                    max_tasks=None, worker_id=f"{socket.gethostname()}:{os.getpid()}"[:64], excluded_queue_names=[])

    def schedule() -> None:
        while True:
            close_old_connections()
            try:
                for name in enqueue_due():
                    log.info("%s: queued", name)
            except Exception:
                log.exception("scheduling periodic jobs failed; will try again")
            finally:
                close_old_connections()
            if stop.wait(interval):
                return

    def execute() -> None:
        while not stop.is_set():
            try:
                worker.run()  # returns only once stopped
            except Exception:
                log.exception("the task worker failed; starting it again")
                stop.wait(poll)

    def stop_both() -> None:
        stop.set()
        worker.running = False

    executor = threading.Thread(target=execute, name="tongxin-tasks", daemon=True)
    scheduler = threading.Thread(target=schedule, name="tongxin-jobs", daemon=True)
    scheduler.stop = stop_both  # type: ignore[attr-defined]
    scheduler.executor = executor  # type: ignore[attr-defined]
    executor.start()
    scheduler.start()
    return scheduler
