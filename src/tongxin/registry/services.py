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

from tongxin.core import audit, clock
from tongxin.core.errors import NotFound, PermissionDenied, ValidationFailed, refuse_empty
from tongxin.grid.models import Level, Node
from tongxin.people.models import Language, User
from tongxin.people.scope import allows_at, resident_paths
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


def household_create(*, actor, node: Node, **fields: Any) -> Household:
    if not allows_at(actor, "household.change", node.path):
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


def _unique_id_number(actor, lookup: str, exclude_pk=None) -> None:
    """One record per ID number. A duplicate the actor may see is named as such; one outside
    their scope is refused without saying that, or where, it is registered (the message names
    no place and is the same wherever it lies)."""
    qs = Resident.objects.filter(id_number_hash=lookup)
    if exclude_pk:
        qs = qs.exclude(pk=exclude_pk)
    found = qs.values_list("node_path", flat=True).first()
    if found is None:
        return
    if allows_at(actor, "resident.view", found):
        raise ValidationFailed(fields={"id_number": [_("A resident with this ID number is already registered.")]})
    raise ValidationFailed(fields={"id_number": [
        _("This ID number cannot be registered here. The township office can check it with you.")]})


def resident_create(*, actor, household: Household, **fields: Any) -> Resident:
    if not allows_at(actor, "resident.change", household.node_path):
        raise NotFound()
    resident = build_resident(household=household, **fields)
    with transaction.atomic():
        _unique_id_number(actor, resident.id_number_hash)
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
        _unique_id_number(actor, rebuilt.id_number_hash, exclude_pk=resident.pk)
        before = audit.snapshot(resident)
        for field in ("name", "sex", "birth_date", "phone", "relation", "preferred_language",
                      "id_number_hash", "id_number_masked"):
            setattr(resident, field, getattr(rebuilt, field))
        if "id_number" in changes:
            resident.id_number_sealed = rebuilt.id_number_sealed
        resident.save()
        audit.record(action="resident.update", actor=actor, obj=resident, before=before)
    return resident


# --- a resident account's own household (the column is people.User.household) --------------


def _resident_paths(user: User) -> list[str]:
    return resident_paths(user)


def _locked_household_id(user: User):
    """The user's household link as stored, the row locked until the transaction ends."""
    found = list(User.objects.select_for_update().filter(pk=user.pk).values_list("household_id", flat=True))
    if not found:
        raise NotFound()  # the account is gone
    return found[0]


def _household_path(household_id) -> str:
    return Household.objects.filter(pk=household_id).values_list("node_path", flat=True).first() or ""


def _set_household(user: User, household: Household | None) -> None:
    now = clock.now()
    User.objects.filter(pk=user.pk).update(household=household, updated_at=now)
    user.household = household
    user.updated_at = now


def user_household_link(*, actor, user: User, household: Household) -> User:
    """Link a resident's account to their own household (the one household they see and file
    requests about, people.scope; the column is ``User.household``). Staff who may link at the household's place do it
    (``household.link``); a household outside the actor's scope is not found.

    The account must hold the resident role at the household's unit or above it. Linking to
    another household moves the link (the old one must lie in the actor's scope too); linking
    again to the same household changes nothing and writes no audit entry. Nobody links their
    own account (a member of staff would become a resident of a household they serve)."""
    if not allows_at(actor, "household.link", household.node_path):
        raise NotFound()
    if getattr(actor, "pk", None) == user.pk:
        raise PermissionDenied(_("Nobody may change the household link of their own account."))
    paths = _resident_paths(user)
    if not paths:
        raise ValidationFailed(_("Only an account with the resident role can be linked to a household."),
                               code="not_a_resident",
                               fields={"username": [_("This account does not hold the resident role.")]})
    if not any(household.node_path.startswith(path) for path in paths):
        raise ValidationFailed(_("The household is not where this account holds its resident role."),
                               code="household_elsewhere",
                               fields={"household": [_("Choose a household at or below the place where "
                                                       "this account holds its resident role.")]})
    with transaction.atomic():
        current = _locked_household_id(user)
        if current == household.pk:
            user.household = household
            return user
        if current is not None and not allows_at(actor, "household.link", _household_path(current)):
            raise NotFound()  # moving the link takes it from a household outside the actor's scope
        _set_household(user, household)
        audit.record(action="user.household_link", actor=actor, obj=user, node_path=household.node_path,
                     before={"household_id": str(current) if current else None},
                     after={"household_id": str(household.pk)})
    user.__dict__.pop("_tongxin_assignments", None)
    return user


def user_household_unlink(*, actor, user: User) -> User:
    """Take a resident's account off its household. The household must lie in the actor's
    scope (``household.link``); an account linked to none is in scope where its resident role
    is, and unlinking it again changes nothing and writes no audit entry."""
    with transaction.atomic():
        current = _locked_household_id(user)
        path = _household_path(current) if current is not None else ""
        places = [path] if current is not None else _resident_paths(user)
        if not any(allows_at(actor, "household.link", place) for place in places):
            raise NotFound()
        if getattr(actor, "pk", None) == user.pk:
            raise PermissionDenied(_("Nobody may change the household link of their own account."))
        if current is None:
            user.household = None
            return user
        _set_household(user, None)
        audit.record(action="user.household_unlink", actor=actor, obj=user, node_path=path,
                     before={"household_id": str(current)}, after={"household_id": None})
    user.__dict__.pop("_tongxin_assignments", None)
    return user
