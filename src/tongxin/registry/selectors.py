"""Reads of households and residents, always through the scope function.

Every page or answer that shows personal data of named residents writes an audit entry:
one resident's detail (``resident_view``), one household with its members
(``household_view``), and each page of a list of households or residents (``list_shown``).
What a role is shown of a resident's birth date and ID number is decided here once
(``shown_birth_date``, ``shown_id_number``; why, in registry.idnumber).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator, Sequence

from django.db import transaction
from django.db.models.functions import ExtractYear

from tongxin.core import audit
from tongxin.core.errors import NotFound, parse_id
from tongxin.grid.models import Node
from tongxin.grid.selectors import node_cached
from tongxin.people.scope import allows_at
from tongxin.registry import idnumber
from tongxin.registry.models import Household, Resident


def household_list(*, actor, node: Node | None = None, search: str = ""):
    qs = Household.objects.visible_to(actor, "household.view")
    if node is not None:
        qs = qs.filter(node_path__startswith=node.path)
    if search:
        qs = qs.filter(head_name__icontains=search) | qs.filter(number__icontains=search)
    return qs.select_related("node").order_by("node_path", "number", "id")


def household_get(*, actor, household_id, place_only: bool = False) -> Household:
    """A household in scope, or 404. With ``place_only`` only where it is gets read (filing a
    request needs that, not who lives there); other fields load when first touched."""
    qs = Household.objects.visible_to(actor, "household.view")
    if place_only:
        qs = qs.only("node", "node_path")
    household = qs.filter(pk=parse_id(household_id)).one_or_none()
    if household is None:
        raise NotFound()
    # Its node from the node cache, checked against the path just read with the household.
    household.node = node_cached(household.node_id, household.node_path)
    return household


def household_members(*, actor, household: Household):
    # By year of birth, not date: the order of two members born in the same year would say
    # which birthday comes first to those shown only the year.
    return Resident.objects.visible_to(actor, "resident.view").filter(household=household).order_by(
        ExtractYear("birth_date"), "id")


def household_view(*, actor, household_id) -> tuple[Household, list[Resident]]:
    """One household and its members, a view of their personal data; audited."""
    household = household_get(actor=actor, household_id=household_id)
    members = list(household_members(actor=actor, household=household))
    with transaction.atomic():
        audit.record(action="household.view", actor=actor, obj=household, after={})
    return household, members


def resident_list(*, actor, node: Node | None = None):
    qs = Resident.objects.visible_to(actor, "resident.view")
    if node is not None:
        qs = qs.filter(node_path__startswith=node.path)
    return qs.select_related("household").order_by("node_path", "household_id", ExtractYear("birth_date"), "id")


def _common_path(paths: Sequence[str]) -> str:
    common = os.path.commonprefix([p.strip("/").split("/") for p in paths])
    return "/" + "/".join(common) + "/" if common and common[0] else ""


def list_shown(*, actor, model: type[Household] | type[Resident], rows: Sequence[Household | Resident]) -> None:
    """A page of a list naming residents was shown: one audit entry for it, placed at the
    deepest node that holds every row shown (so the audit administrator there sees it);
    nothing when the page is empty."""
    if not rows:
        return
    with transaction.atomic():
        audit.record(action=f"{model._meta.model_name}.list", actor=actor, object_type=model._meta.label_lower,
                     node_path=_common_path([r.node_path for r in rows]), after={"shown": len(rows)})


def members_shown(*, actor, households) -> Iterator[Resident]:
    """The members of ``households`` (a query of households in scope), household by household,
    each with ``shown_id_number`` and ``shown_birth_date`` as this actor is shown them: what a
    list's export writes. Read row by row, never whole."""
    rows = (Resident.objects.visible_to(actor, "resident.view").filter(household__in=households.values("pk"))
            .select_related("household").order_by("node_path", "household__number", "household_id",
                                                  ExtractYear("birth_date"), "id"))
    whole: dict[str, bool] = {}
    for resident in rows.iterator(chunk_size=500):
        if resident.node_path not in whole:
            whole[resident.node_path] = sees_whole_id(actor, resident.node_path)
        resident.shown_id_number = resident.id_number if whole[resident.node_path] else resident.id_number_masked
        resident.shown_birth_date = resident.birth_date if whole[resident.node_path] else None
        yield resident


def resident_get(*, actor, resident_id, action: str = "resident.view") -> Resident:
    """One resident, for a write that follows (not a view of personal detail)."""
    resident = Resident.objects.visible_to(actor, action).select_related("household", "node").filter(
        pk=parse_id(resident_id)).first()
    if resident is None:
        raise NotFound()
    return resident


def resident_view(*, actor, resident_id) -> Resident:
    """One resident's personal detail; the view is audited."""
    resident = Resident.objects.visible_to(actor, "resident.view").select_related("household", "node").filter(
        pk=parse_id(resident_id)).first()
    if resident is None:
        raise NotFound()
    with transaction.atomic():
        audit.record(action="resident.view", actor=actor, obj=resident, after={})
    return resident


def resident_find_by_id_number(*, actor, id_number: str) -> Resident:
    """Exact-match lookup through the keyed hash; audited like any view."""
    number = idnumber.validate(id_number)
    resident = Resident.objects.visible_to(actor, "resident.view").filter(
        id_number_hash=idnumber.lookup_hash(number)).first()
    if resident is None:
        raise NotFound()
    return resident_view(actor=actor, resident_id=resident.pk)


def sees_whole_id(actor, node_path: str) -> bool:
    """Whether the actor is shown whole ID numbers and birth dates of residents placed at
    ``node_path``: through a role there with ``resident.view_id`` (a grid worker who is also
    township staff elsewhere sees masked numbers in their grid)."""
    return allows_at(actor, "resident.view_id", node_path)


def shown_id_number(*, actor, resident: Resident) -> str:
    """The whole number for roles that need it, else the masked form."""
    return resident.id_number if sees_whole_id(actor, resident.node_path) else resident.id_number_masked


def shown_birth_date(*, actor, resident: Resident) -> dt.date | None:
    """The birth date for roles shown whole ID numbers, else None: the others see the year
    only, or the date beside the masked number would give most of the number away."""
    return resident.birth_date if sees_whole_id(actor, resident.node_path) else None

