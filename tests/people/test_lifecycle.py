"""The account lifecycle (issue 8 item 6): one's own password, resets by the security
administrator, deactivation, logout, the absolute token lifetime, one's own sessions and tokens,
the administrators' account pages, user names that cannot look alike."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from django.test import Client

from tests.factories import PASSWORD
from tongxin.core import clock
from tongxin.core.actors import SYSTEM
from tongxin.core.errors import NotFound, ValidationFailed
from tongxin.people import services
from tongxin.people.models import ApiToken, User, UserSession

NEW_PASSWORD = "Lhasa-spring-2026!"
ME = "/api/v1/auth/me"


# --- one's own password ---------------------------------------------------------------------


def test_a_user_changes_their_own_password_through_the_api(network, api, audit_entries):
    user = network.user("grid_worker_a")
    other, current = api(user, language="en"), api(user, language="en")
    response = current.post("/api/v1/auth/password", {"old_password": "wrong-one-entirely",
                                                      "new_password": NEW_PASSWORD})
    assert response.status_code == 403 and "old_password" in response.json()["error"]["fields"]
    response = current.post("/api/v1/auth/password", {"old_password": PASSWORD, "new_password": "12345678901"})
    assert response.status_code == 422 and "new_password" in response.json()["error"]["fields"]  # Django's validators
    response = current.post("/api/v1/auth/password", {"old_password": PASSWORD, "new_password": NEW_PASSWORD})
    assert response.status_code == 204
    assert User.objects.get(pk=user.pk).check_password(NEW_PASSWORD)
    assert audit_entries("user.password_change") == 1
    assert current.get(ME).status_code == 200  # the presenting token stays
    assert other.get(ME).status_code == 401  # the others stop
    assert api(user, password=NEW_PASSWORD).get(ME).status_code == 200


def test_a_user_changes_their_own_password_on_the_page(network, page_client, api):
    user = network.user("grid_worker_a")
    client, elsewhere = page_client(user), page_client(user)
    token = api(user)
    assert client.get("/account/password/").status_code == 200
    response = client.post("/account/password/", {"old_password": PASSWORD, "new_password": NEW_PASSWORD,
                                                  "new_password2": "something-else-1"})
    assert response.status_code == 200 and not User.objects.get(pk=user.pk).check_password(NEW_PASSWORD)
    response = client.post("/account/password/", {"old_password": PASSWORD, "new_password": NEW_PASSWORD,
                                                  "new_password2": NEW_PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/account/"
    assert User.objects.get(pk=user.pk).check_password(NEW_PASSWORD)
    assert client.get("/account/").status_code == 200  # this session stays signed in
    assert elsewhere.get("/account/").status_code == 302  # the others end
    assert UserSession.objects.filter(user=user).count() == 1
    assert token.get(ME).status_code == 401


# --- the security administrator's resets ----------------------------------------------------------


def test_a_password_reset_makes_the_user_choose_a_new_one(network, api, page_client, audit_entries):
    user = network.user("grid_worker_a")
    old_token = api(user)
    security = api(network.user("security_admin_t1"), language="en")
    response = security.post(f"/api/v1/users/{user.pk}/password-reset")
    assert response.status_code == 200
    temporary = response.json()["password"]
    assert audit_entries("user.password_reset") == 1
    assert temporary not in str(list(User.objects.filter(pk=user.pk).values()))
    assert old_token.get(ME).status_code == 401  # its tokens end
    # the API gives no token until the user chose a new password
    refused = Client().post("/api/v1/auth/token", {"username": user.username, "password": temporary},
                            content_type="application/json")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "password_change_required"
    # the web login leads to the password page, and only there
    web = Client()
    web.post("/login/", {"step": "password", "username": user.username, "password": temporary})
    assert web.get("/staff/")["Location"] == "/account/password/"
    web.post("/account/password/", {"old_password": temporary, "new_password": NEW_PASSWORD,
                                    "new_password2": NEW_PASSWORD})
    assert not User.objects.get(pk=user.pk).must_change_password
    assert web.get("/account/").status_code == 200
    assert api(user, password=NEW_PASSWORD).get(ME).status_code == 200


def test_a_second_factor_reset_asks_for_a_new_one_at_the_next_login(network, api, audit_entries):
    admin = network.user("system_admin_t1")
    api(admin)  # enrolled, logged in
    assert User.objects.get(pk=admin.pk).totp_confirmed
    response = api(network.user("security_admin"), language="en").post(
        f"/api/v1/users/{admin.pk}/second-factor-reset")
    assert response.status_code == 200 and response.json()["second_factor_set"] is False
    assert audit_entries("user.totp_reset") == 1
    login = Client().post("/api/v1/auth/token", {"username": admin.username, "password": PASSWORD},
                          content_type="application/json")
    # No token without a second factor: the API answers as for any wrong login (the web login
    # page is where a second factor is set up again).
    assert login.status_code == 401
    assert not ApiToken.objects.filter(user=admin).exists()


@pytest.mark.parametrize("actor, target", [
    ("security_admin_t1", "grid_worker_b"),  # outside their township
    ("security_admin_t1", "security_admin"),  # a county account
    ("security_admin_t1", "newcomer"),  # no role: only from the root
    ("security_admin", "security_admin"),  # themself
    ("system_admin", "grid_worker_a"),  # not a security administrator
    ("township1_staff", "grid_worker_a"),
])
def test_resets_and_deactivation_are_for_the_security_administrator_within_reach(network, actor, target):
    actor, target = network.user(actor), network.user(target)
    for call in (lambda: services.password_reset(actor=actor, user=target),
                 lambda: services.second_factor_reset(actor=actor, user=target),
                 lambda: services.user_set_active(actor=actor, user=target, active=False)):
        with pytest.raises(NotFound):
            call()
    assert User.objects.get(pk=target.pk).is_active


# --- deactivation, locks, logout, lifetimes ---------------------------------------------------------


def test_deactivation_stops_tokens_and_sessions_at_once_and_reactivation_lets_in_again(network, api, page_client):
    user = network.user("grid_worker_a")
    token = api(user)
    web = Client()
    web.post("/login/", {"step": "password", "username": user.username, "password": PASSWORD})
    assert web.get("/account/").status_code == 200
    security = api(network.user("security_admin_t1"), language="en")
    assert security.post(f"/api/v1/users/{user.pk}/deactivate").status_code == 200
    assert token.get(ME).status_code == 401
    assert web.get("/account/").status_code == 302  # to the login page
    assert not UserSession.objects.filter(user=user).exists()
    again = security.post(f"/api/v1/users/{user.pk}/deactivate")
    assert again.status_code == 409 and again.json()["error"]["code"] == "account_unchanged"
    assert security.post(f"/api/v1/users/{user.pk}/reactivate").status_code == 200
    assert api(user).get(ME).status_code == 200


def test_a_locked_accounts_tokens_stop_at_once(network, api):
    user = network.user("grid_worker_a")
    token = api(user)
    User.objects.filter(pk=user.pk).update(locked_until=clock.now() + dt.timedelta(minutes=15))
    assert token.get(ME).status_code == 401
    clock.set_now(clock.now() + dt.timedelta(minutes=16))
    assert token.get(ME).status_code == 200


def test_logout_revokes_the_presenting_token_only(network, api, audit_entries):
    user = network.user("grid_worker_a")
    first, second = api(user), api(user)
    assert first.post("/api/v1/auth/logout").status_code == 204
    assert audit_entries("token.revoke") == 1
    assert first.get(ME).status_code == 401
    assert first.post("/api/v1/auth/logout").status_code == 401
    assert second.get(ME).status_code == 200


def test_tokens_have_an_absolute_lifetime(network):
    user = network.user("grid_worker_a")
    start = clock.now()
    token = services.token_issue(user=user)
    moment = start
    # used every hour, so never idle: still it ends at the absolute lifetime
    while (moment - start).total_seconds() + 3600 < settings.TOKEN_MAX_AGE_SECONDS:
        moment += dt.timedelta(hours=1)
        with clock.frozen_at(moment):
            assert services.token_user(token) == user
    with clock.frozen_at(start + dt.timedelta(seconds=settings.TOKEN_MAX_AGE_SECONDS + 1)):
        assert services.token_user(token) is None
    assert not ApiToken.objects.filter(user=user).exists()


def test_the_absolute_lifetime_is_a_setting(network, settings):
    settings.TOKEN_MAX_AGE_SECONDS = 600
    user = network.user("grid_worker_a")
    token = services.token_issue(user=user)
    with clock.frozen_at(clock.now() + dt.timedelta(seconds=601)):
        assert services.token_user(token) is None


# --- one's own sessions and tokens ------------------------------------------------------------------


def test_a_user_lists_and_revokes_their_own_tokens(network, api, audit_entries):
    user = network.user("grid_worker_a")
    first, second = api(user), api(user)
    listed = first.get("/api/v1/auth/tokens").json()
    assert listed["count"] == 2 and sum(t["current"] for t in listed["items"]) == 1
    other = next(t for t in listed["items"] if not t["current"])
    foreign = api(network.user("grid_worker_b"))
    foreign_id = foreign.get("/api/v1/auth/tokens").json()["items"][0]["id"]
    assert first.request("DELETE", f"/api/v1/auth/tokens/{foreign_id}").status_code == 404
    assert foreign.get(ME).status_code == 200
    assert first.request("DELETE", f"/api/v1/auth/tokens/{other['id']}").status_code == 204
    assert second.get(ME).status_code == 401 and first.get(ME).status_code == 200
    assert audit_entries("token.revoke") == 1


def test_a_user_lists_and_ends_their_own_web_sessions(network, api, page_client):
    user = network.user("grid_worker_a")
    browsers = [Client(HTTP_USER_AGENT=f"Browser {n}") for n in (1, 2)]
    for browser in browsers:
        browser.post("/login/", {"step": "password", "username": user.username, "password": PASSWORD})
    listed = api(user).get("/api/v1/auth/sessions").json()
    assert listed["count"] == 2 and {s["user_agent"] for s in listed["items"]} == {"Browser 1", "Browser 2"}
    page = browsers[0].get("/account/").content.decode()
    assert "Browser 2" in page
    other = next(s["id"] for s in listed["items"] if s["user_agent"] == "Browser 2")
    assert browsers[0].post("/account/sessions/end/", {"session": other}).status_code == 302
    assert browsers[1].get("/account/").status_code == 302  # signed out
    assert browsers[0].get("/account/").status_code == 200
    foreign = Client()
    foreign.force_login(network.user("grid_worker_b"))
    mine = api(user).get("/api/v1/auth/sessions").json()["items"][0]["id"]
    assert api(network.user("grid_worker_b")).request("DELETE", f"/api/v1/auth/sessions/{mine}").status_code == 404
    assert browsers[0].get("/account/").status_code == 200


# --- accounts: creation, user names ---------------------------------------------------------------------


@pytest.mark.parametrize("name", ["ｔａｓｈｉ", "tashi.dorje", "Tashi_2", "a-b"])
def test_good_user_names_are_kept_in_ascii(network, name):
    user = services.user_create(actor=SYSTEM, username=name, password=None)
    assert user.username.isascii()


@pytest.mark.parametrize("name", ["tаshi", "扎西", "tashi dorje", "tashi@home", "", "x" * 151, "ta\u200bshi"])
def test_look_alike_and_odd_user_names_are_refused(network, name):
    with pytest.raises(ValidationFailed) as caught:
        services.user_create(actor=SYSTEM, username=name, password=None)
    assert "username" in caught.value.fields


def test_user_names_are_unique_whatever_the_case(network):
    with pytest.raises(ValidationFailed):
        services.user_create(actor=SYSTEM, username="Grid_Worker_A", password=None)
    with pytest.raises(ValidationFailed):
        services.user_create(actor=SYSTEM, username="ｇｒｉｄ_ｗｏｒｋｅｒ_ａ", password=None)


def test_the_system_administrator_creates_accounts_on_a_page(network, page_client, audit_entries):
    client = page_client(network.user("system_admin"))
    assert client.get("/accounts/new/").status_code == 200
    response = client.post("/accounts/new/", {"username": "pasang", "full_name": "Pasang", "language": "bo",
                                              "password": NEW_PASSWORD})
    assert response.status_code == 302
    made = User.objects.get(username="pasang")
    assert made.must_change_password and made.preferred_language == "bo"
    assert audit_entries("user.create", object_id=str(made.pk)) == 1
    refused = client.post("/accounts/new/", {"username": "PASANG", "password": NEW_PASSWORD})
    assert refused.status_code == 200 and User.objects.filter(username__iexact="pasang").count() == 1
    assert page_client(network.user("security_admin")).get("/accounts/new/").status_code == 404
    assert page_client(network.user("grid_worker_a")).get("/accounts/").status_code == 404


def test_the_accounts_page_lists_accounts_in_scope(network, page_client):
    page = page_client(network.user("security_admin_t1")).get("/accounts/").content.decode()
    assert "grid_worker_a" in page and "grid_worker_b" not in page and "resident_a" not in page


def test_createuser_takes_a_department(network, capsys):
    from tongxin import cli

    code = cli.main(["createuser", "water_officer", "--role", "department_officer", "--node", network.county.code,
                     "--department", "water", "--password", NEW_PASSWORD])
    assert code == 0, capsys.readouterr()
    officer = User.objects.get(username="water_officer")
    assert officer.assignments.get().department == network.department
    assert cli.main(["createuser", "x_officer", "--role", "department_officer", "--node", network.county.code,
                     "--department", "nowhere", "--password", NEW_PASSWORD]) == 2


def test_my_account_page_is_in_the_menu(network, page_client):
    page = page_client(network.user("grid_worker_a")).get("/account/").content.decode()
    assert 'href="/account/"' in page and 'href="/accounts/"' not in page
    page = page_client(network.user("security_admin")).get("/account/").content.decode()
    assert 'href="/accounts/"' in page


def test_the_menu_is_translated(network, page_client):
    client = page_client(network.user("security_admin"))
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "bo"
    page = client.get("/account/").content.decode()
    assert "My account" not in page and "Accounts" not in page
