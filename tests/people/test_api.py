"""Logins through the API: throttling (423) by address and by name, one answer (401) for every wrong
login whichever part was wrong, idle tokens (401)."""

from __future__ import annotations

import datetime as dt

import pyotp
import pytest
from django.conf import settings

from tests.factories import PASSWORD
from tongxin.core import clock
from tongxin.core.models import AuditEntry
from tongxin.people import services
from tongxin.people.models import RoleAssignment, User

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.timezone.utc)
STEP = dt.timedelta(seconds=30)  # one TOTP time step
TOKEN = "/api/v1/auth/token"


def _login(api, username, password=PASSWORD, address="192.0.2.1", **extra):
    client = api(None, language="en")
    client.client.defaults["REMOTE_ADDR"] = address
    return client.post(TOKEN, {"username": username, "password": password, **extra})


def test_lockout_through_the_api(network, api):
    with clock.frozen_at(T0):
        for _ in range(5):
            response = _login(api, "grid_worker_a", "wrong-password")
            assert response.status_code == 401
            assert response.json()["error"]["code"] == "not_authenticated"
        assert _login(api, "grid_worker_a").status_code == 200  # five failures still allow login
        for _ in range(5):
            assert _login(api, "grid_worker_a", "wrong-password").status_code == 401
        locked = _login(api, "grid_worker_a", "wrong-password")
        assert locked.status_code == 423 and locked.json()["error"]["code"] == "locked"
        assert _login(api, "grid_worker_a").status_code == 423  # even the right password, from this address
        # The owner, elsewhere, is not locked out by a guesser's address.
        assert _login(api, "grid_worker_a", address="198.51.100.7").status_code == 200
    with clock.frozen_at(T0 + dt.timedelta(seconds=settings.LOGIN_LOCK_SECONDS + 1)):
        response = _login(api, "grid_worker_a")
        assert response.status_code == 200 and response.json()["token"]


def _answer(response) -> tuple:
    body = response.json()["error"]
    return response.status_code, body["code"], body["message"], body["fields"]


def test_a_name_that_does_not_exist_is_locked_out_the_same_way(network, api):
    with clock.frozen_at(T0):
        real = [_answer(_login(api, "grid_worker_a", "wrong-password")) for _ in range(settings.LOGIN_MAX_FAILURES + 1)]
        unknown = [_answer(_login(api, "nobody_here", "wrong-password", address="192.0.2.2"))
                   for _ in range(settings.LOGIN_MAX_FAILURES + 1)]
    assert real == unknown
    assert real[-1][0] == 423 and real[0][0] == 401


@pytest.mark.parametrize("name", ["county_admin", "system_admin", "security_admin", "audit_admin"])
def test_second_factor_through_the_api(network, api, name):
    """A right password without its code, or with a wrong or replayed one, is answered exactly
    like a wrong password: the answer never tells which part was right."""
    user = network.user(name)
    with clock.frozen_at(T0):
        wrong_password = _answer(_login(api, name, "wrong-password"))
        assert wrong_password[0] == 401
        assert _answer(_login(api, name)) == wrong_password  # not enrolled yet: enrol on the login page
        totp = pyotp.TOTP(services.totp_setup(user=user))
        services.totp_confirm(user=user, code=totp.at(T0 - STEP))  # a step late: the verifier allows it
        assert _answer(_login(api, name)) == wrong_password
        wrong = f"{(int(totp.at(T0)) + 500000) % 1000000:06d}"
        assert _answer(_login(api, name, otp=wrong)) == wrong_password
        response = _login(api, name, otp=totp.at(T0))
        assert response.status_code == 200 and response.json()["token"]
        assert _answer(_login(api, name, otp=totp.at(T0))) == wrong_password  # each code is good once


def test_an_administrator_with_a_code_gets_in_past_a_lock_made_elsewhere(network, api):
    user = network.user("security_admin")
    with clock.frozen_at(T0 - STEP):
        totp = pyotp.TOTP(services.totp_setup(user=user))
        services.totp_confirm(user=user, code=totp.at(T0 - STEP))
    with clock.frozen_at(T0):
        # Guessers from many addresses lock the name itself.
        for i in range(settings.LOGIN_ACCOUNT_MAX_FAILURES):
            _login(api, "security_admin", "wrong-password", address=f"203.0.113.{i}")
        assert _login(api, "security_admin", address="198.51.100.7").status_code == 423  # no code: locked
        assert _login(api, "security_admin", "wrong-password", address="198.51.100.7",
                      otp=totp.at(T0)).status_code == 423
        response = _login(api, "security_admin", address="198.51.100.7", otp=totp.at(T0))
        assert response.status_code == 200 and response.json()["token"]


def test_a_grid_worker_locked_from_everywhere_is_unlocked_by_the_security_administrator(network, api):
    with clock.frozen_at(T0):
        for i in range(settings.LOGIN_ACCOUNT_MAX_FAILURES):
            _login(api, "grid_worker_a", "wrong-password", address=f"203.0.113.{i}")
        assert _login(api, "grid_worker_a", address="198.51.100.7").status_code == 423
        security = api(network.user("security_admin_t1"))  # one login: each second-factor code is good once
        outsider = security.post("/api/v1/users/grid_worker_b/unlock")
        assert outsider.status_code == 404  # township 2 lies outside a township-1 security administrator
        for name in ("system_admin", "township1_staff"):
            assert api(network.user(name)).post("/api/v1/users/grid_worker_a/unlock").status_code == 404
        entries = AuditEntry.objects.filter(action="user.login_unlock").count()
        response = security.post("/api/v1/users/grid_worker_a/unlock")
        assert response.status_code == 200 and response.json() == {"locks_lifted": 1}
        assert AuditEntry.objects.filter(action="user.login_unlock").count() == entries + 1
        assert _login(api, "grid_worker_a", address="198.51.100.7").status_code == 200


def test_one_address_guessing_many_names_is_stopped(network, api):
    with clock.frozen_at(T0):
        for i in range(settings.LOGIN_ADDRESS_MAX_FAILURES):
            _login(api, f"name{i}", "wrong-password", address="203.0.113.99")
        assert _login(api, "grid_worker_b", address="203.0.113.99").status_code == 423
        assert _login(api, "grid_worker_b", address="198.51.100.7").status_code == 200


def test_the_client_address_comes_from_the_proxy_header_when_one_is_named(network, api, settings):
    settings.CLIENT_ADDRESS_HEADER = "X-Forwarded-For"
    with clock.frozen_at(T0):
        for _ in range(settings.LOGIN_MAX_FAILURES):
            client = api(None, language="en")
            client.client.defaults["HTTP_X_FORWARDED_FOR"] = "10.9.9.9, 203.0.113.5"
            client.post(TOKEN, {"username": "grid_worker_a", "password": "wrong-password"})
        client = api(None, language="en")
        client.client.defaults["HTTP_X_FORWARDED_FOR"] = "203.0.113.5"
        assert client.post(TOKEN, {"username": "grid_worker_a", "password": PASSWORD}).status_code == 423
        client.client.defaults["HTTP_X_FORWARDED_FOR"] = "203.0.113.6"
        assert client.post(TOKEN, {"username": "grid_worker_a", "password": PASSWORD}).status_code == 200


def test_an_idle_token_answers_401(network, api):
    with clock.frozen_at(T0):
        client = api(network.user("grid_worker_a"))
        assert client.get("/api/v1/auth/me").status_code == 200
    with clock.frozen_at(T0 + dt.timedelta(seconds=settings.TOKEN_IDLE_SECONDS + 1)):
        response = client.get("/api/v1/auth/me")
    assert response.status_code == 401
    assert set(response.json()["error"]) == {"code", "message", "fields"}


def test_no_token_and_a_bad_token_answer_401(network, api):
    assert api(None).get("/api/v1/auth/me").status_code == 401
    client = api(None)
    client.client.defaults["HTTP_AUTHORIZATION"] = "Bearer not-a-token"
    assert client.get("/api/v1/auth/me").status_code == 401


def test_me(network, api):
    body = api(network.user("grid_worker_a")).get("/api/v1/auth/me").json()
    assert body["username"] == "grid_worker_a"
    assert body["roles"] == [{"role": "grid_worker", "node": network.a.grid.code}]


def test_users_are_created_by_the_system_administrator_only(network, api, db_state):
    body = {"username": "kelsang", "password": PASSWORD, "preferred_language": "bo"}
    security = api(network.user("security_admin"))
    before = db_state()
    assert security.post("/api/v1/users", body).status_code == 403
    assert db_state() == before
    system = api(network.user("system_admin"), language="en")  # one login: each second-factor code is good once
    weak = system.post("/api/v1/users", {**body, "password": "abc"})
    assert weak.status_code == 422 and weak.json()["error"]["fields"]["password"]
    response = system.post("/api/v1/users", body)
    assert response.status_code == 201 and response.json()["preferred_language"] == "bo"
    assert User.objects.filter(username="kelsang").exists()


def test_role_grants_through_the_api(network, api):
    client = api(network.user("security_admin_t1"))
    body = {"username": "newcomer", "role": "village_staff", "node": network.a.village.code}
    response = client.post("/api/v1/role-assignments", body)
    assert response.status_code == 201 and response.json()["node"] == network.a.village.code
    myself = client.post("/api/v1/role-assignments", {**body, "username": "security_admin_t1"})
    assert myself.status_code == 403
    officer = api(network.user("security_admin")).post("/api/v1/role-assignments", {
        "username": "newcomer", "role": "department_officer", "node": network.a.township.code,
        "department": "water"})  # the county's department, found from the township
    assert officer.status_code == 201 and officer.json()["department"] == "water"
    assert RoleAssignment.objects.filter(user__username="newcomer").count() == 2


def test_staff_roster_is_scoped(network, api):
    items = api(network.user("township1_staff")).get("/api/v1/staff?limit=500").json()["items"]
    nodes = {i["node"] for i in items}
    assert network.a.grid.code in nodes and network.b.grid.code not in nodes
    assert all(n.startswith(network.a.township.code) for n in nodes)


@pytest.mark.parametrize("name", ["township1_staff", "system_admin"])
def test_the_staff_roster_page_and_api_list_the_same_people(network, api, page_client, name):
    """Residents hold a role for their own household only: neither the page nor the API lists them,
    for the system administrator (the whole county) as for township staff."""
    user = network.user(name)
    items = api(user).get("/api/v1/staff?limit=500").json()["items"]
    listed = {s["username"] for s in items}
    assert listed and all(s["role"] != "resident" for s in items)
    html = page_client(user).get("/staff/?page_size=500").content.decode()
    for s in items:
        assert s.get("full_name", s["username"]) in html or s["username"] in html, s
    assert "resident_a" not in listed and "Resident A" not in html
