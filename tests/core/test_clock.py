"""The one clock: tests and jobs move it; it takes aware datetimes only."""

from __future__ import annotations

import datetime as dt

import pytest

from tongxin.core import clock


def test_frozen_at_moves_and_restores_the_clock():
    moment = dt.datetime(2026, 1, 1, 2, 0, tzinfo=dt.timezone.utc)
    with clock.frozen_at(moment):
        assert clock.now() == moment
        assert clock.today() == dt.date(2026, 1, 1)
        with clock.frozen_at(moment + dt.timedelta(days=1)):
            assert clock.now() == moment + dt.timedelta(days=1)
        assert clock.now() == moment
    assert abs(clock.now() - dt.datetime.now(dt.timezone.utc)) < dt.timedelta(minutes=1)


def test_today_is_the_local_date():
    # 20:00 UTC is already tomorrow in Asia/Shanghai (the default zone).
    with clock.frozen_at(dt.datetime(2026, 1, 1, 20, 0, tzinfo=dt.timezone.utc)):
        assert clock.today() == dt.date(2026, 1, 2)


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError):
        clock.set_now(dt.datetime(2026, 1, 1))
