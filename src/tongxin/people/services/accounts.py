"""Accounts and role grants: created by a system administrator, granted by a security
administrator within their scope and never to themself (MLPS level 3's separated
administrators); the command line and the seeder act as the system actor."""

from __future__ import annotations

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from tongxin.core import audit
from tongxin.core.errors import (
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from tongxin.grid.models import Department, Node
from tongxin.people.models import RoleAssignment, User
from tongxin.people.permissions import user_can
from tongxin.people.roles import Role
from tongxin.people.scope import allows_at


def _check_password(password: str, user: User | None = None) -> None:
    try:
        validate_password(password, user)
    except DjangoValidationError as exc:
        raise ValidationFailed(fields={"password": list(exc.messages)}) from exc


def user_create(*, actor, username: str, password: str | None, full_name: str = "", phone: str = "",
                preferred_language: str = "zh-hans", password_hash: str | None = None) -> User:
    """Create an account. ``actor`` must be a system administrator (the command line acts as
    ``core.actors.SYSTEM``)."""
    if not user_can(actor, "user.manage"):
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
        assignment, created = RoleAssignment.objects.get_or_create(
            user=user, role=role, node=node, defaults={"node_path": node.path, "department": department})
        if created:
            audit.record(action="role.grant", actor=actor, obj=assignment)
    user.__dict__.pop("_tongxin_assignments", None)
    return assignment
