"""The grid worker's and the resident's day in the pages (issue 9, items 1, 2 and 6):
door-knocking rounds, recording a visit from a household in two taps (a finding opens a
request in the same step), coverage by child node with the households nobody visited,
planning a round; the household page as the home of a household's requests and visits; each
role's start page; the escalate form that names where "next level" goes; the confirmation
after filing."""

from __future__ import annotations

import datetime as dt
import re
import uuid

import pytest
from django.urls import reverse

from tests.web.test_dispatch_pages import NOW, file_request
from tongxin.core import clock
from tongxin.core.models import AuditEntry
from tongxin.dispatch import services
from tongxin.dispatch.models import Request, Visit, VisitRound

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("dispatch_now")]


def plan(net, grid=None, title="冬季敲门行动", by=None) -> VisitRound:
    return services.visit_round_plan(actor=by or net.users.village_staff, grid=grid or net.nodes.grid1, title=title,
                                     starts_on=clock.today() - dt.timedelta(days=3),
                                     ends_on=clock.today() + dt.timedelta(days=20))


def audit_count(**filters) -> int:
    return AuditEntry.objects.filter(**filters).count()


def html(response) -> str:
    return response.content.decode()


def position(text: str, *needles: str) -> list[int]:
    return [text.index(n) for n in needles]


# --- each role lands where its work is ------------------------------------------------------


@pytest.mark.parametrize("who, where", [
    ("dispatch_officer", lambda net: reverse("dispatch:queue")),
    ("water_officer", lambda net: reverse("dispatch:inbox")),
    ("grid_worker", lambda net: reverse("dispatch:today")),
    ("resident", lambda net: reverse("registry:household", args=[net.households.h1.pk])),
    ("village_staff", lambda net: reverse("grid:node", args=[net.nodes.village.code])),
    ("auditor", lambda net: reverse("core:audit")),
])
def test_each_role_lands_where_its_work_is(client_as, dnet, who, where):
    response = client_as(getattr(dnet.users, who)).get("/", follow=True)
    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == where(dnet)


def test_the_grid_workers_day_overdue_due_and_households_to_visit(client_as, dnet):
    with clock.frozen_at(NOW - dt.timedelta(days=5)):
        late = file_request(dnet, description="五天前报的")
    fresh = file_request(dnet, household=dnet.households.h2, description="今天报的")
    elsewhere = file_request(dnet, by=dnet.users.grid_worker2, household=dnet.households.h3)
    visit_round = plan(dnet)
    services.visit_record(actor=dnet.users.grid_worker, household=dnet.households.h1, visited_on=clock.today(),
                          visit_round=visit_round)
    before = audit_count(action="household.list")
    page = html(client_as(dnet.users.grid_worker).get(reverse("dispatch:today")))
    overdue = page[page.index('id="today-overdue"'):page.index('id="today-due"')]
    assert late.number in overdue and fresh.number not in overdue
    due = page[page.index('id="today-due"'):page.index('id="visit"')]
    assert fresh.number in due and elsewhere.number not in page
    # The workflow table says the worker may accept both: the button is drawn.
    assert f'action="{reverse("dispatch:act", args=[late.pk, "accept"])}"' in page
    # Households still to visit in the round running today: A-0002 yes, A-0001 (visited) no.
    to_visit = page[page.index('id="to-visit-1"'):]
    assert "བཀྲ་ཤིས་དོན་གྲུབ།" in to_visit and "扎西顿珠" not in to_visit
    assert f"{reverse('dispatch:visit_new', args=[dnet.households.h2.pk])}?round={visit_round.pk}" in to_visit
    assert audit_count(action="household.list") == before + 1  # heads' names shown: audited
    # Not for those without grid work.
    assert client_as(dnet.users.resident).get(reverse("dispatch:today")).status_code == 404


# --- planning and the round ---------------------------------------------------------------


def test_village_staff_plan_a_round_for_a_grid(client_as, dnet):
    village = client_as(dnet.users.village_staff)
    url = reverse("dispatch:visit_plan", args=[dnet.nodes.grid1.code])
    assert village.get(url).status_code == 200
    before = audit_count()
    bad = village.post(url, {"title": "春季", "starts_on": "2025-06-30", "ends_on": "2025-06-01"})
    assert bad.status_code == 422 and VisitRound.objects.count() == 0 and audit_count() == before
    response = village.post(url, {"title": "春季敲门", "starts_on": "2025-06-01", "ends_on": "2025-06-30"})
    planned = VisitRound.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("dispatch:visit_round",
                                                                           args=[planned.pk])
    assert planned.node == dnet.nodes.grid1 and audit_count() == before + 1
    assert "春季敲门" in html(village.get(response["Location"]))
    # Only grids, only in scope, only for those who plan.
    assert village.get(reverse("dispatch:visit_plan", args=[dnet.nodes.unit1.code])).status_code == 404
    assert village.get(reverse("dispatch:visit_plan", args=[dnet.nodes.grid_b.code])).status_code == 404
    worker = client_as(dnet.users.grid_worker)
    assert worker.get(url).status_code == 404
    assert worker.post(url, {"title": "x", "starts_on": "2025-06-01", "ends_on": "2025-06-30"}).status_code == 404
    assert VisitRound.objects.count() == 1


def test_the_round_lists_households_not_yet_visited_first(client_as, dnet):
    visit_round = plan(dnet)
    services.visit_record(actor=dnet.users.grid_worker, household=dnet.households.h1, visited_on=clock.today(),
                          visit_round=visit_round, findings="一切正常")
    worker = client_as(dnet.users.grid_worker)
    before = audit_count(action="household.list")
    page = html(worker.get(reverse("dispatch:visit_round", args=[visit_round.pk])))
    listed = page[page.index('id="round-households"'):]
    h1, h2 = position(listed, str(dnet.households.h1.pk), str(dnet.households.h2.pk))
    assert h2 < h1  # A-0002, not yet visited, first
    assert listed.count("not-visited") == 1
    assert audit_count(action="household.list") == before + 1
    assert re.search(r'id="round-figures".*?<dd>2</dd>.*?<dd>1</dd>.*?<dd>50.0%</dd>', page, re.S)
    # Another grid's worker and the resident do not find it.
    assert client_as(dnet.users.grid_worker2).get(reverse("dispatch:visit_round",
                                                          args=[visit_round.pk])).status_code == 404
    assert client_as(dnet.users.resident).get(reverse("dispatch:visit_round",
                                                      args=[visit_round.pk])).status_code == 404


def test_the_visits_page_lists_rounds_with_their_coverage(client_as, dnet):
    ours, theirs = plan(dnet), plan(dnet, grid=dnet.nodes.grid2, title="二号网格敲门")
    page = html(client_as(dnet.users.grid_worker).get(reverse("dispatch:visits")))
    assert ours.title in page and theirs.title not in page
    assert theirs.title in html(client_as(dnet.users.village_staff).get(reverse("dispatch:visits")))
    for outsider in (dnet.users.water_officer, dnet.users.resident):
        assert client_as(outsider).get(reverse("dispatch:visits")).status_code == 404


# --- recording a visit ----------------------------------------------------------------------


def test_a_visit_in_two_taps_from_the_household_page(client_as, dnet):
    visit_round = plan(dnet)
    worker = client_as(dnet.users.grid_worker)
    household = dnet.households.h2
    page = html(worker.get(reverse("registry:household", args=[household.pk])))
    record = reverse("dispatch:visit_new", args=[household.pk])
    assert f'href="{record}"' in page  # tap one
    form = html(worker.get(record))
    client_id = re.search(r'name="client_id" value="([0-9a-f-]{36})"', form).group(1)
    assert f'name="round" value="{visit_round.pk}"' in form  # the round running for this grid
    before = audit_count()
    tap = {"client_id": client_id, "round": str(visit_round.pk), "outcome": "well"}
    response = worker.post(record, tap)  # tap two
    assert response.status_code == 302
    assert response["Location"] == reverse("dispatch:visit_round", args=[visit_round.pk])
    visit = Visit.objects.get()
    assert (visit.household, visit.round, visit.worker, visit.visited_on) == (
        household, visit_round, dnet.users.grid_worker, clock.today())
    assert not visit.findings and not visit.follow_up and visit.request is None
    assert audit_count() == before + 1
    # A double tap records one visit.
    assert worker.post(record, tap).status_code == 302
    assert Visit.objects.count() == 1 and audit_count() == before + 1
    # The visit shows on the household page, and on the round as visited.
    page = html(worker.get(reverse("registry:household", args=[household.pk])))
    assert 'id="household-visits"' in page and clock.today().isoformat() in page


def test_a_finding_opens_a_request_in_the_same_step(client_as, dnet):
    plan(dnet)
    worker = client_as(dnet.users.grid_worker)
    household = dnet.households.h1
    record = reverse("dispatch:visit_new", args=[household.pk])
    client_id = re.search(r'name="client_id" value="([0-9a-f-]{36})"', html(worker.get(record))).group(1)
    before = audit_count()
    # A category without words is refused, and nothing is written.
    refused = worker.post(record, {"client_id": client_id, "visited_on": clock.today().isoformat(),
                                   "category": "water", "urgency": "urgent", "outcome": "found"})
    assert refused.status_code == 422 and Visit.objects.count() == 0 and audit_count() == before
    response = worker.post(record, {"client_id": client_id, "visited_on": clock.today().isoformat(),
                                    "findings": "水管冻裂，全家无水。", "follow_up": "on", "category": "water",
                                    "urgency": "urgent", "outcome": "found"})
    visit = Visit.objects.get()
    request = Request.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("dispatch:request", args=[request.pk])
    assert visit.request == request and visit.follow_up and request.household == household
    assert (request.reporter_kind, request.urgency, request.description) == ("visit", "urgent", "水管冻裂，全家无水。")
    assert audit_count(action="visit.record") == 1 and audit_count(action="request.file") == 1
    page = html(worker.get(response["Location"]))
    assert request.number in page and 'class="done"' in page  # the confirmation
    # The household page shows the request and the visit that opened it.
    page = html(worker.get(reverse("registry:household", args=[household.pk])))
    requests = page[page.index('id="household-requests"'):page.index('id="household-visits"')]
    assert request.number in requests
    assert reverse("dispatch:request", args=[request.pk]) in page[page.index('id="household-visits"'):]
    # And the round, where the household now counts as visited, links to it too.
    page = html(worker.get(reverse("dispatch:visit_round", args=[visit.round_id])))
    assert reverse("dispatch:request", args=[request.pk]) in page


def test_recording_a_visit_is_refused_outside_scope_and_in_the_future(client_as, dnet):
    record = reverse("dispatch:visit_new", args=[dnet.households.h1.pk])
    for outsider in (dnet.users.grid_worker2, dnet.users.grid_worker_b, dnet.users.resident,
                     dnet.users.water_officer):
        client = client_as(outsider)
        assert client.get(record).status_code == 404
        assert client.post(record, {"client_id": "018f0000-0000-7000-8000-000000000001",
                                    "outcome": "well"}).status_code == 404
    assert Visit.objects.count() == 0
    worker = client_as(dnet.users.grid_worker)
    future = worker.post(record, {"client_id": "018f0000-0000-7000-8000-000000000002", "outcome": "found",
                                  "visited_on": (clock.today() + dt.timedelta(days=1)).isoformat()})
    assert future.status_code == 422 and Visit.objects.count() == 0
    # A round of another grid, named in the address, is not found.
    other = plan(dnet, grid=dnet.nodes.grid2)
    assert worker.get(f"{record}?round={other.pk}").status_code == 404


# --- coverage -------------------------------------------------------------------------------


def test_coverage_by_child_node_with_the_households_not_visited(client_as, dnet):
    visit_round = plan(dnet)
    services.visit_record(actor=dnet.users.grid_worker, household=dnet.households.h1, visited_on=clock.today(),
                          visit_round=visit_round)
    village = client_as(dnet.users.village_staff)
    before = audit_count(action="household.list")
    page = html(village.get(reverse("dispatch:visit_coverage", args=[dnet.nodes.village.code])))
    children = page[page.index('id="coverage-children"'):page.index("</table>", page.index('id="coverage-children"'))]
    assert dnet.nodes.grid1.name_zh in children and dnet.nodes.grid2.name_zh in children
    assert "50.0%" in children and "0.0%" in children
    assert reverse("dispatch:visit_plan", args=[dnet.nodes.grid1.code]) in children
    not_visited = page[page.index('id="not-visited-households"'):]
    assert "扎西顿珠" not in not_visited and "བཀྲ་ཤིས་དོན་གྲུབ།" in not_visited and "次仁" in not_visited
    assert audit_count(action="household.list") == before + 1
    assert re.search(r'id="coverage-figures".*?<dd>3</dd>.*?<dd>1</dd>', page, re.S)
    # The village's page in the network links here.
    assert reverse("dispatch:visit_coverage", args=[dnet.nodes.village.code]) in html(
        village.get(reverse("grid:node", args=[dnet.nodes.village.code])))
    # The grid worker sees their grid by unit; not the village; a period that ends before it starts is 422.
    worker = client_as(dnet.users.grid_worker)
    assert dnet.nodes.unit1.name_zh in html(worker.get(reverse("dispatch:visit_coverage",
                                                               args=[dnet.nodes.grid1.code])))
    assert worker.get(reverse("dispatch:visit_coverage", args=[dnet.nodes.village.code])).status_code == 404
    bad = village.get(reverse("dispatch:visit_coverage", args=[dnet.nodes.village.code]),
                      {"from": "2025-06-30", "to": "2025-06-01"})
    assert bad.status_code == 422
    assert client_as(dnet.users.water_officer).get(
        reverse("dispatch:visit_coverage", args=[dnet.nodes.village.code])).status_code == 404


# --- the household page ---------------------------------------------------------------------


def test_the_household_page_is_the_grid_workers_home_for_a_household(client_as, dnet):
    household = dnet.households.h1
    with clock.frozen_at(NOW - dt.timedelta(days=2)):
        older = file_request(dnet, description="前天报的")
    newer = file_request(dnet, category="roads", description="今天报的")
    other = file_request(dnet, household=dnet.households.h2)
    page = html(client_as(dnet.users.grid_worker).get(reverse("registry:household", args=[household.pk])))
    requests = page[page.index('id="household-requests"'):page.index('id="household-visits"')]
    new_at, old_at = position(requests, newer.number, older.number)
    assert new_at < old_at and other.number not in requests  # newest first, this household only
    assert "state-reported" in requests
    assert f'{reverse("dispatch:request_new")}?household={household.pk}' in page  # no number to type
    assert 'href="tel:0892-0000000" id="call"' in page  # call the household
    assert reverse("dispatch:visit_new", args=[household.pk]) in page
    # The request form comes prefilled with the household: no number field to type into.
    form = html(client_as(dnet.users.grid_worker).get(f'{reverse("dispatch:request_new")}?household={household.pk}'))
    assert household.number in form and 'name="household_number"' not in form
    assert f'name="household" value="{household.pk}"' in form


def test_a_resident_lands_on_their_household_files_and_sees_the_confirmation(client_as, dnet):
    resident = client_as(dnet.users.resident, "bo")
    response = resident.get("/", follow=True)
    page = html(response)
    assert response.redirect_chain[-1][0] == reverse("registry:household", args=[dnet.households.h1.pk])
    assert reverse("dispatch:request_new") in page and 'id="household-requests"' in page
    assert reverse("dispatch:visit_new", args=[dnet.households.h1.pk]) not in page
    assert 'id="household-visits"' not in page  # visits are the staff's record
    assert 'id="call"' not in page  # staff call the household; the household does not call itself
    form = html(resident.get(reverse("dispatch:request_new")))
    client_id = re.search(r'name="client_id" value="([0-9a-f-]{36})"', form).group(1)
    response = resident.post(reverse("dispatch:request_new"), {
        "client_id": client_id, "category": "heating", "description": "ཁང་པ་གྲང་མོ་ཡོད།", "urgency": "normal"})
    request = Request.objects.get()
    assert response.status_code == 302
    detail = html(resident.get(response["Location"]))
    confirmation = detail[detail.index('class="done"'):detail.index("</p>", detail.index('class="done"'))]
    assert request.number in confirmation and dnet.nodes.grid1.name_bo in confirmation
    assert request.number in html(resident.get("/", follow=True))
    # Once resolved, the household page offers the rating (the workflow table's "rate").
    services.request_accept(actor=dnet.users.grid_worker, request=request)
    services.request_resolve(actor=dnet.users.grid_worker, request=request, resolution="修好了")
    page = html(resident.get(reverse("registry:household", args=[dnet.households.h1.pk])))
    assert f'{reverse("dispatch:request", args=[request.pk])}#actions' in page


# --- the escalate form ----------------------------------------------------------------------


def test_the_escalate_form_names_the_next_level_and_keeps_departments_for_the_whistle(client_as, dnet):
    request = file_request(dnet)
    worker = client_as(dnet.users.grid_worker)
    page = html(worker.get(reverse("dispatch:request", args=[request.pk])))
    assert re.search(r'id="next-level">' + re.escape(dnet.nodes.village.name_zh) + "<", page)
    assert 'class="whistle-only stack"' in page and 'name="to" value="next" checked' in page
    # Called to a department, "next level" goes back to the county's dispatch centre.
    services.request_escalate(actor=dnet.users.grid_worker, request=request, reason="需要水利局",
                              departments=[dnet.departments["water"]])
    services.request_accept(actor=dnet.users.water_officer, request=request)
    page = html(client_as(dnet.users.dispatch_officer).get(reverse("dispatch:request", args=[request.pk])))
    assert re.search(r'id="next-level">' + re.escape(dnet.nodes.county.name_zh) + "<", page)
    # At the top of the ladder there is no next level: departments are chosen already.
    services.request_escalate(actor=dnet.users.dispatch_officer, request=request, reason="回到调度中心")
    page = html(client_as(dnet.users.dispatch_officer).get(reverse("dispatch:request", args=[request.pk])))
    assert 'id="next-level"' not in page and 'name="to" value="departments" checked' in page


def test_staff_name_the_household_by_its_heads_name_never_typing_its_number(client_as, dnet):
    worker = client_as(dnet.users.grid_worker)
    url = reverse("dispatch:request_new")

    def send(**fields):
        body = {"client_id": str(uuid.uuid4()), "category": "water", "description": "水管冻了", "urgency": "normal"}
        return worker.post(url, {**body, **fields})

    # One head by that name in the grid: filed for that household.
    assert send(household_number="扎西").status_code == 302
    assert Request.objects.get().household == dnet.households.h1
    # Several match: the form offers them to choose (heads' names shown: audited), and files nothing.
    before = audit_count(action="household.list")
    response = send(household_number="A-000")
    page = html(response)
    assert response.status_code == 422 and Request.objects.count() == 1
    choices = page[page.index('id="household-matches"'):page.index("</fieldset>", page.index('id="household-matches"'))]
    assert str(dnet.households.h1.pk) in choices and str(dnet.households.h2.pk) in choices
    assert audit_count(action="household.list") == before + 1
    assert send(household_number="A-000", household=str(dnet.households.h2.pk)).status_code == 302
    assert Request.objects.filter(household=dnet.households.h2).count() == 1
    # A household of another grid is not found by name either.
    assert send(household_number="次仁").status_code == 422 and Request.objects.count() == 2
