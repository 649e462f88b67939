"""Dispatch's periodic jobs, registered with the kernel from ``DispatchConfig.ready()``.

Each is idempotent and safe beside another run of itself: the services they call lock each
request and check again, under the lock, that the step is still to be taken."""

from __future__ import annotations

import datetime as dt

from tongxin.core.jobs import Job
from tongxin.dispatch import services


def escalate_overdue(now: dt.datetime) -> str:
    done = services.escalate_overdue(now=now)
    return f"{len(done)} overdue requests escalated" + (": " + ", ".join(r.number for r in done[:20]) if done else "")


def close_unrated(now: dt.datetime) -> str:
    done = services.close_unrated(now=now)
    return f"{len(done)} resolved requests closed unrated" + (": " + ", ".join(r.number for r in done[:20])
                                                               if done else "")


def anonymise_expired(now: dt.datetime) -> str:
    done = services.requests_anonymise_expired(now=now)
    return f"{len(done)} closed requests anonymised after the retention period" + (
        ": " + ", ".join(r.number for r in done[:20]) if done else "")


JOBS = [
    Job("dispatch.escalate_overdue", dt.timedelta(minutes=5), escalate_overdue),
    Job("dispatch.close_unrated", dt.timedelta(hours=1), close_unrated),
    Job("dispatch.anonymise_expired", dt.timedelta(days=1), anonymise_expired),
]
