"""API routes of the shared kernel: the official calendar, the notification inbox and the
audit administrator's checkpoints of the audit log."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from ninja import Field, Path, Query, Router, Schema

from tongxin.core import calendar, services
from tongxin.core.api import In, Page, paged, refuses
from tongxin.core.models import CalendarDay, Notification

router = Router(tags=["calendar and inbox"])


class DayIn(In):
    date: dt.date
    working: bool
    name: str = Field("", max_length=100)


class YearIn(In):
    days: list[DayIn] = Field(max_length=400)


class DayOut(Schema):
    date: dt.date
    working: bool
    name: str
    source: str


class YearOut(Schema):
    year: int
    region: str
    known: bool
    entered: list[DayOut]


class RegionFilter(Schema):
    region: str = Field("", max_length=18, pattern=r"^[0-9]*$",
                        description='A region\'s own days: a node code prefix ("54" for Tibet); '
                                    'blank: the national calendar')


# Years the calendar takes (the services refuse others too: they are called by pages and jobs).
Year = Annotated[int, Path(ge=2000, le=2100)]


@router.get("/calendar/{year}", response=YearOut, summary="A year's official schedule: is it known, what was entered")
def calendar_year(request, year: Year, filters: Query[RegionFilter]):
    entered = CalendarDay.objects.filter(date__year=year, region=filters.region).order_by("date")
    return {"year": year, "region": filters.region, "known": calendar.year_is_known(year),
            "entered": [{"date": d.date, "working": d.is_working_day, "name": d.name, "source": "entered"}
                        for d in entered]}


@router.put("/calendar/{year}", response={200: YearOut, **refuses(403)},
            summary="Enter a year's holidays and make-up working days, national or a region's own "
                    "(system administrator)")
def calendar_year_set(request, year: Year, payload: YearIn, filters: Query[RegionFilter]):
    services.calendar_year_set(actor=request.auth, year=year, region=filters.region,
                               days=[(d.date, d.working, d.name) for d in payload.days])
    return calendar_year(request, year, filters)


class NotificationOut(Schema):
    id: int
    kind: str
    subject: str
    body: str
    link: str
    created_at: dt.datetime
    read_at: dt.datetime | None


class NotificationPage(Page):
    items: list[NotificationOut]
    unread: int


class InboxFilter(Schema):
    unread: bool = False
    limit: int = 50
    offset: int = 0


@router.get("/notifications", response=NotificationPage, summary="My inbox")
def inbox(request, filters: Query[InboxFilter]):
    qs = Notification.objects.filter(recipient=request.auth)
    unread = qs.filter(read_at__isnull=True).count()
    if filters.unread:
        qs = qs.filter(read_at__isnull=True)
    return {**paged(qs.order_by("-created_at", "-id"), filters.limit, filters.offset), "unread": unread}


@router.post("/notifications/{notification_id}/read", response=NotificationOut, summary="Mark one as read")
def inbox_read(request, notification_id: int):
    return services.notification_read(actor=request.auth, notification_id=notification_id)


class ChainMark(Schema):
    seq: int = Field(description="how many entries the chain held")
    hash: str = Field(description="the keyed hash of its last entry")


class CheckpointOut(Schema):
    format: str
    taken_at: str
    taken_by: str
    chains: dict[str, ChainMark] = Field(description="by chain (a county's code; _ for entries of no county)")
    signature: str = Field(description="HMAC-SHA-256 of the rest under the deployment's audit key")


@router.post("/audit/checkpoint", response={200: CheckpointOut, **refuses(404)}, tags=["audit"],
             summary="Take a signed checkpoint of the audit chains in my scope (keep it outside the database; "
                     "`tongxin audit verify --checkpoint FILE` proves the log still extends it)")
def audit_checkpoint(request):
    return services.audit_checkpoint_take(actor=request.user)

