"""The calendar on the reference cache: a change entered by one process reaches another
within the cache's period, and writes that send no signal (a plain INSERT through
``core.rows.insert``, ``bulk_create``) still make the cache forget.

Two processes are simulated in one: each has its own memory cache (a ``LOCATION`` of its
own, as two processes have two ``LocMemCache``s) and its own memory of the generation it
last read; the time that the cache and the reference cache read is moved by hand.
"""

from __future__ import annotations

import contextlib
import datetime as dt

import pytest
from django.conf import settings
from django.db import connection
from django.test import override_settings

from tests.dispatch.support import make_node, make_user
from tongxin.core import calendar, refcache
from tongxin.core.models import CalendarDay, Notification
from tongxin.core.rows import insert
from tongxin.core.services import calendar_year_set
from tongxin.grid.models import Level
from tongxin.people.roles import Role

BRIDGE_DAY = dt.date(2027, 2, 8)  # a Monday of a year the calendar package does not know


class FakeTime:
    """The clocks the cache framework and the reference cache read (never the wall clock)."""

    def __init__(self):
        self.now = 1_900_000_000.0

    def time(self) -> float:
        return self.now

    def monotonic(self) -> float:
        return self.now

    def time_ns(self) -> int:
        return int(self.now * 1e9)

    def sleep(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def fake_time(monkeypatch):
    from django.core.cache.backends import base, locmem

    fake = FakeTime()
    for module in (base, locmem, refcache):
        monkeypatch.setattr(module, "time", fake)
    return fake


class Processes:
    """``with processes.of("worker"): ...`` runs as the worker process: its own memory cache
    and its own remembered generation of the calendar cache."""

    def __init__(self, shared: bool):
        self.shared = shared
        self.generations: dict[str, tuple[int, float]] = {}

    @contextlib.contextmanager
    def of(self, name: str):
        cache = calendar.calendar_cache
        location = "calendar-test-shared" if self.shared else f"calendar-test-{name}"
        caches = {**settings.CACHES, "reference": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                                                   "LOCATION": location}}
        cache._generation_seen, cache._generation_read = self.generations.get(name, (0, -1.0e9))
        try:
            with override_settings(CACHES=caches):
                yield
        finally:
            self.generations[name] = (cache._generation_seen, cache._generation_read)


@pytest.fixture
def admin(transactional_db):
    county = make_node("540230", Level.COUNTY, None)
    return make_user("calendar_admin", Role.SYSTEM_ADMIN, county)


def _clean_caches():
    for location in ("calendar-test-shared", "calendar-test-web", "calendar-test-worker"):
        from django.core.cache.backends.locmem import _caches, _expire_info, _locks

        _caches.pop(location, None), _expire_info.pop(location, None), _locks.pop(location, None)


@pytest.fixture(autouse=True)
def _forget():
    _clean_caches()
    calendar.clear_cache()
    yield
    _clean_caches()
    calendar.clear_cache()


def test_a_holiday_entered_on_the_web_reaches_the_worker_within_the_cache_period(admin, fake_time, settings):
    settings.REFERENCE_CACHE_SECONDS = 60
    processes = Processes(shared=False)
    assert not connection.in_atomic_block
    with processes.of("worker"):
        assert calendar.is_working_day(BRIDGE_DAY)  # read, and kept for 60 s
        assert calendar.add_working_days(dt.datetime(2027, 2, 5, 10, tzinfo=dt.timezone.utc), 1).date() == BRIDGE_DAY
    fake_time.sleep(10)
    with processes.of("web"):
        assert calendar.is_working_day(BRIDGE_DAY)
        calendar_year_set(actor=admin, year=2027, days=[(BRIDGE_DAY, False, "bridge day")])
        assert not calendar.is_working_day(BRIDGE_DAY)  # the process that entered it: at once
    assert CalendarDay.objects.filter(date=BRIDGE_DAY).exists()
    fake_time.sleep(40)
    with processes.of("worker"):  # 50 s after it read the year: its copy still answers
        assert calendar.is_working_day(BRIDGE_DAY)
    fake_time.sleep(10.5)
    with processes.of("worker"):  # its copy has expired: the worker reads the entry
        assert not calendar.is_working_day(BRIDGE_DAY)
        assert calendar.add_working_days(dt.datetime(2027, 2, 5, 10, tzinfo=dt.timezone.utc), 1).date() == \
            dt.date(2027, 2, 9)


def test_with_a_shared_cache_the_worker_hears_within_a_second(admin, fake_time, settings):
    settings.REFERENCE_CACHE_SECONDS = 60
    processes = Processes(shared=True)
    with processes.of("worker"):
        assert calendar.is_working_day(BRIDGE_DAY)
    with processes.of("web"):
        calendar_year_set(actor=admin, year=2027, days=[(BRIDGE_DAY, False, "bridge day")])
    with processes.of("worker"):  # the generation it read less than a second ago
        assert calendar.is_working_day(BRIDGE_DAY)
    fake_time.sleep(1.01)
    with processes.of("worker"):
        assert not calendar.is_working_day(BRIDGE_DAY)


def test_a_regional_day_entered_on_the_web_reaches_the_worker_too(admin, fake_time, settings):
    settings.REFERENCE_CACHE_SECONDS = 60
    processes = Processes(shared=False)
    kangma = "/540230/"
    with processes.of("worker"):
        assert calendar.is_working_day(BRIDGE_DAY, place=kangma)
    with processes.of("web"):
        calendar_year_set(actor=admin, year=2027, region="54", days=[(BRIDGE_DAY, False, "Losar (test entry)")])
        assert not calendar.is_working_day(BRIDGE_DAY, place=kangma) and calendar.is_working_day(BRIDGE_DAY)
    fake_time.sleep(61)
    with processes.of("worker"):
        assert not calendar.is_working_day(BRIDGE_DAY, place=kangma)
        assert calendar.is_working_day(BRIDGE_DAY, place="110101") and calendar.is_working_day(BRIDGE_DAY)


def test_a_plain_insert_makes_the_cache_forget(transactional_db, django_assert_num_queries):
    assert calendar.is_working_day(BRIDGE_DAY)
    with django_assert_num_queries(0):  # kept: committed data read outside a transaction
        assert calendar.is_working_day(BRIDGE_DAY)
    insert(CalendarDay(date=BRIDGE_DAY, is_working_day=False, name="bridge day"))  # one INSERT, no signal
    assert not calendar.is_working_day(BRIDGE_DAY)


def test_bulk_writes_tell_the_cache_through_entries_changed(transactional_db):
    assert calendar.is_working_day(BRIDGE_DAY)
    CalendarDay.objects.bulk_create([CalendarDay(date=BRIDGE_DAY, is_working_day=False)])
    assert calendar.is_working_day(BRIDGE_DAY)  # no signal: what a writer must not leave so
    calendar.entries_changed()
    assert not calendar.is_working_day(BRIDGE_DAY)
    CalendarDay.objects.filter(date=BRIDGE_DAY).update(is_working_day=True)
    refcache.model_changed(CalendarDay)  # the general form, for any model a cache holds
    assert calendar.is_working_day(BRIDGE_DAY)


def test_rows_of_models_no_cache_holds_leave_the_generation_alone(transactional_db):
    user = make_user("reader", Role.DISPATCH_OFFICER, make_node("540230", Level.COUNTY, None))
    calendar.is_working_day(BRIDGE_DAY)
    before = calendar.calendar_cache._generation()
    insert(Notification(recipient=user, kind="k", language="en", subject="s"))
    assert calendar.calendar_cache._generation() == before


def test_inside_a_transaction_committed_entries_are_served_and_none_kept(db, django_assert_num_queries):
    assert connection.in_atomic_block
    with django_assert_num_queries(1):
        calendar.is_working_day(BRIDGE_DAY)
    with django_assert_num_queries(1):  # nothing was kept from inside the transaction
        calendar.is_working_day(BRIDGE_DAY)
    CalendarDay.objects.create(date=BRIDGE_DAY, is_working_day=False)
    assert not calendar.is_working_day(BRIDGE_DAY)  # the transaction reads its own entry
