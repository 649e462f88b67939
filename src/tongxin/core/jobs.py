"""Periodic jobs, declared in one place and run without anyone opening a page.

``run_due(now)`` runs every job whose interval has passed since its last run, as of
``now`` (``tongxin jobs run --now …`` moves it). Every job is idempotent: running it
twice does nothing more than running it once.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from django.db import close_old_connections

from tongxin.core import clock
from tongxin.core.models import JobRun

log = logging.getLogger("tongxin.jobs")


@dataclass(frozen=True)
class Job:
    name: str
    every: dt.timedelta
    run: Callable[[dt.datetime], str]


def _escalate_overdue(now: dt.datetime) -> str:
    from tongxin.dispatch.services import escalate_overdue

    done = escalate_overdue(now=now)
    return f"{len(done)} overdue requests escalated" + (": " + ", ".join(r.number for r in done[:20]) if done else "")


def _close_unrated(now: dt.datetime) -> str:
    from tongxin.dispatch.services import close_unrated

    done = close_unrated(now=now)
    return f"{len(done)} resolved requests closed unrated" + (": " + ", ".join(r.number for r in done[:20])
                                                               if done else "")


JOBS: list[Job] = [
    Job("dispatch.escalate_overdue", dt.timedelta(minutes=5), _escalate_overdue),
    Job("dispatch.close_unrated", dt.timedelta(hours=1), _close_unrated),
]


def run_due(now: dt.datetime | None = None, *, force: bool = False) -> list[tuple[str, str]]:
    """Run the jobs that are due as of ``now``; returns (job, what it did) for each one run.

    An explicit ``now`` (``tongxin jobs run --now``, tests) moves the clock while the jobs run.
    Without one the live clock is left alone: the clock is process-wide, and the embedded
    worker runs beside the web server's threads, which must not see time stand still."""
    moved = now is not None
    now = now or clock.now()
    last = dict(JobRun.objects.values_list("name", "last_run_at"))
    results = []
    with clock.frozen_at(now) if moved else contextlib.nullcontext():
        for job in JOBS:
            previous = last.get(job.name)
            if not force and previous is not None and previous + job.every > now and previous <= now:
                continue
            result = job.run(now)
            JobRun.objects.update_or_create(name=job.name, defaults={"last_run_at": now, "last_result": result[:200]})
            results.append((job.name, result))
    return results


def start_worker(interval: float = 60.0) -> threading.Thread:
    """The embedded worker beside ``tongxin serve``: runs due jobs every ``interval`` seconds."""
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(interval):
            close_old_connections()
            try:
                for name, result in run_due():
                    log.info("%s: %s", name, result)
            except Exception:
                log.exception("periodic jobs failed; will try again")
            finally:
                close_old_connections()

    thread = threading.Thread(target=loop, name="tongxin-jobs", daemon=True)
    thread.stop = stop  # type: ignore[attr-defined]
    thread.start()
    return thread
