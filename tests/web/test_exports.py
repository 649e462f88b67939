"""Lists out to Excel: every list page's export, opened with openpyxl and read cell by cell.

Each export writes the columns its page draws (one declaration, core.tables), with headers in
the reader's language, numbers as numbers and dates as dates, Tibetan and Chinese intact, the
filters of the page applied, ID numbers masked as the page masks them, and one audit entry
naming the list and its filters. The statistics' words agree with each other."""

from __future__ import annotations

import datetime as dt
import io
import re
from urllib.parse import unquote

import openpyxl
import pytest
from django.urls import reverse
from django.utils import translation
from django.utils.html import escape

from tests.web.test_dispatch_pages import NOW, file_request
from tongxin.core import clock
from tongxin.core.export import AUDIT_ACTION
from tongxin.core.models import AuditEntry
from tongxin.dispatch import services, tables
from tongxin.dispatch.models import Category, State
from tongxin.people.tables import STAFF
from tongxin.registry.tables import HOUSEHOLDS, MEMBERS

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("dispatch_now")]

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def headers(table, language: str) -> list[str]:
    with translation.override(language):
        return table.headers()


def words(language: str, text) -> str:
    """A msgid or a lazy label as the reader of ``language`` reads it."""
    with translation.override(language):
        return translation.gettext(text) if isinstance(text, str) else str(text)


def workbook(response):
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"] == XLSX
    return openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)))


def rows(sheet) -> list[list]:
    return [list(r) for r in sheet.iter_rows(values_only=True)]


def exports(action_filter: str = "") -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action=AUDIT_ACTION, object_id__startswith=action_filter).order_by("id"))


def a_queue(net):
    with clock.frozen_at(NOW - dt.timedelta(days=5)):
        late = file_request(net, household=net.households.h2, description="暖气不热。")
    fresh = file_request(net, category="roads", description="村道塌方。")
    return late, fresh


# --- the queue -----------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["zh-hans", "bo"])
def test_queue_export_is_the_page_in_the_readers_language(client_as, dnet, language):
    late, fresh = a_queue(dnet)
    client = client_as(dnet.users.dispatch_officer, language)
    page = client.get(reverse("dispatch:queue"))
    html = page.content.decode()
    # The page draws the same declared headers, and links its export with its filters.
    for header in headers(tables.QUEUE, language):
        assert f">{header}</th>" in html
    assert 'href="/dispatch/export.xlsx"' in html

    response = client.get(reverse("dispatch:queue_export"))
    book = workbook(response)
    sheet = book.worksheets[0]
    assert sheet.title == words(language, tables.QUEUE.title)
    table = rows(sheet)
    assert table[0] == headers(tables.QUEUE, language)
    assert [r[0] for r in table[1:]] == [late.number, fresh.number]  # the earliest deadline first, as on the page
    late_row = table[1]
    # Tibetan and Chinese intact: the place of A-0002 and the category, in the reader's language.
    unit = {"zh-hans": "一号联户单元", "bo": "མཉམ་སྡོད་ཚན་ཁག་དང་པོ།"}[language]
    # named below the dispatcher's own level, as on the page: township › village › grid › unit
    assert late_row[2].endswith(unit) and late_row[2].count(" › ") == 3
    with translation.override(language):
        assert late_row[1] == Category.objects.get(code="water").name
        assert late_row[4] == str(State.REPORTED.label)
    # The deadline is a date and time in the county's time zone, typed as such.
    due = sheet.cell(row=2, column=6)
    assert due.is_date and due.number_format == "yyyy-mm-dd hh:mm"
    late.refresh_from_db()
    assert due.value == late.accept_due.astimezone(NOW.tzinfo).replace(tzinfo=None, microsecond=0)
    # The notes sheet names the list and when it was made.
    notes = rows(book.worksheets[-1])
    assert notes[0][1] == words(language, tables.QUEUE.title) and notes[1][1] == "2025-06-04 10:00"


def test_queue_export_applies_the_filters_and_is_audited(client_as, dnet):
    late, fresh = a_queue(dnet)
    client = client_as(dnet.users.dispatch_officer)
    page = client.get(reverse("dispatch:queue"), {"category": "roads", "page": "1"})
    assert 'href="/dispatch/export.xlsx?category=roads"' in page.content.decode()  # the page's filter, not its page
    before = AuditEntry.objects.count()
    response = client.get(reverse("dispatch:queue_export"), {"category": "roads"})
    table = rows(workbook(response).worksheets[0])
    assert [r[0] for r in table[1:]] == [fresh.number]
    # One audit entry names the list and its filter, placed where the rows lie.
    assert AuditEntry.objects.count() == before + 1
    entry = exports()[-1]
    assert entry.object_type == "list" and entry.object_id == "queue?category=roads"
    assert entry.actor_id == dnet.users.dispatch_officer.pk
    assert entry.node_path == fresh.node_path
    # The notes sheet says which filter was applied, in the reader's words.
    notes = dict((r[0], r[1]) for r in rows(workbook(client.get(reverse("dispatch:queue_export"),
                                                                 {"category": "roads"})).worksheets[-1]))
    assert notes[words("zh-hans", "Category")] == Category.objects.get(code="roads").name
    # The overdue filter: only the late request.
    table = rows(workbook(client.get(reverse("dispatch:queue_export"), {"overdue": "on"})).worksheets[0])
    assert [r[0] for r in table[1:]] == [late.number]


def test_the_file_is_named_after_the_list_and_the_day_for_every_browser(client_as, dnet):
    response = client_as(dnet.users.dispatch_officer).get(reverse("dispatch:queue_export"))
    disposition = response["Content-Disposition"]
    assert disposition.startswith('attachment; filename="queue-2025-06-04.xlsx"; ')
    encoded = re.search(r"filename\*=UTF-8''(\S+)$", disposition).group(1)
    assert unquote(encoded) == words("zh-hans", tables.QUEUE.title) + "-2025-06-04.xlsx"
    assert response["Cache-Control"] == "no-store"


def test_queue_export_outside_scope_is_404_and_writes_nothing(client_as, dnet):
    a_queue(dnet)
    worker = client_as(dnet.users.grid_worker)
    before = AuditEntry.objects.count()
    assert worker.get(reverse("dispatch:queue_export"), {"node": dnet.nodes.grid_b.code}).status_code == 404
    assert AuditEntry.objects.count() == before
    # A grid worker's own queue: only what lies in their grid.
    table = rows(workbook(worker.get(reverse("dispatch:queue_export"))).worksheets[0])
    assert len(table) == 3
    file_request(dnet, household=dnet.households.h4, by=dnet.users.grid_worker_b)
    assert len(rows(workbook(worker.get(reverse("dispatch:queue_export"))).worksheets[0])) == 3


# --- the inbox -----------------------------------------------------------------------------


def test_inbox_export_lists_the_departments_calls(client_as, dnet):
    req = file_request(dnet, household=dnet.households.h2, description="ཆུ་མི་འབབ། 水管冻裂。")
    services.request_escalate(actor=dnet.users.dispatch_officer, request=req, reason="需要水利局",
                              departments=[dnet.departments["water"]])
    file_request(dnet, category="roads")  # not escalated: not in the inbox
    client = client_as(dnet.users.water_officer, "bo")
    html = client.get(reverse("dispatch:inbox")).content.decode()
    assert 'href="/dispatch/inbox/export.xlsx"' in html
    table = rows(workbook(client.get(reverse("dispatch:inbox_export"))).worksheets[0])
    assert table[0] == headers(tables.INBOX, "bo")
    assert [r[0] for r in table[1:]] == [req.number]
    assert "རྫོང་ཆུ་བཀོད་ཅུས།" in table[1][4]  # the water bureau, in Tibetan
    assert exports("inbox")[-1].actor_id == dnet.users.water_officer.pk


# --- households: the list, and its members masked as the reader is shown them ------------------


@pytest.mark.parametrize("language", ["zh-hans", "bo"])
def test_household_export_masks_id_numbers_for_a_grid_worker(client_as, dnet, language):
    client = client_as(dnet.users.grid_worker, language)
    assert 'href="/households/export.xlsx"' in client.get(reverse("registry:household_list")).content.decode()
    book = workbook(client.get(reverse("registry:household_export")))
    households, members = rows(book.worksheets[0]), rows(book.worksheets[1])
    assert households[0] == headers(HOUSEHOLDS, language)
    assert [r[0] for r in households[1:]] == ["A-0001", "A-0002"]  # grid 1 only
    assert households[2][1] == "བཀྲ་ཤིས་དོན་གྲུབ།" and households[2][2] == "ཤར་གྲོང་ཚོ། ཨང་ 2"  # Tibetan intact
    assert households[1][1] == "扎西顿珠"
    assert members[0] == headers(MEMBERS, language)
    assert len(members) == 5
    for row in members[1:]:
        assert re.fullmatch(r"\*{16}[0-9X]{2}", row[5]), row  # masked: the last two characters only
        assert isinstance(row[4], int)  # the year of birth, a number, never the date
    by_name = {r[1]: r for r in members[1:]}
    assert by_name["སྒྲོལ་མ།"][4] == 1990
    # The export is audited as one entry, naming the list.
    assert exports("households")[-1].object_id == "households"


def test_household_export_shows_whole_numbers_to_roles_that_see_them_and_applies_the_search(client_as, dnet):
    staff = client_as(dnet.users.village_staff)
    book = workbook(staff.get(reverse("registry:household_export"), {"q": "A-0002"}))
    households, members = rows(book.worksheets[0]), rows(book.worksheets[1])
    assert [r[0] for r in households[1:]] == ["A-0002"]
    resident = dnet.residents.h2[1]
    row = next(r for r in members[1:] if r[1] == resident.name)
    assert row[5] == resident.id_number  # village staff hold resident.view_id
    born = book.worksheets[1].cell(row=members.index(row) + 1, column=5)
    assert born.is_date and born.value == dt.datetime(1990, 11, 2)
    assert exports()[-1].object_id == "households?q=A-0002"


def test_household_export_writes_text_as_text_never_a_formula(client_as, dnet):
    from tongxin.registry import services as registry_services

    registry_services.household_update(actor=dnet.users.grid_worker, household=dnet.households.h1,
                                       address="=HYPERLINK(\"http://x\")")
    book = workbook(client_as(dnet.users.grid_worker).get(reverse("registry:household_export")))
    cell = book.worksheets[0].cell(row=2, column=3)
    assert cell.value == "=HYPERLINK(\"http://x\")" and cell.data_type == "s"


# --- staff ---------------------------------------------------------------------------------


def test_staff_export(client_as, dnet):
    client = client_as(dnet.users.village_staff, "bo")
    html = client.get(reverse("people:staff")).content.decode()
    assert 'href="/staff/export.xlsx"' in html
    table = rows(workbook(client.get(reverse("people:staff_export"), {"node": dnet.nodes.grid1.code})).worksheets[0])
    assert table[0] == headers(STAFF, "bo")
    assert ["次仁 ཚེ་རིང་།", "དྲ་མིག་དང་པོ།"] == [table[1][0], table[1][2]]
    assert all(r[3].startswith(dnet.nodes.grid1.code) for r in table[1:])
    assert exports("staff")[-1].object_id == f"staff?node={dnet.nodes.grid1.code}"
    assert client.get(reverse("people:staff_export"), {"node": dnet.nodes.grid_b.code}).status_code == 404


# --- visits --------------------------------------------------------------------------------


def test_visits_export(client_as, dnet):
    from tongxin.dispatch.services import visits as visit_services

    worker = dnet.users.grid_worker
    visit_round = visit_services.visit_round_plan(actor=dnet.users.village_staff, grid=dnet.nodes.grid1,
                                                  title="十二月敲门", starts_on=dt.date(2025, 6, 1),
                                                  ends_on=dt.date(2025, 6, 30))
    visit_services.visit_record(actor=worker, household=dnet.households.h2, visited_on=dt.date(2025, 6, 3),
                                findings="ཆུ་མི་འབབ། 需要修水管", follow_up=True, visit_round=visit_round)
    visit_services.visit_record(actor=worker, household=dnet.households.h1, visited_on=dt.date(2025, 6, 2))
    client = client_as(worker, "bo")
    book = workbook(client.get(reverse("dispatch:visits_export"), {"round": str(visit_round.pk)}))
    table = rows(book.worksheets[0])
    assert table[0] == headers(tables.VISITS, "bo")
    assert len(table) == 2
    assert table[1][0] == dt.datetime(2025, 6, 3) and book.worksheets[0].cell(row=2, column=1).is_date
    assert table[1][1] == "A-0002" and table[1][5] == "ཆུ་མི་འབབ། 需要修水管"
    assert exports("visits")[-1].object_id == f"visits?round={visit_round.pk}"
    # Another grid's worker: the round is not theirs.
    other = client_as(dnet.users.grid_worker_b)
    assert other.get(reverse("dispatch:visits_export"), {"round": str(visit_round.pk)}).status_code == 404
    assert len(rows(workbook(client.get(reverse("dispatch:visits_export"))).worksheets[0])) == 3


# --- statistics: the words agree, the export has them ------------------------------------------


def a_year_of_requests(net):
    # Filed by the village's staff for a resident: the grid handles it, its reporter rates it
    # (whoever handled a request never rates it).
    closed = file_request(net, by=net.users.village_staff)
    waiting = file_request(net, description="水龙头漏水。")
    for req in (closed, waiting):
        services.request_accept(actor=net.users.grid_worker, request=req)
        services.request_resolve(actor=net.users.grid_worker, request=req, resolution="修好了")
    services.request_rate(actor=net.users.village_staff, request=closed, rating=5, comment="")
    file_request(net, category="care")  # open
    return closed, waiting


def test_stats_headline_and_tables_say_the_same(client_as, dnet):
    a_year_of_requests(dnet)
    response = client_as(dnet.users.dispatch_officer).get(reverse("dispatch:stats"), {"node": "540230"})
    figures = response.context["figures"]
    assert figures["resolved"] == 2 and figures["waiting_rating"] == 1 and figures["closed"] == 1
    assert figures["resolved"] == figures["waiting_rating"] + figures["closed"]
    assert figures["by_state"][State.RESOLVED] == figures["waiting_rating"]
    html = response.content.decode()
    # Every headline figure carries its explanation, and the state table names the state
    # "resolved" by the headline's words for it.
    with translation.override("zh-hans"):
        for f in tables.FIGURES:
            assert escape(str(f.explain)) in html
        waiting = str(tables.STATE_WORDS[State.RESOLVED][0])
        assert waiting == next(str(f.label) for f in tables.FIGURES if f.key == "waiting_rating")
    assert html.count(f"<dt>{waiting}</dt>") == 1
    assert re.search(rf'<tr data-state="resolved"><td data-label="[^"]+">{re.escape(waiting)}</td>', html)


@pytest.mark.parametrize("language", ["zh-hans", "bo"])
def test_stats_export_has_every_table_with_numbers_as_numbers(client_as, dnet, language):
    a_year_of_requests(dnet)
    client = client_as(dnet.users.dispatch_officer, language)
    html = client.get(reverse("dispatch:stats"), {"node": "540230", "from": "2025-01-01"}).content.decode()
    assert 'href="/dispatch/stats/export.xlsx?node=540230&amp;from=2025-01-01"' in html
    book = workbook(client.get(reverse("dispatch:stats_export"), {"node": "540230", "from": "2025-01-01"}))
    names = [s.title for s in book.worksheets]
    with translation.override(language):
        assert names[:5] == [str(t.title) for t in (tables.FIGURES_TABLE, tables.RATES_TABLE, tables.STATES_TABLE,
                                                    tables.CATEGORIES_TABLE, tables.CHILDREN_TABLE)]
    figures = {r[0]: r[1] for r in rows(book.worksheets[0])[1:]}
    with translation.override(language):
        label = {f.key: str(f.label) for f in (*tables.FIGURES, *tables.RATES)}
    assert figures[label["total"]] == 3 and isinstance(figures[label["total"]], int)
    assert figures[label["resolved"]] == 2 and figures[label["waiting_rating"]] == 1 and figures[label["closed"]] == 1
    rates = book.worksheets[1]
    completion = next(r for r in rates.iter_rows(min_row=2) if r[0].value == label["completion_rate"])
    assert completion[1].value == pytest.approx(2 / 3, abs=1e-4) and completion[1].number_format == "0.0%"
    children = rows(book.worksheets[4])
    town = {"zh-hans": "康马镇", "bo": "ཁང་དམར་གྲོང་རྡལ།"}[language]
    assert children[1][0] == town and children[1][3] == 3
    notes = rows(book.worksheets[-1])
    assert any("540230" in str(r[1]) for r in notes) and any("2025-01-01" in str(r[1]) for r in notes)
    entry = exports("stats")[-1]
    assert entry.object_id == "stats?node=540230&period=2025-01-01..2025-06-04"
    assert entry.node_path == dnet.nodes.county.path


def test_stats_export_of_a_bad_period_is_422_and_writes_nothing(client_as, dnet):
    client = client_as(dnet.users.dispatch_officer)
    before = AuditEntry.objects.count()
    response = client.get(reverse("dispatch:stats_export"), {"node": "540230", "from": "2025-06-30",
                                                             "to": "2025-01-01"})
    assert response.status_code == 422
    assert AuditEntry.objects.count() == before
    assert client_as(dnet.users.village_staff).get(reverse("dispatch:stats_export"),
                                                   {"node": "540230"}).status_code == 404


# --- the print view --------------------------------------------------------------------------


def test_lists_and_a_request_offer_print(client_as, dnet):
    req = file_request(dnet)
    client = client_as(dnet.users.dispatch_officer)
    for url in (reverse("dispatch:queue"), reverse("dispatch:stats"), reverse("dispatch:request", args=[req.pk])):
        html = client.get(url).content.decode()
        assert "data-print" in html and "tongxin/print.js" in html
    css = open(__import__("tongxin").__path__[0] + "/static/tongxin/site.css", encoding="utf-8").read()
    printed = css[css.index("@media print"):]
    assert "size: A4" in printed and '"Noto Serif Tibetan"' in printed and '"Noto Sans CJK SC"' in printed


def test_exports_cost_the_same_queries_for_few_rows_as_for_many(client_as, dnet):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def count(client, url: str) -> int:
        with CaptureQueriesContext(connection) as queries:
            workbook(client.get(url))
        return len(queries)

    officer = client_as(dnet.users.dispatch_officer)
    worker = client_as(dnet.users.grid_worker)
    a_queue(dnet)
    count(officer, reverse("dispatch:queue_export")), count(worker, reverse("registry:household_export"))  # roles read
    few = count(officer, reverse("dispatch:queue_export")), count(worker, reverse("registry:household_export"))
    for n in range(6):
        req = file_request(dnet, household=dnet.households.h1, description=f"第 {n} 件")
        services.request_escalate(actor=dnet.users.dispatch_officer, request=req, reason="需要水利局",
                                  departments=[dnet.departments["water"]])
    from tests.factories import Factory, id_number

    make = Factory(start=9100)
    for n in range(5):
        h = make.household(dnet.nodes.unit1, actor=dnet.users.grid_worker, number=f"A-01{n:02d}", head_name="次仁",
                           address="东村", phone="", preferred_language="bo")
        make.resident(h, actor=dnet.users.grid_worker, name="次仁", sex="M", birth=dt.date(1980, 1, 1),
                      number=id_number(dt.date(1980, 1, 1), 300 + n), relation="head")
    many = count(officer, reverse("dispatch:queue_export")), count(worker, reverse("registry:household_export"))
    assert many == few
