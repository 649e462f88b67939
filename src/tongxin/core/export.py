"""Lists out to Excel: one mechanism for every list page (see core.tables).

``xlsx_response`` writes a ``Listing`` (sheets of declared tables, and the filters they were
chosen with) to an .xlsx file and answers it as a download. Rules:

- Headers in the reader's language; numbers as numbers, dates and times as dates in the
  county's time zone, shares as percentages; text always as text (a value starting with "="
  stays text, never a formula).
- Rows are read once from an iterator and written in XlsxWriter's constant-memory mode (each
  row goes to a temporary file as soon as it is written), so a long list is never held whole
  in memory; the workbook is assembled in a temporary file and streamed from it.
- Every export writes one audit entry ("list.export") naming the list, its filters and the
  number of rows, placed at the deepest node holding every row, in its own transaction,
  before anything is sent.
- The file is named after the list and the day, in the reader's language with an ASCII
  fallback (RFC 6266 ``filename*``), which every browser reads.
"""

from __future__ import annotations

import datetime as dt
import re
import tempfile
import unicodedata
from decimal import Decimal
from typing import Any
from urllib.parse import quote, urlencode

import xlsxwriter
from django.db import transaction
from django.http import FileResponse
from django.utils import timezone
from django.utils.translation import gettext

from tongxin.core import audit, clock
from tongxin.core.tables import Column, Kind, Listing

# Excel's own limit, less the header row.
MAX_ROWS = 1_048_575
AUDIT_ACTION = "list.export"
CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _common_path(common: str | None, path: str) -> str:
    if common is None:
        return path
    a, b = common.strip("/").split("/"), path.strip("/").split("/")
    shared = []
    for x, y in zip(a, b):
        if x != y:
            break
        shared.append(x)
    return "/" + "/".join(shared) + "/" if shared and shared[0] else ""


def _sheet_name(name: str, taken: set[str]) -> str:
    # Excel: at most 31 characters, none of []:*?/\ ; unique in the workbook.
    base = re.sub(r"[\[\]:*?/\\]", " ", name).strip()[:31] or "Sheet"
    candidate, n = base, 2
    while candidate.lower() in taken:
        suffix = f" ({n})"
        candidate, n = base[: 31 - len(suffix)] + suffix, n + 1
    taken.add(candidate.lower())
    return candidate


class _Writer:
    def __init__(self, book: xlsxwriter.Workbook):
        self.book = book
        self.header = book.add_format({"bold": True, "text_wrap": True, "valign": "top", "bottom": 1})
        self.formats = {
            Kind.DATE: book.add_format({"num_format": "yyyy-mm-dd"}),
            Kind.DATETIME: book.add_format({"num_format": "yyyy-mm-dd hh:mm"}),
            Kind.SHARE: book.add_format({"num_format": "0.0%"}),
        }

    def cell(self, sheet, row: int, col: int, column: Column, value: Any) -> None:
        if value is None or value == "":
            return
        if isinstance(value, bool):
            sheet.write_boolean(row, col, value)
        elif isinstance(value, dt.datetime):
            if timezone.is_aware(value):
                value = timezone.localtime(value).replace(tzinfo=None)
            sheet.write_datetime(row, col, value, self.formats[Kind.DATETIME])
        elif isinstance(value, dt.date):
            sheet.write_datetime(row, col, dt.datetime.combine(value, dt.time.min), self.formats[Kind.DATE])
        elif isinstance(value, (int, float, Decimal)):
            sheet.write_number(row, col, value if isinstance(value, int) else float(value),
                               self.formats[Kind.SHARE] if column.kind == Kind.SHARE else None)
        else:
            sheet.write_string(row, col, str(value))


def write(listing: Listing, out) -> tuple[int, str | None]:
    """Write ``listing`` to the binary file ``out``; answers (rows written, common node path)."""
    book = xlsxwriter.Workbook(out, {"constant_memory": True, "tmpdir": tempfile.gettempdir(),
                                     "strings_to_formulas": False, "strings_to_urls": False})
    book.set_properties({"title": str(listing.title), "comments": gettext("Exported from Tongxin")})
    writer = _Writer(book)
    taken: set[str] = set()
    total, place, cut = 0, None, False
    for part in listing.sheets:
        table = part.table
        sheet = book.add_worksheet(_sheet_name(part.name, taken))
        for col, column in enumerate(table.columns):
            sheet.set_column(col, col, max(column.width, 6))
        for col, column in enumerate(table.columns):
            sheet.write_string(0, col, str(column.label), writer.header)
        sheet.freeze_panes(1, 0)
        n = 0
        for row in part.rows:
            if n >= MAX_ROWS:
                cut = True
                break
            n += 1
            for col, (column, value) in enumerate(table.cells(row)):
                writer.cell(sheet, n, col, column, value)
            if table.place is not None:
                place = _common_path(place, table.place(row))
        if table.columns:
            sheet.autofilter(0, 0, max(n, 1), len(table.columns) - 1)
        total += n
    notes = book.add_worksheet(_sheet_name(gettext("About this list"), taken))
    notes.set_column(0, 0, 24)
    notes.set_column(1, 1, 60)
    lines = [(gettext("List"), str(listing.title)),
             (gettext("Made at"), timezone.localtime(clock.now()).strftime("%Y-%m-%d %H:%M")),
             *((str(f.label), f.text) for f in listing.filters)]
    if cut:
        lines.append((gettext("Cut short"), gettext("A sheet holds at most %(n)s rows: narrow the filter to see "
                                                    "the rest.") % {"n": MAX_ROWS}))
    for i, (label, value) in enumerate(lines):
        notes.write_string(i, 0, label, writer.header)
        notes.write_string(i, 1, value)
    book.close()
    return total, place


def _ascii(text: str) -> str:
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-")


def filename(listing: Listing, extension: str = "xlsx") -> tuple[str, str]:
    """(the name in the reader's language, its ASCII fallback): list and day."""
    day = clock.today().isoformat()
    local = re.sub(r'[\\/:*?"<>|\x00-\x1f]+', " ", str(listing.title)).strip()
    return f"{local}-{day}.{extension}", f"{_ascii(listing.name) or 'list'}-{day}.{extension}"


def content_disposition(local: str, fallback: str) -> str:
    """``attachment`` with an ASCII ``filename`` and the real one as ``filename*`` (RFC 6266, RFC 5987)."""
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(local, safe='')}"


def audit_name(listing: Listing) -> str:
    """The list and its filters as the audit entry names them: ``queue?node=540230&state=reported``."""
    query = urlencode([(f.key, str(f.raw)) for f in listing.filters])
    return (f"{listing.name}?{query}" if query else listing.name)[:64]


def xlsx_response(*, actor, listing: Listing) -> FileResponse:
    """The listing as an .xlsx download; one audit entry names the list, its filters and rows."""
    out = tempfile.TemporaryFile()
    try:
        rows, place = write(listing, out)
    except BaseException:
        out.close()
        raise
    size = out.tell()
    out.seek(0)
    filters = {f.key: str(f.raw) for f in listing.filters}
    with transaction.atomic():
        # The entry keeps digests, not values: the list and its filters are named in the
        # object id (as far as it holds), and the whole is in the digest of ``after``.
        audit.record(action=AUDIT_ACTION, actor=actor, object_type="list", object_id=audit_name(listing),
                     node_path=place or listing.place, after={"list": listing.name, "rows": rows, **filters})
    response = FileResponse(out, content_type=CONTENT_TYPE)
    local, fallback = filename(listing)
    response["Content-Disposition"] = content_disposition(local, fallback)
    response["Content-Length"] = str(size)
    response["Cache-Control"] = "no-store"
    return response

