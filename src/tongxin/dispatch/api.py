"""/api/v1/requests…, /api/v1/visits…, /api/v1/dispatch/stats…: thin handlers over the
dispatch services and selectors. (Ninja names the HTTP request ``request``; the domain's request is ``req`` here.)"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, Literal

from django.http import HttpResponse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from ninja import Field, File, Query, Router, Schema
from ninja.files import UploadedFile

from tongxin.core.api import ErrorBody, In, NotBlank, Page, matching, paged, refuses
from tongxin.core.errors import NotFound, ValidationFailed, parse_id
from tongxin.dispatch import rules, selectors, services, workflow
from tongxin.dispatch.models import Attachment, ReporterKind, State, Urgency
from tongxin.grid.models import Department
from tongxin.grid.selectors import node_get
from tongxin.people.permissions import user_can
from tongxin.registry.selectors import household_get

router = Router(tags=["requests"])


class CategoryOut(Schema):
    code: str
    name: str
    name_zh: str
    name_bo: str
    name_en: str
    first_level: str
    department_code: str
    accept_within: int
    accept_unit: str
    resolve_within: int
    resolve_unit: str
    private: bool


@router.get("/request-categories", response=list[CategoryOut], summary="The request category catalogue")
def category_list(request):
    return list(selectors.category_list())


class DepartmentOnRequest(Schema):
    code: str
    name: str
    role: str
    accept_due: dt.datetime
    resolve_due: dt.datetime
    accepted_at: dt.datetime | None
    active: bool

    @staticmethod
    def resolve_code(obj) -> str:
        return obj.department.code

    @staticmethod
    def resolve_name(obj) -> str:
        return obj.department.name


class RequestOut(Schema):
    id: uuid.UUID
    number: str
    category: str
    category_name: str
    description: str
    node: str
    lat: float | None
    lon: float | None
    household: uuid.UUID | None
    reporter_kind: str
    urgency: str
    state: str
    state_label: str
    handler_node: str
    handler_level: str
    handler_name: str
    departments: list[DepartmentOnRequest]
    accept_due: dt.datetime | None
    resolve_due: dt.datetime | None
    due: dt.datetime | None
    overdue: bool
    escalations: int
    resolution: str
    rating: int | None
    rating_by_handlers: bool = Field(description="the rating was recorded by the handling side's staff: kept, but "
                                                 "not counted in satisfaction (whoever handled it may not rate)")
    publish: bool = Field(description="the reporter agreed that the request appears in the public feed (Open311)")
    public_description: str = Field(description="the only text of it the public feed shows, once approved "
                                                "(POST /requests/{id}/publish); never the reporter's own words")
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_category(obj) -> str:
        return obj.category.code

    @staticmethod
    def resolve_category_name(obj) -> str:
        return obj.category.name

    @staticmethod
    def resolve_node(obj) -> str:
        return obj.node.code

    @staticmethod
    def resolve_household(obj):
        return obj.household_id

    @staticmethod
    def resolve_state_label(obj) -> str:
        return str(State(obj.state).label)

    @staticmethod
    def resolve_handler_node(obj) -> str:
        return obj.handler_node.code

    @staticmethod
    def resolve_handler_name(obj) -> str:
        return rules.handler_name(obj)

    @staticmethod
    def resolve_departments(obj) -> list:
        return [d for d in obj.departments.all() if d.active]

    @staticmethod
    def resolve_overdue(obj) -> bool:
        from tongxin.core import clock

        return obj.due is not None and obj.due < clock.now()


class TimelineOut(Schema):
    at: dt.datetime
    action: str
    from_state: str
    to_state: str
    handler: str
    note: str
    actor: str | None

    @staticmethod
    def resolve_handler(obj) -> str:
        return obj.handler_name  # in the caller's language, as the name was at that step

    @staticmethod
    def resolve_actor(obj) -> str | None:
        return obj.actor_name if obj.actor_id else None


class AttachmentOut(Schema):
    id: uuid.UUID
    content_type: str
    size: int


class RequestDetail(RequestOut):
    timeline: list[TimelineOut]
    attachments: list[AttachmentOut]
    all_departments: list[DepartmentOnRequest]
    rating_comment: str
    actions: list[str] = Field(description="what the caller may do with this request now (the workflow table's "
                                           "answer for them): each is POST /requests/{id}/<action>")
    may_publish: bool = Field(description="the caller may approve the public description "
                                          "(POST /requests/{id}/publish; not a step of the workflow)")

    @staticmethod
    def resolve_timeline(obj) -> list:
        return list(obj.timeline.all())

    @staticmethod
    def resolve_attachments(obj) -> list:
        return list(obj.attachments.all())

    @staticmethod
    def resolve_all_departments(obj) -> list:
        return list(obj.departments.all())


class RequestPage(Page):
    items: list[RequestOut]


class RequestFilter(Schema):
    node: str | None = None
    state: State | None = None
    category: str | None = None
    department: str | None = None
    open: bool = False
    overdue: bool = False
    limit: int = 50
    offset: int = 0


@router.get("/requests", response={200: RequestPage, **refuses(404)},
            summary="Requests in scope (open ones by deadline)")
def request_list(request, filters: Query[RequestFilter]):
    node = node_get(actor=request.auth, code=filters.node) if filters.node else None
    qs = selectors.request_list(actor=request.auth, node=node, state=filters.state, category=filters.category,
                                department=filters.department, open_only=filters.open, overdue=filters.overdue)
    return paged(qs, filters.limit, filters.offset)


class RequestIn(In):
    id: uuid.UUID | None = Field(None, description="a client-generated id: a retry with it never files twice")
    category: str = Field(max_length=40)
    node: str | None = Field(None, max_length=18)
    description: NotBlank = Field(max_length=4000)
    lat: float | None = Field(None, ge=-90, le=90)
    lon: float | None = Field(None, ge=-180, le=180)
    household: uuid.UUID | None = None
    reporter_kind: ReporterKind = ReporterKind.RESIDENT
    urgency: Urgency = Urgency.NORMAL
    publish: bool = Field(False, description="the reporter agrees that the request appears in the public feed "
                                             "(without their words: only a public description approved later)")


def _actions(actor, req):
    req.actions = workflow.available_actions(actor, req)
    req.may_publish = rules.may_publish(actor, req)
    return req


def _detail(request, request_id):
    """The one read an answer serialises: the request with its timeline, and what the caller may do now."""
    return _actions(request.auth, selectors.request_get(actor=request.auth, request_id=request_id))


@router.post("/requests", response={201: RequestDetail, 200: RequestDetail, **refuses(403, 404, 409)},
             summary="File a request")
def request_file(request, payload: RequestIn):
    category = selectors.category_get(payload.category)
    household = (household_get(actor=request.auth, household_id=payload.household, place_only=True)
                 if payload.household else None)
    if household is not None and payload.node in (None, household.node.code):
        node = household.node  # already read, and in scope
    elif payload.node:
        node = node_get(actor=request.auth, code=payload.node)
    elif getattr(request.auth, "household_id", None):
        node = request.auth.household.node
    else:
        raise ValidationFailed(fields={"node": [_("Say where: a node code or a household.")]})
    req, created = services.request_file(
        actor=request.auth, category=category, node=node, description=payload.description, lat=payload.lat,
        lon=payload.lon, household=household, reporter_kind=payload.reporter_kind, urgency=payload.urgency,
        client_id=payload.id, publish=payload.publish)
    if created:
        return 201, _actions(request.auth, req)
    return 200, _detail(request, req.pk)


@router.get("/requests/{request_id}", response=RequestDetail, summary="One request with its timeline")
def request_detail(request, request_id: str):
    return _detail(request, request_id)


class NoteIn(In):
    note: str = Field("", max_length=2000)


class ReasonIn(In):
    reason: NotBlank = Field(max_length=2000)


class EscalateIn(In):
    reason: NotBlank = Field(max_length=2000)
    to: Literal["next", "departments"] = "next"
    lead: str | None = Field(None, max_length=40, description="lead department code")
    assisting: list[str] = Field(default_factory=list, max_length=20)


class ResolveIn(In):
    resolution: NotBlank = Field(max_length=4000)


class RateIn(In):
    rating: int = Field(ge=1, le=5)
    comment: str = Field("", max_length=500)


@router.post("/requests/{request_id}/accept", response={200: RequestDetail, **refuses(403, 409)},
             summary="Accept (签收 / 报到)")
def request_accept(request, request_id: str, payload: NoteIn):
    req = services.request_accept(actor=request.auth, request=parse_id(request_id), note=payload.note)
    return _detail(request, req.pk)


@router.post("/requests/{request_id}/start", response={200: RequestDetail, **refuses(403, 409)}, summary="Start work")
def request_start(request, request_id: str, payload: NoteIn):
    req = services.request_start(actor=request.auth, request=parse_id(request_id), note=payload.note)
    return _detail(request, req.pk)


def _departments(req, codes: list[str]) -> list[Department]:
    by_code = rules.callable_departments(req.node)
    unknown = [code for code in codes if code not in by_code]
    if unknown:
        raise ValidationFailed(fields={"departments": [
            gettext("Unknown department: %(code)s.") % {"code": code} for code in unknown]})
    return [by_code[code] for code in codes]


CALL_DEPARTMENTS = _('To call departments, send "to": "departments" with a lead department code.')


@router.post("/requests/{request_id}/escalate", response={200: RequestDetail, **refuses(403, 409)},
             summary="Blow the whistle (吹哨): to the next level or to departments")
def request_escalate(request, request_id: str, payload: EscalateIn):
    lead, assisting = [], []
    if payload.to == "departments":
        if not payload.lead:
            raise ValidationFailed(fields={"lead": [CALL_DEPARTMENTS]})
        req = selectors.request_place(actor=request.auth, request_id=request_id)
        lead = _departments(req, [payload.lead])
        assisting = _departments(req, payload.assisting)
    elif payload.lead or payload.assisting:
        raise ValidationFailed(fields={"to": [CALL_DEPARTMENTS]})
    req = services.request_escalate(actor=request.auth, request=parse_id(request_id), reason=payload.reason,
                                    departments=lead, assisting=assisting)
    return _detail(request, req.pk)


@router.post("/requests/{request_id}/resolve", response={200: RequestDetail, **refuses(403, 409)}, summary="Resolve")
def request_resolve(request, request_id: str, payload: ResolveIn):
    req = services.request_resolve(actor=request.auth, request=parse_id(request_id),
                                       resolution=payload.resolution)
    return _detail(request, req.pk)


@router.post("/requests/{request_id}/reject", response={200: RequestDetail, **refuses(403, 409)},
             summary="Reject with a reason")
def request_reject(request, request_id: str, payload: ReasonIn):
    req = services.request_reject(actor=request.auth, request=parse_id(request_id), reason=payload.reason)
    return _detail(request, req.pk)


@router.post("/requests/{request_id}/rate", response={200: RequestDetail, **refuses(403, 409)},
             summary="Confirm and rate (1–5)")
def request_rate(request, request_id: str, payload: RateIn):
    req = services.request_rate(actor=request.auth, request=parse_id(request_id), rating=payload.rating,
                                    comment=payload.comment)
    return _detail(request, req.pk)


@router.post("/requests/{request_id}/reopen", response={200: RequestDetail, **refuses(403, 409)},
             summary="Reopen within the window")
def request_reopen(request, request_id: str, payload: ReasonIn):
    req = services.request_reopen(actor=request.auth, request=parse_id(request_id), reason=payload.reason)
    return _detail(request, req.pk)


@router.post("/requests/{request_id}/attachments", response={201: AttachmentOut, **refuses(403, 409)},
             summary="Attach a photo")
def request_attach(request, request_id: str, file: File[UploadedFile]):
    data = file.read(services.MAX_PHOTO_BYTES + 1)
    return 201, services.request_attach(actor=request.auth, request=parse_id(request_id), data=data)


class PublishIn(In):
    text: str | None = Field(None, max_length=500, description="the public description (empty withdraws it)")
    publish: bool | None = Field(None, description="the reporter's choice to publish (only the reporter's side)")


@router.post("/requests/{request_id}/publish", response={200: RequestDetail, **refuses(403)},
             summary="Approve the public description; the reporter publishes or withdraws")
def request_publish(request, request_id: str, payload: PublishIn):
    req = services.request_publish(actor=request.auth, request=parse_id(request_id), text=payload.text,
                                   publish=payload.publish)
    return _detail(request, req.pk)


@router.get("/requests/{request_id}/attachments/{attachment_id}", summary="A photo of a request")
def request_attachment(request, request_id: str, attachment_id: str):
    req = _detail(request, request_id)
    attachment = Attachment.objects.filter(request=req, pk=parse_id(attachment_id)).first()
    if attachment is None:
        raise NotFound()
    return HttpResponse(bytes(attachment.data), content_type=attachment.content_type)


# --- statistics -------------------------------------------------------------------------


class StatsFilter(Schema):
    node: str
    start: dt.date | None = Field(None, alias="from")
    end: dt.date | None = Field(None, alias="to")


@router.get("/dispatch/stats", response={200: dict[str, Any], 404: ErrorBody},
            summary="Request statistics for a node and its children")
def dispatch_stats(request, filters: Query[StatsFilter]):
    if not user_can(request.auth, "dispatch.stats"):
        raise NotFound()
    node = node_get(actor=request.auth, code=filters.node)
    return selectors.request_stats(actor=request.auth, node=node, start=filters.start, end=filters.end)


# --- visits -----------------------------------------------------------------------------


class VisitRoundOut(Schema):
    id: uuid.UUID
    node: str
    title: str
    starts_on: dt.date
    ends_on: dt.date

    @staticmethod
    def resolve_node(obj) -> str:
        return obj.node.code


class VisitRoundPage(Page):
    items: list[VisitRoundOut]


class NodeFilter(Schema):
    node: str | None = None
    limit: int = 50
    offset: int = 0


@router.get("/visit-rounds", response={200: VisitRoundPage, **refuses(404)}, summary="Visit rounds (敲门行动) in scope")
def visit_round_list(request, filters: Query[NodeFilter]):
    node = node_get(actor=request.auth, code=filters.node) if filters.node else None
    return paged(selectors.visit_rounds(actor=request.auth, node=node), filters.limit, filters.offset)


class VisitRoundIn(In):
    node: Annotated[str, matching("^[0-9]{15}$", _("Visit rounds are planned per grid."))]  # a grid's code
    title: NotBlank = Field(max_length=200)
    starts_on: dt.date
    ends_on: dt.date


@router.post("/visit-rounds", response={201: VisitRoundOut, **refuses(404)}, summary="Plan a visit round for a grid")
def visit_round_plan(request, payload: VisitRoundIn):
    grid = node_get(actor=request.auth, code=payload.node)
    return 201, services.visit_round_plan(actor=request.auth, grid=grid, title=payload.title,
                                          starts_on=payload.starts_on, ends_on=payload.ends_on)


class VisitOut(Schema):
    id: uuid.UUID
    household: uuid.UUID
    node: str
    round: uuid.UUID | None
    visited_on: dt.date
    findings: str
    follow_up: bool
    request: uuid.UUID | None
    worker: str | None

    @staticmethod
    def resolve_household(obj):
        return obj.household_id

    @staticmethod
    def resolve_node(obj) -> str:
        return obj.node.code

    @staticmethod
    def resolve_round(obj):
        return obj.round_id

    @staticmethod
    def resolve_request(obj):
        return obj.request_id

    @staticmethod
    def resolve_worker(obj):
        return (obj.worker.full_name or obj.worker.username) if obj.worker_id else None


class VisitPage(Page):
    items: list[VisitOut]


class VisitFilter(NodeFilter):
    round: str | None = None


@router.get("/visits", response={200: VisitPage, **refuses(404)}, summary="Visits in scope")
def visit_list(request, filters: Query[VisitFilter]):
    node = node_get(actor=request.auth, code=filters.node) if filters.node else None
    return paged(selectors.visit_list(actor=request.auth, node=node, visit_round=filters.round), filters.limit,
                 filters.offset)


class FindingRequestIn(In):
    category: str = Field(max_length=40)
    description: str = Field("", max_length=4000)
    urgency: Urgency = Urgency.NORMAL


class VisitIn(In):
    id: uuid.UUID | None = None
    household: uuid.UUID
    visited_on: dt.date
    findings: str = Field("", max_length=4000)
    follow_up: bool = False
    round: uuid.UUID | None = None
    open_request: FindingRequestIn | None = None


@router.post("/visits", response={201: VisitOut, 200: VisitOut, **refuses(404, 409)},
             summary="Record a visit; a finding can open a request in the same step")
def visit_record(request, payload: VisitIn):
    household = household_get(actor=request.auth, household_id=payload.household)
    visit_round = None
    if payload.round:
        visit_round = selectors.visit_rounds(actor=request.auth).filter(pk=payload.round).first()
        if visit_round is None:
            raise NotFound()
    open_request = None
    if payload.open_request:
        open_request = {"category": selectors.category_get(payload.open_request.category),
                        "description": payload.open_request.description, "urgency": payload.open_request.urgency}
    visit, created = services.visit_record(actor=request.auth, household=household, visited_on=payload.visited_on,
                                           findings=payload.findings, follow_up=payload.follow_up,
                                           visit_round=visit_round, open_request=open_request, client_id=payload.id)
    return (201 if created else 200), selectors.visit_list(actor=request.auth).get(pk=visit.pk)


class CoverageFilter(Schema):
    node: str
    start: dt.date = Field(alias="from")
    end: dt.date = Field(alias="to")


@router.get("/visits/coverage", response={200: dict[str, Any], 404: ErrorBody},
            summary="Share of households visited in a period, per child node")
def visit_coverage(request, filters: Query[CoverageFilter]):
    node = node_get(actor=request.auth, code=filters.node)
    return selectors.visit_coverage(actor=request.auth, node=node, start=filters.start, end=filters.end)
