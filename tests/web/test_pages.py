"""The web pages through Django's test client: status for allowed users, 404 outside scope
(never 403), the login with its second factor, and the audit entry of a resident view."""

from __future__ import annotations

import datetime as dt

import pyotp
import pytest
from django.test import Client, RequestFactory
from django.urls import reverse

from tongxin.core import clock
from tongxin.core.actors import SYSTEM
from tongxin.core.errors import Locked, PermissionDenied
from tongxin.core.models import AuditEntry
from tongxin.core.selectors import audit_list
from tongxin.core.views import error_page
from tongxin.people import services as people_services
from tongxin.people.roles import Role

pytestmark = pytest.mark.django_db


def node_url(node):
    return reverse("grid:node", args=[node.code])


def household_url(household):
    return reverse("registry:household", args=[household.pk])


def resident_url(resident):
    return reverse("registry:resident", args=[resident.pk])


# --- login -----------------------------------------------------------------------------

def test_login_page_answers_and_pages_need_login(client, net):
    response = client.get(reverse("people:login"))
    assert response.status_code == 200
    assert b'name="password"' in response.content
    assert "no-store" in response["Cache-Control"]
    response = client.get(node_url(net.nodes.county))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("people:login") + "?next=")


def test_wrong_password_is_refused_with_a_message(client, net):
    response = client.post(reverse("people:login"), {"step": "password", "username": "grid.worker1",
                                                     "password": "not-the-password"})
    assert response.status_code == 200
    assert b'class="alert"' in response.content
    assert "_auth_user_id" not in client.session


def test_sixth_failure_locks_the_account_from_that_address(client, net):
    for _ in range(6):
        response = client.post(reverse("people:login"), {"step": "password", "username": "grid.worker1",
                                                         "password": "wrong-password-1"})
    assert str(Locked().message) in response.content.decode()
    response = client.post(reverse("people:login"), {"step": "password", "username": "grid.worker1",
                                                     "password": net.password})
    assert str(Locked().message) in response.content.decode()
    assert "_auth_user_id" not in client.session
    # The same lock, word for word, for a name that does not exist.
    for _ in range(6):
        unknown = client.post(reverse("people:login"), {"step": "password", "username": "nobody.here",
                                                        "password": "wrong-password-1"})
    assert _alert(unknown) == _alert(response)
    # The owner at another address logs in.
    other = Client(REMOTE_ADDR="198.51.100.7")
    response = other.post(reverse("people:login"), {"step": "password", "username": "grid.worker1",
                                                    "password": net.password})
    assert response.status_code == 302 and other.session["_auth_user_id"] == str(net.users.grid_worker.pk)


def test_grid_worker_logs_in_and_lands_on_their_grids_day(client, net):
    response = client.post(reverse("people:login"), {"step": "password", "username": "grid.worker1",
                                                     "password": net.password}, follow=True)
    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == reverse("dispatch:today")
    assert client.session["_auth_user_id"] == str(net.users.grid_worker.pk)


def test_login_follows_a_safe_next_and_ignores_another_site(client, net):
    target = household_url(net.households.h1)
    response = client.post(reverse("people:login") + "?next=" + target,
                           {"step": "password", "username": "grid.worker1", "password": net.password})
    assert response["Location"] == target
    client.post(reverse("people:logout"))
    response = client.post(reverse("people:login"), {"step": "password", "username": "grid.worker1",
                                                     "password": net.password, "next": "https://evil.example/"})
    assert response["Location"] == reverse("core:home")


def test_second_factor_enrolment_then_code_login(client, net):
    login = reverse("people:login")
    response = client.post(login, {"step": "password", "username": "county.admin", "password": net.password})
    assert response.status_code == 302 and response["Location"] == login
    # Only the verified user's id is kept between the steps, never the password.
    assert net.password not in str(dict(client.session.items()))
    assert "_auth_user_id" not in client.session
    page = client.get(login)
    net.users.county_admin.refresh_from_db()
    assert b"<svg" in page.content and b'id="totp-secret"' in page.content
    secret = people_services.totp_secret(net.users.county_admin)
    assert secret[:4].encode() in page.content

    wrong = "000000" if pyotp.TOTP(secret).at(clock.now()) != "000000" else "111111"
    response = client.post(login, {"step": "code", "otp": wrong})
    assert response.status_code == 200 and b'class="alert"' in response.content
    assert "_auth_user_id" not in client.session

    response = client.post(login, {"step": "code", "otp": pyotp.TOTP(secret).at(clock.now())})
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(net.users.county_admin.pk)
    net.users.county_admin.refresh_from_db()
    assert net.users.county_admin.totp_confirmed

    # The next login gives name, password and code in one form, without showing the secret again.
    client.post(reverse("people:logout"))
    response = client.post(login, {"step": "password", "username": "county.admin", "password": net.password},
                           follow=True)
    assert b"<svg" not in response.content and "_auth_user_id" not in client.session
    # Each code is good once: the next step's (the verifier allows a step of drift).
    response = client.post(login, {"step": "password", "username": "county.admin", "password": net.password,
                                   "otp": pyotp.TOTP(secret).at(clock.now(), counter_offset=1)}, follow=True)
    assert response.redirect_chain[-1][0] == node_url(net.nodes.county)


def _alert(response) -> str:
    html = response.content.decode()
    start = html.index('class="alert"')
    return html[start:html.index("</p>", start)]


def test_a_right_password_without_its_code_is_answered_like_a_wrong_one(client, net):
    people_services.totp_setup(user=net.users.county_admin)
    secret = people_services.totp_secret(net.users.county_admin)
    people_services.totp_confirm(user=net.users.county_admin, code=pyotp.TOTP(secret).at(clock.now()))
    login = reverse("people:login")
    wrong_password = client.post(login, {"step": "password", "username": "county.admin", "password": "wrong-one-1"})
    no_code = client.post(login, {"step": "password", "username": "county.admin", "password": net.password})
    wrong = "000000" if pyotp.TOTP(secret).at(clock.now(), counter_offset=1) != "000000" else "111111"
    wrong_code = client.post(login, {"step": "password", "username": "county.admin", "password": net.password,
                                     "otp": wrong})
    unknown = client.post(login, {"step": "password", "username": "nobody.here", "password": net.password})
    answers = {(r.status_code, _alert(r), b'name="otp"' in r.content, b"<svg" in r.content)
               for r in (wrong_password, no_code, wrong_code, unknown)}
    assert len(answers) == 1, answers
    assert "_auth_user_id" not in client.session


def test_logout_is_a_post(client_as, net):
    client = client_as(net.users.grid_worker)
    assert client.get(reverse("people:logout")).status_code == 405
    response = client.post(reverse("people:logout"))
    assert response.status_code == 302 and "_auth_user_id" not in client.session


# --- home ------------------------------------------------------------------------------

@pytest.mark.parametrize("who, where", [
    ("grid_worker", lambda net: reverse("dispatch:today")),
    ("county_admin", lambda net: node_url(net.nodes.county)),
    ("auditor", lambda net: reverse("core:audit")),
    ("resident", lambda net: household_url(net.households.h1)),
])
def test_home_sends_each_user_to_their_start(client_as, net, who, where):
    response = client_as(getattr(net.users, who)).get("/", follow=True)
    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == where(net)


def test_home_for_a_user_without_a_role(client, net):
    user = people_services.user_create(actor=SYSTEM, username="nobody", password=None)
    client.force_login(user)
    assert client.get("/").status_code == 200
    assert client.get(reverse("grid:top")).status_code == 404


# --- network ---------------------------------------------------------------------------

def test_network_page_shows_figures_children_and_breadcrumb(client_as, net):
    response = client_as(net.users.county_admin).get(node_url(net.nodes.unit1))
    assert response.status_code == 200
    html = response.content.decode()
    for ancestor in (net.nodes.county, net.nodes.town, net.nodes.village, net.nodes.grid1):
        assert node_url(ancestor) in html
    assert "A-0001" in html and "A-0002" in html  # a unit lists its households

    response = client_as(net.users.county_admin).get(node_url(net.nodes.county))
    figures = dict(zip(response.context["child_headers"], response.context["children"][0]["values"]))
    assert response.context["figures"][0][1] == 4  # households in the county
    assert [c["code"] for c in response.context["children"]] == ["540230100", "540230201"]
    assert list(figures.values())[:3] == [3, 5, 2]  # Kangma Town: households, residents, grid workers
    assert reverse("registry:household_list") + "?node=540230" in response.content.decode()


def test_network_page_in_tibetan_shows_tibetan_names(client_as, net):
    response = client_as(net.users.grid_worker, "bo").get(node_url(net.nodes.grid1))
    html = response.content.decode()
    assert '<html lang="bo">' in html
    assert "དྲ་མིག་དང་པོ།" in html and "མཉམ་སྡོད་ཚན་ཁག་དང་པོ།" in html


def test_network_outside_scope_is_404(client_as, net):
    client = client_as(net.users.grid_worker)
    for node in (net.nodes.grid2, net.nodes.village, net.nodes.county, net.nodes.unit_b):
        response = client.get(node_url(node))
        assert response.status_code == 404
        assert "404.html" in [t.name for t in response.templates]
    assert client.get(reverse("grid:node", args=["999999"])).status_code == 404


def test_unknown_path_gets_the_404_page(client_as, net):
    response = client_as(net.users.grid_worker).get("/no-such-page/")
    assert response.status_code == 404
    assert b'data-status="404"' in response.content


# --- households and residents ----------------------------------------------------------

def test_household_list_is_scoped_and_filtered(client_as, net):
    client = client_as(net.users.grid_worker)
    html = client.get(reverse("registry:household_list")).content.decode()
    assert "A-0001" in html and "A-0002" in html and "B-0001" not in html and "N-0001" not in html
    html = client.get(reverse("registry:household_list"), {"q": "A-0002"}).content.decode()
    assert "A-0002" in html and "A-0001" not in html
    assert client.get(reverse("registry:household_list"), {"node": net.nodes.grid2.code}).status_code == 404
    assert client.get(reverse("registry:household_list"), {"node": net.nodes.unit1.code}).status_code == 200


def test_household_list_htmx_fragments(client_as, net):
    client = client_as(net.users.grid_worker)
    url = reverse("registry:household_list")
    response = client.get(url, {"q": "A-"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="results")
    assert response.status_code == 200
    assert b"<html" not in response.content and b'id="households"' in response.content
    response = client.get(url, {"page": "1"}, HTTP_HX_REQUEST="true")
    assert b"<html" not in response.content and b"<table" not in response.content and b"<tr>" in response.content
    assert "HX-Request" in response["Vary"]


def test_household_list_pages_by_fifty(client_as, net):
    from tongxin.registry.services import household_create

    for i in range(55):
        household_create(actor=net.users.grid_worker, node=net.nodes.unit1, number=f"P-{i:04d}", address="东村")
    client = client_as(net.users.grid_worker)
    first = client.get(reverse("registry:household_list"))
    assert len(first.context["page"].items) == 50 and first.context["page"].count == 57
    assert b'class="more"' in first.content
    second = client.get(reverse("registry:household_list"), {"page": "2"})
    assert len(second.context["page"].items) == 7 and b'class="more"' not in second.content


def test_household_list_needs_the_permission(client_as, net):
    assert client_as(net.users.auditor).get(reverse("registry:household_list")).status_code == 404


def test_household_detail_masks_id_numbers_for_grid_workers(client_as, net):
    resident = net.residents.h1[0]
    response = client_as(net.users.grid_worker).get(household_url(net.households.h1))
    assert response.status_code == 200
    html = response.content.decode()
    assert resident.id_number_masked in html and resident.id_number not in html
    assert resident_url(resident) in html


def test_household_detail_masks_id_numbers_even_for_village_staff(client_as, net):
    """The whole number appears only on the audited resident page, never in a list."""
    resident = net.residents.h1[0]
    html = client_as(net.users.village_staff).get(household_url(net.households.h1)).content.decode()
    assert resident.id_number_masked in html and resident.id_number not in html


def test_resident_page_shows_whole_id_number_to_village_staff_and_audits_it(client_as, net):
    from tongxin.core.models import AuditEntry

    resident = net.residents.h1[0]
    before = AuditEntry.objects.filter(action="resident.view").count()
    html = client_as(net.users.village_staff).get(resident_url(resident)).content.decode()
    assert resident.id_number in html
    assert AuditEntry.objects.filter(action="resident.view").count() == before + 1


def test_household_outside_scope_is_404(client_as, net):
    client = client_as(net.users.grid_worker)
    for household in (net.households.h3, net.households.h4):
        assert client.get(household_url(household)).status_code == 404
    assert client.get(reverse("registry:household", args=["not-a-uuid"])).status_code == 404


def test_resident_user_sees_only_their_household(client_as, net):
    client = client_as(net.users.resident)
    assert client.get(household_url(net.households.h1)).status_code == 200
    assert client.get(household_url(net.households.h2)).status_code == 404
    html = client.get(reverse("registry:household_list")).content.decode()
    assert "A-0001" in html and "A-0002" not in html


def test_resident_detail_writes_one_audit_entry(client_as, net):
    resident = net.residents.h2[1]
    client = client_as(net.users.grid_worker, "bo")
    before = AuditEntry.objects.filter(action="resident.view").count()
    response = client.get(resident_url(resident))
    assert response.status_code == 200
    assert "སྒྲོལ་མ།" in response.content.decode()
    entries = AuditEntry.objects.filter(action="resident.view")
    assert entries.count() == before + 1
    entry = entries.latest("id")
    assert entry.object_id == str(resident.pk) and entry.actor_id == net.users.grid_worker.pk
    assert entry.channel == "web" and entry.node_path == net.nodes.unit1.path


def test_resident_outside_scope_is_404_and_not_audited(client_as, net):
    before = AuditEntry.objects.filter(action="resident.view").count()
    response = client_as(net.users.grid_worker).get(resident_url(net.residents.h3[0]))
    assert response.status_code == 404
    assert AuditEntry.objects.filter(action="resident.view").count() == before


# --- staff -----------------------------------------------------------------------------

def test_staff_roster(client_as, net):
    client = client_as(net.users.village_staff)
    response = client.get(reverse("people:staff"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "次仁 ཚེ་རིང་།" in html and "普布" in html and "达瓦" not in html
    assert "resident.a1" not in html and "扎西顿珠" not in html  # residents are not staff
    assert str(Role.GRID_WORKER.label) in html
    response = client.get(reverse("people:staff"), {"node": net.nodes.grid1.code})
    assert [a.user.username for a in response.context["page"].items] == ["grid.worker1"]
    assert client.get(reverse("people:staff"), {"node": net.nodes.samada.code}).status_code == 404


def test_staff_roster_needs_the_permission(client_as, net):
    assert client_as(net.users.grid_worker).get(reverse("people:staff")).status_code == 404


# --- audit -----------------------------------------------------------------------------

def test_audit_log_for_the_audit_administrator(client_as, net):
    client = client_as(net.users.auditor)
    response = client.get(reverse("core:audit"))
    assert response.status_code == 200
    entries = response.context["page"].items
    assert entries and len(entries) <= 50
    assert any(e.action == "user.create" for e in entries)  # no node: seen from the root node
    assert entries[0].hash[:12] in response.content.decode()


def test_audit_log_filters(client_as, net):
    client = client_as(net.users.auditor)
    resident = net.residents.h1[0]
    response = client.get(reverse("core:audit"), {"action": "resident."})
    assert {e.action for e in response.context["page"].items} == {"resident.create"}
    response = client.get(reverse("core:audit"), {"object_id": str(resident.pk)})
    assert [e.object_id for e in response.context["page"].items] == [str(resident.pk)]
    response = client.get(reverse("core:audit"), {"actor": "grid.worker2"})
    assert {e.actor_name for e in response.context["page"].items} == {"grid.worker2"}
    tomorrow = (clock.today() + dt.timedelta(days=2)).isoformat()
    assert client.get(reverse("core:audit"), {"since": tomorrow}).context["page"].items == []
    response = client.get(reverse("core:audit"), {"since": "not-a-date"})
    assert response.status_code == 200 and response.context["form"].errors


def test_audit_scope_of_a_township_audit_administrator(net):
    entries = list(audit_list(actor=net.users.township_auditor))
    assert entries
    assert all(e.node_path.startswith(net.nodes.town.path) for e in entries)
    assert not any(e.node_path == "" for e in entries)
    everything = list(audit_list(actor=net.users.auditor))
    assert any(e.node_path == "" for e in everything) and len(everything) > len(entries)


@pytest.mark.parametrize("who", ["grid_worker", "village_staff", "county_admin", "resident"])
def test_audit_log_is_404_for_others(client_as, net, who):
    assert client_as(getattr(net.users, who)).get(reverse("core:audit")).status_code == 404


# --- error pages -----------------------------------------------------------------------

def test_application_errors_get_an_error_page_with_their_status(net):
    from django.contrib.auth.models import AnonymousUser

    request = RequestFactory().get("/")
    request.user = AnonymousUser()
    response = error_page(request, PermissionDenied())
    assert response.status_code == 403
    assert b'data-status="403"' in response.content


# --- query counts: a page costs the same whatever the number of rows ----------------------

def _queries(client, url, params=None):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        assert client.get(url, params or {}).status_code == 200
    return len(captured)


def test_list_pages_cost_a_fixed_number_of_queries(client_as, net):
    from tests.factories import id_number
    from tongxin.registry.services import household_create, resident_create

    client = client_as(net.users.village_staff)
    pages = [(reverse("registry:household_list"), None), (household_url(net.households.h1), None),
             (node_url(net.nodes.village), None), (reverse("people:staff"), None)]
    _queries(client, *pages[0])  # the account's roles, read once
    before = [_queries(client, url, params) for url, params in pages]
    for i in range(20):
        household_create(actor=net.users.grid_worker, node=net.nodes.unit1, number=f"Q-{i:04d}", address="东村")
        resident_create(actor=net.users.grid_worker, household=net.households.h1, name=f"成员{i}", sex="F",
                        birth_date=dt.date(2000, 1, 1), id_number=id_number(dt.date(2000, 1, 1), 100 + i),
                        relation="child")
    after = [_queries(client, url, params) for url, params in pages]
    assert after == before
    # The pages that name residents write their audit entry (savepoint, chain head, its update,
    # the entry, release): about 4 more than a page that only reads.
    assert max(after) <= 16
