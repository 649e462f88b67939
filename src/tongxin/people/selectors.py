"""Reads about people: the staff roster, through the scope function."""

from __future__ import annotations

from tongxin.core.actors import is_system
from tongxin.core.notify import Recipient
from tongxin.core.refcache import ReferenceCache
from tongxin.core.types import Actor
from tongxin.grid.models import Node
from tongxin.people.models import RoleAssignment
from tongxin.people.roles import Role


def staff_list(*, actor: Actor, node: Node | None = None, role: str | None = None):
    """The staff roster in scope, for the page and the API alike. Residents hold a role for
    their own household only: they are not staff, and are never listed here."""
    qs = (RoleAssignment.objects.visible_to(actor, "staff.view").exclude(role=Role.RESIDENT)
          .select_related("user", "node", "department"))
    if node is not None:
        qs = qs.filter(node_path__startswith=node.path)
    if role:
        qs = qs.filter(role=role)
    return qs.order_by("node_path", "role", "user__full_name", "user__username", "id")


# Who staffs each node, as this process last read it (core/refcache.py): every new request
# notifies the staff where it is handled first, and staff change far less often than that.
staff_cache = ReferenceCache("staff", models=("people.RoleAssignment", "people.User"))


def staff_at(node_id, roles) -> list[Recipient]:
    """The active users holding one of ``roles`` at the node, as notification recipients.
    No scope check: this answers who is to be told, not what the caller may see."""
    roles = tuple(sorted(roles))
    return staff_cache.get(("staff", node_id, roles),
                           lambda: _recipients(RoleAssignment.objects.filter(node_id=node_id, role__in=roles)))


def officers_of(department_ids) -> list[Recipient]:
    """The active officers of these departments, as notification recipients (one query)."""
    return _recipients(RoleAssignment.objects.filter(role=Role.DEPARTMENT_OFFICER, department_id__in=department_ids))


def _recipients(assignments) -> list[Recipient]:
    rows = assignments.order_by().values_list("user_id", "user__preferred_language", "user__phone", "user__is_active")
    return [Recipient(pk, language, phone) for pk, language, phone, active in rows if active]


def accounts_list(*, actor: Actor, query: str = ""):
    """Accounts for the administrators' pages: those holding a staff role in the actor's scope
    (the staff roster's scope: residents are not listed, as there), and, from a root of the
    network, accounts holding no role yet."""
    from django.db.models import Q

    from tongxin.people.models import User
    from tongxin.people.scope import scope_roots

    in_scope = RoleAssignment.objects.visible_to(actor, "staff.view").exclude(role=Role.RESIDENT).values("user_id")
    condition = Q(pk__in=in_scope)
    if is_system(actor) or any(root.strip("/").count("/") == 0 for root in scope_roots(actor, "staff.view")):
        condition |= Q(assignments__isnull=True)
    qs = User.objects.filter(condition)
    if query:
        qs = qs.filter(Q(username__icontains=query) | Q(full_name__icontains=query))
    return qs.distinct().order_by("username", "id")
