from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from django.http import HttpResponse
from django.utils.translation import gettext_lazy as _
from ninja import Field, Query, Router, Schema

from tongxin.core.api import SPACE_PATTERN, In, NotBlank, Page, matching, paged, refuses
from tongxin.core.errors import NotFound
from tongxin.grid.selectors import node_get
from tongxin.people.models import Language, User
from tongxin.registry import rights, selectors, services
from tongxin.registry.models import Household, Relation, Resident, Sex

router = Router(tags=["registry"])

# The shape of a national ID number as registry.idnumber.normalise() reads it (spaces around,
# a lower-case x); the birth date inside and the check digit are the service's to check.
IdNumber = Annotated[str, matching(f"^{SPACE_PATTERN}*[0-9]{{17}}[0-9Xx]{SPACE_PATTERN}*$",
                                   _("An ID number is 17 digits followed by a digit or X."))]


class HouseholdOut(Schema):
    id: uuid.UUID
    node: str
    number: str
    address: str
    head_name: str
    lat: float | None
    lon: float | None
    phone: str
    preferred_language: str
    updated_at: dt.datetime

    @staticmethod
    def resolve_node(obj) -> str:
        return obj["node"] if isinstance(obj, dict) else obj.node.code


class HouseholdPage(Page):
    items: list[HouseholdOut]


class ListFilter(Schema):
    node: str | None = None
    limit: int = 50
    offset: int = 0


@router.get("/households", response={200: HouseholdPage, **refuses(404)},
            summary="Households at or below a node (each page audited)")
def household_list(request, filters: Query[ListFilter]):
    node = node_get(actor=request.auth, code=filters.node) if filters.node else None
    page = paged(selectors.household_list(actor=request.auth, node=node), filters.limit, filters.offset)
    selectors.list_shown(actor=request.auth, model=Household, rows=page["items"])
    return page


# What each role is shown of a resident's birth and ID number (why, in registry.idnumber).
BIRTH_YEAR = Field(description="year of birth, shown to every role that sees the resident")
BIRTH_DATE = Field(description="the whole birth date, only to roles that see whole ID numbers (resident.view_id) "
                               "at the resident's place; null for the others, who see the year only")
ID_NUMBER = Field(description="the whole national ID number to roles with resident.view_id at the resident's place "
                              "(the view is audited); to the others masked, only its last two characters shown")


def _birth(request, resident) -> dict:
    return {"birth_year": resident.birth_date.year,
            "birth_date": selectors.shown_birth_date(actor=request.auth, resident=resident)}


class MemberOut(Schema):
    id: uuid.UUID
    name: str
    sex: str
    birth_year: int = BIRTH_YEAR
    birth_date: dt.date | None = BIRTH_DATE
    relation: str


def _member_out(request, resident) -> dict:
    return {"id": resident.id, "name": resident.name, "sex": resident.sex, **_birth(request, resident),
            "relation": resident.relation}


class HouseholdDetail(HouseholdOut):
    members: list[MemberOut]


@router.get("/households/{household_id}", response=HouseholdDetail, summary="One household and its members (audited)")
def household_detail(request, household_id: str):
    household, members = selectors.household_view(actor=request.auth, household_id=household_id)
    return {**HouseholdOut.from_orm(household).dict(), "members": [_member_out(request, m) for m in members]}


class HouseholdIn(In):
    node: str
    number: NotBlank = Field(max_length=32)
    address: NotBlank = Field(max_length=200)
    head_name: str = Field("", max_length=100)
    lat: float | None = Field(None, ge=-90, le=90)
    lon: float | None = Field(None, ge=-180, le=180)
    phone: str = Field("", max_length=32)
    preferred_language: Language = Language.BO


@router.post("/households", response={201: HouseholdOut, **refuses(404)}, summary="Register a household")
def household_create(request, payload: HouseholdIn):
    data = payload.dict()
    node = node_get(actor=request.auth, code=data.pop("node"))
    return 201, services.household_create(actor=request.auth, node=node, **data)


class HouseholdPatch(In):
    address: NotBlank | None = Field(None, max_length=200)
    head_name: str | None = Field(None, max_length=100)
    lat: float | None = Field(None, ge=-90, le=90)
    lon: float | None = Field(None, ge=-180, le=180)
    phone: str | None = Field(None, max_length=32)
    preferred_language: Language | None = None


@router.patch("/households/{household_id}", response=HouseholdOut, summary="Change a household")
def household_update(request, household_id: str, payload: HouseholdPatch):
    household = selectors.household_get(actor=request.auth, household_id=household_id)
    return services.household_update(actor=request.auth, household=household, **payload.dict(exclude_unset=True))


class ResidentOut(Schema):
    id: uuid.UUID
    household: uuid.UUID
    node: str
    name: str
    sex: str
    birth_year: int = BIRTH_YEAR
    birth_date: dt.date | None = BIRTH_DATE
    id_number: str = ID_NUMBER
    phone: str
    relation: str
    preferred_language: str
    updated_at: dt.datetime


def _resident_out(request, resident) -> dict:
    return {
        "id": resident.id, "household": resident.household_id, "node": resident.node.code, "name": resident.name,
        "sex": resident.sex, **_birth(request, resident),
        "id_number": selectors.shown_id_number(actor=request.auth, resident=resident), "phone": resident.phone,
        "relation": resident.relation, "preferred_language": resident.preferred_language,
        "updated_at": resident.updated_at,
    }


class ResidentListOut(Schema):
    id: uuid.UUID
    household: uuid.UUID
    name: str
    sex: str
    birth_year: int = BIRTH_YEAR
    birth_date: dt.date | None = BIRTH_DATE
    relation: str


class ResidentPage(Page):
    items: list[ResidentListOut]


@router.get("/residents", response={200: ResidentPage, **refuses(404)},
            summary="Residents at or below a node (each page audited)")
def resident_list(request, filters: Query[ListFilter]):
    node = node_get(actor=request.auth, code=filters.node) if filters.node else None
    page = paged(selectors.resident_list(actor=request.auth, node=node), filters.limit, filters.offset)
    selectors.list_shown(actor=request.auth, model=Resident, rows=page["items"])
    page["items"] = [{**_member_out(request, r), "household": r.household_id} for r in page["items"]]
    return page


class IdSearchIn(In):
    id_number: IdNumber


@router.post("/residents/search", response={200: ResidentOut, **refuses(404)},
             summary="Find a resident by exact ID number (in the body, never the URL)")
def resident_search(request, payload: IdSearchIn):
    return _resident_out(request, selectors.resident_find_by_id_number(actor=request.auth, id_number=payload.id_number))


@router.get("/residents/{resident_id}", response=ResidentOut, summary="One resident (audited)")
def resident_detail(request, resident_id: str):
    return _resident_out(request, selectors.resident_view(actor=request.auth, resident_id=resident_id))


class ResidentIn(In):
    household: uuid.UUID
    name: NotBlank = Field(max_length=100)
    sex: Sex
    birth_date: dt.date
    id_number: IdNumber
    phone: str = Field("", max_length=32)
    relation: Relation = Relation.OTHER
    preferred_language: Language | None = None


@router.post("/residents", response={201: ResidentOut, **refuses(404)}, summary="Register a resident")
def resident_create(request, payload: ResidentIn):
    data = payload.dict()
    household = selectors.household_get(actor=request.auth, household_id=data.pop("household"))
    resident = services.resident_create(actor=request.auth, household=household, **data)
    return 201, _resident_out(request, resident)


class ResidentPatch(In):
    name: NotBlank | None = Field(None, max_length=100)
    sex: Sex | None = None
    birth_date: dt.date | None = None
    id_number: IdNumber | None = None
    phone: str | None = Field(None, max_length=32)
    relation: Relation | None = None
    preferred_language: Language | None = None


@router.patch("/residents/{resident_id}", response=ResidentOut, summary="Correct a resident's record")
def resident_update(request, resident_id: str, payload: ResidentPatch):
    resident = selectors.resident_get(actor=request.auth, resident_id=resident_id)
    resident = services.resident_update(actor=request.auth, resident=resident, **payload.dict(exclude_unset=True))
    return _resident_out(request, resident)


# --- a resident account's own household ---------------------------------------------------------


def _account(username: str) -> User:
    user = User.objects.filter(username=username).first()
    if user is None:
        raise NotFound()
    return user


class HouseholdLinkIn(In):
    household: uuid.UUID


class HouseholdLinkOut(Schema):
    username: str
    household: uuid.UUID | None

    @staticmethod
    def resolve_household(obj) -> uuid.UUID | None:
        return obj.household_id


@router.put("/users/{username}/household", response={200: HouseholdLinkOut, **refuses(403)}, tags=["auth"],
            summary="Link a resident's account to their household (staff at the household's place)")
def user_household_link(request, username: str, payload: HouseholdLinkIn):
    household = selectors.household_get(actor=request.auth, household_id=payload.household)
    return services.user_household_link(actor=request.auth, user=_account(username), household=household)


@router.delete("/users/{username}/household", response={200: HouseholdLinkOut, **refuses(403)}, tags=["auth"],
               summary="Take a resident's account off its household")
def user_household_unlink(request, username: str):
    return services.user_household_unlink(actor=request.auth, user=_account(username))


# --- the rights of the people in the registry (PIPL Art. 44–47): registry.rights ----------------


def _export_filename(data: dict, extension: str) -> str:
    return f"resident-{data['resident']['id']}.{extension}"


@router.get("/residents/{resident_id}/export.json", response={200: dict, **refuses(404)},
            summary="A copy of everything held about one resident, as JSON (staff with resident.view_id; audited)")
def resident_export_json(request, resident_id: str):
    return rights.resident_export(actor=request.auth, resident_id=resident_id)


@router.get("/residents/{resident_id}/export.pdf", response={200: None, **refuses(404)},
            summary="The same copy as a PDF in the caller's language (audited)",
            openapi_extra={"responses": {200: {"description": "The copy as a PDF", "content": {
                "application/pdf": {"schema": {"type": "string", "format": "binary"}}}}}})
def resident_export_pdf(request, resident_id: str):
    data = rights.resident_export(actor=request.auth, resident_id=resident_id)
    response = HttpResponse(rights.resident_export_pdf(data), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{_export_filename(data, "pdf")}"'
    response["Cache-Control"] = "no-store"
    return response


class AnonymiseIn(In):
    reason: NotBlank = Field(max_length=200)


@router.post("/households/{household_id}/anonymise", response={200: HouseholdOut, **refuses(404, 409)},
             summary="Anonymise a household that left the county (township staff; audited)")
def household_anonymise(request, household_id: str, payload: AnonymiseIn):
    household = selectors.household_get(actor=request.auth, household_id=household_id)
    return rights.household_anonymise(actor=request.auth, household=household, reason=payload.reason)
