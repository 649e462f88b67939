"""The household list declared once (core.tables): the page draws these columns and its
export writes them, with the members of the households listed on a second sheet masked as
the registry masks them for the reader (registry.selectors.shown_id_number, shown_birth_date)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from tongxin.core.tables import Column, Kind, Table
from tongxin.registry.models import Relation, Sex

HOUSEHOLDS = Table(
    name="households", title=_("Households"), place=lambda h: h.node_path,
    columns=(
        Column("number", _("Household number"), lambda h: h.number, cell="registry/cells/household.html", width=22),
        Column("head", _("Head of household"), lambda h: h.head_name, width=18),
        Column("address", _("Address"), lambda h: h.address, width=30),
        Column("unit", _("Household unit"), lambda h: h.node.name, width=22),
    ),
)


def _name(r) -> str:
    return str(_("(anonymised)")) if r.anonymised_at else r.name


MEMBERS = Table(
    name="residents", title=_("Members"), place=lambda r: r.node_path,
    columns=(
        Column("household", _("Household number"), lambda r: r.household.number, width=22),
        Column("name", _("Name"), _name, width=18),
        Column("relation", _("Relation"), lambda r: str(Relation(r.relation).label), width=14),
        Column("sex", _("Sex"), lambda r: str(Sex(r.sex).label), width=8),
        # The date to roles shown whole ID numbers, else the year only (registry.idnumber).
        Column("born", _("Born"), lambda r: r.shown_birth_date or r.birth_date.year, kind=Kind.DATE, width=12),
        Column("id_number", _("ID number"), lambda r: r.shown_id_number, width=20),
    ),
)
