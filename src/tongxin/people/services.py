"""Writes about people: accounts, role grants, a resident's own household, logins (lockout
and second factor), tokens."""

from __future__ import annotations

import datetime as dt
import secrets

import pyotp
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from pyotp.utils import strings_equal

from tongxin.core import audit, clock, crypto
from tongxin.core.errors import Locked, NotAuthenticated, NotFound, PermissionDenied, ValidationFailed
from tongxin.core.types import Actor
from tongxin.grid.models import Department, Node
from tongxin.people.models import ApiToken, RoleAssignment, User
from tongxin.people.permissions import user_can
from tongxin.people.roles import SECOND_FACTOR_ROLES, Role
from tongxin.people.scope import allows_at
from tongxin.registry.models import Household

_TOTP_CONTEXT = "user.totp"
_TOTP_WINDOW = 1  # time steps either side of now whose codes are accepted (clocks drift)


def _check_password(password: str, user: User | None = None) -> None:
    try:
        validate_password(password, user)
    except DjangoValidationError as exc:
        raise ValidationFailed(fields={"password": list(exc.messages)}) from exc


def user_create(*, actor: Actor | None, username: str, password: str | None, full_name: str = "", phone: str = "",
                preferred_language: str = "zh-hans", check_scope: bool = True,
                password_hash: str | None = None) -> User:
    """Create an account. ``actor`` must be a system administrator (the CLI passes ``check_scope=False``)."""
    if check_scope and not user_can(actor, "user.manage"):
        raise PermissionDenied()
    username = (username or "").strip()
    if not username or len(username) > 150:
        raise ValidationFailed(fields={"username": [_("A user name of 1 to 150 characters is required.")]})
    user = User(username=username, full_name=full_name, phone=phone, preferred_language=preferred_language)
    if password_hash:
        user.password = password_hash
    elif password:
        _check_password(password, user)
        user.set_password(password)
    else:
        user.set_unusable_password()
    with transaction.atomic():
        if User.objects.filter(username=username).exists():
            raise ValidationFailed(fields={"username": [_("This user name is taken.")]})
        user.save()
        audit.record(action="user.create", actor=actor, obj=user, after={"username": username})
    return user


def role_grant(*, actor: Actor | None, user: User, role: str, node: Node, department: Department | None = None,
               check_scope: bool = True) -> RoleAssignment:
    """Grant a role at a node. Only a security administrator grants, within their scope,
    and never to themself (separation of the three administrators)."""
    if role not in Role.values:
        raise ValidationFailed(fields={"role": [_("Unknown role.")]})
    if check_scope:
        assert actor is not None, "a scope check needs an actor"
        if actor.pk == user.pk:
            raise PermissionDenied(_("Nobody may grant a role to themself."))
        if not allows_at(actor, "role.grant", node.path):
            raise NotFound()
    if role == Role.DEPARTMENT_OFFICER and department is None:
        raise ValidationFailed(fields={"department": [_("A department officer needs a department.")]})
    with transaction.atomic():
        assignment, created = RoleAssignment.objects.get_or_create(
            user=user, role=role, node=node, defaults={"node_path": node.path, "department": department})
        if created:
            audit.record(action="role.grant", actor=actor, obj=assignment)
    user.__dict__.pop("_tongxin_assignments", None)
    return assignment


# --- a resident's own household ----------------------------------------------------------


def _resident_paths(user: User) -> list[str]:
    """The node paths of the user's resident roles, read afresh (not from the per-object cache)."""
    return list(RoleAssignment.objects.filter(user_id=user.pk, role=Role.RESIDENT).order_by()
                .values_list("node_path", flat=True))


def _locked_household_id(user: User):
    """The user's household link as stored, the row locked until the transaction ends."""
    found = list(User.objects.select_for_update().filter(pk=user.pk).values_list("household_id", flat=True))
    if not found:
        raise NotFound()  # the account is gone
    return found[0]


def _household_path(household_id) -> str:
    return Household.objects.filter(pk=household_id).values_list("node_path", flat=True).first() or ""


def _set_household(user: User, household: Household | None) -> None:
    now = clock.now()
    User.objects.filter(pk=user.pk).update(household=household, updated_at=now)
    user.household = household
    user.updated_at = now


def user_household_link(*, actor: Actor | None, user: User, household: Household, check_scope: bool = True) -> User:
    """Link a resident's account to their own household (the one household they see and file
    requests about, people.scope). Staff who may link at the household's place do it
    (``household.link``); a household outside the actor's scope is not found.

    The account must hold the resident role at the household's unit or above it. Linking to
    another household moves the link (the old one must lie in the actor's scope too); linking
    again to the same household changes nothing and writes no audit entry. Nobody links their
    own account (a member of staff would become a resident of a household they serve)."""
    if check_scope:
        if not allows_at(actor, "household.link", household.node_path):
            raise NotFound()
        if getattr(actor, "pk", None) == user.pk:
            raise PermissionDenied(_("Nobody may change the household link of their own account."))
    paths = _resident_paths(user)
    if not paths:
        raise ValidationFailed(_("Only an account with the resident role can be linked to a household."),
                               code="not_a_resident",
                               fields={"username": [_("This account does not hold the resident role.")]})
    if not any(household.node_path.startswith(path) for path in paths):
        raise ValidationFailed(_("The household is not where this account holds its resident role."),
                               code="household_elsewhere",
                               fields={"household": [_("Choose a household at or below the place where "
                                                       "this account holds its resident role.")]})
    with transaction.atomic():
        current = _locked_household_id(user)
        if current == household.pk:
            user.household = household
            return user
        if current is not None and check_scope and not allows_at(actor, "household.link", _household_path(current)):
            raise NotFound()  # moving the link takes it from a household outside the actor's scope
        _set_household(user, household)
        audit.record(action="user.household_link", actor=actor, obj=user, node_path=household.node_path,
                     before={"household_id": str(current) if current else None},
                     after={"household_id": str(household.pk)})
    user.__dict__.pop("_tongxin_assignments", None)
    return user


def user_household_unlink(*, actor: Actor | None, user: User, check_scope: bool = True) -> User:
    """Take a resident's account off its household. The household must lie in the actor's
    scope (``household.link``); an account linked to none is in scope where its resident role
    is, and unlinking it again changes nothing and writes no audit entry."""
    with transaction.atomic():
        current = _locked_household_id(user)
        path = _household_path(current) if current is not None else ""
        if check_scope:
            places = [path] if current is not None else _resident_paths(user)
            if not any(allows_at(actor, "household.link", place) for place in places):
                raise NotFound()
            if getattr(actor, "pk", None) == user.pk:
                raise PermissionDenied(_("Nobody may change the household link of their own account."))
        if current is None:
            user.household = None
            return user
        _set_household(user, None)
        audit.record(action="user.household_unlink", actor=actor, obj=user, node_path=path,
                     before={"household_id": str(current)}, after={"household_id": None})
    user.__dict__.pop("_tongxin_assignments", None)
    return user


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


def authenticate(*, username: str, password: str, otp: str | None = None) -> User:
    """Check a login. The sixth failed attempt in a row locks the account for a while;
    administrators and county administrators also need a valid TOTP code.

    Raises NotAuthenticated (same message for unknown user and wrong password), Locked,
    or ValidationFailed with field ``otp`` when a second factor is needed or wrong.
    """
    now = clock.now()
    user = User.objects.filter(username=username or "").first()
    if user is None or not user.is_active:
        User().check_password(password or "")  # same cost as a real check
        raise NotAuthenticated(_("User name or password is wrong."))
    if user.locked_until and user.locked_until > now:
        raise Locked()
    if not user.check_password(password or ""):
        _record_failure(user, now)
        raise NotAuthenticated(_("User name or password is wrong."))
    if needs_second_factor(user):
        if not user.totp_secret or not user.totp_confirmed:
            raise ValidationFailed(_("Set up your second factor first, on the login page."),
                                   code="second_factor_setup", fields={"otp": [_("A second factor is required.")]})
        if not otp:
            raise ValidationFailed(_("Enter the code from your authenticator app."), code="second_factor_required",
                                   fields={"otp": [_("A second factor is required.")]})
        if not _totp_accept(user, otp, now):
            _record_failure(user, now)
            raise ValidationFailed(_("The code is not right."), code="second_factor_wrong",
                                   fields={"otp": [_("The code is not right.")]})
    _record_success(user, now)
    return user


def _record_failure(user: User, now) -> None:
    """A wrong password or code counts toward the lock; the sixth in a row locks the account."""
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        failures = user.failed_logins + 1
        locked = (now + dt.timedelta(seconds=settings.LOGIN_LOCK_SECONDS)
                  if failures >= settings.LOGIN_MAX_FAILURES else None)
        User.objects.filter(pk=user.pk).update(failed_logins=0 if locked else failures, locked_until=locked)
        audit.record(action="user.login_failed", actor=user, object_type="people.user", object_id=str(user.pk))
    if locked:
        raise Locked()


def _record_success(user: User, now) -> None:
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(failed_logins=0, locked_until=None, last_login=now)
        audit.record(action="user.login", actor=user, object_type="people.user", object_id=str(user.pk))


def login_second_factor(*, user: User, otp: str) -> User:
    """The second step of a web login, after ``authenticate`` accepted the password and asked
    for a code: checks the code (confirming a newly enrolled secret) and records the login.
    Wrong codes count toward the lock like wrong passwords."""
    now = clock.now()
    user = User.objects.get(pk=user.pk)
    if user.locked_until and user.locked_until > now:
        raise Locked()
    if not _totp_accept(user, otp, now):
        _record_failure(user, now)
        raise ValidationFailed(_("The code is not right."), code="second_factor_wrong",
                               fields={"otp": [_("The code is not right.")]})
    if not user.totp_confirmed:
        with transaction.atomic():
            User.objects.filter(pk=user.pk).update(totp_confirmed=True, updated_at=now)
            audit.record(action="user.totp_confirm", actor=user, object_type="people.user", object_id=str(user.pk))
    _record_success(user, now)
    return User.objects.get(pk=user.pk)


def token_issue(*, user: User) -> str:
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        ApiToken.objects.create(user=user, digest=crypto.token_digest(token))
        audit.record(action="token.issue", actor=user, object_type="people.apitoken", object_id=str(user.pk))
    return token


def token_user(token: str) -> User | None:
    """The user behind a bearer token, or None when unknown or idle too long."""
    row = ApiToken.objects.select_related("user").filter(digest=crypto.token_digest(token)).one_or_none()
    if row is None or not row.user.is_active:
        return None
    now = clock.now()
    if (now - row.last_used_at).total_seconds() > settings.TOKEN_IDLE_SECONDS:
        row.delete()
        return None
    if (now - row.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=row.pk).update(last_used_at=now)
    return row.user
