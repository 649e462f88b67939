"""Where an account belongs: the county of its roles.

The audit log places entries that name no node (logins, failed logins, tokens, accounts) at
the county of the account they are about, so that the county's audit administrator sees
them (``core.audit.set_place_resolver``, registered from ``PeopleConfig.ready()``).
"""

from __future__ import annotations

import uuid

from tongxin.core.actors import is_system
from tongxin.core.audit import Change, chain_path
from tongxin.people.scope import _read_assignments

_ACCOUNT_TYPES = frozenset({"people.user", "people.apitoken"})


def home_path(user) -> str:
    """The node path of the county where ``user`` holds roles ("" when none): the first of
    them in path order when the roles lie in several counties."""
    if user is None or is_system(user) or getattr(user, "pk", None) is None:
        return ""
    rows = getattr(user, "_tongxin_assignments", None) or _read_assignments(user.pk)
    counties = sorted({chain_path(a.node_path) for a in rows} - {""})
    return counties[0] if counties else ""


def _account(change: Change):
    from tongxin.people.models import User

    if isinstance(change.obj, User):
        return change.obj
    if change.object_type not in _ACCOUNT_TYPES or not change.object_id:
        return None
    if change.actor is not None and str(getattr(change.actor, "pk", "")) == change.object_id:
        return change.actor
    try:
        return User.objects.filter(pk=uuid.UUID(change.object_id)).first()
    except ValueError:
        return None


def audit_place(change: Change) -> str:
    """The county an audit entry with no node belongs to: the account's it is about, else the
    county of whoever acted. An account's creation is placed where its creator works: it has
    no role yet (and the bulk seeding path, which grants roles before it writes the log, must
    place it as the services do)."""
    if change.action == "user.create":
        return home_path(change.actor)
    return home_path(_account(change)) or home_path(change.actor)
