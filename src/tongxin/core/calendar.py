"""The official working-day calendar and the working-time arithmetic every app counts with:
a deadline from a start and a limit, office time between two moments, and a clock that
can be paused (``WorkClock``).

Whether a day is worked at a place, in order:

1. the place's regional entries (an administrator's ``CalendarDay`` with a region: a node
   code prefix such as "54" for Tibet, where Losar and the Shoton festival are days off),
   the most specific region first, for places whose code starts with the region;
2. the national entries (``CalendarDay`` with a blank region);
3. the ``chinesecalendar`` package, for the years it knows;
4. plain weekdays less the fixed statutory holidays, for a year nobody has entered yet —
   deadlines keep working on 1 January, and ``year_is_known`` lets the pages warn that the
   year's schedule should be entered.

The entries are kept on the reference cache (core/refcache.py), so a change made in one
process reaches every other within its period: the saves and deletes of ``CalendarDay``
move it to a new generation, and writers that send no signal call ``entries_changed``.
A ``Calendar`` reads each year once for its own life, so make one per computation.

Working hours (for limits counted in hours) follow the plateau's office day.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import chinese_calendar
from django.conf import settings

from tongxin.core.refcache import ReferenceCache

# Office hours on the plateau: morning and afternoon sessions (local time).
WORKING_SESSIONS = ((dt.time(9, 30), dt.time(13, 0)), (dt.time(15, 30), dt.time(18, 30)))
END_OF_DAY = WORKING_SESSIONS[-1][1]
# Units of a time limit (dispatch's ``TimeUnit`` values are these strings).
HOURS, DAYS = "hours", "days"

# A year's entries: region ("" for the nation) -> date -> worked.
Entries = Mapping[str, Mapping[dt.date, bool]]
# A pause of a clock: when it stopped, and when it ran again (None: it is stopped now).
Pause = tuple[dt.datetime, dt.datetime | None]

# Read inside transactions too: no service reads the calendar back in the transaction that
# enters it, and the entry moves the generation at once, so that transaction reads afresh.
calendar_cache = ReferenceCache("calendar", models=("core.CalendarDay",), serve_in_transactions=True)


def _tz() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def _load(year: int) -> dict[str, dict[dt.date, bool]]:
    from tongxin.core.models import CalendarDay

    entries: dict[str, dict[dt.date, bool]] = {}
    rows = CalendarDay.objects.filter(date__year=year).values_list("region", "date", "is_working_day")
    for region, day, working in rows:
        entries.setdefault(region, {})[day] = working
    return entries


def entries_for(year: int) -> Entries:
    """The year's entries, national and regional, as the reference cache holds them."""
    return calendar_cache.get(("year", year), lambda: _load(year))


def entries_changed(using: str | None = None) -> None:
    """``CalendarDay`` rows were written without signals (``bulk_create``, ``QuerySet.update``,
    SQL): every process forgets the entries it holds (this one at once and on commit)."""
    calendar_cache.changed(using)


def clear_cache() -> None:
    """Forget the entries held (tests)."""
    calendar_cache.clear()


def place_code(place: str | None) -> str:
    """A node's code from its code or its path ("/540230/540230100/" -> "540230100")."""
    parts = [p for p in str(place or "").split("/") if p]
    return parts[-1] if parts else ""


def package_knows(year: int) -> bool:
    try:
        chinese_calendar.is_workday(dt.date(year, 6, 1))
    except NotImplementedError:
        return False
    return True


def year_is_known(year: int) -> bool:
    """Whether the year's official national schedule is known (from the package or entered)."""
    return package_knows(year) or bool(entries_for(year).get(""))


# Statutory holidays on fixed solar dates (全国年节及纪念日放假办法): kept as holidays in a
# year whose full schedule (lunar holidays, make-up days) is not known yet.
FIXED_HOLIDAYS = {(1, 1), (5, 1), (5, 2), (10, 1), (10, 2), (10, 3)}


def _national_default(day: dt.date) -> bool:
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:
        return day.weekday() < 5 and (day.month, day.day) not in FIXED_HOLIDAYS


class Calendar:
    """The working days of one place (a node's code or path; None: the national calendar).
    Each year's entries are read once for the life of the object. ``entries`` replaces the
    reader (a data migration passes one over its historical model)."""

    def __init__(self, place: str | None = None, *, entries: Callable[[int], Entries] | None = None):
        self.code = place_code(place)
        self._read = entries or entries_for
        self._years: dict[int, list[Mapping[dt.date, bool]]] = {}

    def _layers(self, year: int) -> list[Mapping[dt.date, bool]]:
        """The entries that apply here, most specific first: the place's regions, then the nation."""
        layers = self._years.get(year)
        if layers is None:
            entries = self._read(year)
            regions = sorted((r for r in entries if r and self.code.startswith(r)), key=len, reverse=True)
            layers = [entries[r] for r in regions] + ([entries[""]] if "" in entries else [])
            self._years[year] = layers
        return layers

    def is_working_day(self, day: dt.date) -> bool:
        for layer in self._layers(day.year):
            entered = layer.get(day)
            if entered is not None:
                return entered
        return _national_default(day)

    def next_working_day(self, day: dt.date) -> dt.date:
        day += dt.timedelta(days=1)
        while not self.is_working_day(day):
            day += dt.timedelta(days=1)
        return day

    def add_working_days(self, start: dt.datetime, days: int) -> dt.datetime:
        """The end of office hours on the ``days``-th working day after ``start``'s day."""
        day = start.astimezone(_tz()).date()
        for _ in range(max(days, 0)):
            day = self.next_working_day(day)
        if days <= 0 and not self.is_working_day(day):
            day = self.next_working_day(day)
        return dt.datetime.combine(day, END_OF_DAY, tzinfo=_tz())

    def add_working_time(self, start: dt.datetime, amount: dt.timedelta) -> dt.datetime:
        """``start`` plus ``amount`` of office time, skipping nights, weekends and holidays
        (no time at all: the first office moment from ``start`` on)."""
        remaining = max(amount, dt.timedelta(0))
        local = start.astimezone(_tz())
        day, moment = local.date(), local.time()
        while True:
            if self.is_working_day(day):
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

    def add_working_hours(self, start: dt.datetime, hours: float) -> dt.datetime:
        return self.add_working_time(start, dt.timedelta(hours=hours))

    def working_time_between(self, start: dt.datetime, end: dt.datetime) -> dt.timedelta:
        """Office time between two moments (for handling-time statistics and paused clocks)."""
        if end <= start:
            return dt.timedelta(0)
        total = dt.timedelta(0)
        a, b = start.astimezone(_tz()), end.astimezone(_tz())
        day = a.date()
        while day <= b.date():
            if self.is_working_day(day):
                for begin, finish in WORKING_SESSIONS:
                    s = max(dt.datetime.combine(day, begin, tzinfo=_tz()), a)
                    e = min(dt.datetime.combine(day, finish, tzinfo=_tz()), b)
                    if e > s:
                        total += e - s
            day += dt.timedelta(days=1)
        return total

    def deadline(self, start: dt.datetime, amount: float, unit: str) -> dt.datetime:
        """When a limit of ``amount`` working hours or days from ``start`` runs out."""
        if unit == HOURS:
            return self.add_working_hours(start, amount)
        if unit == DAYS:
            return self.add_working_days(start, int(amount))
        raise ValueError(f"unknown unit of time: {unit!r}")

    def end_of_office_day(self, moment: dt.datetime) -> dt.datetime:
        """The close of office on ``moment``'s day, or on the next working day after it."""
        local = moment.astimezone(_tz())
        day = local.date()
        if not self.is_working_day(day) or local.time() > END_OF_DAY:
            day = self.next_working_day(day)
        return dt.datetime.combine(day, END_OF_DAY, tzinfo=_tz())


# The same for one computation at a place (``place``: a node's code or path; None: national).


def is_working_day(day: dt.date, place: str | None = None) -> bool:
    return Calendar(place).is_working_day(day)


def next_working_day(day: dt.date, place: str | None = None) -> dt.date:
    return Calendar(place).next_working_day(day)


def add_working_days(start: dt.datetime, days: int, place: str | None = None) -> dt.datetime:
    return Calendar(place).add_working_days(start, days)


def add_working_hours(start: dt.datetime, hours: float, place: str | None = None) -> dt.datetime:
    return Calendar(place).add_working_hours(start, hours)


def working_time_between(start: dt.datetime, end: dt.datetime, place: str | None = None) -> dt.timedelta:
    return Calendar(place).working_time_between(start, end)


def working_hours_between(start: dt.datetime, end: dt.datetime, place: str | None = None) -> float:
    """Office hours between two moments, as a number (rounded to the 1/10000 hour)."""
    return round(working_time_between(start, end, place).total_seconds() / 3600, 4)


def deadline(start: dt.datetime, amount: float, unit: str, place: str | None = None) -> dt.datetime:
    """When a limit of ``amount`` working ``unit`` ("hours" or "days") from ``start`` runs out."""
    return Calendar(place).deadline(start, amount, unit)


# --- a clock that can be paused --------------------------------------------------------


@dataclass(frozen=True)
class WorkClock:
    """A time limit that runs in office time and stops while paused: an application waiting
    for the applicant to complete its file (补正), a request waiting for an inspection.

    The limit is an amount of office time: ``amount`` hours, or, in days, the office time
    from ``start`` to the close of the ``amount``-th working day. Paused office time does
    not count, so the due moment moves on by the office time spent paused; a limit in days
    then runs to the close of the office day it falls in, as an unpaused one does. While
    paused, nothing is due (``due()`` is None) unless the limit had run out before the pause.
    """

    start: dt.datetime
    amount: float
    unit: str = HOURS
    pauses: tuple[Pause, ...] = ()
    place: str | None = None

    def __post_init__(self):
        if self.unit not in (HOURS, DAYS):
            raise ValueError(f"unknown unit of time: {self.unit!r}")

    @property
    def paused(self) -> bool:
        return bool(self.pauses) and self.pauses[-1][1] is None

    def pause(self, at: dt.datetime) -> WorkClock:
        if self.paused:
            raise ValueError("the clock is paused already")
        last_end = self.pauses[-1][1] if self.pauses else None
        if last_end is not None and at < last_end:
            raise ValueError("a pause cannot begin before the last one ended")
        return WorkClock(self.start, self.amount, self.unit, (*self.pauses, (at, None)), self.place)

    def resume(self, at: dt.datetime) -> WorkClock:
        if not self.paused:
            raise ValueError("the clock is running")
        stopped = self.pauses[-1][0]
        if at < stopped:
            raise ValueError("a clock cannot run again before it was paused")
        return WorkClock(self.start, self.amount, self.unit, (*self.pauses[:-1], (stopped, at)), self.place)

    def _limit(self, calendar: Calendar) -> dt.timedelta:
        if self.unit == HOURS:
            return dt.timedelta(hours=self.amount)
        return calendar.working_time_between(self.start, calendar.add_working_days(self.start, int(self.amount)))

    def elapsed(self, at: dt.datetime) -> dt.timedelta:
        """Office time the clock has run from its start until ``at``, pauses left out."""
        calendar = Calendar(self.place)
        total = calendar.working_time_between(self.start, at)
        for stopped, resumed in self.pauses:
            until = at if resumed is None else min(resumed, at)
            total -= calendar.working_time_between(max(stopped, self.start), until)
        return max(total, dt.timedelta(0))

    def remaining(self, at: dt.datetime) -> dt.timedelta:
        """Office time left at ``at`` (zero once the limit has run out)."""
        return max(self._limit(Calendar(self.place)) - self.elapsed(at), dt.timedelta(0))

    def due(self) -> dt.datetime | None:
        calendar = Calendar(self.place)
        if not self.pauses:
            return calendar.deadline(self.start, self.amount, self.unit)
        left, cursor = self._limit(calendar), self.start
        for stopped, resumed in sorted(self.pauses, key=lambda p: p[0]):
            ran = calendar.working_time_between(cursor, stopped)
            if ran >= left:
                break  # the limit ran out before this pause began
            left -= ran
            if resumed is None:
                return None
            cursor = max(cursor, resumed)
        due = calendar.add_working_time(cursor, left)
        return calendar.end_of_office_day(due) if self.unit == DAYS else due

    def overdue(self, at: dt.datetime) -> bool:
        due = self.due()
        return due is not None and at > due


def deadline_with_pauses(start: dt.datetime, amount: float, unit: str, pauses: Sequence[Pause] = (),
                         place: str | None = None) -> dt.datetime | None:
    """The due moment of a limit whose clock stopped during ``pauses`` ((paused, resumed or
    None) pairs); None while it is stopped with time left. See ``WorkClock``."""
    return WorkClock(start, amount, unit, tuple(pauses), place).due()
