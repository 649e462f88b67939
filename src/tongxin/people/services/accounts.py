"""Accounts and role grants: created by a system administrator, granted and revoked by a
security administrator within their scope and never to or from themself (MLPS level 3's
separated administrators); the command line and the seeder act as the system actor.

Rules of a grant (``people.roles``): the three administrator roles exclude each other and
every role that sees personal data, and a role is granted only at a node of its level.
The account lifecycle: a user changes their own password; the security administrator resets
a password or a lost second factor (the user chooses a new one at the next login) and
deactivates or reactivates an account, which ends its sessions and tokens at once.
"""

from __future__ import annotations

import re
import secrets
import unicodedata

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from tongxin.core import audit, clock
from tongxin.core.actors import is_system
from tongxin.core.errors import (
    Conflict,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from tongxin.grid.models import Department, Node
from tongxin.people.models import RoleAssignment, User
from tongxin.people.permissions import user_can
from tongxin.people.roles import Role, exclusive_with, role_fits_level
from tongxin.people.scope import allows_at, scope_roots
from tongxin.people.services.authentication import sessions_end_all, tokens_revoke_all

_USERNAME = re.compile(r"[A-Za-z0-9._-]{1,150}")


def _check_password(password: str, user: User | None = None, field: str = "password") -> None:
    try:
        validate_password(password, user)
    except DjangoValidationError as exc:
        raise ValidationFailed(fields={field: list(exc.messages)}) from exc


def username_clean(username: str) -> str:
    """A user name as stored: NFKC-normalised (full-width letters become their ASCII forms),
    then only ASCII letters, digits and ``._-``, so no two names look alike."""
    name = unicodedata.normalize("NFKC", (username or "").strip())
    if not _USERNAME.fullmatch(name):
        raise ValidationFailed(fields={"username": [
            _("A user name has 1 to 150 characters: letters a–z, digits and . _ - only.")]})
    return name


def user_create(*, actor, username: str, password: str | None, full_name: str = "", phone: str = "",
                preferred_language: str = "zh-hans", password_hash: str | None = None,
                must_change_password: bool = False) -> User:
    """Create an account. ``actor`` must be a system administrator (the command line acts as
    ``core.actors.SYSTEM``). An account made with a password someone else chose
    (``must_change_password``) chooses its own at the first login."""
    if not user_can(actor, "user.manage"):
        raise PermissionDenied()
    username = username_clean(username)
    user = User(username=username, full_name=full_name, phone=phone, preferred_language=preferred_language,
                must_change_password=must_change_password)
    if password_hash:
        user.password = password_hash
    elif password:
        _check_password(password, user)
        user.set_password(password)
    else:
        user.set_unusable_password()
    with transaction.atomic():
        if User.objects.filter(username__iexact=username).exists():
            raise ValidationFailed(fields={"username": [_("This user name is taken.")]})
        user.save()
        audit.record(action="user.create", actor=actor, obj=user, after={"username": username})
    return user


def role_grant_check(*, role: str, node: Node, held: set[str]) -> None:
    """The rules of ``people.roles`` for one grant: the role fits the node's level, and the
    account holds no role it excludes. A grant that breaks them is a conflict (409)."""
    if not role_fits_level(role, node.level):
        raise Conflict(_("The role %(role)s cannot be granted at a node of level %(level)s.")
                       % {"role": Role(role).label, "level": node.get_level_display()}, code="role_level")
    clashing = sorted(held & exclusive_with(role))
    if clashing:
        raise Conflict(_("%(role)s cannot be held together with %(held)s: the administrators are separated "
                         "from each other and from every role that sees personal data.")
                       % {"role": Role(role).label, "held": ", ".join(str(Role(r).label) for r in clashing)},
                       code="roles_exclusive")


def role_grant(*, actor, user: User, role: str, node: Node, department: Department | None = None) -> RoleAssignment:
    """Grant a role at a node. Only a security administrator grants, within their scope,
    and never to themself (separation of the three administrators)."""
    if role not in Role.values:
        raise ValidationFailed(fields={"role": [_("Unknown role.")]})
    if actor.pk == user.pk:
        raise PermissionDenied(_("Nobody may grant a role to themself."))
    if not allows_at(actor, "role.grant", node.path):
        raise NotFound()
    if role == Role.DEPARTMENT_OFFICER and department is None:
        raise ValidationFailed(fields={"department": [_("A department officer needs a department.")]})
    with transaction.atomic():
        # The account's row is locked, so that two grants at once cannot both pass the rules.
        User.objects.select_for_update().filter(pk=user.pk).first()
        held = set(RoleAssignment.objects.filter(user=user).values_list("role", flat=True))
        role_grant_check(role=role, node=node, held=held)
        assignment, created = RoleAssignment.objects.get_or_create(
            user=user, role=role, node=node, defaults={"node_path": node.path, "department": department})
        if created:
            audit.record(action="role.grant", actor=actor, obj=assignment)
    user.__dict__.pop("_tongxin_assignments", None)
    return assignment


def role_revoke(*, actor, assignment: RoleAssignment) -> None:
    """Take a role back. A security administrator revokes within their scope, never their own."""
    if not is_system(actor) and actor.pk == assignment.user_id:
        raise PermissionDenied(_("Nobody may revoke their own role."))
    if not allows_at(actor, "role.grant", assignment.node_path):
        raise NotFound()
    with transaction.atomic():
        row = RoleAssignment.objects.select_for_update().filter(pk=assignment.pk).first()
        if row is None:
            raise NotFound()
        audit.record(action="role.revoke", actor=actor, obj=row,
                     before={"user": str(row.user_id), "role": row.role, "node": row.node_path,
                             "department": str(row.department_id or "")})
        row.delete()


# --- the account lifecycle ---------------------------------------------------------------------


def user_in_reach(actor, action: str, user: User) -> bool:
    """Whether ``actor`` may take ``action`` (``user.secure``) on this account: every role the
    account holds lies in the actor's scope for it (an account without roles: from a root of the
    network only). Nobody takes it on their own account."""
    if is_system(actor):
        return True
    if actor.pk == user.pk:
        return False
    paths = list(RoleAssignment.objects.filter(user=user).values_list("node_path", flat=True))
    if not paths:
        return any(root.strip("/").count("/") == 0 for root in scope_roots(actor, action))
    return all(allows_at(actor, action, path) for path in paths)


def account_get(*, actor, action: str, user_id) -> User:
    """An account the actor may take ``action`` on; 404 for missing and out of reach alike."""
    user = User.objects.filter(pk=user_id).first()
    if user is None or not user_in_reach(actor, action, user):
        raise NotFound()
    return user


def password_change(*, user: User, old_password: str, new_password: str, keep_token_digest: str = "",
                    keep_session_key: str = "") -> None:
    """A user changes their own password: the old one is required and Django's validators
    judge the new one. Their other tokens and web sessions end (the presenting one stays)."""
    if not user.check_password(old_password or ""):
        # Asking again who the caller is, not bad input: refused as a 403.
        raise PermissionDenied(_("The current password is not right."), code="old_password_wrong",
                               fields={"old_password": [_("The current password is not right.")]})
    if old_password == new_password:
        raise ValidationFailed(fields={"new_password": [_("Choose a password other than the current one.")]})
    _check_password(new_password, user, field="new_password")
    with transaction.atomic():
        user.set_password(new_password)
        user.must_change_password = False
        user.updated_at = clock.now()
        user.save(update_fields=["password", "must_change_password", "updated_at"])
        tokens_revoke_all(user=user, keep_digest=keep_token_digest)
        sessions_end_all(user=user, keep_key=keep_session_key)
        audit.record(action="user.password_change", actor=user, object_type="people.user", object_id=str(user.pk))


def password_reset(*, actor, user: User) -> str:
    """The security administrator resets a forgotten password: answers a new random one (shown
    once, never stored in clear or audited) that the user must replace at the next login. Their
    sessions and tokens end."""
    if not user_in_reach(actor, "user.secure", user):
        raise NotFound()
    password = "-".join(secrets.token_urlsafe(6) for _ in range(3))
    with transaction.atomic():
        user.set_password(password)
        user.must_change_password = True
        user.failed_logins = 0
        user.locked_until = None
        user.updated_at = clock.now()
        user.save(update_fields=["password", "must_change_password", "failed_logins", "locked_until", "updated_at"])
        tokens_revoke_all(user=user)
        sessions_end_all(user=user)
        audit.record(action="user.password_reset", actor=actor, object_type="people.user", object_id=str(user.pk))
    return password


def second_factor_reset(*, actor, user: User) -> None:
    """The security administrator resets a lost second factor: the user sets up a new one at
    the next login (the login asks for it). Their sessions and tokens end."""
    if not user_in_reach(actor, "user.secure", user):
        raise NotFound()
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(totp_secret="", totp_confirmed=False, totp_last_step=None,
                                               updated_at=clock.now())
        tokens_revoke_all(user=user)
        sessions_end_all(user=user)
        audit.record(action="user.totp_reset", actor=actor, object_type="people.user", object_id=str(user.pk))
    user.refresh_from_db()


def user_set_active(*, actor, user: User, active: bool) -> None:
    """Deactivate an account (its sessions and tokens end at once) or reactivate it."""
    if not user_in_reach(actor, "user.secure", user):
        raise NotFound()
    if user.is_active == active:
        raise Conflict(_("The account is already active.") if active else _("The account is already deactivated."),
                       code="account_unchanged")
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(is_active=active, updated_at=clock.now())
        if not active:
            tokens_revoke_all(user=user)
            sessions_end_all(user=user)
        audit.record(action="user.reactivate" if active else "user.deactivate", actor=actor,
                     object_type="people.user", object_id=str(user.pk))
    user.refresh_from_db()
