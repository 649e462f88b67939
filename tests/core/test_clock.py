"""The one clock: tests and jobs move it; it takes aware datetimes only; the suite's clock is
frozen at a working morning in the county, whatever the host's time."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine

from tests.factories import FROZEN_AT
from tongxin.core import clock

SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_frozen_at_moves_and_restores_the_clock():
    moment = dt.datetime(2026, 1, 1, 2, 0, tzinfo=dt.timezone.utc)
    with clock.frozen_at(moment):
        assert clock.now() == moment
        assert clock.today() == dt.date(2026, 1, 1)
        with clock.frozen_at(moment + dt.timedelta(days=1)):
            assert clock.now() == moment + dt.timedelta(days=1)
        assert clock.now() == moment
    assert clock.now() == FROZEN_AT


def test_today_is_the_local_date():
    # 20:00 UTC is already tomorrow in Asia/Shanghai (the default zone).
    with clock.frozen_at(dt.datetime(2026, 1, 1, 20, 0, tzinfo=dt.timezone.utc)):
        assert clock.today() == dt.date(2026, 1, 2)


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError):
        clock.set_now(dt.datetime(2026, 1, 1))


@pytest.mark.parametrize("host", [dt.datetime(2026, 12, 2, 10, 0, 0, 703_600, tzinfo=SHANGHAI),  # working morning
                                  dt.datetime(2026, 12, 2, 23, 30, tzinfo=SHANGHAI),  # night
                                  dt.datetime(2027, 2, 6, 12, 0, tzinfo=SHANGHAI)])  # a holiday
def test_the_suite_clock_is_frozen_whatever_the_hosts_time(host):
    with time_machine.travel(host, tick=False):
        assert clock.now() == FROZEN_AT
        assert clock.now().microsecond == 0  # deadlines computed from it are whole seconds


def test_unfrozen_the_clock_follows_the_host():
    """What ``tongxin serve`` runs on; the host's time is moved here, never read."""
    host = dt.datetime(2026, 12, 2, 23, 30, tzinfo=SHANGHAI)
    with time_machine.travel(host, tick=False):
        clock.set_now(None)
        assert clock.now() == host
        assert clock.today() == dt.date(2026, 12, 2)
