"""The audit administrator sees what an auditor must (issue 8, item 4): logins, failed logins,
tokens, accounts and roles are placed at the account's county, so a county's audit
administrator below a prefecture sees them; the page names actions in the reader's language
and filters by them from a list; the checkpoint is taken through the API and the page."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.urls import reverse

from tests.factories import PASSWORD, Factory
from tongxin.core import audit
from tongxin.core.errors import ApplicationError
from tongxin.core.models import AuditEntry
from tongxin.core.selectors import audit_list
from tongxin.grid.models import Level
from tongxin.people import services
from tongxin.people.roles import Role

KANGMA, OTHER = "/540000/540200/540230/", "/540000/540200/540231/"


@pytest.fixture
def region(db):
    """Two counties of one prefecture of a region, each with its own audit, security and system
    administrators and a grid worker."""
    make = Factory(start=7000)
    top = make.node(code="540000", level=Level.REGION, parent=None)
    prefecture = make.node(code="540200", level=Level.PREFECTURE, parent=top)
    people = {}
    for code in ("540230", "540231"):
        county = make.node(code=code, level=Level.COUNTY, parent=prefecture)
        township = make.node(code=f"{code}100", level=Level.TOWNSHIP, parent=county)
        village = make.node(code=f"{code}100201", level=Level.VILLAGE, parent=township)
        grid = make.node(code=f"{code}100201001", level=Level.GRID, parent=village)
        people[code] = {
            "auditor": make.user(f"auditor_{code}", Role.AUDIT_ADMIN, county),
            "security": make.user(f"security_{code}", Role.SECURITY_ADMIN, county),
            "system": make.user(f"system_{code}", Role.SYSTEM_ADMIN, county),
            "worker": make.user(f"worker_{code}", Role.GRID_WORKER, grid),
            "county": county, "grid": grid,
        }
    people["region_auditor"] = make.user("auditor_region", Role.AUDIT_ADMIN, top)
    return people


def _login(username: str, password: str = PASSWORD):
    try:
        return services.authenticate(username=username, password=password)
    except ApplicationError:
        return None


def test_logins_tokens_and_failures_carry_the_accounts_county(region):
    worker = region["540230"]["worker"]
    assert _login(worker.username) is not None
    assert _login(worker.username, "wrong password") is None
    services.token_issue(user=worker)
    for action in ("user.login", "user.login_failed", "token.issue"):
        entry = AuditEntry.objects.get(action=action, object_id=str(worker.pk))
        assert entry.node_path == KANGMA and entry.chain == "540230", action


def test_the_county_auditor_sees_its_own_accounts_only(region):
    here, there = region["540230"], region["540231"]
    _login(here["worker"].username)
    _login(there["worker"].username, "wrong")
    seen = {(e.action, e.object_id) for e in audit_list(actor=here["auditor"])}
    assert ("user.login", str(here["worker"].pk)) in seen
    assert ("user.login_failed", str(there["worker"].pk)) not in seen
    other = {(e.action, e.object_id) for e in audit_list(actor=there["auditor"])}
    assert ("user.login_failed", str(there["worker"].pk)) in other
    assert ("user.login", str(here["worker"].pk)) not in other
    everything = {(e.action, e.object_id) for e in audit_list(actor=region["region_auditor"])}
    assert {("user.login", str(here["worker"].pk)), ("user.login_failed", str(there["worker"].pk))} <= everything


def test_accounts_and_roles_made_by_a_county_administrator_are_placed_in_its_county(region):
    here = region["540230"]
    account = services.user_create(actor=here["system"], username="new_worker", password=PASSWORD)
    created = AuditEntry.objects.get(action="user.create", object_id=str(account.pk))
    assert created.node_path == KANGMA  # no role yet: the county of whoever made it
    services.role_grant(actor=here["security"], user=account, role=Role.GRID_WORKER, node=here["grid"])
    granted = AuditEntry.objects.filter(action="role.grant", actor_id=here["security"].pk).get()
    assert granted.chain == "540230"
    assert {e.action for e in audit_list(actor=here["auditor"])} >= {"user.create", "role.grant"}
    assert not audit_list(actor=region["540231"]["auditor"]).filter(object_id=str(account.pk)).exists()


def test_an_unknown_name_stays_in_the_global_chain(region):
    assert _login("nobody_at_all") is None
    assert not AuditEntry.objects.filter(node_path="", action="user.login_failed").exclude(
        object_id="").exists()


# --- the page -----------------------------------------------------------------------------------


def _page(user, language="zh-hans", **query):
    client = Client()
    client.force_login(user)
    client.cookies["django_language"] = language
    return client, client.get(reverse("core:audit"), query)


def test_the_page_names_actions_in_the_readers_language(region):
    worker = region["540230"]["worker"]
    _login(worker.username)
    _client, response = _page(region["540230"]["auditor"], "zh-hans", action="user.login")
    assert response.status_code == 200
    items = response.context["page"].items
    assert items and {e.action for e in items} == {"user.login"}  # exactly, not user.login_failed too
    html = response.content.decode()
    assert "登录" in html
    _client, response = _page(region["540230"]["auditor"], "bo", action="user.login")
    assert "ནང་འཛུལ།" in response.content.decode()


def test_the_page_filters_by_action_from_a_list(region):
    _client, response = _page(region["540230"]["auditor"], "en")
    choices = dict(response.context["form"].fields["action"].choices)
    assert choices["user.login"] == "Logged in" and choices["resident.view"] == "Viewed a resident's personal data"
    assert "resident." in choices  # a family of actions
    assert choices["request.accept"].startswith("Request")  # the workflow names its own steps
    html = response.content.decode()
    assert '<select name="action"' in html and '<option value="user.login">Logged in</option>' in html
    _client, response = _page(region["540230"]["auditor"], "en", action="not.an.action")
    assert response.status_code == 200 and response.context["form"].errors


def test_an_unnamed_action_is_shown_by_its_name():
    assert audit.action_label("test.unnamed") == "test.unnamed"


# --- taking a checkpoint --------------------------------------------------------------------------


def test_the_county_auditor_downloads_a_checkpoint_of_its_chain(region):
    _login(region["540230"]["worker"].username)
    client, _response = _page(region["540230"]["auditor"])
    response = client.post(reverse("core:audit_checkpoint"))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="tongxin-audit-checkpoint-')
    body = json.loads(response.content)
    assert set(body["chains"]) == {"540230"}  # its own county only
    assert audit.verify(checkpoint=body).ok
    entry = AuditEntry.objects.get(action="audit.checkpoint")
    assert entry.node_path == KANGMA and entry.actor_id == region["540230"]["auditor"].pk
    assert client.get(reverse("core:audit_checkpoint")).status_code == 405


def test_the_checkpoint_through_the_api(region, api):
    response = api(region["region_auditor"]).post("/api/v1/audit/checkpoint")
    assert response.status_code == 200, response.content
    body = response.json()
    assert {"540230", "540231"} <= set(body["chains"]) and body["signature"]
    assert audit.verify(checkpoint=body).ok


@pytest.mark.parametrize("who", ["worker", "security"])
def test_others_get_no_checkpoint(region, api, who):
    user = region["540230"][who]
    client = Client()
    client.force_login(user)
    assert client.post(reverse("core:audit_checkpoint")).status_code == 404
    assert not AuditEntry.objects.filter(action="audit.checkpoint").exists()
