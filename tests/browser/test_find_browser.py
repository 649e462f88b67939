"""Finding requests and watching the inbox in a real browser, in Chinese and in Tibetan, on a
phone and a desktop: a dispatcher taking a phone call finds a closed request by a resident's
name and by its number; a department officer sees a new escalation appear in the inbox without
reloading the page (the test escalates through the service while the page is open, and the
page's polling brings it), marked new, with the unread count in the header following."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from playwright.sync_api import expect

from tests.browser.test_dispatch_browser import HTML_LANG, log_in
from tests.web.test_dispatch_pages import NOW, add_dispatch
from tongxin.core import clock
from tongxin.dispatch import services
from tongxin.dispatch.models import Category, Request

pytestmark = pytest.mark.browser

LANGUAGES = ["zh-hans", "bo"]
VIEWPORTS = ["phone", "desktop"]


@pytest.fixture
def dnet(net):
    add_dispatch(net)
    clock.set_now(NOW)  # the live server's thread reads the same clock
    yield net
    clock.set_now(None)


def file(net, household, category: str, description: str, by=None) -> Request:
    request, _ = services.request_file(
        actor=by or net.users.grid_worker, category=Category.objects.get(code=category), node=household.node,
        household=household, description=description, reporter_kind="grid_worker")
    return request


def closed_request(net) -> Request:
    """Household A-0001's request, handled and closed with the resident's rating a week ago."""
    with clock.frozen_at(NOW - dt.timedelta(days=7)):
        req = file(net, net.households.h1, "heating", "暖气片不热，家里有老人。")
        services.request_accept(actor=net.users.village_staff, request=req)
        services.request_resolve(actor=net.users.village_staff, request=req, resolution="更换了暖气阀门。")
        services.request_rate(actor=net.users.grid_worker, request=req, rating=5)
    return Request.objects.get(pk=req.pk)


def row(page, req: Request):
    return page.locator(f'#queue tr[data-number="{req.number}"]')


@pytest.mark.parametrize("viewport", VIEWPORTS)
@pytest.mark.parametrize("language", LANGUAGES)
def test_a_dispatcher_finds_a_closed_request_by_a_resident_s_name_and_by_its_number(dnet, open_page, shot,
                                                                                      language, viewport):
    net = dnet
    closed = closed_request(net)
    file(net, net.households.h2, "water", "水管冻住了。")  # open ones fill the queue
    file(net, net.households.h3, "roads", "村道有坑。", by=net.users.grid_worker2)
    page = open_page(viewport)
    log_in(page, "dispatch.officer", net.password, language)
    page.goto("/dispatch/")
    expect(page.locator("html")).to_have_attribute("lang", HTML_LANG[language])
    expect(row(page, closed)).to_have_count(0)  # closed: not in the open queue

    # The caller gives the name of a member of the household (卓玛, not its head): the search
    # looks through closed requests too, and names the household to tell namesakes apart.
    page.fill("#id_q", "卓玛")
    page.locator("#id_q").press("Enter")
    expect(row(page, closed)).to_be_visible()
    expect(page.locator("#queue tbody tr")).to_have_count(1)
    expect(row(page, closed)).to_contain_text("A-0001")
    expect(row(page, closed).locator(".state")).to_have_class("state state-closed")
    expect(row(page, closed).locator(".place")).to_contain_text(
        {"zh-hans": "一号联户单元", "bo": "མཉམ་སྡོད་ཚན་ཁག་དང་པོ།"}[language])
    assert not page.evaluate("document.documentElement.scrollWidth > window.innerWidth + 1")
    shot(page, f"find-by-name-{language}-{viewport}")

    # Then by its number, as read out over the phone (the last six characters are enough).
    page.fill("#id_q", closed.number[-6:])
    page.locator("#id_q").press("Enter")
    expect(page.locator("#queue tbody tr")).to_have_count(1)
    expect(row(page, closed)).to_be_visible()
    shot(page, f"find-by-number-{language}-{viewport}")
    with page.expect_navigation():
        row(page, closed).locator("a.code").click()
    expect(page.locator("#state")).to_have_class("state state-closed")
    expect(page.locator("h1")).to_contain_text(closed.number)
    shot(page, f"find-opened-{language}-{viewport}")


@pytest.mark.parametrize("viewport", VIEWPORTS)
@pytest.mark.parametrize("language", LANGUAGES)
def test_a_new_escalation_appears_in_the_inbox_without_reloading(dnet, open_page, shot, settings, language,
                                                                 viewport):
    net = dnet
    settings.POLL_SECONDS = 1  # the live server reads the same settings: poll every second
    req = file(net, net.households.h1, "water", "ཆུ་མི་འབབ། 井边的水管冻住了。")
    page = open_page(viewport)
    log_in(page, "water.officer", net.password, language)
    page.goto("/dispatch/inbox/")
    expect(page.locator("html")).to_have_attribute("lang", HTML_LANG[language])
    expect(page.locator("#inbox tbody tr td.empty")).to_have_count(1)
    expect(page.locator("#unread .badge-count")).to_have_count(0)
    page.evaluate("window.openedOnce = true")  # gone if the page were loaded again

    # While the page is open, the grid worker blows the whistle to the water bureau.
    clock.set_now(NOW + dt.timedelta(minutes=2))
    services.request_escalate(actor=net.users.grid_worker, request=req, reason="管道需要更换",
                              departments=[net.departments["water"]])
    arrived = page.locator(f'#inbox tr[data-number="{req.number}"]')
    expect(arrived).to_be_visible(timeout=20_000)
    expect(arrived).to_have_class(re.compile(r"\bnew\b"))
    expect(arrived.locator(".badge-new")).to_be_visible()
    expect(arrived.locator(".place")).to_contain_text(
        {"zh-hans": "康马镇 › 东村（示例） › 一号网格 › 一号联户单元",
         "bo": "ཁང་དམར་གྲོང་རྡལ། › ཤར་གྲོང་ཚོ།（དཔེ་མཚོན།） › དྲ་མིག་དང་པོ། › མཉམ་སྡོད་ཚན་ཁག་དང་པོ།"}[language])
    expect(arrived.locator(".contact")).to_contain_text("东村一组 1 号")  # the household to reach
    expect(page.locator("#unread .badge-count")).to_have_text("1")  # the header follows the poll
    assert page.evaluate("window.openedOnce === true")
    assert not page.evaluate("document.documentElement.scrollWidth > window.innerWidth + 1")
    shot(page, f"inbox-new-escalation-{language}-{viewport}")

    # The header's count opens the notification list; the message opens the request it is about.
    with page.expect_navigation():
        page.locator("#unread").click()
    message = page.locator("#notifications li.fresh")
    expect(message).to_have_count(1)
    expect(message).to_contain_text(req.number)
    expect(page.locator("#unread .badge-count")).to_have_count(0)  # shown, so read
    shot(page, f"notifications-{language}-{viewport}")
    with page.expect_navigation():
        message.locator("a").click()
    expect(page.locator("h1")).to_contain_text(req.number)
    expect(page.locator("#contact")).to_contain_text("东村一组 1 号")
