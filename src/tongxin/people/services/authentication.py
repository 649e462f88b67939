"""Logging in: passwords, the second factor (TOTP, each code good once), failures throttled by
client address and by account name (people/services/throttle.py), and API tokens that idle out."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import NoReturn

import pyotp
from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from pyotp.utils import strings_equal

from tongxin.core import audit, clock, context, crypto
from tongxin.core.errors import (
    Locked,
    NotAuthenticated,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from tongxin.people.models import ApiToken, User, UserSession
from tongxin.people.roles import SECOND_FACTOR_ROLES
from tongxin.people.services import throttle

_TOTP_CONTEXT = "user.totp"
_TOTP_WINDOW = 1  # time steps either side of now whose codes are accepted (clocks drift)


def needs_second_factor(user: User) -> bool:
    return user.assignments.filter(role__in=[r.value for r in SECOND_FACTOR_ROLES]).exists()


def totp_secret(user: User) -> str:
    return crypto.decrypt(user.totp_secret, context=_TOTP_CONTEXT) if user.totp_secret else ""


def totp_setup(*, user: User) -> str:
    """Give the user a new (unconfirmed) second-factor secret and return it."""
    secret = pyotp.random_base32()
    with transaction.atomic():
        # The steps used with the old secret say nothing about the new one's codes.
        User.objects.filter(pk=user.pk).update(totp_secret=crypto.encrypt(secret, context=_TOTP_CONTEXT),
                                               totp_confirmed=False, totp_last_step=None, updated_at=clock.now())
        audit.record(action="user.totp_setup", actor=user, object_type="people.user", object_id=str(user.pk))
    user.refresh_from_db()
    return secret


def _totp_matching_step(user: User, code: str, now: dt.datetime) -> int | None:
    """The time step, within the window around ``now``, whose code ``code`` is and that comes
    after the last step used (``user.totp_last_step``); None when there is none."""
    code = (code or "").strip()
    if not user.totp_secret or not code:
        return None
    totp = pyotp.TOTP(totp_secret(user))
    current = totp.timecode(now)
    for step in range(current - _TOTP_WINDOW, current + _TOTP_WINDOW + 1):
        if user.totp_last_step is not None and step <= user.totp_last_step:
            continue
        if strings_equal(code, totp.generate_otp(step)):
            return step
    return None


def totp_use_step(*, user_id, step: int) -> bool:
    """Record that the code of ``step`` was used, unless it or a later one already was (then False).
    One conditional UPDATE: of two concurrent submissions of one code, only one wins."""
    unused = Q(totp_last_step__isnull=True) | Q(totp_last_step__lt=step)
    return User.objects.filter(unused, pk=user_id).update(totp_last_step=step) == 1


def _totp_accept(user: User, code: str, now: dt.datetime) -> bool:
    """Whether ``code`` is the user's code for a step near ``now`` that no earlier code used;
    if so, that step is now used. A replayed code is refused like a wrong one."""
    step = _totp_matching_step(user, code, now)
    return step is not None and totp_use_step(user_id=user.pk, step=step)


def totp_confirm(*, user: User, code: str) -> None:
    now = clock.now()
    if not _totp_accept(User.objects.get(pk=user.pk), code, now):
        raise ValidationFailed(fields={"otp": [_("The code is not right.")]})
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(totp_confirmed=True, updated_at=now)
        audit.record(action="user.totp_confirm", actor=user, object_type="people.user", object_id=str(user.pk))
    user.refresh_from_db()


def totp_uri(user: User) -> str:
    return pyotp.TOTP(totp_secret(user)).provisioning_uri(name=user.username, issuer_name="Tongxin")


# --- logging in (throttled: people/services/throttle.py) ------------------------------------

# One answer for every refused login, whichever part was wrong: an unknown name, a wrong
# password, a right password without the code or with a wrong or replayed one.
WRONG_LOGIN = _("The user name, password or code is wrong.")


def _client_address() -> str:
    return context.current().ip or "-"


def _refuse(*, username: str, user: User | None, now: dt.datetime) -> NoReturn:
    """Count a failed login (by name, by name from this address, by address) and refuse it:
    Locked when a lock holds after this failure, NotAuthenticated otherwise, the same for
    names that do not exist."""
    locked = throttle.record_failure(username=username, address=_client_address(), now=now)
    if user is not None:
        _record_failure(user)
    if locked:
        raise Locked()
    raise NotAuthenticated(WRONG_LOGIN)


def authenticate(*, username: str, password: str, otp: str | None = None, allow_setup: bool = False) -> User:
    """Check a login: the password, and for administrators and county administrators a TOTP
    code (each good once). Failures are throttled by client address and by account name.

    Every refusal is NotAuthenticated with one message, or Locked, whether the name exists or
    not and whichever part was wrong. The one exception: with ``allow_setup`` (the login page),
    the right password of an account that must still enrol its second factor raises
    ValidationFailed ``second_factor_setup``, so that the page can show the enrolment.

    A lock of the account name made from elsewhere does not stop an account that gives its
    password and a valid code; one made from this client address does.
    """
    now = clock.now()
    address = _client_address()
    user = User.objects.filter(username=username or "").first()
    if user is not None and not user.is_active:
        user = None
    # The same password-hashing cost whether the name exists or not.
    password_right = user.check_password(password or "") if user is not None else (
        User().check_password(password or "") and False)
    held = throttle.locks(username=username, address=address, now=now)
    if held - {throttle.Kind.ACCOUNT}:
        raise Locked()  # this address guessed too often: nothing more is checked from it for a while
    second = user is not None and needs_second_factor(user)
    if user is None or not password_right:
        _refuse(username=username, user=user, now=now)
    assert user is not None
    if held and not (second and user.totp_confirmed):
        _refuse(username=username, user=user, now=now)  # locked: only a second factor gets past
    if second:
        if not user.totp_secret or not user.totp_confirmed:
            if allow_setup:
                raise ValidationFailed(_("Set up your second factor first, on the login page."),
                                       code="second_factor_setup",
                                       fields={"otp": [_("A second factor is required.")]})
            _refuse(username=username, user=user, now=now)
        if not otp or not _totp_accept(user, otp, now):
            _refuse(username=username, user=user, now=now)
    throttle.record_success(username=username, address=address)
    _record_success(user, now)
    return user


def _record_failure(user: User) -> None:
    """A real account's failed login: counted on the account (in a row) and audited."""
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(failed_logins=F("failed_logins") + 1)
        audit.record(action="user.login_failed", actor=user, object_type="people.user", object_id=str(user.pk))


def _record_success(user: User, now) -> None:
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(failed_logins=0, locked_until=None, last_login=now)
        audit.record(action="user.login", actor=user, object_type="people.user", object_id=str(user.pk))


def login_second_factor(*, user: User, otp: str) -> User:
    """The second step of a web login that enrols a second factor, after ``authenticate``
    accepted the password: checks the first code (confirming the new secret) and records the
    login. Wrong codes are throttled like wrong passwords."""
    now = clock.now()
    user = User.objects.get(pk=user.pk)
    if throttle.locks(username=user.username, address=_client_address(), now=now) - {throttle.Kind.ACCOUNT}:
        raise Locked()
    if not _totp_accept(user, otp, now):
        locked = throttle.record_failure(username=user.username, address=_client_address(), now=now)
        _record_failure(user)
        if locked - {throttle.Kind.ACCOUNT}:
            raise Locked()
        raise ValidationFailed(_("The code is not right."), code="second_factor_wrong",
                               fields={"otp": [_("The code is not right.")]})
    if not user.totp_confirmed:
        with transaction.atomic():
            User.objects.filter(pk=user.pk).update(totp_confirmed=True, updated_at=now)
            audit.record(action="user.totp_confirm", actor=user, object_type="people.user", object_id=str(user.pk))
    throttle.record_success(username=user.username, address=_client_address())
    _record_success(user, now)
    return User.objects.get(pk=user.pk)


# --- tokens and sessions: issue, lookup, revocation (the login flow above is another concern) ---


def token_issue(*, user: User) -> str:
    """A new bearer token. An account whose password was reset gets none until it chose a new
    one (on the web page, which asks for it)."""
    if user.must_change_password:
        raise PermissionDenied(_("Choose a new password first: log in on the web page, which asks for it."),
                               code="password_change_required")
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        ApiToken.objects.create(user=user, digest=crypto.token_digest(token))
        audit.record(action="token.issue", actor=user, object_type="people.apitoken", object_id=str(user.pk))
    return token


def token_user(token: str) -> User | None:
    """The user behind a bearer token, or None when unknown, idle too long, older than the
    absolute lifetime, or its account is deactivated or locked (checked on every request, so
    a lock or a deactivation stops the token at once)."""
    row = ApiToken.objects.select_related("user").filter(digest=crypto.token_digest(token)).one_or_none()
    if row is None or not row.user.is_active:
        return None
    now = clock.now()
    if row.user.locked_until and row.user.locked_until > now:
        return None
    if ((now - row.last_used_at).total_seconds() > settings.TOKEN_IDLE_SECONDS
            or (now - row.created_at).total_seconds() > settings.TOKEN_MAX_AGE_SECONDS):
        row.delete()
        return None
    if (now - row.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=row.pk).update(last_used_at=now)
    row.user._tongxin_token_digest = row.digest
    return row.user


def presenting_token_digest(user) -> str:
    """The digest of the token this request came with ("" for a web session)."""
    return getattr(user, "_tongxin_token_digest", "")


def tokens_of(*, user: User):
    """The user's own live tokens, newest first."""
    return ApiToken.objects.filter(user=user).order_by("-created_at", "-id")


def token_revoke(*, user: User, token_id) -> None:
    """A user revokes one of their own tokens; another's answers 404."""
    with transaction.atomic():
        row = ApiToken.objects.filter(user=user, pk=token_id).first()
        if row is None:
            raise NotFound()
        row.delete()
        audit.record(action="token.revoke", actor=user, object_type="people.apitoken", object_id=str(token_id))


def token_logout(*, user: User) -> None:
    """``POST /auth/logout``: the presenting token stops working."""
    digest = presenting_token_digest(user)
    row = ApiToken.objects.filter(user=user, digest=digest).first() if digest else None
    if row is None:
        raise NotAuthenticated()
    token_revoke(user=user, token_id=row.pk)


def tokens_revoke_all(*, user: User, keep_digest: str = "") -> int:
    """End every token of the account (but the one kept), inside the caller's audited write."""
    return ApiToken.objects.filter(user=user).exclude(digest=keep_digest or None).delete()[0]


def session_id(session) -> str:
    """The public name of a web session: its key is the cookie's secret and is never shown."""
    return hashlib.sha256(session.session_key.encode()).hexdigest()[:32]


def sessions_of(*, user: User):
    """The user's own web sessions that have not expired, most recently seen first."""
    return UserSession.objects.filter(user=user, expire_date__gt=clock.now()).order_by("-last_seen_at")


def session_end(*, user: User, public_id: str) -> None:
    """A user ends one of their own web sessions; another's answers 404."""
    with transaction.atomic():
        row = next((s for s in sessions_of(user=user) if session_id(s) == public_id), None)
        if row is None:
            raise NotFound()
        row.delete()
        audit.record(action="session.end", actor=user, object_type="people.usersession", object_id=public_id)


def sessions_end_all(*, user: User, keep_key: str = "") -> int:
    """End every web session of the account (but the one kept), inside the caller's audited write."""
    return UserSession.objects.filter(user=user).exclude(session_key=keep_key or None).delete()[0]
