"""What dispatch keeps of people's words, and for how long (PIPL Art. 47).

A closed or rejected request keeps its free text (description, resolution, the notes on its
timeline, the rating comment) and its photos for ``settings.RETENTION_DAYS`` after it closed;
then the periodic job removes them, acting as the system actor. The request itself stays,
with its category, place, states, deadlines and rating, so every statistic stays true. A
household that leaves the county has the same done to all its requests and visit findings at
once (registry.rights calls ``household_requests_anonymise``).

Both are idempotent: an anonymised request is marked (``anonymised_at``) and passed over, and
each request is checked again under its row lock.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from tongxin.core import audit, clock
from tongxin.core.actors import SYSTEM
from tongxin.core.errors import Conflict
from tongxin.dispatch.models import OPEN_STATES, Attachment, Request, State, TimelineEntry, Visit

FINAL_STATES = (State.CLOSED, State.REJECTED)


def _clear(request_ids: list, now: dt.datetime) -> int:
    """Remove the free text and photos of these requests (rows locked by the caller)."""
    if not request_ids:
        return 0
    done = Request.objects.filter(pk__in=request_ids).update(
        description="", resolution="", rating_comment="", anonymised_at=now, updated_at=now)
    TimelineEntry.objects.filter(request_id__in=request_ids).exclude(note="").update(note="")
    Attachment.objects.filter(request_id__in=request_ids).delete()
    return done


def retention_cutoff(now: dt.datetime) -> dt.datetime:
    return now - dt.timedelta(days=settings.RETENTION_DAYS)


def requests_anonymise_expired(*, now: dt.datetime | None = None) -> list[Request]:
    """Closed and rejected requests whose retention period has passed lose their free text and
    photos, one audited transaction each (``request.anonymise``, by the system)."""
    now = now or clock.now()
    cutoff = retention_cutoff(now)
    due = Request.objects.filter(state__in=FINAL_STATES, closed_at__lt=cutoff, anonymised_at__isnull=True)
    done = []
    for pk in due.order_by("closed_at").values_list("pk", flat=True)[:2000]:
        with transaction.atomic():
            request = Request.objects.select_for_update().filter(pk=pk).first()
            if (request is None or request.anonymised_at is not None or request.state not in FINAL_STATES
                    or request.closed_at is None or request.closed_at >= cutoff):
                continue  # reopened, or done by another run, since the list was read
            _clear([request.pk], now)
            request.refresh_from_db()
            audit.record(action="request.anonymise", actor=SYSTEM, obj=request,
                         after={"anonymised_at": now.isoformat(), "retention_days": settings.RETENTION_DAYS})
            done.append(request)
    return done


def household_requests_anonymise(household, now: dt.datetime) -> int:
    """The requests and visit findings of a household that left the county (inside the
    registry's anonymisation transaction). A household with open requests is refused: they are
    closed or rejected first, so nobody handles a request whose words are gone."""
    requests = Request.objects.select_for_update().filter(household_id=household.pk)
    if requests.filter(state__in=OPEN_STATES).exists():
        raise Conflict(_("This household has open requests: close or reject them first."),
                       code="open_requests")
    ids = list(requests.filter(anonymised_at__isnull=True).values_list("pk", flat=True))
    visits = Visit.objects.filter(household_id=household.pk).exclude(findings="").update(findings="",
                                                                                         updated_at=now)
    return _clear(ids, now) + visits
