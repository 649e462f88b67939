"""Whether a user may take a kind of action at all (scope aside)."""

from __future__ import annotations

from tongxin.core.types import Actor
from tongxin.people.roles import role_allows
from tongxin.people.scope import assignments


def user_can(user: Actor | None, action: str) -> bool:
    return any(role_allows(a.role, action) for a in assignments(user))


def roles_of(user) -> set[str]:
    return {a.role for a in assignments(user)}
