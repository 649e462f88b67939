"""The scope function: the one place that decides which records a user may see or change.

Rules (DESIGN.md principle 2, CommCare's location scope):
- deny by default; a user's roles grant actions (``people.roles.PERMISSIONS``), and each
  role assignment opens the subtree of its node for the actions its role grants;
- a resident's assignment opens only their own household (and their own requests);
- a department officer's assignment opens, for records that name departments, only
  what was escalated to their department;
- a record outside scope is "not found" (404), never "forbidden".
Every list, detail, export, statistic and API starts from ``restrict``.
"""

from __future__ import annotations

import operator
import uuid
from functools import reduce
from typing import NamedTuple

from django.db import connection, models
from django.db.models import Q

from tongxin.people.roles import DEPARTMENT_SCOPED_ACTIONS, Role, role_allows

_NOTHING = Q(pk__in=[])


def assignments(user) -> list:
    """The user's role assignments, loaded once per user object: rows with ``role``,
    ``node_path``, ``node_id`` and ``department_id``."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return []
    cached = getattr(user, "_tongxin_assignments", None)
    if cached is None:
        cached = user._tongxin_assignments = _read_assignments(user.pk)
    return cached


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


def allows_at(user, action: str, path: str) -> bool:
    """Whether the user may take ``action`` on something placed at the node with ``path``
    (through a node role: not a resident's household, not a department's calls)."""
    return any(
        role_allows(a.role, action) and a.role != Role.RESIDENT and path.startswith(a.node_path)
        and not (a.role == Role.DEPARTMENT_OFFICER and action in DEPARTMENT_SCOPED_ACTIONS)
        for a in assignments(user)
    )
