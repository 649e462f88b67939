"""The staff roster declared once (core.tables): the page draws these columns, its export writes them."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from tongxin.core.tables import Column, Table
from tongxin.people.roles import Role

STAFF = Table(
    name="staff", title=_("Staff"), place=lambda a: a.node_path,
    columns=(
        Column("name", _("Name"), lambda a: a.user.full_name or a.user.username, width=18),
        Column("role", _("Role"), lambda a: str(Role(a.role).label), width=16),
        Column("place", _("Place"), lambda a: a.node.name, cell="people/cells/place.html", width=22),
        Column("code", _("Place code"), lambda a: a.node.code, width=20),
        Column("department", _("Department"), lambda a: a.department.name if a.department_id else "", width=20),
    ),
)
