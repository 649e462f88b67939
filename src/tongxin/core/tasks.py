"""Tasks of the django-tasks backport that the kernel itself defines.

``run_periodic_job`` is what the worker runs for each periodic job the scheduler queues:
it takes the job's lease and runs it only if it is still due (a copy queued twice, or
by two processes, does nothing the second time)."""

from __future__ import annotations

from django_tasks import task

from tongxin.core import clock, jobs


@task()
def run_periodic_job(name: str) -> str | None:
    """Run the periodic job ``name`` as of now; returns what it did, or None when skipped."""
    return jobs.run_job(jobs.get(name), clock.now())
