"""The request pages through Django's test client: each page answers the users it is for,
a request outside scope is 404, every action POST changes the state through the services
with one audit entry, an illegal action is a 409 page, the resident's form files once
however often it is sent, and the queue costs the same queries for 3 requests as for 12."""

from __future__ import annotations

import datetime as dt
import io
import uuid
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from tests.factories import PAGES_PASSWORD, Factory
from tongxin.core import clock
from tongxin.core.models import AuditEntry
from tongxin.dispatch import services
from tongxin.dispatch.catalogue import DEPARTMENTS
from tongxin.dispatch.models import Attachment, Category, Request, RequestDepartment, State
from tongxin.dispatch.views import due_info
from tongxin.grid.models import Node
from tongxin.people.roles import Role

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("dispatch_now")]

TZ = ZoneInfo("Asia/Shanghai")
# A Wednesday in office hours, in a year whose official calendar the package knows.
NOW = dt.datetime(2025, 6, 4, 10, 0, tzinfo=TZ)


# --- the dispatch part of the page-test network (shared with the browser tests) -------------


def add_dispatch(net):
    """Categories, the county's departments, a dispatch officer and two department officers,
    and centres and outlines for the map, on top of ``tests.factories.build_pages_network``."""
    make = Factory(start=8000)
    make.categories()
    county = net.nodes.county

    def person(username, full_name, role, department=None, language="zh-hans"):
        return make.user(username, role, county, department=department, password=PAGES_PASSWORD,
                         full_name=full_name, language=language)

    net.users.system_admin = person("system.admin", "系统管理员", Role.SYSTEM_ADMIN)
    net.departments = make.catalogue_departments(actor=net.users.system_admin, node=county)

    net.users.dispatch_officer = person("dispatch.officer", "调度员 格桑", Role.DISPATCH_OFFICER)
    net.users.water_officer = person("water.officer", "水利局 拉巴", Role.DEPARTMENT_OFFICER,
                                     department=net.departments["water"])
    net.users.housing_officer = person("housing.officer", "住建局 尼玛", Role.DEPARTMENT_OFFICER,
                                       department=net.departments["housing"])
    # Synthetic centres and outlines around Kangma town (no service sets them without a scope).
    places = {"540230": (28.56, 89.68, 0.30), "540230100": (28.56, 89.66, 0.10), "540230201": (28.66, 89.92, 0.08),
              "540230100001": (28.555, 89.655, 0.03), "540230201001": (28.665, 89.925, 0.03)}
    for code, (lat, lon, r) in places.items():
        ring = [[lon - r, lat - r * .8], [lon + r, lat - r * .8], [lon + r * 1.1, lat + r * .7],
                [lon - r * .9, lat + r * .8], [lon - r, lat - r * .8]]
        Node.objects.filter(code=code).update(centre_lat=lat, centre_lon=lon,
                                              boundary={"type": "Polygon", "coordinates": [ring]})
    for n in vars(net.nodes).values():
        n.refresh_from_db()
    return net


def file_request(net, *, by=None, household=None, category="water", description="井边的水管冻住了。",
                 urgency="normal", lat=None, lon=None) -> Request:
    household = household or net.households.h1
    request, created = services.request_file(
        actor=by or net.users.grid_worker, category=Category.objects.get(code=category), node=household.node,
        household=household, description=description, reporter_kind="grid_worker", urgency=urgency, lat=lat, lon=lon)
    assert created
    return request


def png_bytes() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


def detail_url(req) -> str:
    return reverse("dispatch:request", args=[req.pk])


def act_url(req, action: str) -> str:
    return reverse("dispatch:act", args=[req.pk, action])


def audit_entries(action: str, req) -> int:
    return AuditEntry.objects.filter(action=action, object_id=str(req.pk)).count()


def state_of(req) -> str:
    return Request.objects.get(pk=req.pk).state


# --- the queue ---------------------------------------------------------------------------


def test_queue_lists_open_requests_by_running_deadline_and_marks_the_overdue(client_as, dnet):
    with clock.frozen_at(NOW - dt.timedelta(days=3)):
        late = file_request(dnet, description="三天前报的")
    soon = file_request(dnet, category="electricity")
    done = file_request(dnet, category="roads")
    services.request_accept(actor=dnet.users.village_staff, request=done)
    services.request_resolve(actor=dnet.users.village_staff, request=done, resolution="修好了")

    response = client_as(dnet.users.grid_worker, "en").get(reverse("dispatch:queue"))
    assert response.status_code == 200
    html = response.content.decode()
    assert late.number in html and soon.number in html
    assert done.number not in html  # resolved: no longer open
    assert html.index(late.number) < html.index(soon.number)  # the earliest deadline first
    assert html.count('class="badge badge-overdue"') == 1  # in words, not only in colour
    assert 'class="overdue"' in html
    with translation.override("en"):
        late_text, soon_text = due_info(late.accept_due, NOW)["text"], due_info(soon.accept_due, NOW)["text"]
    assert late_text == "overdue 18 h" and late_text in html  # filed on a holiday Sunday: due Tuesday 16:00
    assert soon_text == "in 6 h" and soon_text in html  # 4 office hours: 10:00 → 16:30
    local_due = soon.accept_due.astimezone(TZ).strftime("%Y-%m-%d %H:%M")
    assert local_due in html  # the exact local time beside the humanised one
    assert "Unit 1" in html  # the place, in the page's language


def test_queue_filters_and_answers_htmx_with_the_results_only(client_as, dnet):
    water = file_request(dnet)
    power = file_request(dnet, category="electricity")
    client = client_as(dnet.users.dispatch_officer)
    response = client.get(reverse("dispatch:queue"), {"category": "electricity"})
    assert power.number in response.content.decode() and water.number not in response.content.decode()

    response = client.get(reverse("dispatch:queue"), {"node": "540230100", "state": "reported"},
                          headers={"HX-Request": "true", "HX-Target": "results"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html and 'id="queue"' in html
    assert water.number in html and power.number in html

    response = client.get(reverse("dispatch:queue"), {"node": "540230201"})  # Samada: nothing there
    assert water.number not in response.content.decode()

    services.request_escalate(actor=dnet.users.grid_worker, request=water, reason="需要水利局",
                              departments=[dnet.departments["water"]])
    response = client.get(reverse("dispatch:queue"), {"department": "water"})
    html = response.content.decode()
    assert water.number in html and power.number not in html
    assert "县水利局" in html  # handled by the lead department now


def test_queue_costs_the_same_queries_for_3_requests_as_for_12(client_as, dnet):
    client = client_as(dnet.users.dispatch_officer)
    client.get(reverse("dispatch:queue"))  # warm the session and the translations

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(reverse("dispatch:queue")).status_code == 200
        return len(ctx.captured_queries)

    officer = dnet.users.dispatch_officer
    for i in range(3):
        file_request(dnet, by=officer, household=[dnet.households.h1, dnet.households.h3][i % 2])
    few = queries()
    for i in range(9):
        req = file_request(dnet, by=officer, household=[dnet.households.h2, dnet.households.h4][i % 2],
                           category="heating")
        if i % 3 == 0:
            services.request_escalate(actor=dnet.users.dispatch_officer, request=req, reason="呼叫部门",
                                      departments=[dnet.departments["housing"]],
                                      assisting=[dnet.departments["water"]])
    many = queries()
    assert Request.objects.count() == 12
    assert few == many


def test_queue_and_map_are_not_for_residents(client_as, dnet):
    client = client_as(dnet.users.resident)
    assert client.get(reverse("dispatch:queue")).status_code == 404
    assert client.get(reverse("dispatch:map")).status_code == 404
    assert client.get(reverse("dispatch:stats")).status_code == 404


# --- the pages answer the users they are for ---------------------------------------------


@pytest.mark.parametrize("who, page", [
    ("grid_worker", "dispatch:queue"), ("dispatch_officer", "dispatch:queue"), ("water_officer", "dispatch:queue"),
    ("county_admin", "dispatch:queue"), ("dispatch_officer", "dispatch:map"), ("grid_worker", "dispatch:map"),
    ("water_officer", "dispatch:inbox"), ("dispatch_officer", "dispatch:inbox"),
    ("dispatch_officer", "dispatch:stats"), ("county_admin", "dispatch:stats"), ("village_staff", "dispatch:stats"),
    ("resident", "dispatch:my_requests"), ("resident", "dispatch:request_new"),
    ("grid_worker", "dispatch:request_new"),
])
@pytest.mark.parametrize("language", ["zh-hans", "bo"])
def test_each_page_answers_its_users(client_as, dnet, who, page, language):
    file_request(dnet)
    response = client_as(getattr(dnet.users, who), language).get(reverse(page))
    assert response.status_code == 200
    lang = {"zh-hans": 'lang="zh-Hans"', "bo": 'lang="bo"'}[language]
    assert lang in response.content.decode()[:200]


def test_menu_shows_the_request_entries_by_role(client_as, dnet):
    def menu(user) -> str:
        html = client_as(user).get(reverse("dispatch:my_requests") if user == dnet.users.resident
                                   else reverse("dispatch:queue")).content.decode()
        return html[html.index('class="menu"'):html.index("</nav>")]

    officer = menu(dnet.users.dispatch_officer)
    assert all(reverse(n) in officer for n in ("dispatch:queue", "dispatch:map", "dispatch:stats"))
    assert reverse("dispatch:inbox") not in officer
    water = menu(dnet.users.water_officer)
    assert reverse("dispatch:inbox") in water and reverse("dispatch:stats") not in water
    resident = menu(dnet.users.resident)
    assert reverse("dispatch:my_requests") in resident and reverse("dispatch:queue") not in resident
    worker = menu(dnet.users.grid_worker)
    assert reverse("dispatch:queue") in worker and reverse("dispatch:stats") not in worker


def test_detail_shows_the_timeline_and_only_the_actions_allowed_now(client_as, dnet):
    req = file_request(dnet)
    html = client_as(dnet.users.grid_worker).get(detail_url(req)).content.decode()
    assert req.number in html and 'id="timeline"' in html
    assert html.count('class="step"') == 1 and 'data-action="file"' in html
    for allowed in ("accept", "escalate", "reject"):
        assert act_url(req, allowed) in html
    for not_now in ("start", "resolve", "rate", "reopen"):
        assert act_url(req, not_now) not in html
    # The category's department is preselected for the whistle.
    assert '<option value="water" selected>' in html

    # The resident sees their household's request, and no handling action.
    html = client_as(dnet.users.resident, "bo").get(detail_url(req)).content.decode()
    assert req.number in html and act_url(req, "accept") not in html and act_url(req, "escalate") not in html


def test_the_timeline_names_each_handler_in_the_page_s_language_as_it_was_then(client_as, dnet):
    req = file_request(dnet)
    services.request_escalate(actor=dnet.users.grid_worker, request=req, reason="主管道爆裂。",
                              departments=[dnet.departments["water"]], assisting=[dnet.departments["housing"]])
    # The grid is renamed afterwards: its step on the timeline keeps the name it had then.
    Node.objects.filter(pk=dnet.nodes.grid1.pk).update(name_bo="དྲ་མིག་གསར་པ།", name_en="New Grid 1")
    water = {code: (zh, bo, en) for code, zh, bo, en in DEPARTMENTS}["water"]
    for language, grid, department in (("zh-hans", "一号网格", water[0]), ("bo", "དྲ་མིག་དང་པོ།", water[1]),
                                       ("en", "Grid 1", water[2])):
        html = client_as(dnet.users.dispatch_officer, language).get(detail_url(req)).content.decode()
        who = [line for line in html.splitlines() if '<div class="who">' in line]
        assert len(who) == 2, language
        assert grid in who[0] and department in who[1], language
    timeline = html[html.index('id="timeline"'):]
    assert "New Grid 1" not in timeline
    assert "New Grid 1" in html[:html.index('id="timeline"')]  # the place as it is named now


def test_a_request_outside_scope_is_404_never_403(client_as, dnet):
    req = file_request(dnet)
    for user in (dnet.users.grid_worker_b, dnet.users.grid_worker2, dnet.users.water_officer):
        client = client_as(user)
        assert client.get(detail_url(req)).status_code == 404
        response = client.post(act_url(req, "accept"))
        assert response.status_code == 404
        assert state_of(req) == State.REPORTED
    assert client_as(dnet.users.grid_worker).get(
        reverse("dispatch:request", args=[uuid.uuid4()])).status_code == 404


# --- actions -----------------------------------------------------------------------------


def test_the_ladder_through_the_pages_one_audit_entry_a_step(client_as, dnet):
    req = file_request(dnet)
    worker = client_as(dnet.users.grid_worker)

    response = worker.post(act_url(req, "accept"))
    assert response.status_code == 302 and response["Location"] == detail_url(req)
    assert state_of(req) == State.ACCEPTED and audit_entries("request.accept", req) == 1

    response = worker.post(act_url(req, "escalate"), {"to": "departments", "lead": "water",
                                                      "assisting": ["housing"], "reason": "管道需要更换"})
    assert response.status_code == 302
    assert state_of(req) == State.ESCALATED and audit_entries("request.escalate", req) == 1
    called = {(d.department.code, d.role) for d in RequestDepartment.objects.filter(request=req, active=True)}
    assert called == {("water", "lead"), ("housing", "assist")}

    officer = client_as(dnet.users.water_officer)
    html = officer.get(reverse("dispatch:inbox")).content.decode()
    assert req.number in html and act_url(req, "accept") in html
    response = officer.post(act_url(req, "accept"), {"next": reverse("dispatch:inbox")})
    assert response.status_code == 302 and response["Location"] == reverse("dispatch:inbox")
    assert state_of(req) == State.ACCEPTED and audit_entries("request.accept", req) == 2

    housing = client_as(dnet.users.housing_officer)
    response = housing.post(act_url(req, "accept"))  # assisting: reports for duty, the state stays
    assert response.status_code == 302 and state_of(req) == State.ACCEPTED
    assert audit_entries("request.department_accept", req) == 1

    response = officer.post(act_url(req, "resolve"), {"resolution": "更换了管道"})
    assert response.status_code == 302
    assert state_of(req) == State.RESOLVED and audit_entries("request.resolve", req) == 1

    resident = client_as(dnet.users.resident, "bo")
    html = resident.get(detail_url(req)).content.decode()
    assert act_url(req, "rate") in html and act_url(req, "reopen") in html
    response = resident.post(act_url(req, "rate"), {"rating": "5", "comment": "ཐུགས་རྗེ་ཆེ།"})
    assert response.status_code == 302
    fresh = Request.objects.get(pk=req.pk)
    assert fresh.state == State.CLOSED and fresh.rating == 5 and audit_entries("request.rate", req) == 1

    html = resident.get(detail_url(req)).content.decode()
    assert html.count('class="step"') == 7  # filed, accepted, escalated, accepted, reported, resolved, rated
    assert "ཐུགས་རྗེ་ཆེ།" in html


def test_escalate_to_the_next_level_and_reopen(client_as, dnet):
    req = file_request(dnet)
    response = client_as(dnet.users.grid_worker).post(act_url(req, "escalate"),
                                                      {"to": "next", "reason": "网格解决不了"})
    assert response.status_code == 302
    fresh = Request.objects.get(pk=req.pk)
    assert fresh.state == State.ESCALATED and fresh.handler_node == dnet.nodes.village
    village = client_as(dnet.users.village_staff)
    assert village.post(act_url(req, "accept")).status_code == 302
    assert village.post(act_url(req, "start")).status_code == 302
    assert village.post(act_url(req, "resolve"), {"resolution": "已处理"}).status_code == 302
    resident = client_as(dnet.users.resident)
    assert resident.post(act_url(req, "reopen"), {"reason": "还是没有水"}).status_code == 302
    assert state_of(req) == State.REOPENED and audit_entries("request.reopen", req) == 1


def test_an_illegal_action_is_a_409_page_and_changes_nothing(client_as, dnet):
    req = file_request(dnet)
    before = AuditEntry.objects.count()
    response = client_as(dnet.users.grid_worker).post(act_url(req, "start"))
    assert response.status_code == 409
    html = response.content.decode()
    assert 'id="error"' in html and 'data-status="409"' in html
    assert req.number in html and 'id="timeline"' in html  # the request's page again, with the message
    assert state_of(req) == State.REPORTED and AuditEntry.objects.count() == before


def test_bad_input_is_a_422_page_that_keeps_what_was_typed(client_as, dnet):
    req = file_request(dnet)
    client = client_as(dnet.users.grid_worker)
    response = client.post(act_url(req, "escalate"), {"to": "departments", "lead": "", "reason": "说明原因"})
    assert response.status_code == 422
    assert "说明原因" in response.content.decode()
    response = client.post(act_url(req, "escalate"), {"to": "departments", "lead": "nonexistent", "reason": "x"})
    assert response.status_code == 422
    response = client.post(act_url(req, "reject"), {"reason": "  "})
    assert response.status_code == 422
    assert state_of(req) == State.REPORTED and audit_entries("request.escalate", req) == 0


def test_a_resident_cannot_handle_and_an_unknown_action_is_404(client_as, dnet):
    req = file_request(dnet)
    resident = client_as(dnet.users.resident)
    assert resident.post(act_url(req, "accept")).status_code == 403
    assert state_of(req) == State.REPORTED
    assert resident.post(reverse("dispatch:act", args=[req.pk, "teleport"])).status_code == 404
    assert resident.get(act_url(req, "accept")).status_code == 405


# --- residents ---------------------------------------------------------------------------


def test_the_resident_form_files_once_however_often_it_is_sent(client_as, dnet):
    client = client_as(dnet.users.resident, "bo")
    response = client.get(reverse("dispatch:request_new"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "ཆུ་མཁོ་སྤྲོད།" in html  # category names in the page's language
    assert "ཞུ་གཏུག" in html  # private categories too: it is their own request
    client_id = response.context["form"].initial["client_id"]
    assert f'value="{client_id}"' in html

    form = {"client_id": str(client_id), "category": "water", "description": "ཆུ་མི་འབབ།", "urgency": "urgent"}
    first = client.post(reverse("dispatch:request_new"), form)
    second = client.post(reverse("dispatch:request_new"), form)
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"] == reverse("dispatch:request", args=[client_id])
    assert Request.objects.count() == 1
    req = Request.objects.get()
    assert req.household == dnet.households.h1 and req.node == dnet.nodes.unit1 and req.urgency == "urgent"
    assert req.reporter == dnet.users.resident and req.reporter_kind == "resident"
    assert AuditEntry.objects.filter(action="request.file").count() == 1

    html = client.get(reverse("dispatch:my_requests")).content.decode()
    assert req.number in html and "ཆུ་མཁོ་སྤྲོད།" in html


def test_the_form_with_a_photo_and_the_photo_served_to_the_page(client_as, dnet):
    client = client_as(dnet.users.resident)
    from django.core.files.uploadedfile import SimpleUploadedFile

    form = {"client_id": str(uuid.uuid4()), "category": "heating", "description": "暖气不热", "urgency": "normal",
            "photo": SimpleUploadedFile("p.png", png_bytes(), content_type="image/png")}
    response = client.post(reverse("dispatch:request_new"), form)
    assert response.status_code == 302
    req = Request.objects.get()
    photo = Attachment.objects.get(request=req)
    url = reverse("dispatch:photo", args=[req.pk, photo.pk])
    assert url in client.get(detail_url(req)).content.decode()
    response = client.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert response.content.startswith(b"\x89PNG")
    assert client_as(dnet.users.grid_worker_b).get(url).status_code == 404


def test_a_refused_photo_files_nothing(client_as, dnet):
    from django.core.files.uploadedfile import SimpleUploadedFile

    form = {"client_id": str(uuid.uuid4()), "category": "water", "description": "x", "urgency": "normal",
            "photo": SimpleUploadedFile("p.png", b"not an image", content_type="image/png")}
    response = client_as(dnet.users.resident).post(reverse("dispatch:request_new"), form)
    assert response.status_code == 422
    assert Request.objects.count() == 0 and not AuditEntry.objects.filter(action="request.file").exists()


def test_a_grid_worker_files_for_a_household_by_number_or_from_its_page(client_as, dnet):
    client = client_as(dnet.users.grid_worker)
    response = client.post(reverse("dispatch:request_new"), {
        "client_id": str(uuid.uuid4()), "category": "care", "description": "老人需要照顾", "urgency": "normal",
        "household_number": "A-0002"})
    assert response.status_code == 302
    assert Request.objects.get().household == dnet.households.h2

    url = reverse("dispatch:request_new") + f"?household={dnet.households.h1.pk}"
    html = client.get(url).content.decode()
    assert "A-0001" in html
    response = client.post(url, {"client_id": str(uuid.uuid4()), "category": "water", "description": "水管",
                                 "urgency": "normal", "household": str(dnet.households.h1.pk)})
    assert response.status_code == 302
    assert Request.objects.filter(household=dnet.households.h1, reporter_kind="grid_worker").count() == 1

    # A household elsewhere is unknown to them.
    response = client.post(reverse("dispatch:request_new"), {
        "client_id": str(uuid.uuid4()), "category": "water", "description": "x", "urgency": "normal",
        "household_number": "N-0001"})
    assert response.status_code == 422 and Request.objects.count() == 2


# --- map, inbox, statistics --------------------------------------------------------------


def test_the_map_carries_points_and_outlines_without_tiles(client_as, dnet):
    with clock.frozen_at(NOW - dt.timedelta(days=3)):
        late = file_request(dnet)
    placed = file_request(dnet, lat=28.57, lon=89.67)
    response = client_as(dnet.users.dispatch_officer).get(reverse("dispatch:map"))
    assert response.status_code == 200
    data = response.context["map_data"]
    by_number = {p["number"]: p for p in data["points"]}
    assert by_number[late.number]["overdue"] and by_number[late.number]["approx"]  # at the village centre
    assert not by_number[placed.number]["overdue"] and (by_number[placed.number]["lat"], by_number[placed.number][
        "lon"]) == (28.57, 89.67)
    assert len(data["boundaries"]) == 3  # the county and its two townships
    html = response.content.decode()
    assert 'id="map-data"' in html and "leaflet/leaflet.js" in html
    assert "tile.openstreetmap" not in html and "{z}" not in html


def test_stats_for_a_node_and_a_bad_period(client_as, dnet):
    req = file_request(dnet)
    services.request_accept(actor=dnet.users.grid_worker, request=req)
    services.request_resolve(actor=dnet.users.grid_worker, request=req, resolution="done")
    file_request(dnet, category="roads")
    client = client_as(dnet.users.dispatch_officer)
    response = client.get(reverse("dispatch:stats"), {"node": "540230", "from": "2025-01-01", "to": "2025-06-30"})
    assert response.status_code == 200
    figures = response.context["figures"]
    assert figures["total"] == 2 and figures["resolved"] == 1
    html = response.content.decode()
    assert "康马镇" in html and "供水" in html and "100.0%" in html
    response = client.get(reverse("dispatch:stats"), {"node": "540230", "from": "2025-06-30", "to": "2025-01-01"})
    assert response.status_code == 422
    # Village staff see their village; the county is outside their scope.
    village = client_as(dnet.users.village_staff)
    assert village.get(reverse("dispatch:stats")).context["node"] == dnet.nodes.village
    assert village.get(reverse("dispatch:stats"), {"node": "540230"}).status_code == 404
