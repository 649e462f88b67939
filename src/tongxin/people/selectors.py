"""Reads about people: the staff roster, through the scope function."""

from __future__ import annotations

from tongxin.grid.models import Node
from tongxin.people.models import RoleAssignment


def staff_list(*, actor, node: Node | None = None, role: str | None = None):
    qs = RoleAssignment.objects.visible_to(actor, "staff.view").select_related("user", "node", "department")
    if node is not None:
        qs = qs.filter(node_path__startswith=node.path)
    if role:
        qs = qs.filter(role=role)
    return qs.order_by("node_path", "role", "user__username", "id")
