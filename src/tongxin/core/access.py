"""The scope function's seat in the kernel: who may do what, and where.

``people`` owns the scope function (DESIGN.md principle 2) and fills this seat from its
``AppConfig.ready()``; the kernel and the apps below ``people`` (``grid``) ask through here,
so that nothing below ``people`` imports it. Until it is filled everything is denied.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet


@dataclass(frozen=True)
class ScopeFunction:
    restrict: Callable[[QuerySet, Any, str], QuerySet]  # the rows a user may take an action on
    user_can: Callable[[Any, str], bool]  # whether a user may take an action at all
    scope_roots: Callable[[Any, str], list[str]]  # the top node paths of an action
    allows_at: Callable[[Any, str, str], bool]  # an action on something placed at a node path


def _deny_rows(queryset: QuerySet, user, action: str) -> QuerySet:
    return queryset.none()


_DENY = ScopeFunction(restrict=_deny_rows, user_can=lambda user, action: False,
                      scope_roots=lambda user, action: [], allows_at=lambda user, action, path: False)
_current = _DENY


def provide(scope: ScopeFunction) -> None:
    """Install the scope function (``people`` does, once, at start-up)."""
    global _current
    _current = scope


def restrict(queryset: QuerySet, user, action: str) -> QuerySet:
    return _current.restrict(queryset, user, action)


def user_can(user, action: str) -> bool:
    return _current.user_can(user, action)


def scope_roots(user, action: str) -> list[str]:
    return _current.scope_roots(user, action)


def allows_at(user, action: str, path: str) -> bool:
    return _current.allows_at(user, action, path)
