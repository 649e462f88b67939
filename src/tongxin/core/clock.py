"""The one clock. All code asks ``now()``; tests and ``tongxin jobs run --now`` move it."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator

from django.utils import timezone

_frozen: dt.datetime | None = None


def now() -> dt.datetime:
    return _frozen if _frozen is not None else timezone.now()


def today() -> dt.date:
    return timezone.localdate(now())


def set_now(moment: dt.datetime | None) -> None:
    global _frozen
    if moment is not None and timezone.is_naive(moment):
        raise ValueError("the clock takes timezone-aware datetimes only")
    _frozen = moment


@contextlib.contextmanager
def frozen_at(moment: dt.datetime) -> Iterator[None]:
    previous = _frozen
    set_now(moment)
    try:
        yield
    finally:
        set_now(previous)
