"""The scope function: the one place that decides which records a user may see or change.

Rules (DESIGN.md principle 2, CommCare's location scope):
- deny by default; a user's roles grant actions (``people.roles.PERMISSIONS``), and each
  role assignment opens the subtree of its node for the actions its role grants;
- a resident's assignment opens only their own household (and their own requests);
- a department officer's assignment opens, for records that name departments, only
  what was escalated to their department;
- a record outside scope is "not found" (404), never "forbidden".
- the system actor (``core.actors.SYSTEM``: jobs, the command line, the seeder) may do
  everything everywhere; it is the only way to act without a person.
Every list, detail, export, statistic and API starts from ``restrict``; every write asks
``require`` (or ``allows_at`` for something not yet written) before it changes anything.
"""

from __future__ import annotations

import functools
import operator
import uuid
from functools import reduce
from typing import NamedTuple

import uuid6
from django.db import connection, models
from django.db.models import Q

from tongxin.core.actors import is_system
from tongxin.core.errors import NotFound, PermissionDenied
from tongxin.people.roles import DEPARTMENT_SCOPED_ACTIONS, Role, role_allows

_NOTHING = Q(pk__in=[])
# The dispatch centre: the role that may step in above departments holding a request.
DISPATCH_CENTRE = frozenset({Role.DISPATCH_OFFICER})


def assignments(user) -> list:
    """The user's role assignments: rows with ``role``, ``node_path``, ``node_id`` and
    ``department_id``. Kept on the user object, and in this process under the account's
    ``roles_stamp`` (so a request for an account whose roles did not change reads none)."""
    if user is None or is_system(user) or not getattr(user, "is_authenticated", False) or not user.is_active:
        return []
    cached = getattr(user, "_tongxin_assignments", None)
    if cached is None:
        stamp = getattr(user, "roles_stamp", None)
        cached = user._tongxin_assignments = (
            _assignments_by_stamp(user.pk, stamp) if stamp is not None else _read_assignments(user.pk))
    return cached


@functools.lru_cache(maxsize=20_000)
def _assignments_by_stamp(user_id, stamp) -> tuple[Assignment, ...]:
    """The assignments as they were when the account's ``roles_stamp`` was ``stamp``. Every
    change of assignments gives the account a new stamp in its own transaction (and a stamp
    is never given twice, even by a transaction rolled back), so an entry here is never
    stale: the account's row, read afresh by every request, names the entry to use."""
    return tuple(_read_assignments(user_id))


def roles_changed(user_ids) -> uuid.UUID:
    """Give these accounts a new ``roles_stamp`` (call in the transaction that changes their
    assignments); returns it."""
    from tongxin.people.models import User

    stamp = uuid6.uuid7()
    User.objects.filter(pk__in=list(user_ids)).update(roles_stamp=stamp)
    return stamp


class Assignment(NamedTuple):
    role: str
    node_path: str
    node_id: uuid.UUID
    department_id: uuid.UUID | None


def _uuid(value) -> uuid.UUID | None:
    return value if value is None or isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def _read_assignments(user_id) -> list[Assignment]:
    """Every scoped request starts here, so this is one plain statement (the query compiler
    cost several times the query itself): the table and columns come from the model, and ids
    come back as UUIDs on every database (SQLite keeps them as text)."""
    from tongxin.people.models import RoleAssignment

    meta = RoleAssignment._meta
    quote = connection.ops.quote_name
    columns = ", ".join(quote(meta.get_field(name).column) for name in ("role", "node_path", "node", "department"))
    sql = f"SELECT {columns} FROM {quote(meta.db_table)} WHERE {quote(meta.get_field('user').column)} = %s"
    with connection.cursor() as cursor:
        cursor.execute(sql, [meta.get_field("user").get_db_prep_value(user_id, connection)])
        rows = cursor.fetchall()
    return [Assignment(role, path, _uuid(node), _uuid(department)) for role, path, node, department in rows]


def scope_q(user, action: str, model: type[models.Model]) -> Q:
    """A Q selecting the rows of ``model`` the user may take ``action`` on."""
    if is_system(user):
        return Q()
    path_field = getattr(model, "scope_path_field", None)
    household_field = getattr(model, "scope_household_field", None)
    paths: set[str] = set()
    parts: list[Q] = []
    for a in assignments(user):
        if not role_allows(a.role, action):
            continue
        if a.role == Role.RESIDENT:
            if hasattr(model, "resident_scope"):
                parts.append(model.resident_scope(user))
            elif household_field and user.household_id:
                parts.append(Q(**{household_field: user.household_id}))
            continue
        if a.role == Role.DEPARTMENT_OFFICER and hasattr(model, "department_scope"):
            # Departments see what was escalated to them, not everything at their node.
            if a.department_id:
                parts.append(model.department_scope([a.department_id]))
            continue
        if path_field:
            paths.add(a.node_path)
    # A path under another granted path adds nothing.
    for path in sorted(paths):
        if not any(path != other and path.startswith(other) for other in paths):
            parts.append(Q(**{f"{path_field}__startswith": path}))
            # Rows that belong to no node (logins, accounts in the audit log) are seen only from
            # a root of the network.
            if getattr(model, "scope_unplaced_from_root", False) and path.strip("/").count("/") == 0:
                parts.append(Q(**{path_field: ""}))
    # No empty "nothing" term in front of the others: it costs every query a compile step.
    return reduce(operator.or_, parts) if parts else _NOTHING


def restrict(queryset: models.QuerySet, user, action: str) -> models.QuerySet:
    return queryset.filter(scope_q(user, action, queryset.model))


def can(user, action: str, obj: models.Model) -> bool:
    """Whether the user may take ``action`` on this one record."""
    return restrict(type(obj)._default_manager.filter(pk=obj.pk), user, action).exists()


def scope_roots(user, action: str) -> list[str]:
    """The top node paths at which the user may take ``action`` (for pages that start somewhere)."""
    paths = sorted({a.node_path for a in assignments(user) if role_allows(a.role, action) and a.role != Role.RESIDENT})
    return [p for p in paths if not any(p != o and p.startswith(o) for o in paths)]


def allows_at(user, action: str, path: str, *, roles: frozenset[str] | None = None) -> bool:
    """Whether the user may take ``action`` on something placed at the node with ``path``
    (through a node role: not a resident's household, not a department's calls); ``roles``
    narrows it to those roles."""
    if is_system(user):
        return True
    return any(
        role_allows(a.role, action) and a.role != Role.RESIDENT and path.startswith(a.node_path)
        and not (a.role == Role.DEPARTMENT_OFFICER and action in DEPARTMENT_SCOPED_ACTIONS)
        and (roles is None or a.role in roles)
        for a in assignments(user)
    )


def require(user, action: str, obj: models.Model) -> None:
    """The write check: ``obj`` (saved or about to be) lies inside what ``user`` may take
    ``action`` on. Out of reach is "not found" when the user may not even see it, else
    "forbidden"."""
    if is_system(user):
        return
    if obj.pk is not None and type(obj)._default_manager.filter(pk=obj.pk).filter(
            scope_q(user, action, type(obj))).exists():
        return
    path = getattr(obj, getattr(type(obj), "scope_path_field", "") or "", None)
    if obj.pk is None and isinstance(path, str) and allows_at(user, action, path):
        return
    raise NotFound()


def may(user, action: str) -> bool:
    """Whether the user's roles grant ``action`` anywhere at all (scope aside)."""
    return is_system(user) or any(role_allows(a.role, action) for a in assignments(user))


def require_action(user, action: str) -> None:
    if not may(user, action):
        raise PermissionDenied()


# --- the exceptions, in one place ---------------------------------------------------------


def department_ids(user) -> set:
    """The departments the user serves as an officer of."""
    return {a.department_id for a in assignments(user) if a.role == Role.DEPARTMENT_OFFICER and a.department_id}


def node_paths(user) -> list[str]:
    """The node paths of the user's assignments other than a department officer's (whose node
    is only where the department sits) and a resident's."""
    return [a.node_path for a in assignments(user) if a.role not in (Role.DEPARTMENT_OFFICER, Role.RESIDENT)]


def is_resident_only(user) -> bool:
    """A resident and nothing else: they act for their own household only."""
    roles = {a.role for a in assignments(user)}
    return roles == {Role.RESIDENT}


def resident_paths(user) -> list[str]:
    """The node paths of the user's resident roles, read afresh (not from the per-object cache):
    where their account may be linked to a household."""
    from tongxin.people.models import RoleAssignment

    return list(RoleAssignment.objects.filter(user_id=user.pk, role=Role.RESIDENT).order_by()
                .values_list("node_path", flat=True))


def speaks_for_household(user, household_id) -> bool:
    """The user holds the resident role and their account is linked to this household."""
    return bool(household_id) and getattr(user, "household_id", None) == household_id and any(
        a.role == Role.RESIDENT for a in assignments(user))
