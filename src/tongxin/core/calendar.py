"""The official working-day calendar: holidays and make-up working days (调休).

Source of truth, in order: an administrator's ``CalendarDay`` entries, then the
``chinesecalendar`` package for the years it knows, then plain weekdays for a year
nobody has entered yet — deadlines keep working on 1 January, and
``year_is_known`` lets the pages warn that the year's schedule should be entered.

Working hours (for deadlines counted in hours) follow the plateau's office day.
"""

from __future__ import annotations

import datetime as dt
import functools
from zoneinfo import ZoneInfo

import chinese_calendar
from django.conf import settings

# Office hours on the plateau: morning and afternoon sessions (local time).
WORKING_SESSIONS = ((dt.time(9, 30), dt.time(13, 0)), (dt.time(15, 30), dt.time(18, 30)))
END_OF_DAY = WORKING_SESSIONS[-1][1]


def _tz() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


@functools.lru_cache(maxsize=64)
def _overrides(year: int) -> dict[dt.date, bool]:
    from tongxin.core.models import CalendarDay

    return dict(CalendarDay.objects.filter(date__year=year).values_list("date", "is_working_day"))


def clear_cache() -> None:
    _overrides.cache_clear()


def package_knows(year: int) -> bool:
    try:
        chinese_calendar.is_workday(dt.date(year, 6, 1))
    except NotImplementedError:
        return False
    return True


def year_is_known(year: int) -> bool:
    """Whether the year's official schedule is known (from the package or entered)."""
    return package_knows(year) or bool(_overrides(year))


# Statutory holidays on fixed solar dates (全国年节及纪念日放假办法): kept as holidays in a
# year whose full schedule (lunar holidays, make-up days) is not known yet.
FIXED_HOLIDAYS = {(1, 1), (5, 1), (5, 2), (10, 1), (10, 2), (10, 3)}


def is_working_day(day: dt.date) -> bool:
    entered = _overrides(day.year).get(day)
    if entered is not None:
        return entered
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:
        return day.weekday() < 5 and (day.month, day.day) not in FIXED_HOLIDAYS


def next_working_day(day: dt.date) -> dt.date:
    day += dt.timedelta(days=1)
    while not is_working_day(day):
        day += dt.timedelta(days=1)
    return day


def add_working_days(start: dt.datetime, days: int) -> dt.datetime:
    """The end of office hours on the ``days``-th working day after ``start``'s day."""
    local = start.astimezone(_tz())
    day = local.date()
    for _ in range(max(days, 0)):
        day = next_working_day(day)
    if days <= 0 and not is_working_day(day):
        day = next_working_day(day)
    return dt.datetime.combine(day, END_OF_DAY, tzinfo=_tz())


def add_working_hours(start: dt.datetime, hours: float) -> dt.datetime:
    """``start`` plus ``hours`` of office time, skipping nights, weekends and holidays."""
    remaining = dt.timedelta(hours=hours)
    local = start.astimezone(_tz())
    day, moment = local.date(), local.time()
    while True:
        if is_working_day(day):
            for begin, end in WORKING_SESSIONS:
                if moment >= end:
                    continue
                from_ = max(moment, begin)
                span = dt.datetime.combine(day, end) - dt.datetime.combine(day, from_)
                if remaining <= span:
                    return dt.datetime.combine(day, from_, tzinfo=_tz()) + remaining
                remaining -= span
                moment = end
        day, moment = day + dt.timedelta(days=1), dt.time(0, 0)


def working_time_between(start: dt.datetime, end: dt.datetime) -> dt.timedelta:
    """Office time between two moments (for handling-time statistics)."""
    if end <= start:
        return dt.timedelta(0)
    total = dt.timedelta(0)
    a, b = start.astimezone(_tz()), end.astimezone(_tz())
    day = a.date()
    while day <= b.date():
        if is_working_day(day):
            for begin, finish in WORKING_SESSIONS:
                s = max(dt.datetime.combine(day, begin, tzinfo=_tz()), a)
                e = min(dt.datetime.combine(day, finish, tzinfo=_tz()), b)
                if e > s:
                    total += e - s
        day += dt.timedelta(days=1)
    return total
