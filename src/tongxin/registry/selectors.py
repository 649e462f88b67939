"""Reads of households and residents, always through the scope function.

Viewing one resident's personal detail writes an audit entry in the same transaction.
"""

from __future__ import annotations

from django.db import transaction

from tongxin.core import audit
from tongxin.core.errors import NotFound, parse_id
from tongxin.grid.models import Node
from tongxin.grid.selectors import node_cached
from tongxin.people.permissions import user_can
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
    return Resident.objects.visible_to(actor, "resident.view").filter(household=household).order_by("birth_date", "id")


def resident_list(*, actor, node: Node | None = None):
    qs = Resident.objects.visible_to(actor, "resident.view")
    if node is not None:
        qs = qs.filter(node_path__startswith=node.path)
    return qs.select_related("household").order_by("node_path", "household_id", "birth_date", "id")


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


def shown_id_number(*, actor, resident: Resident) -> str:
    """The whole number for roles that need it, else the masked form."""
    return resident.id_number if user_can(actor, "resident.view_id") else resident.id_number_masked

