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
    """An administrator's national entry; its save tells the calendar (no clearing by hand)."""
    CalendarDay.objects.update_or_create(date=day, region="", defaults={"is_working_day": working, "name": name})


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


def test_an_entry_saved_in_this_process_counts_at_once(db):
    assert calendar.is_working_day(dt.date(2026, 3, 3))
    CalendarDay.objects.create(date=dt.date(2026, 3, 3), is_working_day=False)  # no clear_cache: the save says so
    assert not calendar.is_working_day(dt.date(2026, 3, 3))


def test_a_calendar_reads_each_year_once_for_its_own_life(db, django_assert_num_queries):
    days = calendar.Calendar()
    with django_assert_num_queries(1):  # inside the test's transaction nothing is kept between computations
        assert days.add_working_days(at(2026, 9, 30, 16, 0), 3) == at(2026, 10, 10, 18, 30)
    with django_assert_num_queries(0):
        assert days.is_working_day(dt.date(2026, 10, 10))


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


# --- a region's own days ------------------------------------------------------------------

KANGMA = "/540230/540230100/"  # a township's path in Kangma County, Tibet (code 54…)


def enter_regional(region: str, day: dt.date, working: bool, name: str = "") -> None:
    CalendarDay.objects.create(region=region, date=day, is_working_day=working, name=name)


def test_a_regional_holiday_holds_only_under_its_region(db):
    wednesday = dt.date(2026, 3, 4)
    enter_regional("54", wednesday, False, "a Tibetan festival (test entry)")
    assert not calendar.is_working_day(wednesday, place=KANGMA)
    assert not calendar.is_working_day(wednesday, place="540230")  # a code as well as a path
    assert calendar.is_working_day(wednesday)  # the national calendar
    assert calendar.is_working_day(wednesday, place="110101")  # Beijing
    assert calendar.is_working_day(wednesday, place="/450000/")  # "54" is a prefix, not a substring
    # Deadlines at the place skip it; elsewhere they do not.
    assert calendar.add_working_days(at(2026, 3, 3, 10, 0), 1, place=KANGMA) == at(2026, 3, 5, 18, 30)
    assert calendar.add_working_days(at(2026, 3, 3, 10, 0), 1) == at(2026, 3, 4, 18, 30)
    assert calendar.add_working_hours(at(2026, 3, 3, 17, 30), 2, place=KANGMA) == at(2026, 3, 5, 10, 30)
    assert calendar.working_time_between(at(2026, 3, 3, 9, 30), at(2026, 3, 5, 18, 30), place=KANGMA) == \
        dt.timedelta(hours=13)
    # A region's entries alone do not make the year's national schedule known.
    enter_regional("54", dt.date(2027, 2, 8), False, "Losar (test entry)")
    assert not calendar.year_is_known(2027)


def test_a_regional_entry_overrides_the_national_one_and_the_most_specific_region_wins(db):
    day = dt.date(2026, 3, 5)  # a Thursday
    enter(day, False, "national closure")
    enter_regional("54", day, True, "worked in Tibet")
    enter_regional("540230", day, False, "Kangma's own day off")
    assert not calendar.is_working_day(day)
    assert calendar.is_working_day(day, place="540102")  # Lhasa: Tibet's entry beats the national one
    assert not calendar.is_working_day(day, place=KANGMA)  # Kangma's beats Tibet's
    # A region's working day beats the package's holiday too (National Day, 2 October 2026).
    enter_regional("54", dt.date(2026, 10, 2), True)
    assert calendar.is_working_day(dt.date(2026, 10, 2), place=KANGMA)
    assert not calendar.is_working_day(dt.date(2026, 10, 2), place="110101")


# --- deadlines from a limit, and a clock that can be paused ---------------------------------
# Office day: 09:30-13:00 and 15:30-18:30, 6.5 hours.


def test_a_deadline_from_a_start_and_a_limit_in_hours_or_days(db):
    assert calendar.deadline(at(2026, 9, 30, 16, 0), 4, "hours") == at(2026, 10, 8, 11, 0)
    assert calendar.deadline(at(2026, 9, 30, 16, 0), 3, "days") == at(2026, 10, 10, 18, 30)
    with pytest.raises(ValueError):
        calendar.deadline(at(2026, 9, 30, 16, 0), 3, "weeks")
    assert calendar.working_hours_between(at(2026, 9, 30, 16, 0), at(2026, 10, 8, 11, 0)) == 4.0


def test_an_hour_paused_in_the_morning_moves_the_deadline_an_office_hour(db):
    start = at(2026, 3, 2, 10, 0)  # Monday
    assert calendar.deadline_with_pauses(start, 4, "hours") == at(2026, 3, 2, 16, 30)
    # 10:00-11:00 runs (1 h), paused until 12:00, then 12:00-13:00 and 15:30-17:30 (3 h).
    assert calendar.deadline_with_pauses(start, 4, "hours", [(at(2026, 3, 2, 11, 0), at(2026, 3, 2, 12, 0))]) == \
        at(2026, 3, 2, 17, 30)
    # A pause over lunch stops nothing: there is no office time in it.
    assert calendar.deadline_with_pauses(start, 4, "hours", [(at(2026, 3, 2, 13, 0), at(2026, 3, 2, 15, 30))]) == \
        at(2026, 3, 2, 16, 30)


def test_a_pause_across_the_weekend_counts_only_the_office_time_in_it(db):
    # Friday 6 March 10:00, 8 working hours: unpaused, Friday's 6 h and Monday 09:30-11:30.
    start = at(2026, 3, 6, 10, 0)
    assert calendar.deadline_with_pauses(start, 8, "hours") == at(2026, 3, 9, 11, 30)
    # Paused Friday 16:30 to Tuesday 10:30: 4 h ran (10:00-13:00, 15:30-16:30); the other
    # 4 h run on Tuesday from 10:30 (2.5 h to 13:00, then 15:30-17:00).
    pause = (at(2026, 3, 6, 16, 30), at(2026, 3, 10, 10, 30))
    assert calendar.deadline_with_pauses(start, 8, "hours", [pause]) == at(2026, 3, 10, 17, 0)
    # The same, seen as the unpaused due moved by the 9.5 office hours paused (2 + 6.5 + 1).
    assert calendar.working_time_between(*pause) == dt.timedelta(hours=9.5)
    assert calendar.add_working_hours(at(2026, 3, 9, 11, 30), 9.5) == at(2026, 3, 10, 17, 0)


def test_a_pause_across_the_national_day_holiday(db):
    start = at(2026, 9, 30, 16, 0)  # 4 working hours: unpaused, due 8 October 11:00
    # Paused 30 September 17:00 to 8 October 10:00: 1 h ran, the holiday week costs nothing,
    # and the paused office time is 1.5 h (30 Sep) + 0.5 h (8 Oct): due 2 h later, at 13:00.
    pause = (at(2026, 9, 30, 17, 0), at(2026, 10, 8, 10, 0))
    assert calendar.deadline_with_pauses(start, 4, "hours", [pause]) == at(2026, 10, 8, 13, 0)
    clock_ = calendar.WorkClock(start, 4, "hours", (pause,))
    assert clock_.elapsed(at(2026, 10, 5, 12, 0)) == dt.timedelta(hours=1)
    assert clock_.remaining(at(2026, 10, 8, 12, 0)) == dt.timedelta(hours=1)
    assert not clock_.overdue(at(2026, 10, 8, 12, 59)) and clock_.overdue(at(2026, 10, 8, 13, 1))


def test_a_limit_in_days_moves_by_the_working_days_paused(db):
    start = at(2026, 3, 2, 10, 0)  # Monday; 3 working days: Thursday 18:30
    assert calendar.deadline_with_pauses(start, 3, "days") == at(2026, 3, 5, 18, 30)
    # Paused Tuesday 10:00 to Friday 10:00 (three office days): Friday, Monday and Tuesday follow.
    pause = (at(2026, 3, 3, 10, 0), at(2026, 3, 6, 10, 0))
    assert calendar.deadline_with_pauses(start, 3, "days", [pause]) == at(2026, 3, 10, 18, 30)
    # An hour paused on Monday: the limit runs an hour into Wednesday, and a limit in days
    # runs to the close of the office day it falls in.
    hour = (at(2026, 3, 2, 11, 0), at(2026, 3, 2, 12, 0))
    assert calendar.deadline_with_pauses(start, 1, "days", [hour]) == at(2026, 3, 4, 18, 30)


def test_a_paused_clock_has_no_due_moment_until_it_runs_again(db):
    start = at(2026, 3, 2, 10, 0)
    running = calendar.WorkClock(start, 4, "hours")
    paused = running.pause(at(2026, 3, 2, 11, 0))
    assert paused.paused and paused.due() is None and not paused.overdue(at(2026, 3, 20, 12, 0))
    assert paused.elapsed(at(2026, 3, 20, 12, 0)) == dt.timedelta(hours=1)
    assert paused.remaining(at(2026, 3, 20, 12, 0)) == dt.timedelta(hours=3)
    again = paused.resume(at(2026, 3, 3, 9, 30))  # Tuesday's opening: 3 h more, to 12:30
    assert not again.paused and again.due() == at(2026, 3, 3, 12, 30)
    with pytest.raises(ValueError):
        paused.pause(at(2026, 3, 2, 12, 0))
    with pytest.raises(ValueError):
        running.resume(at(2026, 3, 2, 12, 0))
    with pytest.raises(ValueError):
        paused.resume(at(2026, 3, 2, 10, 30))  # before it stopped
    # A clock paused after its limit ran out stays overdue: the pause came too late.
    late = running.pause(at(2026, 3, 3, 10, 0))
    assert late.due() == at(2026, 3, 2, 16, 30) and late.overdue(at(2026, 3, 3, 11, 0))


def test_a_paused_clock_counts_the_regional_days_of_its_place(db):
    enter_regional("54", dt.date(2026, 3, 10), False, "regional day (test entry)")
    pause = (at(2026, 3, 6, 16, 30), at(2026, 3, 9, 10, 30))  # Friday to Monday
    # 4 h ran on Friday; 4 h more from Monday 10:30: to 13:00 (2.5 h), 15:30-17:00.
    assert calendar.deadline_with_pauses(at(2026, 3, 6, 10, 0), 8, "hours", [pause], place=KANGMA) == \
        at(2026, 3, 9, 17, 0)
    # 8 h from Monday 17:00: 1.5 h on Monday, Tuesday off in Tibet, 6.5 h on Wednesday.
    assert calendar.deadline_with_pauses(at(2026, 3, 9, 17, 0), 8, "hours", place=KANGMA) == at(2026, 3, 11, 18, 30)
    assert calendar.deadline_with_pauses(at(2026, 3, 9, 17, 0), 8, "hours") == at(2026, 3, 10, 18, 30)
