"""Finding any request, places that say where they are, and notifications, through Django's
test client: the queue's search (by number, household number, a name, words of the need)
within scope and audited, the state filter with every state, statistics that open the
requests behind their figures, the grid worker's requests to confirm, the path of a place
below the reader's level, the unread count and the notification list, the queue and inbox
that poll and mark what is new, and a department officer reaching the household — each list
at a fixed number of queries whatever its rows."""

from __future__ import annotations

import datetime as dt
import json
import re
from urllib.parse import parse_qs, urlparse

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.web.test_dispatch_pages import NOW, file_request
from tongxin.core import clock
from tongxin.core.models import AuditEntry, Notification
from tongxin.dispatch import services
from tongxin.dispatch.models import Request, State
from tongxin.grid.models import Node
from tongxin.grid.places import Places

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("dispatch_now")]

QUEUE = "/dispatch/"


def close(net, req, *, rating: int = 5) -> Request:
    """Accept, resolve and rate a request (the village handles it, the worker records the rating)."""
    services.request_accept(actor=net.users.village_staff, request=req)
    services.request_resolve(actor=net.users.village_staff, request=req, resolution="修好了")
    services.request_rate(actor=net.users.grid_worker, request=req, rating=rating)
    return Request.objects.get(pk=req.pk)


def numbers(html: str) -> set[str]:
    return set(re.findall(r'data-number="([^"]+)"', html))


def queries(client, url, params=None, **headers) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, params or {}, headers=headers)
        assert response.status_code == 200, response.content[:300]
    return len(ctx.captured_queries)


# --- places that say where they are ---------------------------------------------------------


def test_the_queue_names_each_place_below_the_reader_s_level(client_as, dnet):
    file_request(dnet)  # household A-0001 in unit 1 of grid 1, East Village, Kangma Town
    place = {}
    for who in ("dispatch_officer", "village_staff", "grid_worker"):
        html = client_as(getattr(dnet.users, who)).get(QUEUE).content.decode()
        place[who] = re.search(r'<span class="place" data-code="540230100001001001">([^<]+)</span>', html).group(1)
    assert place["dispatch_officer"] == "康马镇 › 东村（示例） › 一号网格 › 一号联户单元"
    assert place["village_staff"] == "一号网格 › 一号联户单元"
    assert place["grid_worker"] == "一号联户单元"
    html = client_as(dnet.users.village_staff, "bo").get(QUEUE).content.decode()
    assert "དྲ་མིག་དང་པོ། › མཉམ་སྡོད་ཚན་ཁག་དང་པོ།" in html


def test_the_inbox_the_map_and_statistics_name_places_by_their_path(client_as, dnet):
    req = file_request(dnet)
    services.request_escalate(actor=dnet.users.grid_worker, request=req, reason="需要水利局",
                              departments=[dnet.departments["water"]])
    inbox = client_as(dnet.users.water_officer).get(reverse("dispatch:inbox")).content.decode()
    assert "康马镇 › 东村（示例） › 一号网格 › 一号联户单元" in inbox
    map_page = client_as(dnet.users.dispatch_officer).get(reverse("dispatch:map")).content.decode()
    data = json.loads(re.search(r'<script id="map-data" type="application/json">(.*?)</script>', map_page,
                                re.S).group(1))
    assert [p["place"] for p in data["points"]] == ["康马镇 › 东村（示例） › 一号网格 › 一号联户单元"]
    stats = client_as(dnet.users.dispatch_officer).get(reverse("dispatch:stats"),
                                                       {"node": dnet.nodes.village.code}).content.decode()
    assert "康马镇 › 东村（示例） › 一号网格" in stats  # the children of the village, from below the county


def test_places_of_a_page_cost_one_query_whatever_the_rows(dnet):
    officer = dnet.users.dispatch_officer
    nodes = list(Node.objects.filter(level__in=["grid", "unit"]))
    assert len(nodes) >= 5
    with CaptureQueriesContext(connection) as ctx:
        places = Places(officer, nodes)
        texts = [places.text(n) for n in nodes]
    assert len(ctx.captured_queries) <= 2  # the reader's roles (once per user) and the names
    assert all(" › " in t for t in texts)
    assert Places(None, [dnet.nodes.unit1]).text(dnet.nodes.unit1) == "康马镇 › 东村（示例） › 一号网格 › 一号联户单元"


def test_the_names_come_from_the_node_cache_outside_a_transaction(dnet, settings):
    from tongxin.grid.places import names_of

    paths = [dnet.nodes.unit1.path, dnet.nodes.grid1.path]
    # Inside a transaction (this test's) the cache is bypassed: one query for every path at once.
    with CaptureQueriesContext(connection) as ctx:
        names = names_of(paths)
    assert len(ctx.captured_queries) == 1 and names[dnet.nodes.grid1.path]["name_zh"] == "一号网格"


# --- finding any request ---------------------------------------------------------------------


@pytest.fixture
def found(dnet):
    """A closed request of household A-0001 (head 扎西顿珠, member 卓玛), an open one of
    household B-0001 (次仁), and an open one in Samada (白玛拉姆) outside grid 1 and the village."""
    closed = close(dnet, file_request(dnet, description="屋顶漏雨，需要修补。"))
    open_h3 = file_request(dnet, by=dnet.users.grid_worker2, household=dnet.households.h3, description="路灯不亮了。")
    samada = file_request(dnet, by=dnet.users.grid_worker_b, household=dnet.households.h4,
                          description="屋顶漏雨。")
    return closed, open_h3, samada


@pytest.mark.parametrize("text", ["扎西", "卓玛", "A-0001", "漏雨 修补", "<number>", "<tail>"])
def test_a_dispatcher_finds_a_closed_request_by_number_household_name_or_words(client_as, dnet, found, text):
    closed, open_h3, samada = found
    text = text.replace("<number>", closed.number).replace("<tail>", closed.number[-6:].lower())
    html = client_as(dnet.users.dispatch_officer).get(QUEUE, {"q": text}).content.decode()
    assert closed.number in numbers(html)
    assert open_h3.number not in numbers(html)
    assert f'data-state="closed" data-number="{closed.number}"' in html


def test_without_a_search_the_queue_shows_open_requests_and_the_state_filter_has_every_state(client_as, dnet, found):
    closed, open_h3, samada = found
    client = client_as(dnet.users.dispatch_officer)
    assert numbers(client.get(QUEUE).content.decode()) == {open_h3.number, samada.number}
    assert numbers(client.get(QUEUE, {"state": "all"}).content.decode()) == {closed.number, open_h3.number,
                                                                            samada.number}
    assert numbers(client.get(QUEUE, {"state": "closed"}).content.decode()) == {closed.number}
    assert numbers(client.get(QUEUE, {"state": "done"}).content.decode()) == {closed.number}
    # A search looks through every state, unless a state is chosen.
    assert numbers(client.get(QUEUE, {"q": "漏雨", "state": "reported"}).content.decode()) == {samada.number}
    html = client.get(QUEUE).content.decode()
    for value in [s.value for s in State] + ["all", "done"]:
        assert f'<option value="{value}"' in html


def test_a_search_stays_in_scope(client_as, dnet, found):
    closed, open_h3, samada = found
    # Samada's grid worker finds Samada's request by its words, never grid 1's by a name or words.
    html = client_as(dnet.users.grid_worker_b).get(QUEUE, {"q": "漏雨"}).content.decode()
    assert numbers(html) == {samada.number}
    assert not numbers(client_as(dnet.users.grid_worker_b).get(QUEUE, {"q": "扎西顿珠"}).content.decode())
    assert not numbers(client_as(dnet.users.grid_worker_b).get(QUEUE, {"q": closed.number}).content.decode())
    # The grid 2 worker sees B-0001 by its head's name, not grid 1's households.
    assert numbers(client_as(dnet.users.grid_worker2).get(QUEUE, {"q": "次仁"}).content.decode()) == {
        open_h3.number}
    assert not numbers(client_as(dnet.users.grid_worker2).get(QUEUE, {"q": "A-0001"}).content.decode())


def test_a_department_officer_cannot_find_requests_by_the_names_of_people(client_as, dnet):
    req = file_request(dnet, description="水管冻住了。")
    services.request_escalate(actor=dnet.users.grid_worker, request=req, reason="需要水利局",
                              departments=[dnet.departments["water"]])
    client = client_as(dnet.users.water_officer)
    assert numbers(client.get(QUEUE, {"q": req.number}).content.decode()) == {req.number}
    assert numbers(client.get(QUEUE, {"q": "水管"}).content.decode()) == {req.number}
    # The registry is not theirs to read: a name or a household number finds nothing.
    assert not numbers(client.get(QUEUE, {"q": "扎西顿珠"}).content.decode())
    assert not numbers(client.get(QUEUE, {"q": "A-0001"}).content.decode())


def test_each_page_of_search_results_is_audited_without_the_words_searched(client_as, dnet, found):
    closed, open_h3, samada = found
    client = client_as(dnet.users.dispatch_officer)
    before = AuditEntry.objects.filter(action="request.search").count()
    html = client.get(QUEUE, {"q": "扎西顿珠"}).content.decode()
    assert "扎西顿珠" in html[html.index('id="queue"'):]  # the household's head, to tell namesakes apart
    entries = AuditEntry.objects.filter(action="request.search").order_by("-id")
    assert entries.count() == before + 1
    entry = entries.first()
    assert entry.actor_id == dnet.users.dispatch_officer.pk and entry.node_path == closed.node_path
    assert not any("扎西" in str(getattr(entry, f.name)) for f in AuditEntry._meta.concrete_fields)
    client.get(QUEUE, {"q": "nobody-by-this-name"})  # nothing shown: nothing to audit
    client.get(QUEUE)  # no search: the queue names nobody
    assert AuditEntry.objects.filter(action="request.search").count() == before + 1


def test_a_bad_period_is_shown_with_its_error(client_as, dnet, found):
    response = client_as(dnet.users.dispatch_officer).get(QUEUE, {"from": "2025-06-05", "to": "2025-06-01"})
    assert response.status_code == 200
    assert 'class="alert"' in response.content.decode()
    response = client_as(dnet.users.dispatch_officer).get(QUEUE, {"from": "not-a-date"})
    assert response.status_code == 200


# --- statistics open the requests behind their figures --------------------------------------


def test_each_statistics_figure_links_to_the_requests_it_counts(client_as, dnet, found):
    closed, open_h3, samada = found
    client = client_as(dnet.users.dispatch_officer)
    html = client.get(reverse("dispatch:stats")).content.decode()
    figures = html[html.index('id="figures"'):html.index("</dl>", html.index('id="figures"'))]
    links = dict(re.findall(r'<dt>([^<]+)</dt><dd><a href="([^"]+)">(?:\d+)</a>', figures))
    assert len(links) == 5  # filed, open, overdue, resolved, rejected
    counted = dict(re.findall(r'<dt>([^<]+)</dt><dd><a href="[^"]+">(\d+)</a>', figures))
    for label, url in links.items():
        shown = client.get(url.replace("&amp;", "&"))
        assert shown.status_code == 200
        assert len(numbers(shown.content.decode())) == int(counted[label]), label
        query = parse_qs(urlparse(url.replace("&amp;", "&")).query)
        assert query["node"] == ["540230"] and "from" in query and "to" in query
    children = html[html.index('id="children"'):]
    town = re.search(r'<a href="(/dispatch/\?[^"]*node=540230100&[^"]*)">(\d+)</a>', children)
    assert town is not None
    shown = client.get(town.group(1).replace("&amp;", "&")).content.decode()
    assert len(numbers(shown)) == int(town.group(2))


# --- a grid worker's requests to confirm ----------------------------------------------------


def test_a_grid_worker_s_menu_lists_the_requests_waiting_for_confirmation(client_as, dnet):
    req = file_request(dnet)
    services.request_accept(actor=dnet.users.village_staff, request=req)
    services.request_resolve(actor=dnet.users.village_staff, request=req, resolution="修好了")
    other = file_request(dnet)  # still open: nothing to confirm
    url = reverse("dispatch:to_confirm")
    worker = client_as(dnet.users.grid_worker)
    html = worker.get(QUEUE).content.decode()
    assert url in html[html.index('class="menu"'):html.index("</nav>")]
    page = worker.get(url).content.decode()
    assert numbers(page) == {req.number} and other.number not in page
    assert reverse("dispatch:request", args=[req.pk]) + "#actions" in page
    # Only the grid's workers carry it in their menu; the dispatch centre has the queue.
    officer = client_as(dnet.users.dispatch_officer).get(QUEUE).content.decode()
    assert url not in officer[officer.index('class="menu"'):officer.index("</nav>")]
    assert numbers(client_as(dnet.users.grid_worker_b).get(url).content.decode()) == set()
    assert client_as(dnet.users.resident).get(url).status_code == 404


# --- notifications ---------------------------------------------------------------------------


def test_every_page_shows_the_unread_count_and_the_list_marks_them_read(client_as, dnet):
    req = file_request(dnet)  # grid 1's workers are told of the new request
    worker = dnet.users.grid_worker
    unread = Notification.objects.filter(recipient=worker, read_at__isnull=True)
    assert unread.count() == 1
    client = client_as(worker)
    for url in (QUEUE, reverse("dispatch:request", args=[req.pk]), reverse("registry:household_list")):
        html = client.get(url).content.decode()
        assert re.search(r'id="unread" href="/notifications/">通知 <span class="badge badge-count"[^>]*>1</span>',
                         html), url
    html = client.get(reverse("core:notifications")).content.decode()
    assert req.number in html and "badge-new" in html
    assert reverse("core:notification", args=[Notification.objects.get(recipient=worker).pk]) in html
    assert unread.count() == 0
    header = html[:html.index("</header>")]
    assert "badge-count" not in header  # counted after the page marked them read
    html = client.get(reverse("core:notifications")).content.decode()
    assert "badge-new" not in html  # new once


def test_a_notification_opens_what_it_is_about_and_only_for_its_recipient(client_as, dnet):
    req = file_request(dnet)
    note = Notification.objects.get(recipient=dnet.users.grid_worker)
    assert client_as(dnet.users.grid_worker2).get(reverse("core:notification", args=[note.pk])).status_code == 404
    assert client_as(dnet.users.grid_worker2).get(reverse("core:notification", args=[10 ** 9])).status_code == 404
    note.refresh_from_db()
    assert note.read_at is None
    response = client_as(dnet.users.grid_worker).get(reverse("core:notification", args=[note.pk]))
    assert response.status_code == 302 and response["Location"] == reverse("dispatch:request", args=[req.pk])
    note.refresh_from_db()
    assert note.read_at == NOW
    # A link that is not an address on this site opens the list instead.
    odd = Notification.objects.create(recipient=dnet.users.grid_worker, kind="x", language="zh-hans",
                                      subject="x", link="https://example.org/")
    response = client_as(dnet.users.grid_worker).get(reverse("core:notification", args=[odd.pk]))
    assert response["Location"] == reverse("core:notifications")


def test_mark_all_as_read(client_as, dnet):
    for _ in range(3):
        file_request(dnet)
    client = client_as(dnet.users.grid_worker)
    assert client.get(reverse("core:notifications_read")).status_code == 405
    response = client.post(reverse("core:notifications_read"))
    assert response.status_code == 302
    assert not Notification.objects.filter(recipient=dnet.users.grid_worker, read_at__isnull=True).exists()


# --- the queue and the inbox refresh by themselves -----------------------------------------


def test_the_queue_polls_and_marks_what_arrived_since_it_was_opened(client_as, dnet, settings):
    settings.POLL_SECONDS = 7
    first = file_request(dnet)
    client = client_as(dnet.users.dispatch_officer)
    html = client.get(QUEUE, {"category": "water"}).content.decode()
    poll = re.search(r'id="queue-results"[^>]*hx-get="([^"]+)" hx-trigger="every 7s"', html)
    assert poll is not None
    url = poll.group(1).replace("&amp;", "&")
    query = parse_qs(urlparse(url).query)
    assert query["category"] == ["water"] and query["since"] == [NOW.isoformat()]
    assert "badge-new" not in html
    later = NOW + dt.timedelta(minutes=5)
    with clock.frozen_at(later):
        second = file_request(dnet, description="又一件")
        urgent = file_request(dnet, description="急", urgency="urgent")
        fragment = client.get(url, headers={"HX-Request": "true", "HX-Target": "queue-results"}).content.decode()
    assert "<html" not in fragment and 'id="queue-results"' in fragment
    rows = {m.group(1): m.group(0) for m in re.finditer(r'<tr class="[^"]*" data-state="\w+" data-number="([^"]+)">'
                                                      r'.*?</tr>', fragment, re.S)}
    assert set(rows) == {first.number, second.number, urgent.number}
    assert "badge-new" not in rows[first.number]
    assert "badge-new" in rows[second.number] and "badge-new" in rows[urgent.number]
    assert "badge-urgent" in rows[urgent.number]
    assert 'hx-swap-oob="true"' in fragment  # the header's unread count follows along


def test_the_inbox_polls_and_marks_a_new_escalation(client_as, dnet):
    req = file_request(dnet)
    client = client_as(dnet.users.water_officer)
    html = client.get(reverse("dispatch:inbox")).content.decode()
    assert 'id="inbox-results"' in html and not numbers(html)
    url = re.search(r'id="inbox-results"[^>]*hx-get="([^"]+)"', html).group(1).replace("&amp;", "&")
    with clock.frozen_at(NOW + dt.timedelta(minutes=1)):
        services.request_escalate(actor=dnet.users.grid_worker, request=req, reason="需要水利局",
                                  departments=[dnet.departments["water"]])
        fragment = client.get(url, headers={"HX-Request": "true", "HX-Target": "inbox-results"}).content.decode()
    assert "<html" not in fragment and numbers(fragment) == {req.number}
    assert "badge-new" in fragment
    assert re.search(r'id="unread"[^>]*hx-swap-oob="true">通知 <span class="badge badge-count"[^>]*>1<', fragment)


def test_a_since_from_the_future_or_without_a_zone_counts_from_now(client_as, dnet):
    file_request(dnet)
    client = client_as(dnet.users.dispatch_officer)
    for since in ("2999-01-01T00:00:00+08:00", "2025-06-01T00:00:00", "garbage"):
        html = client.get(QUEUE, {"since": since}).content.decode()
        assert "badge-new" not in html, since


# --- a department officer reaches the household ---------------------------------------------


def test_a_department_officer_sees_the_household_s_address_and_phone_audited(client_as, dnet):
    req = file_request(dnet)
    detail = reverse("dispatch:request", args=[req.pk])
    assert client_as(dnet.users.water_officer).get(detail).status_code == 404  # not escalated to them yet
    services.request_escalate(actor=dnet.users.grid_worker, request=req, reason="需要水利局",
                              departments=[dnet.departments["water"]])
    before = AuditEntry.objects.filter(action="request.household_contact").count()
    html = client_as(dnet.users.water_officer).get(detail).content.decode()
    assert 'id="contact"' in html and "东村一组 1 号" in html and 'href="tel:0892-0000000"' in html
    assert AuditEntry.objects.filter(action="request.household_contact").count() == before + 1
    inbox = client_as(dnet.users.water_officer).get(reverse("dispatch:inbox")).content.decode()
    assert "东村一组 1 号" in inbox and 'href="tel:0892-0000000"' in inbox
    assert AuditEntry.objects.filter(action="request.household_contact").count() == before + 2
    # Another department, and staff who have the household's own page, get no such block.
    assert client_as(dnet.users.housing_officer).get(detail).status_code == 404
    html = client_as(dnet.users.grid_worker).get(detail).content.decode()
    assert 'id="contact"' not in html
    assert AuditEntry.objects.filter(action="request.household_contact").count() == before + 2


# --- a list costs the same queries whatever its rows ----------------------------------------


def test_the_lists_cost_the_same_queries_for_3_rows_as_for_12(client_as, dnet):
    officer, water = client_as(dnet.users.dispatch_officer), client_as(dnet.users.water_officer)
    worker = client_as(dnet.users.grid_worker)
    pages = [
        (officer, QUEUE, {}), (officer, QUEUE, {"state": "all"}), (officer, QUEUE, {"q": "水"}),
        (officer, QUEUE, {"since": NOW.isoformat()}), (water, reverse("dispatch:inbox"), {}),
        (worker, reverse("dispatch:to_confirm"), {}),
        (officer, reverse("dispatch:stats"), {"node": dnet.nodes.village.code}),
        (officer, reverse("dispatch:map"), {}),
    ]

    def add(n: int) -> None:
        households = [dnet.households.h1, dnet.households.h2, dnet.households.h3, dnet.households.h4]
        for i in range(n):
            req = file_request(dnet, by=dnet.users.dispatch_officer, household=households[i % 4],
                               description=f"水管第{i}处漏水")
            services.request_escalate(actor=dnet.users.dispatch_officer, request=req, reason="呼叫部门",
                                      departments=[dnet.departments["water"]])
            if i % 3 == 0:
                services.request_accept(actor=dnet.users.water_officer, request=req)
                services.request_resolve(actor=dnet.users.water_officer, request=req, resolution="修好")

    add(3)
    for client, url, params in pages:  # warm sessions and translations
        client.get(url, params)
    few = [queries(client, url, params) for client, url, params in pages]
    Notification.objects.update(read_at=None)  # the list marks what it shows read: as many new as before
    few_notified = queries(worker, reverse("core:notifications"))
    add(9)
    many = [queries(client, url, params) for client, url, params in pages]
    Notification.objects.update(read_at=None)
    many_notified = queries(worker, reverse("core:notifications"))
    assert Request.objects.count() == 12
    assert many == few, list(zip([p[1] for p in pages], few, many))
    assert many_notified == few_notified
