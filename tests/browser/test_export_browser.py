"""Lists out to Excel and to paper, in the browser, in Chinese and Tibetan.

A dispatcher downloads the queue's export by its button, and the file is read back with
openpyxl and compared cell by cell with the table the page shows; a request's page, printed
to PDF as the browser prints it, fits one A4 sheet (counted with pypdf), and its print view is
saved as a screenshot, phone and desktop."""

from __future__ import annotations

import datetime as dt
import io

import openpyxl
import pytest
from playwright.sync_api import expect
from pypdf import PdfReader

from tests.browser.test_dispatch_browser import HTML_LANG, LANGUAGES, dnet, file_many, label, log_in  # noqa: F401
from tongxin.dispatch import services
from tongxin.dispatch.tables import QUEUE

pytestmark = pytest.mark.browser

A4_POINTS = (595, 842)


def page_table(page) -> tuple[list[str], list[list[str]], list[str]]:
    """The queue as the page shows it: headers, each row's cells (text), each row's deadline."""
    headers = [t.strip() for t in page.locator("#queue thead th").all_inner_texts()]
    rows, due = [], []
    for tr in page.locator("#queue tbody tr").all():
        cells = tr.locator("td")
        rows.append([cells.nth(i).inner_text().strip() for i in range(cells.count())])
        times = tr.locator("td time")
        due.append(times.first.get_attribute("datetime") if times.count() else "")
    return headers, rows, due


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_queue_export_downloaded_in_the_browser_is_the_table_cell_by_cell(dnet, open_page, shot, tmp_path,  # noqa: F811
                                                                                  language):
    net = dnet
    requests = file_many(net)
    page = open_page("desktop")
    log_in(page, "dispatch.officer", net.password, language)
    page.goto("/dispatch/")
    expect(page.locator("html")).to_have_attribute("lang", HTML_LANG[language])
    expect(page.locator("#queue tbody tr")).to_have_count(len(requests))
    shot(page, f"export-queue-{language}-desktop")
    headers, shown, due = page_table(page)
    assert headers == [label(language, c.label) for c in QUEUE.columns]

    button = page.locator(".list-tools a[download]")
    expect(button).to_have_text(label(language, "Export to Excel"))
    with page.expect_download() as download_info:
        button.click()
    download = download_info.value
    assert download.suggested_filename == f"{label(language, QUEUE.title)}-2025-06-04.xlsx"
    path = tmp_path / "queue.xlsx"
    download.save_as(path)

    book = openpyxl.load_workbook(io.BytesIO(path.read_bytes()))
    sheet = book.worksheets[0]
    assert sheet.title == label(language, QUEUE.title)
    assert [c.value for c in sheet[1]] == headers
    assert sheet.max_row == len(shown) + 1
    columns = {c.key: i for i, c in enumerate(QUEUE.columns)}
    for r, (cells, deadline) in enumerate(zip(shown, due), start=2):
        row = [c.value for c in sheet[r]]
        # Number (the page adds its badges after it), category, place, handler, state, urgency: the same text.
        assert cells[columns["number"]].split()[0] == row[columns["number"]]
        for key in ("category", "place", "handler", "state", "urgency"):
            assert cells[columns[key]] == row[columns[key]], (key, cells, row)
        # The deadline: a date and time in the county's time zone, the moment the page shows.
        written = sheet.cell(row=r, column=columns["due"] + 1)
        assert written.is_date and isinstance(written.value, dt.datetime)
        assert written.value == dt.datetime.fromisoformat(deadline).replace(tzinfo=None, microsecond=0)
    # Tibetan and Chinese intact in the file.
    texts = "".join(str(c.value) for row in sheet.iter_rows() for c in row)
    assert {"zh-hans": "一号联户单元", "bo": "མཉམ་སྡོད་ཚན་ཁག་དང་པོ།"}[language] in texts

    # The list on paper: the table without the header, filters and buttons.
    page.emulate_media(media="print")
    expect(page.locator("form.filter")).to_be_hidden()
    expect(page.locator(".list-tools")).to_be_hidden()
    expect(page.locator("main p.actions")).to_be_hidden()
    expect(page.locator("#queue tbody tr")).to_have_count(len(requests))
    shot(page, f"print-queue-{language}-desktop")


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_request_prints_on_one_a4_sheet(dnet, open_page, shot, language):  # noqa: F811
    net = dnet
    requests = file_many(net)
    escalated = requests[2]
    services.request_accept(actor=net.users.water_officer, request=escalated, note="今天下午派人去。")
    services.request_start(actor=net.users.water_officer, request=escalated, note="ཆུ་དོང་བརྗེ་བཞིན་པ། 正在更换水管。")
    for viewport in ("phone", "desktop"):
        page = open_page(viewport)
        log_in(page, "dispatch.officer", net.password, language)
        page.goto(f"/dispatch/requests/{escalated.pk}/")
        expect(page.locator("html")).to_have_attribute("lang", HTML_LANG[language])
        expect(page.locator("[data-print]")).to_have_text(label(language, "Print"))
        page.emulate_media(media="print")
        expect(page.locator("header.top")).to_be_hidden()
        expect(page.locator("[data-print]")).to_be_hidden()
        expect(page.locator("#timeline")).to_be_visible()
        shot(page, f"print-request-{language}-{viewport}")
        pdf = PdfReader(io.BytesIO(page.pdf(prefer_css_page_size=True, print_background=False)))
        assert len(pdf.pages) == 1, f"{language} {viewport}: {len(pdf.pages)} pages"
        box = pdf.pages[0].mediabox
        assert (round(float(box.width)), round(float(box.height))) == A4_POINTS
        text = pdf.pages[0].extract_text()
        assert escalated.number in text.replace(" ", "")  # the extracted text spaces out the hyphens


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_statistics_words_agree_and_each_figure_says_what_it_counts(dnet, open_page, shot, language):  # noqa: F811
    from tongxin.dispatch.tables import FIGURES

    net = dnet
    requests = file_many(net)
    for req in requests[3:]:
        services.request_accept(actor=net.users.dispatch_officer, request=req)
        services.request_resolve(actor=net.users.dispatch_officer, request=req, resolution="修好了。")
    from tests.dispatch.support import make_resident

    # The household's own account rates (whoever handled a request never rates it).
    rater = make_resident("resident_h2", requests[3].household)
    services.request_rate(actor=rater, request=requests[3], rating=4)
    for viewport in ("phone", "desktop"):
        page = open_page(viewport)
        log_in(page, "dispatch.officer", net.password, language)
        page.goto("/dispatch/stats/?node=540230")

        def figure(key: str, page=page) -> int:
            return int(page.locator(f'#figures [data-figure="{key}"] dd').inner_text())

        assert figure("resolved") == 2 and figure("waiting_rating") == 1 and figure("closed") == 1
        assert figure("resolved") == figure("waiting_rating") + figure("closed")
        for f in FIGURES:  # every figure carries its explanation
            expect(page.locator(f'#figures [data-figure="{f.key}"] .hint')).to_have_text(label(language, f.explain))
        # The state table calls the state "resolved" what the headline calls it.
        assert page.locator('#by-state tr[data-state="resolved"] td').first.inner_text() == \
            page.locator('#figures [data-figure="waiting_rating"] dt').inner_text()
        shot(page, f"stats-{language}-{viewport}")
