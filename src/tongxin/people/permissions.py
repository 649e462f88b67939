"""Whether a user may take a kind of action at all (scope aside)."""

from __future__ import annotations

from tongxin.core.types import Actor
from tongxin.people.scope import assignments, may


def user_can(user: Actor | None, action: str) -> bool:
    return may(user, action)


def roles_of(user) -> set[str]:
    return {a.role for a in assignments(user)}
