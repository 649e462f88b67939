"""The kernel's list export (core.export, core.tables), without any app: typed cells, text
that stays text, rows read once and never held whole, names safe for every browser."""

from __future__ import annotations

import datetime as dt
import io
import tracemalloc
from decimal import Decimal
from urllib.parse import unquote
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from django.utils import translation

from tongxin.core import clock
from tongxin.core.export import audit_name, content_disposition, filename, write
from tongxin.core.tables import Column, Filter, Kind, Listing, Sheet, Table, display

TZ = ZoneInfo("Asia/Shanghai")

THINGS = Table(name="things", title="Things", place=lambda r: r["path"], columns=(
    Column("name", "Name", lambda r: r["name"]),
    Column("count", "Count", lambda r: r["count"], kind=Kind.NUMBER),
    Column("share", "Share", lambda r: r["share"], kind=Kind.SHARE),
    Column("day", "Day", lambda r: r["day"], kind=Kind.DATE),
    Column("at", "At", lambda r: r["at"], kind=Kind.DATETIME),
))


def row(i: int, **changes) -> dict:
    return {"name": f"བཀྲ་ཤིས་ 扎西 {i}", "count": i, "share": 0.25, "day": dt.date(2026, 12, 1),
            "at": dt.datetime(2026, 12, 2, 2, 30, tzinfo=dt.UTC), "path": "/540230/540230100/", **changes}


def read(listing: Listing):
    out = io.BytesIO()
    written = write(listing, out)
    return written, openpyxl.load_workbook(io.BytesIO(out.getvalue()))


def test_cells_are_typed_and_text_stays_text():
    rows = [row(1), row(2, name="=SUM(A1:A9)", count=Decimal("2.5"), share=None, day=None),
            row(3, name="+86 0892", count=3.75, at=dt.datetime(2026, 12, 2, 23, 0))]
    (n, place), book = read(Listing(name="things", title="Things", sheets=[Sheet(THINGS, iter(rows))]))
    assert n == 3 and place == "/540230/540230100/"
    sheet = book.worksheets[0]
    assert [c.value for c in sheet[1]] == ["Name", "Count", "Share", "Day", "At"]
    first = sheet[2]
    assert first[0].value == "བཀྲ་ཤིས་ 扎西 1" and first[0].data_type == "s"
    assert first[1].value == 1 and first[1].data_type == "n"
    assert first[2].value == 0.25 and first[2].number_format == "0.0%"
    assert first[3].is_date and first[3].value == dt.datetime(2026, 12, 1)
    # An aware moment is written in the county's time zone (Asia/Shanghai in the tests).
    assert first[4].is_date and first[4].value == dt.datetime(2026, 12, 2, 10, 30)
    second = sheet[3]
    assert second[0].value == "=SUM(A1:A9)" and second[0].data_type == "s"  # never a formula
    assert second[1].value == 2.5 and second[2].value is None and second[3].value is None
    assert sheet[4][0].value == "+86 0892" and sheet[4][1].value == 3.75
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref == "A1:E4"


def test_rows_are_read_once_and_never_held_whole():
    consumed = []

    def many(n: int):
        for i in range(n):
            consumed.append(i)
            yield row(i)

    tracemalloc.start()
    try:
        out = io.BytesIO()
        (n, _place) = write(Listing(name="things", title="Things", sheets=[Sheet(THINGS, many(10_000))]), out)
        _size, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert n == 10_000 and len(consumed) == 10_000
    # 10,000 rows of five cells: held whole they would take tens of megabytes; written row by
    # row the peak stays at the writer's buffers (the finished file is in ``out``).
    assert peak - len(out.getvalue()) < 4 * 1024 * 1024, peak


def test_the_notes_sheet_names_the_list_and_its_filters_in_the_readers_language():
    listing = Listing(name="things", title="Things", sheets=[Sheet(THINGS, [])], filters=[
        Filter(key="node", raw="540230100", label="Place", shown="康马镇 (540230100)"),
        Filter(key="state", raw="", label="State"),  # no value: not a filter
    ])
    with translation.override("zh-hans"):
        _written, book = read(listing)
    notes = [[c.value for c in r] for r in book.worksheets[-1].iter_rows()]
    assert notes[0] == ["列表", "Things"]
    assert notes[2] == ["Place", "康马镇 (540230100)"]
    assert len(notes) == 3
    assert audit_name(listing) == "things?node=540230100"


def test_sheet_names_are_made_safe_and_unique():
    table = Table(name="t", title="a/b:c*d?[e]", columns=(Column("x", "X", lambda r: r),))
    _written, book = read(Listing(name="t", title="T", sheets=[Sheet(table, [1]), Sheet(table, [2]),
                                                                Sheet(table, [3], title="x" * 40)]))
    assert [s.title for s in book.worksheets][:3] == ["a b c d  e", "a b c d  e (2)", "x" * 31]


def test_file_names_carry_the_list_and_the_day_for_every_browser():
    clock.set_now(dt.datetime(2026, 12, 2, 10, 0, tzinfo=TZ))
    try:
        local, fallback = filename(Listing(name="queue", title="རེ་འདུན་གྱི་ཐོ/1", sheets=[]))
    finally:
        clock.set_now(None)
    assert local == "རེ་འདུན་གྱི་ཐོ 1-2026-12-02.xlsx" and fallback == "queue-2026-12-02.xlsx"
    header = content_disposition(local, fallback)
    assert header.startswith('attachment; filename="queue-2026-12-02.xlsx"; filename*=UTF-8\'\'')
    assert header.isascii() and unquote(header.split("''", 1)[1]) == local


def test_a_long_filter_is_cut_to_what_the_audit_entry_holds():
    listing = Listing(name="households", title="H", sheets=[], filters=[Filter(key="q", raw="扎" * 80, label="q")])
    assert len(audit_name(listing)) == 64 and audit_name(listing).startswith("households?q=")


@pytest.mark.parametrize(("value", "kind", "shown"), [
    (None, Kind.TEXT, "—"), ("", Kind.TEXT, "—"), (0.4567, Kind.SHARE, "45.7%"), (3, Kind.NUMBER, "3"),
    (dt.date(2026, 1, 2), Kind.DATE, "2026-01-02"),
    (dt.datetime(2026, 12, 2, 2, 30, tzinfo=dt.UTC), Kind.DATETIME, "2026-12-02 10:30"),
])
def test_a_page_shows_the_same_value_as_text(value, kind, shown):
    assert display(value, kind) == shown


def test_rows_beyond_what_a_sheet_holds_are_cut_and_the_notes_say_so(monkeypatch):
    from tongxin.core import export

    monkeypatch.setattr(export, "MAX_ROWS", 3)
    with translation.override("en"):
        (n, _place), book = read(Listing(name="things", title="Things",
                                         sheets=[Sheet(THINGS, (row(i) for i in range(5)))]))
    assert n == 3 and book.worksheets[0].max_row == 4
    notes = [[c.value for c in r] for r in book.worksheets[-1].iter_rows()]
    assert notes[-1][0] == "Cut short" and "3" in notes[-1][1]
