"""Accounts, role grants (separation of the three administrators), logins and tokens."""

from __future__ import annotations

import datetime as dt

import pyotp
import pytest
from django.conf import settings

from tests.factories import PASSWORD
from tongxin.core import clock
from tongxin.core.errors import Locked, NotAuthenticated, NotFound, PermissionDenied, ValidationFailed
from tongxin.core.models import AuditEntry
from tongxin.people import services
from tongxin.people.models import ApiToken, RoleAssignment, User
from tongxin.people.roles import SECOND_FACTOR_ROLES, Role

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.timezone.utc)


# --- accounts ---------------------------------------------------------------------------


@pytest.mark.parametrize("password", ["short1", "password123", "1234567890123", "grid_worker_a_x"])
def test_weak_passwords_are_refused_with_a_field_error(network, password):
    with pytest.raises(ValidationFailed) as exc:
        services.user_create(actor=network.user("system_admin"), username="grid_worker_a_x", password=password)
    assert exc.value.fields["password"]
    assert not User.objects.filter(username="grid_worker_a_x").exists()


def test_only_a_system_administrator_creates_accounts(network):
    user = services.user_create(actor=network.user("system_admin"), username="drolma", password=PASSWORD)
    assert user.check_password(PASSWORD)
    assert AuditEntry.objects.filter(action="user.create", object_id=str(user.pk)).count() == 1
    for name in ("security_admin", "audit_admin", "county_admin", "township1_staff"):
        with pytest.raises(PermissionDenied):
            services.user_create(actor=network.user(name), username=f"by_{name}", password=PASSWORD)
    with pytest.raises(ValidationFailed) as exc:
        services.user_create(actor=network.user("system_admin"), username="drolma", password=PASSWORD)
    assert "username" in exc.value.fields


# --- role grants: separation of the three administrators -----------------------------------


def test_security_admin_grants_within_scope_with_one_audit_entry(network):
    entries = AuditEntry.objects.count()
    assignment = services.role_grant(actor=network.user("security_admin_t1"), user=network.user("newcomer"),
                                     role=Role.GRID_WORKER, node=network.a.grid)
    assert assignment.node_path == network.a.grid.path
    assert AuditEntry.objects.count() == entries + 1
    with pytest.raises(NotFound):  # township 2 lies outside a township-1 security administrator
        services.role_grant(actor=network.user("security_admin_t1"), user=network.user("newcomer"),
                            role=Role.GRID_WORKER, node=network.b.grid)


def test_nobody_grants_to_themself(network):
    admin = network.user("security_admin")
    with pytest.raises(PermissionDenied):
        services.role_grant(actor=admin, user=admin, role=Role.SYSTEM_ADMIN, node=network.county)
    assert not RoleAssignment.objects.filter(user=admin, role=Role.SYSTEM_ADMIN).exists()


@pytest.mark.parametrize("grantor", ["system_admin", "audit_admin", "county_admin", "township1_staff"])
def test_only_security_administrators_grant(network, grantor):
    with pytest.raises((NotFound, PermissionDenied)):
        services.role_grant(actor=network.user(grantor), user=network.user("newcomer"), role=Role.GRID_WORKER,
                            node=network.a.grid)
    assert not RoleAssignment.objects.filter(user=network.user("newcomer")).exists()


def test_a_department_officer_needs_a_department(network):
    with pytest.raises(ValidationFailed) as exc:
        services.role_grant(actor=network.user("security_admin"), user=network.user("newcomer"),
                            role=Role.DEPARTMENT_OFFICER, node=network.county)
    assert "department" in exc.value.fields
    with pytest.raises(ValidationFailed) as exc:
        services.role_grant(actor=network.user("security_admin"), user=network.user("newcomer"), role="overlord",
                            node=network.county)
    assert "role" in exc.value.fields


# --- logins: lockout ----------------------------------------------------------------------


def _fail(username: str, times: int) -> list[type]:
    raised = []
    for _ in range(times):
        with pytest.raises((NotAuthenticated, Locked)) as exc:
            services.authenticate(username=username, password="not-the-password")
        raised.append(type(exc.value))
    return raised


def test_five_failures_still_allow_login_and_reset_the_count(network):
    with clock.frozen_at(T0):
        assert _fail("grid_worker_a", 5) == [NotAuthenticated] * 5
        assert services.authenticate(username="grid_worker_a", password=PASSWORD).username == "grid_worker_a"
        assert User.objects.get(username="grid_worker_a").failed_logins == 0
        assert _fail("grid_worker_a", 5) == [NotAuthenticated] * 5  # counting starts again


def test_the_sixth_failure_locks_until_the_lock_time_passes(network):
    with clock.frozen_at(T0):
        assert _fail("grid_worker_a", settings.LOGIN_MAX_FAILURES) == [NotAuthenticated] * 5 + [Locked]
        with pytest.raises(Locked):
            services.authenticate(username="grid_worker_a", password=PASSWORD)
    with clock.frozen_at(T0 + dt.timedelta(seconds=settings.LOGIN_LOCK_SECONDS - 1)):
        with pytest.raises(Locked):
            services.authenticate(username="grid_worker_a", password=PASSWORD)
    with clock.frozen_at(T0 + dt.timedelta(seconds=settings.LOGIN_LOCK_SECONDS + 1)):
        assert services.authenticate(username="grid_worker_a", password=PASSWORD).username == "grid_worker_a"
    assert AuditEntry.objects.filter(action="user.login_failed").count() == 6


def test_unknown_user_and_wrong_password_answer_the_same(network):
    with pytest.raises(NotAuthenticated) as unknown:
        services.authenticate(username="nobody", password=PASSWORD)
    with pytest.raises(NotAuthenticated) as wrong:
        services.authenticate(username="grid_worker_a", password="wrong")
    assert str(unknown.value.message) == str(wrong.value.message)


# --- logins: second factor ----------------------------------------------------------------


STEP = dt.timedelta(seconds=30)  # one TOTP time step


def _enrolled(user: User, moment: dt.datetime) -> pyotp.TOTP:
    """Enrol ``user`` at ``moment`` with the code of the step before, which the verifier takes
    (a phone's clock may lag a step), so the current step's code is still unused."""
    with clock.frozen_at(moment):
        totp = pyotp.TOTP(services.totp_setup(user=user))
        services.totp_confirm(user=user, code=totp.at(moment - STEP))
    return totp


def _refusal(username: str, otp: str) -> tuple:
    with pytest.raises(NotAuthenticated) as exc:
        services.authenticate(username=username, password=PASSWORD, otp=otp)
    error = exc.value
    return error.code, str(error.message), {k: [str(m) for m in v] for k, v in error.fields.items()}


def _wrong_password(username: str) -> tuple:
    with pytest.raises(NotAuthenticated) as exc:
        services.authenticate(username=username, password="not-the-password")
    return exc.value.code, str(exc.value.message), exc.value.fields


def test_second_factor_roles():
    assert SECOND_FACTOR_ROLES == {Role.COUNTY_ADMIN, Role.SYSTEM_ADMIN, Role.SECURITY_ADMIN, Role.AUDIT_ADMIN}


@pytest.mark.parametrize("name", ["county_admin", "system_admin", "security_admin", "audit_admin"])
def test_administrators_need_a_second_factor(network, name):
    user = network.user(name)
    assert services.needs_second_factor(user)
    with pytest.raises(ValidationFailed) as exc:  # not enrolled yet: the login page enrols
        services.authenticate(username=name, password=PASSWORD, allow_setup=True)
    assert exc.value.code == "second_factor_setup" and "otp" in exc.value.fields
    code = _enrolled(user, T0).at(T0)
    with clock.frozen_at(T0):
        wrong_password = _wrong_password(name)
        # The right password without the code, or with a wrong one, is answered like a wrong password.
        assert _refusal(name, "") == wrong_password
        assert _refusal(name, f"{(int(code) + 500000) % 1000000:06d}") == wrong_password
        assert services.authenticate(username=name, password=PASSWORD, otp=code).pk == user.pk


def test_without_the_login_page_an_unenrolled_password_is_answered_like_a_wrong_one(network):
    with clock.frozen_at(T0):
        assert _refusal("county_admin", "") == _wrong_password("county_admin")


@pytest.mark.parametrize("name", ["grid_worker_a", "township1_staff", "dispatch_officer", "resident_a"])
def test_other_roles_log_in_with_a_password(network, name):
    assert not services.needs_second_factor(network.user(name))
    assert services.authenticate(username=name, password=PASSWORD).username == name


def test_totp_confirm_refuses_a_wrong_code(network):
    user = network.user("audit_admin")
    secret = services.totp_setup(user=user)
    with pytest.raises(ValidationFailed) as exc:
        services.totp_confirm(user=user, code="000000" if pyotp.TOTP(secret).at(clock.now()) != "000000" else "111111")
    assert "otp" in exc.value.fields
    assert not User.objects.get(pk=user.pk).totp_confirmed
    assert secret not in User.objects.get(pk=user.pk).totp_secret  # kept encrypted


# --- logins: each second-factor code is good once (no replay) --------------------------------

def test_a_code_is_accepted_once(network):
    user = network.user("county_admin")
    totp = _enrolled(user, T0)
    with clock.frozen_at(T0):
        assert services.authenticate(username="county_admin", password=PASSWORD, otp=totp.at(T0)).pk == user.pk
        assert _refusal("county_admin", totp.at(T0))[0] == "not_authenticated"
    with clock.frozen_at(T0 + STEP):  # the next step's code is a new one
        assert services.authenticate(username="county_admin", password=PASSWORD,
                                     otp=totp.at(T0 + STEP)).pk == user.pk
    assert User.objects.get(pk=user.pk).totp_last_step == totp.timecode(T0 + STEP)


def test_a_replayed_code_is_refused_like_a_wrong_one(network):
    user = network.user("system_admin")
    totp = _enrolled(user, T0)
    code = totp.at(T0)
    wrong = f"{(int(code) + 500000) % 1000000:06d}"
    with clock.frozen_at(T0):
        services.authenticate(username="system_admin", password=PASSWORD, otp=code)
        refusals = []
        for otp in (wrong, code):
            failures = AuditEntry.objects.filter(action="user.login_failed", object_id=str(user.pk)).count()
            refusals.append(_refusal("system_admin", otp))
            assert AuditEntry.objects.filter(action="user.login_failed", object_id=str(user.pk)).count() == failures + 1
    assert refusals[0] == refusals[1]  # the same code, message and field message
    assert User.objects.get(pk=user.pk).failed_logins == 2
    with clock.frozen_at(T0):
        assert refusals[0] == _wrong_password("system_admin")  # and like a wrong password


def test_replayed_codes_count_toward_the_lock(network):
    user = network.user("security_admin")
    totp = _enrolled(user, T0)
    with clock.frozen_at(T0):
        services.authenticate(username="security_admin", password=PASSWORD, otp=totp.at(T0))
        for _ in range(settings.LOGIN_MAX_FAILURES - 1):
            _refusal("security_admin", totp.at(T0))
        with pytest.raises(Locked):
            services.authenticate(username="security_admin", password=PASSWORD, otp=totp.at(T0))
    with clock.frozen_at(T0 + dt.timedelta(seconds=settings.LOGIN_LOCK_SECONDS + 1)):
        later = T0 + dt.timedelta(seconds=settings.LOGIN_LOCK_SECONDS + 1)
        assert services.authenticate(username="security_admin", password=PASSWORD, otp=totp.at(later)).pk == user.pk


def test_no_code_of_a_step_at_or_before_the_last_one_used(network):
    """The verifier takes the codes of the steps either side of now (phone clocks drift); once a
    step is used, neither its code nor an earlier step's is taken again, even one never used."""
    user = network.user("audit_admin")
    totp = _enrolled(user, T0)  # used the step before T0
    with clock.frozen_at(T0):
        assert _refusal("audit_admin", totp.at(T0 - STEP))[0] == "not_authenticated"  # the enrolment's code
        services.authenticate(username="audit_admin", password=PASSWORD, otp=totp.at(T0 + STEP))  # a fast phone
        assert _refusal("audit_admin", totp.at(T0))[0] == "not_authenticated"  # never used, but earlier
    with clock.frozen_at(T0 + STEP):
        assert _refusal("audit_admin", totp.at(T0 + STEP))[0] == "not_authenticated"  # now current, still used
    with clock.frozen_at(T0 + 2 * STEP):
        assert _refusal("audit_admin", totp.at(T0 + STEP))[0] == "not_authenticated"  # now a slow phone's
        assert services.authenticate(username="audit_admin", password=PASSWORD,
                                     otp=totp.at(T0 + 2 * STEP)).pk == user.pk


def test_the_enrolment_code_does_not_log_in_again(network):
    user = network.user("county_admin")
    with clock.frozen_at(T0):
        totp = pyotp.TOTP(services.totp_setup(user=user))
        services.totp_confirm(user=user, code=totp.at(T0))
        assert _refusal("county_admin", totp.at(T0))[0] == "not_authenticated"
        with pytest.raises(ValidationFailed) as exc:
            services.totp_confirm(user=user, code=totp.at(T0))
        assert "otp" in exc.value.fields
        assert services.authenticate(username="county_admin", password=PASSWORD,
                                     otp=totp.at(T0 + STEP)).pk == user.pk


def test_the_web_code_step_takes_a_code_once(network):
    """``login_second_factor``, the web login's second step, also confirms a new enrolment."""
    user = network.user("county_admin")
    with clock.frozen_at(T0):
        totp = pyotp.TOTP(services.totp_setup(user=user))
        assert services.login_second_factor(user=user, otp=totp.at(T0)).totp_confirmed
        with pytest.raises(ValidationFailed) as exc:
            services.login_second_factor(user=user, otp=totp.at(T0))
        assert exc.value.code == "second_factor_wrong" and "otp" in exc.value.fields
        assert User.objects.get(pk=user.pk).failed_logins == 1
    with clock.frozen_at(T0 + STEP):
        assert services.login_second_factor(user=user, otp=totp.at(T0 + STEP)).failed_logins == 0


def test_a_new_secret_starts_afresh(network):
    user = network.user("county_admin")
    totp = _enrolled(user, T0)
    with clock.frozen_at(T0):
        services.authenticate(username="county_admin", password=PASSWORD, otp=totp.at(T0 + STEP))
        fresh = pyotp.TOTP(services.totp_setup(user=user))
        assert User.objects.get(pk=user.pk).totp_last_step is None
        services.totp_confirm(user=user, code=fresh.at(T0))  # its own codes, whatever the old secret used


def test_a_step_is_used_once(network):
    """The conditional UPDATE behind every accepted code: a step is used once, and never after a later one."""
    user = network.user("newcomer")
    assert services.totp_use_step(user_id=user.pk, step=100)
    assert not services.totp_use_step(user_id=user.pk, step=100)
    assert not services.totp_use_step(user_id=user.pk, step=99)
    assert services.totp_use_step(user_id=user.pk, step=102)
    assert not services.totp_use_step(user_id=user.pk, step=101)
    assert User.objects.get(pk=user.pk).totp_last_step == 102


def test_of_two_submissions_of_one_code_read_at_once_one_wins(network, monkeypatch):
    """Two logins with one code that both read the user before either wrote find the code unused:
    the conditional UPDATE alone decides, and the loser is refused like a wrong code.
    (test_totp_concurrency runs the same race in two database connections.)"""
    user = network.user("county_admin")
    totp = _enrolled(user, T0)
    stale = User.objects.get(pk=user.pk)
    matching_step = services.authentication._totp_matching_step
    monkeypatch.setattr(services.authentication, "_totp_matching_step", lambda _user, code, now: matching_step(stale,
                        code, now))
    with clock.frozen_at(T0):
        assert services.authenticate(username="county_admin", password=PASSWORD, otp=totp.at(T0)).pk == user.pk
        assert _refusal("county_admin", totp.at(T0))[0] == "not_authenticated"
    assert AuditEntry.objects.filter(action="user.login", object_id=str(user.pk)).count() == 1
    assert User.objects.get(pk=user.pk).failed_logins == 1


# --- tokens -------------------------------------------------------------------------------


def test_tokens_expire_when_idle(network):
    user = network.user("grid_worker_a")
    with clock.frozen_at(T0):
        token = services.token_issue(user=user)
    assert not ApiToken.objects.filter(digest=token).exists()  # only the digest is stored
    idle = dt.timedelta(seconds=settings.TOKEN_IDLE_SECONDS)
    with clock.frozen_at(T0 + idle - dt.timedelta(seconds=1)):
        assert services.token_user(token) == user  # used: the idle time starts again
    with clock.frozen_at(T0 + 2 * idle - dt.timedelta(seconds=2)):
        assert services.token_user(token) == user
    with clock.frozen_at(T0 + 3 * idle):
        assert services.token_user(token) is None
    assert services.token_user(token) is None  # and it is gone
    assert services.token_user("made-up") is None


def test_a_deactivated_user_has_no_token(network):
    user = network.user("grid_worker_a")
    token = services.token_issue(user=user)
    User.objects.filter(pk=user.pk).update(is_active=False)
    assert services.token_user(token) is None


def test_wrong_second_factor_codes_count_toward_the_lock(network):
    user = network.user("security_admin")
    code = _enrolled(user, T0).at(T0)
    wrong = f"{(int(code) + 500000) % 1000000:06d}"
    with clock.frozen_at(T0):
        for _ in range(settings.LOGIN_MAX_FAILURES - 1):
            with pytest.raises(NotAuthenticated):
                services.authenticate(username="security_admin", password=PASSWORD, otp=wrong)
        with pytest.raises(Locked):
            services.authenticate(username="security_admin", password=PASSWORD, otp=wrong)
        with pytest.raises(Locked):
            services.authenticate(username="security_admin", password=PASSWORD, otp=code)
