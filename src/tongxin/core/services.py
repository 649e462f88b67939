"""Writes to the shared kernel: the official calendar, and reading one's inbox."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from tongxin.core import audit, calendar, clock
from tongxin.core.errors import NotFound, PermissionDenied, ValidationFailed
from tongxin.core.models import CalendarDay, Notification
from tongxin.core.types import Actor
from tongxin.people.permissions import user_can


def calendar_year_set(*, actor: Actor, year: int, days: list[tuple[dt.date, bool, str]]) -> int:
    """Enter a year's official schedule (the State Council's notice): holidays and make-up
    working days. Replaces that year's earlier entries; dates outside the year are refused."""
    if not user_can(actor, "calendar.change"):
        raise PermissionDenied()
    if not 2000 <= year <= 2100:
        raise ValidationFailed(fields={"year": [_("Choose a year between 2000 and 2100.")]})
    outside = [d.isoformat() for d, _w, _n in days if d.year != year]
    if outside:
        raise ValidationFailed(fields={"days": [_("These dates are not in %(year)d: %(dates)s") % {
            "year": year, "dates": ", ".join(outside[:10])}]})
    if len({d for d, _w, _n in days}) != len(days):
        raise ValidationFailed(fields={"days": [_("A date appears twice.")]})
    with transaction.atomic():
        before = {"entries": CalendarDay.objects.filter(date__year=year).count()}
        CalendarDay.objects.filter(date__year=year).delete()
        CalendarDay.objects.bulk_create([CalendarDay(date=d, is_working_day=w, name=(n or "")[:100],
                                                     updated_at=clock.now()) for d, w, n in days])
        audit.record(action="calendar.set_year", actor=actor, object_type="core.calendarday", object_id=str(year),
                     before=before, after={"entries": len(days)})
        transaction.on_commit(calendar.clear_cache)
    calendar.clear_cache()
    return len(days)


def notification_read(*, actor: Actor, notification_id: int) -> Notification:
    with transaction.atomic():
        notification = (Notification.objects.select_for_update()
                        .filter(pk=notification_id, recipient_id=actor.pk).first())
        if notification is None:
            raise NotFound()
        if notification.read_at is None:
            notification.read_at = clock.now()
            notification.save(update_fields=["read_at"])
    return notification
