"""A grid worker's and a resident's day in a real browser, in Chinese and in Tibetan, on a
phone and a desktop (issue 9, items 1, 2 and 6): the grid worker lands on their day, walks
their visit round, records "all well" in two taps, and from a household's page records a
finding that opens a request in the same step; the escalate form names the next level and
shows the departments only for the whistle. The resident lands on their household, files a
request, sees the confirmation, and rates it once it is resolved."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from playwright.sync_api import expect

from tests.browser.test_dispatch_browser import HTML_LANG, LANGUAGES, label, log_in, state, submit
from tests.web.test_dispatch_pages import NOW, add_dispatch
from tongxin.core import clock
from tongxin.dispatch import services
from tongxin.dispatch.models import Request, State, Visit

pytestmark = pytest.mark.browser

VIEWPORTS = ["phone", "desktop"]
VILLAGE = {"zh-hans": "东村（示例）", "bo": "ཤར་གྲོང་ཚོ།（དཔེ་མཚོན།）"}


def fits(page) -> None:
    """No sideways scrolling at page level (tables scroll inside their box)."""
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), page.url


@pytest.fixture
def vnet(net):
    add_dispatch(net)
    clock.set_now(NOW)  # the live server's thread reads the same clock
    net.round = services.visit_round_plan(actor=net.users.village_staff, grid=net.nodes.grid1, title="冬季敲门行动",
                                          starts_on=clock.today() - dt.timedelta(days=2),
                                          ends_on=clock.today() + dt.timedelta(days=20))
    yield net
    clock.set_now(None)


@pytest.mark.parametrize("viewport", VIEWPORTS)
@pytest.mark.parametrize("language", LANGUAGES)
def test_a_grid_workers_visit_round_with_a_finding_that_opens_a_request(vnet, open_page, shot, language,
                                                                         viewport):
    net = vnet
    h1, h2 = net.households.h1, net.households.h2
    page = open_page(viewport)
    log_in(page, "grid.worker1", net.password, language)
    # The grid worker lands on their day: the round's households still to visit.
    expect(page).to_have_url(re.compile(r"/today/$"))
    expect(page.locator("html")).to_have_attribute("lang", HTML_LANG[language])
    expect(page.locator("#to-visit-1 li")).to_have_count(2)
    fits(page)
    shot(page, f"visits-today-{language}-{viewport}")

    # The round: both households not yet visited.
    submit(page, page.get_by_role("link", name="冬季敲门行动"))
    expect(page.locator("#round-households li.not-visited")).to_have_count(2)
    fits(page)
    shot(page, f"visits-round-{language}-{viewport}")

    # Household A-0002 from the round: its page, then "Record a visit", then "All well": two taps.
    submit(page, page.locator(f"#round-households li[data-household='{h2.pk}'] .who a"))
    expect(page).to_have_url(re.compile(rf"/households/{h2.pk}/$"))
    submit(page, page.locator("#household-actions a", has_text=label(language, "Record a visit")))
    fits(page)
    shot(page, f"visits-form-{language}-{viewport}")
    submit(page, page.locator("#visit-well button"))
    expect(page).to_have_url(re.compile(rf"/visits/rounds/{net.round.pk}/$"))
    expect(page.locator(".done")).to_be_visible()
    expect(page.locator("#round-households li.visited")).to_have_count(1)
    expect(page.locator("#round-households li").first).to_have_attribute("data-household", str(h1.pk))

    # Household A-0001: a finding that opens a request in the same step.
    submit(page, page.locator(f"#round-households li[data-household='{h1.pk}'] .who a"))
    expect(page.locator("#household-actions a[href^='tel:']")).to_be_visible()
    fits(page)
    shot(page, f"visits-household-{language}-{viewport}")
    submit(page, page.locator("#household-actions a", has_text=label(language, "Record a visit")))
    page.fill("#id_findings", "ཆུ་ལམ་ཆག་འདུག 水管冻裂，全家无水。")
    page.locator("#id_follow_up").check()
    page.select_option("#id_category", "water")
    page.locator("#visit-form input[name=urgency][value=urgent]").check()
    submit(page, page.locator("#visit-form button[type=submit]"))
    expect(page).to_have_url(re.compile(r"/dispatch/requests/[0-9a-f-]{36}/$"))
    expect(page.locator("#state")).to_have_text(state(language, State.REPORTED))
    expect(page.locator(".done")).to_have_count(2)  # the visit recorded, the request opened
    request = Request.objects.get()
    assert request.household == h1 and request.reporter_kind == "visit" and request.urgency == "urgent"
    assert Visit.objects.count() == 2 and Visit.objects.get(household=h1).request == request

    # The escalate form names where "next level" goes; the departments only for the whistle.
    page.locator("#do-escalate summary").click()
    expect(page.locator("#next-level")).to_have_text(VILLAGE[language])
    expect(page.locator("#whistle-departments")).to_be_hidden()
    page.locator("#do-escalate input[name=to][value=departments]").check()
    expect(page.locator("#whistle-departments")).to_be_visible()
    expect(page.locator("#id_lead")).to_have_value("water")
    fits(page)
    shot(page, f"visits-request-escalate-{language}-{viewport}")
    page.locator("#do-escalate input[name=to][value=next]").check()
    expect(page.locator("#whistle-departments")).to_be_hidden()

    # The household page: the request and the visit that opened it, newest first.
    page.goto(f"/households/{h1.pk}/")
    expect(page.locator("#household-requests li[data-state]")).to_have_count(1)
    expect(page.locator("#household-requests")).to_contain_text(request.number)
    expect(page.locator("#household-visits tbody tr")).to_have_count(1)
    expect(page.locator("#household-visits tbody tr a")).to_have_attribute(
        "href", f"/dispatch/requests/{request.pk}/")
    fits(page)
    shot(page, f"visits-household-after-{language}-{viewport}")
    page.goto(f"/visits/rounds/{net.round.pk}/")
    expect(page.locator("#round-households li.visited")).to_have_count(2)
    expect(page.locator("#round-figures")).to_contain_text("100.0%")

    # The village sees coverage by grid, and the households nobody visited (grid 2's).
    village = open_page(viewport)
    log_in(village, "village.staff", net.password, language)
    submit(village, village.locator("nav.menu a[href='/visits/']"))
    submit(village, village.locator(f"main a[href='/visits/coverage/{net.nodes.village.code}/']"))
    rows = village.locator("#coverage-children tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("100.0%")
    expect(rows.nth(1)).to_contain_text("0.0%")
    expect(village.locator("#not-visited-households li")).to_have_count(1)
    expect(village.locator("#not-visited-households")).to_contain_text("次仁")
    fits(village)
    shot(village, f"visits-coverage-village-{language}-{viewport}")


@pytest.mark.parametrize("viewport", VIEWPORTS)
@pytest.mark.parametrize("language", LANGUAGES)
def test_a_resident_lands_on_their_household_files_and_rates(vnet, open_page, shot, language, viewport):
    net = vnet
    page = open_page(viewport)
    log_in(page, "resident.a1", net.password, language)
    expect(page).to_have_url(re.compile(rf"/households/{net.households.h1.pk}/$"))
    expect(page.locator("html")).to_have_attribute("lang", HTML_LANG[language])
    expect(page.locator("#household-requests")).to_be_visible()
    expect(page.locator("#household-actions a", has_text=label(language, "Record a visit"))).to_have_count(0)
    fits(page)
    shot(page, f"visits-resident-home-{language}-{viewport}")

    submit(page, page.locator("#household-actions a", has_text=label(language, "File a request")))
    page.select_option("#id_category", "heating")
    page.fill("#id_description", "ཁང་པའི་ནང་གྲང་མོ་ཡོད། 家里暖气不热。")
    submit(page, page.locator("#request-form button[type=submit]"))
    request = Request.objects.get()
    expect(page.locator(".done")).to_contain_text(request.number)  # the confirmation
    expect(page.locator("#state")).to_have_text(state(language, State.REPORTED))
    fits(page)
    shot(page, f"visits-resident-filed-{language}-{viewport}")

    # The grid worker resolves it; the resident, back home, confirms and rates it.
    services.request_accept(actor=net.users.grid_worker, request=request)
    services.request_resolve(actor=net.users.grid_worker, request=request, resolution="修好了暖气 ཚ་རླངས་བཟོ་བཅོས་བྱས།")
    submit(page, page.locator("a.brand"))
    expect(page).to_have_url(re.compile(rf"/households/{net.households.h1.pk}/$"))
    card = page.locator("#household-requests li", has_text=request.number)
    expect(card).to_contain_text(state(language, State.RESOLVED))
    submit(page, card.locator("a.button"))
    page.locator("#do-rate input[name=rating][value='5']").check()
    submit(page, page.locator("#do-rate button[type=submit]"))
    expect(page.locator("#state")).to_have_text(state(language, State.CLOSED))
    fits(page)
    shot(page, f"visits-resident-rated-{language}-{viewport}")
    assert Request.objects.get().rating == 5
