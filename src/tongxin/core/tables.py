"""Lists declared once: the columns a list page shows are the columns its export writes.

An app declares a ``Table`` of ``Column``s for each of its lists: a translatable header, how
to read the value of one row, and what kind of value it is (text, number, date, date and
time, share). The page draws its header and cells from the declaration (the ``tables``
template tags) and ``core.export`` writes the same columns to a spreadsheet, so the page
and its export cannot disagree. The kernel knows no app: a column reads its row through the
function the app gives it.

Rule: a column's ``value`` answers a plain value (str, int, float, Decimal, date, datetime,
None) already shaped for the reader — masked where the page masks, in the reader's language
where it is a label. The page's richer cell (a link, a badge) is a template given the row and
that value, never a second computation.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any


class Kind:
    """What a column holds, so a spreadsheet types it (numbers as numbers, dates as dates)."""

    TEXT = "text"
    NUMBER = "number"
    DATE = "date"
    DATETIME = "datetime"
    SHARE = "share"  # a fraction 0..1, shown and written as a percentage


@dataclass(frozen=True)
class Column:
    key: str
    label: Any  # a lazy translation: read in the reader's language when drawn or written
    value: Callable[[Any], Any]
    kind: str = Kind.TEXT
    cell: str = ""  # the page's template for this cell (given ``row`` and ``value``); plain text otherwise
    width: int = 16  # in characters, for the spreadsheet
    explain: Any = ""  # a short explanation of what the column counts, where a header alone is not enough

    @property
    def numeric(self) -> bool:
        return self.kind in (Kind.NUMBER, Kind.SHARE)


@dataclass(frozen=True)
class Table:
    """One list: its name (in file names and the audit entry), its title and its columns."""

    name: str
    title: Any
    columns: tuple[Column, ...]
    # Where a row lies in the network (its node path): the export's audit entry is placed at
    # the deepest node holding every row, like the entry of a page of the list.
    place: Callable[[Any], str] | None = None

    def cells(self, row: Any) -> list[tuple[Column, Any]]:
        return [(c, c.value(row)) for c in self.columns]

    def headers(self) -> list[str]:
        return [str(c.label) for c in self.columns]


@dataclass
class Sheet:
    """A table and the rows to write: any iterable, read once, row by row."""

    table: Table
    rows: Iterable[Any]
    title: Any = None  # the sheet's name; the table's title when not given

    @property
    def name(self) -> str:
        return str(self.title or self.table.title)


@dataclass
class Filter:
    """One filter a list was shown with: its query parameter and value as sent (for the
    audit entry) and as the reader reads them (for the export's notes)."""

    key: str
    raw: str
    label: Any
    shown: Any = None

    @property
    def text(self) -> str:
        return str(self.raw if self.shown in (None, "") else self.shown)


@dataclass
class Listing:
    """What an export writes: its sheets and the filters they were chosen with (only those
    given a value)."""

    name: str
    title: Any
    sheets: list[Sheet]
    filters: list[Filter] = field(default_factory=list)
    # Where the audit entry goes when no table says where its rows lie (a roll-up of a node).
    place: str = ""

    def __post_init__(self) -> None:
        self.filters = [f for f in self.filters if f.raw not in (None, "", False)]


def display(value: Any, kind: str = Kind.TEXT) -> str:
    """A plain value as a page shows it, in the active locale's usual forms."""
    from django.utils import timezone

    if value is None or value == "":
        return "—"
    if kind == Kind.SHARE:
        return f"{round(float(value) * 100, 1)}%"
    if isinstance(value, dt.datetime):
        return (timezone.localtime(value) if timezone.is_aware(value) else value).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)
