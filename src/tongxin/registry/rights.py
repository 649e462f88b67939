"""个人信息权利 (PIPL Art. 44–47): a resident's copy of what the platform holds about them, and
the anonymisation of a household that left the county.

Rules:

- the copy is asked for through staff who may see the resident's whole ID number
  (``resident.view_id`` in the resident's scope; anyone else gets 404), and each copy is an
  audit entry; the apps above the registry add what they hold about a person (requests,
  visits) with ``add_export_section`` from their ``AppConfig.ready()``;
- anonymising a household keeps its rows and those of its residents (counts per node stay
  true) and never touches the audit log; names, ID numbers, phones and the address go, a birth
  date keeps its year; the apps above clear what they hold about the household with
  ``add_household_anonymiser`` in the same transaction (one that refuses rolls it all back).

Correction is the existing edits (``resident_update``, ``household_update``), audited.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from tongxin.core import audit, clock
from tongxin.core.errors import Conflict, NotFound, ValidationFailed, parse_id
from tongxin.core.models import AuditEntry
from tongxin.people.scope import allows_at
from tongxin.registry.models import Household, Resident

# --- what the apps above add ---------------------------------------------------------------


@dataclass(frozen=True)
class ExportSection:
    """One part of a resident's copy: ``collect(resident)`` answers its items (plain JSON
    values); ``fields`` names, in order, the keys the printed copy shows and their labels."""

    name: str
    label: Any  # a lazy translation
    fields: tuple[tuple[str, Any], ...]
    collect: Callable[[Resident], list[dict]]
    order: int


@dataclass(frozen=True)
class HouseholdAnonymiser:
    """Clears what an app holds about a household that left the county; runs inside the
    anonymisation's transaction, answers how many records it cleared, and raises an
    ApplicationError (Conflict) to refuse."""

    name: str
    anonymise: Callable[[Household, dt.datetime], int]


_sections: list[ExportSection] = []
_anonymisers: list[HouseholdAnonymiser] = []


def add_export_section(*, name: str, label, fields, collect: Callable[[Resident], list[dict]], order: int) -> None:
    _sections[:] = [s for s in _sections if s.name != name]
    _sections.append(ExportSection(name=name, label=label, fields=tuple(fields), collect=collect, order=order))
    _sections.sort(key=lambda s: s.order)


def add_household_anonymiser(*, name: str, anonymise: Callable[[Household, dt.datetime], int]) -> None:
    _anonymisers[:] = [a for a in _anonymisers if a.name != name]
    _anonymisers.append(HouseholdAnonymiser(name=name, anonymise=anonymise))


def export_sections() -> list[ExportSection]:
    return list(_sections)


# --- the copy ------------------------------------------------------------------------------


def moment(value: dt.datetime | None) -> str | None:
    """A moment as the county reads it (ISO 8601 with its offset)."""
    return timezone.localtime(value).isoformat(timespec="seconds") if value else None


RESIDENT_FIELDS = (
    ("name", _("Name")), ("sex", _("Sex")), ("birth_date", _("Birth date")), ("id_number", _("ID number")),
    ("phone", _("Phone")), ("relation", _("Relation")), ("preferred_language", _("Preferred language")),
    ("place", _("Place")), ("registered_at", _("Registered at")), ("updated_at", _("Last changed")),
)
HOUSEHOLD_FIELDS = (
    ("number", _("Household number")), ("head_name", _("Head of household")), ("address", _("Address")),
    ("phone", _("Phone")), ("lat", _("Latitude")), ("lon", _("Longitude")),
    ("preferred_language", _("Preferred language")), ("members", _("Members")),
)
VIEW_FIELDS = (("at", _("Time")), ("by", _("By")), ("action", _("Action")))


def _resident_for_export(actor, resident_id) -> Resident:
    resident = Resident.objects.visible_to(actor, "resident.view_id").select_related("household", "node").filter(
        pk=parse_id(resident_id)).first()
    if resident is None:
        raise NotFound()
    return resident


def _resident_part(resident: Resident) -> dict:
    return {
        "id": str(resident.pk), "name": resident.name, "sex": resident.get_sex_display(),
        "birth_date": resident.birth_date.isoformat(), "id_number": resident.id_number,
        "phone": resident.phone, "relation": resident.get_relation_display(),
        "preferred_language": resident.get_preferred_language_display(),
        "place": f"{resident.node.name} ({resident.node.code})",
        "registered_at": moment(resident.created_at), "updated_at": moment(resident.updated_at),
    }


def _household_part(household: Household) -> dict:
    members = Resident.objects.filter(household=household).order_by("birth_date", "id")
    return {
        "id": str(household.pk), "number": household.number, "head_name": household.head_name,
        "address": household.address, "phone": household.phone, "lat": household.lat, "lon": household.lon,
        "preferred_language": household.get_preferred_language_display(),
        # The others' names and relations only: their own details are theirs to ask for.
        "members": [f"{m.name} ({m.get_relation_display()})" for m in members],
    }


def _views(resident: Resident) -> list[dict]:
    """Who opened, copied or changed the resident's or the household's record, from the audit
    log: every view of the whole ID number is among them (each view of the record is audited)."""
    ids = [str(resident.pk), str(resident.household_id)]
    entries = AuditEntry.objects.filter(object_id__in=ids).order_by("created_at", "id")
    return [{"at": moment(e.created_at), "by": e.actor_name, "action": e.action}
            for e in entries.only("created_at", "actor_name", "action")]


def resident_export(*, actor, resident_id) -> dict:
    """A copy of everything the platform holds about one resident (PIPL Art. 45), for staff
    who may see their whole ID number; the copy is audited (``resident.export``)."""
    resident = _resident_for_export(actor, resident_id)
    with transaction.atomic():
        audit.record(action="resident.export", actor=actor, obj=resident, after={})
        data = {
            "generated_at": moment(clock.now()),
            "generated_by": getattr(actor, "username", ""),
            "resident": _resident_part(resident),
            "household": _household_part(resident.household),
        }
        for section in _sections:
            data[section.name] = section.collect(resident)
        data["record_views"] = _views(resident)
    return data


def _shown(value) -> Any:
    """A value as the printed copy shows it: lists of records become lines."""
    if value is None or value == "":
        return "—"
    if isinstance(value, list):
        return [" · ".join(str(v) for v in item.values() if v not in (None, "")) if isinstance(item, dict)
                else str(item) for item in value] or "—"
    return value


def _rows(item: dict, fields) -> list[dict]:
    rows = []
    for key, label in fields:
        shown = _shown(item.get(key))
        rows.append({"label": label, "lines": shown} if isinstance(shown, list) else {"label": label, "value": shown})
    return rows


def resident_export_pdf(data: dict) -> bytes:
    """The copy as a PDF in the active language, Chinese and Tibetan fonts named explicitly
    (Noto Sans CJK SC, Noto Serif Tibetan / Tibetan Machine Uni), shaped by Pango."""
    from PIL import ImageFile
    from weasyprint import HTML  # heavy: only when a PDF is asked for

    # WeasyPrint switches on, for the whole process, Pillow's loading of cut-off images: photo
    # uploads (dispatch) must go on refusing a photo cut short by a dropped signal.
    ImageFile.LOAD_TRUNCATED_IMAGES = False

    sections = [{"label": s.label, "items": [_rows(item, s.fields) for item in data.get(s.name, [])]}
                for s in _sections]
    html = render_to_string("registry/export.html", {
        "data": data, "language": translation.get_language(),
        "resident_rows": _rows(data["resident"], RESIDENT_FIELDS),
        "household_rows": _rows(data["household"], HOUSEHOLD_FIELDS),
        "sections": sections,
        "views": [_rows(v, VIEW_FIELDS) for v in data["record_views"]],
        "view_labels": [label for _key, label in VIEW_FIELDS],
    })
    return HTML(string=html).write_pdf()


# --- a household that left the county ------------------------------------------------------


def _anonymise_resident(resident: Resident, now: dt.datetime) -> None:
    resident.name = ""
    resident.phone = ""
    resident.birth_date = dt.date(resident.birth_date.year, 1, 1)  # the year keeps age statistics
    resident.id_number_sealed = ""
    resident.id_number_masked = ""
    resident.id_number_hash = f"anonymised:{resident.pk.hex}"  # unique, and no number hashes to it
    resident.anonymised_at = now
    resident.updated_at = now


RESIDENT_CLEARED = ["name", "phone", "birth_date", "id_number_sealed", "id_number_masked", "id_number_hash",
                    "anonymised_at", "updated_at"]


def household_anonymise(*, actor, household: Household, reason: str) -> Household:
    """A household that left the county (PIPL Art. 47): its residents' names, ID numbers and
    phones and its address, phone and head's name are removed, birth dates keep their year; the
    rows stay, so every count per node stays true, and the audit log is not touched. The apps
    above clear what they hold about it (``add_household_anonymiser``). Township staff do it
    (``household.anonymise``); done twice is a 409."""
    if not allows_at(actor, "household.anonymise", household.node_path):
        raise NotFound()
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(fields={"reason": [_("Say why the household's data is anonymised.")]})
    with transaction.atomic():
        household = Household.objects.select_for_update().get(pk=household.pk)
        if household.anonymised_at is not None:
            raise Conflict(_("This household's personal data has already been anonymised."),
                           code="already_anonymised")
        now = clock.now()
        cleared = {a.name: a.anonymise(household, now) for a in _anonymisers}
        residents = list(Resident.objects.select_for_update().filter(household=household).order_by("id"))
        for resident in residents:
            _anonymise_resident(resident, now)
        Resident.objects.bulk_update(residents, RESIDENT_CLEARED)
        household.address = household.phone = household.head_name = ""
        household.lat = household.lon = None
        household.anonymised_at = now
        household.anonymised_reason = reason[:200]
        household.save()
        # No digest of the removed values is kept: the entry says what was done, and how much.
        audit.record(action="household.anonymise", actor=actor, obj=household,
                     after={"residents": len(residents), **cleared, "reason": household.anonymised_reason})
    return household
