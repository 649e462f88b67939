"""Writes to the registry: households and residents, and the audited view of a resident.

The ``build_*`` functions validate and make an unsaved row; the services save it in
a transaction with its audit entry, and the demo's bulk path saves many at once, so
both paths make the same rows.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from tongxin.core import audit
from tongxin.core.errors import NotFound, ValidationFailed, refuse_empty
from tongxin.grid.models import Level, Node
from tongxin.people.models import Language
from tongxin.people.scope import allows_at
from tongxin.registry import idnumber
from tongxin.registry.models import Household, Relation, Resident, Sex

HOUSEHOLD_FIELDS = {"number", "address", "lat", "lon", "phone", "preferred_language", "head_name"}
RESIDENT_FIELDS = {"name", "sex", "birth_date", "id_number", "phone", "relation", "preferred_language"}


def _choice(field: str, value: str, choices) -> None:
    if value not in choices.values:
        raise ValidationFailed(fields={field: [
            _("Choose one of: %(choices)s.") % {"choices": ", ".join(choices.values)}]})


def _location(lat, lon) -> None:
    errors = {}
    if lat is not None and not -90 <= lat <= 90:
        errors["lat"] = [_("Latitude is between -90 and 90.")]
    if lon is not None and not -180 <= lon <= 180:
        errors["lon"] = [_("Longitude is between -180 and 180.")]
    if errors:
        raise ValidationFailed(fields=errors)


def build_household(*, node: Node, number: str, address: str, lat: float | None = None, lon: float | None = None,
                    phone: str = "", preferred_language: str = Language.BO, head_name: str = "") -> Household:
    if node.level != Level.UNIT:
        raise ValidationFailed(fields={"node": [_("A household is registered at a household unit.")]})
    if not (number or "").strip():
        raise ValidationFailed(fields={"number": [_("A household number is required.")]})
    if not (address or "").strip():
        raise ValidationFailed(fields={"address": [_("An address is required.")]})
    _choice("preferred_language", preferred_language, Language)
    _location(lat, lon)
    return Household(node=node, node_path=node.path, number=number.strip(), address=address.strip(), lat=lat, lon=lon,
                     phone=phone, preferred_language=preferred_language, head_name=head_name)


def household_create(*, actor, node: Node, check_scope: bool = True, **fields: Any) -> Household:
    if check_scope and not allows_at(actor, "household.change", node.path):
        raise NotFound()
    household = build_household(node=node, **fields)
    with transaction.atomic():
        if Household.objects.filter(node=node, number=household.number).exists():
            raise ValidationFailed(fields={"number": [_("This household number is already used in this unit.")]})
        household.save()
        audit.record(action="household.create", actor=actor, obj=household)
    return household


def household_update(*, actor, household: Household, **changes: Any) -> Household:
    unknown = set(changes) - (HOUSEHOLD_FIELDS - {"number"})
    if unknown:
        raise ValidationFailed(fields={k: [_("This field cannot be changed here.")] for k in unknown})
    if not allows_at(actor, "household.change", household.node_path):
        raise NotFound()
    refuse_empty(changes, nullable={"lat", "lon"})
    if "preferred_language" in changes:
        _choice("preferred_language", changes["preferred_language"], Language)
    _location(changes.get("lat"), changes.get("lon"))
    if "address" in changes and not (changes["address"] or "").strip():
        raise ValidationFailed(fields={"address": [_("An address is required.")]})
    with transaction.atomic():
        household = Household.objects.select_for_update().get(pk=household.pk)
        before = audit.snapshot(household)
        for key, value in changes.items():
            setattr(household, key, value)
        household.save()
        audit.record(action="household.update", actor=actor, obj=household, before=before)
    return household


def build_resident(*, household: Household, name: str, sex: str, birth_date: dt.date, id_number: str,
                   phone: str = "", relation: str = Relation.OTHER, preferred_language: str | None = None) -> Resident:
    errors: dict[str, list] = {}
    if not (name or "").strip():
        errors["name"] = [_("A name is required.")]
    if sex not in Sex.values:
        errors["sex"] = [_("Choose one of: %(choices)s.") % {"choices": ", ".join(Sex.values)}]
    if relation not in Relation.values:
        errors["relation"] = [_("Choose one of: %(choices)s.") % {"choices": ", ".join(Relation.values)}]
    language = preferred_language or household.preferred_language
    if language not in Language.values:
        errors["preferred_language"] = [_("Choose one of: %(choices)s.") % {"choices": ", ".join(Language.values)}]
    id_problem = idnumber.problem(id_number)
    if id_problem:
        errors["id_number"] = [id_problem]
    elif idnumber.normalise(id_number)[6:14] != birth_date.strftime("%Y%m%d"):
        errors["birth_date"] = [_("The birth date does not match the ID number.")]
    if errors:
        raise ValidationFailed(fields=errors)
    number = idnumber.normalise(id_number)
    sealed, lookup = idnumber.seal(number)
    return Resident(household=household, node_id=household.node_id, node_path=household.node_path, name=name.strip(),
                    sex=sex, birth_date=birth_date, id_number_sealed=sealed, id_number_hash=lookup,
                    id_number_masked=idnumber.mask(number), phone=phone, relation=relation,
                    preferred_language=language)


def _unique_id_number(lookup: str, exclude_pk=None) -> None:
    qs = Resident.objects.filter(id_number_hash=lookup)
    if exclude_pk:
        qs = qs.exclude(pk=exclude_pk)
    if qs.exists():
        raise ValidationFailed(fields={"id_number": [_("A resident with this ID number is already registered.")]})


def resident_create(*, actor, household: Household, check_scope: bool = True, **fields: Any) -> Resident:
    if check_scope and not allows_at(actor, "resident.change", household.node_path):
        raise NotFound()
    resident = build_resident(household=household, **fields)
    with transaction.atomic():
        _unique_id_number(resident.id_number_hash)
        resident.save()
        audit.record(action="resident.create", actor=actor, obj=resident)
    return resident


def resident_update(*, actor, resident: Resident, **changes: Any) -> Resident:
    unknown = set(changes) - RESIDENT_FIELDS
    if unknown:
        raise ValidationFailed(fields={k: [_("This field cannot be changed here.")] for k in unknown})
    if not allows_at(actor, "resident.change", resident.node_path):
        raise NotFound()
    refuse_empty(changes, nullable={"preferred_language"})  # null: the household's language again
    current = {
        "name": resident.name, "sex": resident.sex, "birth_date": resident.birth_date, "phone": resident.phone,
        "relation": resident.relation, "preferred_language": resident.preferred_language,
        "id_number": resident.id_number,
    }
    current.update(changes)
    rebuilt = build_resident(household=resident.household, **current)
    with transaction.atomic():
        resident = Resident.objects.select_for_update().get(pk=resident.pk)
        _unique_id_number(rebuilt.id_number_hash, exclude_pk=resident.pk)
        before = audit.snapshot(resident)
        for field in ("name", "sex", "birth_date", "phone", "relation", "preferred_language",
                      "id_number_hash", "id_number_masked"):
            setattr(resident, field, getattr(rebuilt, field))
        if "id_number" in changes:
            resident.id_number_sealed = rebuilt.id_number_sealed
        resident.save()
        audit.record(action="resident.update", actor=actor, obj=resident, before=before)
    return resident
