"""The request pages in a real browser, in Chinese and in Tibetan, on a phone and a desktop:
the ladder from the doorstep to a department and back to the resident's rating, the queue
with its overdue marking, the map without tiles, and the resident's form.

Expected texts are the labels rendered in the page's language (whatever the catalogues hold
today), so the assertions follow the translations as they are filled in.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import translation
from playwright.sync_api import expect

from tests.factories import Factory
from tests.web.test_dispatch_pages import NOW, add_dispatch
from tongxin.core import clock
from tongxin.dispatch import services
from tongxin.dispatch.models import Category, Request, State
from tongxin.people.roles import Role

pytestmark = pytest.mark.browser

LANGUAGES = ["zh-hans", "bo"]
HTML_LANG = {"zh-hans": "zh-Hans", "bo": "bo"}
WATER_BUREAU = {"zh-hans": "县水利局", "bo": "རྫོང་ཆུ་བཀོད་ཅུས།"}
WATER = {"zh-hans": "供水", "bo": "ཆུ་མཁོ་སྤྲོད།"}


def label(language: str, text) -> str:
    """``text`` (a msgid or a lazy label) as the page shows it in ``language``."""
    with translation.override(language):
        return translation.gettext(text) if isinstance(text, str) else str(text)


def state(language: str, value: str) -> str:
    return label(language, State(value).label)


@pytest.fixture
def dnet(net):
    add_dispatch(net)
    clock.set_now(NOW)  # the live server's thread reads the same clock
    yield net
    clock.set_now(None)


def log_in(page, username: str, password: str, language: str | None = None) -> None:
    """The login page, through the language switcher when a language is given."""
    page.goto("/login/")
    if language:
        with page.expect_navigation():
            page.locator(f'form.langs button[value="{language}"]').click()
        expect(page.locator("html")).to_have_attribute("lang", HTML_LANG[language])
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()


def submit(page, locator) -> None:
    with page.expect_navigation():
        locator.click()


def file_many(net) -> list[Request]:
    """A queue worth looking at: overdue, urgent, escalated and fresh requests."""
    def file(by, household, category, description, urgency="normal", lat=None, lon=None):
        request, _ = services.request_file(
            actor=by, category=Category.objects.get(code=category), node=household.node, household=household,
            description=description, reporter_kind="grid_worker", urgency=urgency, lat=lat, lon=lon)
        return request

    officer = net.users.dispatch_officer
    with clock.frozen_at(NOW - dt.timedelta(days=5)):
        late = file(officer, net.households.h1, "heating", "暖气不热，老人怕冷。", lat=28.551, lon=89.652)
        late_b = file(officer, net.households.h4, "roads", "村道塌方，车辆无法通行。")
    with clock.frozen_at(NOW - dt.timedelta(hours=1)):
        escalated = file(officer, net.households.h3, "water", "ཆུ་མི་འབབ། 水管冻裂。")
        services.request_escalate(actor=officer, request=escalated, reason="需要水利局更换管道",
                                  departments=[net.departments["water"]])
    urgent = file(officer, net.households.h2, "safety_hazard", "房屋墙体开裂。", urgency="urgent", lat=28.558,
                  lon=89.661)
    fresh = file(officer, net.households.h1, "care", "独居老人需要上门照顾。")
    return [late, late_b, escalated, urgent, fresh]


# --- the ladder ----------------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_ladder_from_doorstep_to_department_and_back(dnet, open_page, shot, language):
    net = dnet
    # A grid worker files for household A-0001 from the doorstep, on a phone.
    worker = open_page("phone")
    log_in(worker, "grid.worker1", net.password, language)
    worker.goto(f"/my/requests/new/?household={net.households.h1.pk}")
    expect(worker.locator("html")).to_have_attribute("lang", HTML_LANG[language])
    expect(worker.locator("main")).to_contain_text("A-0001")
    worker.select_option("#id_category", "water")
    worker.fill("#id_description", "ཆུ་མི་འབབ། 井边的水管冻住了。")
    worker.locator("input[name=urgency][value=urgent]").check()
    submit(worker, worker.locator("#request-form button[type=submit]"))
    expect(worker).to_have_url(re.compile(r"/dispatch/requests/[0-9a-f-]{36}/$"))
    expect(worker.locator("#state")).to_have_text(state(language, State.REPORTED))
    req = Request.objects.get()
    assert req.household == net.households.h1 and req.urgency == "urgent"

    # Accept, then blow the whistle to the water bureau (preselected from the category).
    submit(worker, worker.locator("form[action$='/accept/'] button"))
    expect(worker.locator("#state")).to_have_text(state(language, State.ACCEPTED))
    worker.locator("#do-escalate summary").click()
    worker.locator("#do-escalate input[name=to][value=departments]").check()
    expect(worker.locator("#id_lead")).to_have_value("water")
    worker.fill("#id_escalate_reason", "管道需要更换")
    submit(worker, worker.locator("#do-escalate button[type=submit]"))
    expect(worker.locator("#state")).to_have_text(state(language, State.ESCALATED))
    expect(worker.locator("#handler")).to_have_text(WATER_BUREAU[language])
    expect(worker.locator("#timeline .step")).to_have_count(3)

    # The water bureau's officer finds it in the inbox and accepts it there.
    officer = open_page("desktop")
    log_in(officer, "water.officer", net.password, language)
    submit(officer, officer.locator("nav.menu a[href='/dispatch/inbox/']"))
    row = officer.locator("#inbox tbody tr", has_text=req.number)
    expect(row).to_contain_text(state(language, State.ESCALATED))
    expect(row).to_contain_text(WATER[language])
    shot(officer, f"dispatch-inbox-{language}-desktop")
    submit(officer, row.locator("button"))
    expect(officer).to_have_url(re.compile(r"/dispatch/inbox/$"))
    expect(officer.locator(".done")).to_be_visible()
    expect(officer.locator("#inbox tbody tr", has_text=req.number)).to_contain_text(state(language, State.ACCEPTED))
    submit(officer, officer.get_by_role("link", name=req.number))
    expect(officer.locator("#state")).to_have_text(state(language, State.ACCEPTED))
    officer.fill("#id_resolution", "更换了冻裂的管道 ཆུ་ལམ་གསར་བཅོས་བྱས།")
    submit(officer, officer.locator("#do-resolve button[type=submit]"))
    expect(officer.locator("#state")).to_have_text(state(language, State.RESOLVED))

    # The grid worker who filed it accepted it and blew the whistle: a handler, offered no rating.
    worker.reload()
    expect(worker.locator("#state")).to_have_text(state(language, State.RESOLVED))
    expect(worker.locator("#do-rate")).to_have_count(0)
    # The reporter side rates it: the resident in Tibetan (their preferred language, no
    # switcher), or, in Chinese, the village's staff recording it with the resident.
    if language == "bo":
        rater = open_page("phone")
        log_in(rater, "resident.a1", net.password)
        expect(rater.locator("html")).to_have_attribute("lang", "bo")
        submit(rater, rater.locator("nav.menu a[href='/my/requests/']"))
        card = rater.locator("#my-requests li", has_text=req.number)
        expect(card).to_contain_text(state("bo", State.RESOLVED))
        submit(rater, card.get_by_role("link").first)
    else:
        rater = open_page("phone")
        log_in(rater, "village.staff", net.password, language)
        rater.goto(f"/dispatch/requests/{req.pk}/")
    expect(rater.locator("#state")).to_have_text(state(language, State.RESOLVED))
    rater.locator("#do-rate input[name=rating][value='5']").check()
    rater.fill("#id_comment", "ཐུགས་རྗེ་ཆེ། 谢谢")
    submit(rater, rater.locator("#do-rate button[type=submit]"))
    expect(rater.locator("#state")).to_have_text(state(language, State.CLOSED))
    expect(rater.locator("#timeline .step")).to_have_count(6)
    expect(rater.locator("#timeline")).to_contain_text("ཐུགས་རྗེ་ཆེ།")
    shot(rater, f"dispatch-detail-timeline-{language}-phone")
    rater.set_viewport_size({"width": 1280, "height": 800})
    shot(rater, f"dispatch-detail-timeline-{language}-desktop")
    assert Request.objects.get().state == State.CLOSED and Request.objects.get().rating == 5
    assert Request.objects.get().rating_by_handlers is False  # the county's bureau handled it: it counts


# --- the queue, the map and the form, for the eye -------------------------------------------


@pytest.mark.parametrize("viewport", ["phone", "desktop"])
@pytest.mark.parametrize("language", LANGUAGES)
def test_queue_marks_the_overdue_in_colour_and_words(dnet, open_page, shot, language, viewport):
    late, late_b, escalated, urgent, fresh = file_many(dnet)
    page = open_page(viewport)
    log_in(page, "dispatch.officer", dnet.password, language)
    submit(page, page.locator("nav.menu a[href='/dispatch/']"))
    rows = page.locator("#queue tbody tr")
    expect(rows).to_have_count(5)
    expect(rows.first).to_contain_text(late.number)  # the earliest running deadline first
    overdue = page.locator("#queue tbody tr.overdue")
    expect(overdue).to_have_count(2)
    expect(overdue.first.locator(".badge-overdue")).to_have_text(label(language, "Overdue"))
    colour = overdue.first.locator(".badge-overdue").evaluate("e => getComputedStyle(e).backgroundColor")
    assert colour == "rgb(163, 21, 21)"
    expect(page.locator("#queue tbody tr", has_text=escalated.number)).to_contain_text(WATER_BUREAU[language])
    expect(page.locator("#queue tbody tr", has_text=urgent.number).locator(".badge-urgent")).to_be_visible()
    shot(page, f"dispatch-queue-{language}-{viewport}")

    # Filtering swaps the results in place (HTMX) and keeps the address.
    page.evaluate("window.__stayed = true")
    page.select_option("#id_category", "water")
    expect(rows).to_have_count(1)
    expect(page).to_have_url(re.compile(r"category=water"))
    assert page.evaluate("window.__stayed") is True


@pytest.mark.parametrize("viewport", ["phone", "desktop"])
@pytest.mark.parametrize("language", LANGUAGES)
def test_the_map_draws_points_and_outlines_without_tiles(dnet, open_page, shot, site, language, viewport):
    file_many(dnet)
    page = open_page(viewport)
    outside = []  # anything fetched from elsewhere than our own server (tiles, fonts, scripts)
    page.on("request", lambda r: None if r.url.startswith((site, "data:")) else outside.append(r.url))
    refused = []  # anything the Content-Security-Policy refused (an inline script, a style)
    page.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)
    log_in(page, "dispatch.officer", dnet.password, language)
    submit(page, page.locator("nav.menu a[href='/dispatch/map/']"))
    points = page.locator("#requestmap path.leaflet-interactive")
    expect(points).to_have_count(5)
    expect(page.locator("#requestmap path[data-overdue=true]")).to_have_count(2)
    expect(page.locator("#requestmap .leaflet-tile")).to_have_count(0)
    expect(page.locator("#legend .is-overdue")).to_be_visible()
    expect(page.locator("#requestmap path.leaflet-interactive").first).to_be_visible()
    shot(page, f"dispatch-map-{language}-{viewport}")
    page.locator("#requestmap path[data-overdue=true]").first.click(force=True)
    expect(page.locator(".leaflet-popup-content")).to_be_visible()
    expect(page.locator(".leaflet-popup-content .is-overdue")).to_be_visible()
    assert outside == [], outside
    assert refused == [], refused


@pytest.fixture(scope="session")
def big_photo(tmp_path_factory) -> bytes:
    """A phone camera's photo: 4000×3000, well over the server's body limit."""
    from PIL import Image, ImageDraw

    image = Image.linear_gradient("L").resize((4000, 3000)).convert("RGB")
    draw = ImageDraw.Draw(image)
    for i in range(0, 4000, 40):
        draw.line([(i, 0), (4000 - i, 3000)], fill=(i % 255, 90, 160), width=3)
    path = tmp_path_factory.mktemp("photo") / "IMG_0001.JPG"
    image.save(path, format="JPEG", quality=98)
    return path.read_bytes()


@pytest.mark.parametrize("viewport", ["phone", "desktop"])
@pytest.mark.parametrize("language", LANGUAGES)
def test_the_residents_form_and_their_list(dnet, open_page, shot, big_photo, settings, language, viewport):
    from tongxin.dispatch.models import Attachment

    assert len(big_photo) > settings.MAX_BODY_BYTES
    page = open_page(viewport)
    log_in(page, "resident.a1", dnet.password, language)
    submit(page, page.locator("nav.menu a[href='/my/requests/']"))
    submit(page, page.locator("main a[href='/my/requests/new/']"))
    expect(page.locator("html")).to_have_attribute("lang", HTML_LANG[language])
    expect(page.locator("#id_category")).to_contain_text(WATER[language])
    page.select_option("#id_category", "heating")
    page.fill("#id_description", "ཁང་པའི་ནང་གྲང་མོ་ཡོད། 家里暖气不热。")
    shot(page, f"dispatch-resident-form-{language}-{viewport}")
    # The photo is made smaller in the browser before it is sent.
    page.set_input_files("#id_photo", {"name": "IMG_0001.JPG", "mimeType": "image/jpeg", "buffer": big_photo})
    button = page.locator("#request-form button[type=submit]")
    expect(button).to_be_enabled()
    sent = page.evaluate("() => { const f = document.querySelector('#id_photo').files[0]; return [f.type, f.size]; }")
    assert sent[0] == "image/jpeg" and sent[1] < settings.MAX_BODY_BYTES - 64 * 1024, sent
    # A double tap sends the form twice: one request, one photo.
    # The second tap aborts the first navigation: wait for where the form lands, not for a navigation.
    button.dblclick()
    page.wait_for_url(re.compile(r"/dispatch/requests/[0-9a-f-]{36}/$"))
    expect(page.locator("#state")).to_have_text(state(language, State.REPORTED))
    expect(page.locator(".photos img")).to_have_count(1)
    # The photo loads after the page does: wait for it, then read its size.
    page.wait_for_function("() => { const i = document.querySelector('.photos img'); return i && i.complete; }")
    assert page.locator(".photos img").evaluate("img => img.naturalWidth") == 1600
    assert Request.objects.count() == 1 and Attachment.objects.count() == 1
    page.goto("/my/requests/")
    expect(page.locator("#my-requests li")).to_have_count(1)
    shot(page, f"dispatch-my-requests-{language}-{viewport}")


@pytest.mark.parametrize("language", LANGUAGES)
def test_statistics_for_the_county_and_its_townships(dnet, open_page, shot, language):
    late, late_b, escalated, urgent, fresh = file_many(dnet)
    officer = dnet.users.dispatch_officer
    services.request_accept(actor=officer, request=urgent)
    services.request_resolve(actor=officer, request=urgent, resolution="加固了墙体")
    # Rated by household A-0002's own account (whoever handled it may not, and a rating by the
    # handler's side would not count).
    make = Factory(start=8600)
    resident = make.link(make.user("resident.a2", Role.RESIDENT, dnet.nodes.unit1), dnet.households.h2)
    services.request_rate(actor=resident, request=urgent, rating=4)
    page = open_page("desktop")
    log_in(page, "dispatch.officer", dnet.password, language)
    submit(page, page.locator("nav.menu a[href='/dispatch/stats/']"))
    expect(page.locator("h1")).to_contain_text({"zh-hans": "康马县", "bo": "ཁང་དམར་རྫོང་།"}[language])
    expect(page.locator("#figures")).to_contain_text("5")
    expect(page.locator("#children tbody tr")).to_have_count(2)
    expect(page.locator("#rates")).to_contain_text("100.0%")
    shot(page, f"dispatch-stats-{language}-desktop")
    with page.expect_navigation():
        # the place (its first cell); its figures open the queue
        page.locator("#children tbody tr").first.locator("td").first.locator("a").click()
    expect(page.locator("h1")).to_contain_text({"zh-hans": "康马镇", "bo": "ཁང་དམར་གྲོང་རྡལ།"}[language])
