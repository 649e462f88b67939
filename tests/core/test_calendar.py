"""The working-day calendar: the official schedule from ``chinesecalendar`` (holidays and
make-up working days), administrators' ``CalendarDay`` entries over it, and plain weekdays
with the fixed statutory holidays for a year nobody has entered yet (2027 here)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest

from tongxin.core import calendar
from tongxin.core.models import CalendarDay

TZ = ZoneInfo("Asia/Shanghai")


def at(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=TZ)


@pytest.fixture(autouse=True)
def _fresh_cache():
    calendar.clear_cache()
    yield
    calendar.clear_cache()


def enter(day: dt.date, working: bool, name: str = "") -> None:
    """An administrator's entry; the calendar reads entries once per year until told."""
    CalendarDay.objects.update_or_create(date=day, defaults={"is_working_day": working, "name": name})
    calendar.clear_cache()


# --- the package's schedule ------------------------------------------------------------


def test_the_package_knows_national_day_2026_and_its_make_up_saturday(db):
    # What the package says, checked first so a data update shows up here and not as a riddle below.
    assert [chinese_calendar.is_workday(dt.date(2026, 10, d)) for d in range(1, 13)] == [
        False, False, False, False, False, False, False, True, True, True, False, True]
    assert dt.date(2026, 10, 10).weekday() == 5  # a Saturday worked in exchange (调休)
    assert calendar.is_working_day(dt.date(2026, 9, 30))
    assert not any(calendar.is_working_day(dt.date(2026, 10, d)) for d in range(1, 8))
    assert calendar.is_working_day(dt.date(2026, 10, 10))
    assert not calendar.is_working_day(dt.date(2026, 10, 11))
    assert calendar.next_working_day(dt.date(2026, 9, 30)) == dt.date(2026, 10, 8)


def test_four_working_hours_from_the_afternoon_before_national_day_end_on_8_october(db):
    # 16:00–18:30 on 30 September is 2.5 h; the week off is skipped; 1.5 h more from 09:30 on the 8th.
    assert calendar.add_working_hours(at(2026, 9, 30, 16, 0), 4) == at(2026, 10, 8, 11, 0)
    # After office hours on the 30th the whole four hours fall on the 8th (09:30–13:00, then 15:30–16:00).
    assert calendar.add_working_hours(at(2026, 9, 30, 19, 0), 4) == at(2026, 10, 8, 16, 0)


def test_working_days_count_the_make_up_saturday_and_skip_the_sunday(db):
    assert calendar.add_working_days(at(2026, 10, 8, 11, 0), 1) == at(2026, 10, 9, 18, 30)
    assert calendar.add_working_days(at(2026, 10, 8, 11, 0), 2) == at(2026, 10, 10, 18, 30)
    assert calendar.add_working_days(at(2026, 10, 8, 11, 0), 3) == at(2026, 10, 12, 18, 30)
    # Filed on the eve of the holiday: three working days are the 8th, 9th and 10th.
    assert calendar.add_working_days(at(2026, 9, 30, 16, 0), 3) == at(2026, 10, 10, 18, 30)


def test_working_days_skip_an_ordinary_weekend(db):
    friday = at(2026, 3, 6, 11, 0)
    assert calendar.add_working_days(friday, 1) == at(2026, 3, 9, 18, 30)
    assert calendar.add_working_days(friday, 5) == at(2026, 3, 13, 18, 30)
    # Zero days: the end of the same day, or of the next working day when filed on a day off.
    assert calendar.add_working_days(friday, 0) == at(2026, 3, 6, 18, 30)
    assert calendar.add_working_days(at(2026, 3, 7, 11, 0), 0) == at(2026, 3, 9, 18, 30)


@pytest.mark.parametrize("start, hours, due", [
    (at(2026, 3, 2, 10, 0), 4, at(2026, 3, 2, 16, 30)),     # morning, then afternoon
    (at(2026, 3, 2, 13, 30), 1, at(2026, 3, 2, 16, 30)),    # filed over lunch: counted from 15:30
    (at(2026, 3, 2, 7, 0), 3.5, at(2026, 3, 2, 13, 0)),     # before office: a full morning, exactly
    (at(2026, 3, 2, 18, 30), 1, at(2026, 3, 3, 10, 30)),    # at closing time: the next morning
    (at(2026, 3, 6, 17, 30), 2, at(2026, 3, 9, 10, 30)),    # Friday evening to Monday
    (at(2026, 3, 2, 10, 0), 6, at(2026, 3, 2, 18, 30)),     # the rest of the office day, exactly
    (at(2026, 3, 2, 10, 0), 7, at(2026, 3, 3, 10, 30)),     # one hour into the next
    (at(2026, 3, 2, 9, 30), 13, at(2026, 3, 3, 18, 30)),    # two whole office days of 6.5 h
])
def test_working_hours_skip_lunch_nights_and_weekends(db, start, hours, due):
    assert calendar.add_working_hours(start, hours) == due


def test_a_start_in_another_time_zone_is_counted_in_the_county_s_office_hours(db):
    utc = dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.timezone.utc)  # 10:00 in Kangma
    assert calendar.add_working_hours(utc, 4) == at(2026, 3, 2, 16, 30)


def test_office_time_between_two_moments(db):
    assert calendar.working_time_between(at(2026, 3, 2, 10, 0), at(2026, 3, 2, 16, 30)) == dt.timedelta(hours=4)
    assert calendar.working_time_between(at(2026, 9, 30, 16, 0), at(2026, 10, 8, 11, 0)) == dt.timedelta(hours=4)
    assert calendar.working_time_between(at(2026, 3, 6, 18, 0), at(2026, 3, 9, 10, 0)) == dt.timedelta(minutes=60)
    assert calendar.working_time_between(at(2026, 3, 3), at(2026, 3, 2)) == dt.timedelta(0)


# --- administrators' entries ------------------------------------------------------------


def test_an_entered_holiday_overrides_the_package(db):
    assert calendar.add_working_days(at(2026, 3, 2, 10, 0), 1) == at(2026, 3, 3, 18, 30)
    enter(dt.date(2026, 3, 3), False, "snowstorm closure")
    assert not calendar.is_working_day(dt.date(2026, 3, 3))
    assert calendar.add_working_days(at(2026, 3, 2, 10, 0), 1) == at(2026, 3, 4, 18, 30)
    # An entered working day beats a package holiday too.
    enter(dt.date(2026, 10, 2), True)
    assert calendar.is_working_day(dt.date(2026, 10, 2))
    assert calendar.add_working_hours(at(2026, 9, 30, 16, 0), 4) == at(2026, 10, 2, 11, 0)


def test_entries_are_read_once_per_year_until_the_cache_is_cleared(db):
    assert calendar.is_working_day(dt.date(2026, 3, 3))
    CalendarDay.objects.create(date=dt.date(2026, 3, 3), is_working_day=False)
    assert calendar.is_working_day(dt.date(2026, 3, 3))  # still the cached year
    calendar.clear_cache()
    assert not calendar.is_working_day(dt.date(2026, 3, 3))


# --- a year the package does not know -----------------------------------------------------


def test_2027_is_unknown_to_the_package_yet_deadlines_still_compute(db):
    with pytest.raises(NotImplementedError):
        chinese_calendar.is_workday(dt.date(2027, 1, 4))
    assert not calendar.package_knows(2027) and not calendar.year_is_known(2027)
    # 1 January is a holiday whatever the year's schedule; weekends are days off.
    assert not calendar.is_working_day(dt.date(2027, 1, 1))
    assert [calendar.is_working_day(dt.date(2027, 1, d)) for d in range(1, 9)] == [
        False, False, False, True, True, True, True, True]
    assert not calendar.is_working_day(dt.date(2027, 5, 1)) and not calendar.is_working_day(dt.date(2027, 10, 1))
    # Across the year end: from 31 December 2026 (known) into 2027 (unknown).
    assert calendar.add_working_days(at(2026, 12, 31, 10, 0), 1) == at(2027, 1, 4, 18, 30)
    assert calendar.add_working_hours(at(2026, 12, 31, 16, 0), 4) == at(2027, 1, 4, 11, 0)
    # Filed on 1 January itself: counted from the first office morning.
    assert calendar.add_working_hours(at(2027, 1, 1, 10, 0), 4) == at(2027, 1, 4, 16, 0)
    assert calendar.add_working_days(at(2027, 1, 1, 10, 0), 2) == at(2027, 1, 5, 18, 30)


def test_an_entered_2027_holiday_moves_the_deadline_and_makes_the_year_known(db):
    assert calendar.add_working_days(at(2026, 12, 31, 10, 0), 1) == at(2027, 1, 4, 18, 30)
    enter(dt.date(2027, 1, 4), False, "New Year bridge day")
    assert calendar.year_is_known(2027)
    assert calendar.add_working_days(at(2026, 12, 31, 10, 0), 1) == at(2027, 1, 5, 18, 30)
    assert calendar.add_working_hours(at(2026, 12, 31, 16, 0), 4) == at(2027, 1, 5, 11, 0)
    # A make-up Saturday entered for 2027 counts as a working day.
    enter(dt.date(2027, 1, 9), True, "make-up working day")
    assert calendar.add_working_days(at(2027, 1, 8, 10, 0), 1) == at(2027, 1, 9, 18, 30)
