"""Retention (PIPL Art. 47): closed requests' free text and photos are anonymised by a periodic
job once ``TONGXIN_RETENTION_DAYS`` have passed since they closed; the job acts as the system,
is idempotent, and leaves the request's figures (state, category, rating) for statistics."""

from __future__ import annotations

import datetime as dt

from tests.dispatch.support import at, audit_count, file_request
from tests.walk import png
from tongxin.core import audit, clock, jobs
from tongxin.dispatch import services
from tongxin.dispatch.models import Attachment, Request, TimelineEntry

FILED = at(2026, 3, 2, 10, 0)


def _closed_request(net, *, rated: bool = True) -> Request:
    clock.set_now(FILED)
    request = file_request(net, description="Pema's roof leaks; she lives alone, phone 13912345678.")
    services.request_attach(actor=net.user("grid_worker_a"), request=request, data=png())
    staff = net.user("grid_worker_a")
    services.request_accept(actor=staff, request=request, note="On my way to Pema.")
    services.request_resolve(actor=staff, request=request, resolution="Roof patched at Pema's house.")
    if rated:
        services.request_rate(actor=net.user("resident_a"), request=request, rating=4, comment="Thank you, Tashi.")
    request.refresh_from_db()
    return request


def test_closed_requests_lose_their_words_and_photos_after_the_retention_period(net, settings):
    settings.RETENTION_DAYS = 30
    request = _closed_request(net)
    assert request.state == "closed"
    # Not yet: the period runs from closing.
    clock.set_now(request.closed_at + dt.timedelta(days=29))
    assert services.requests_anonymise_expired() == []
    later = request.closed_at + dt.timedelta(days=31)
    clock.set_now(later)
    results = dict(jobs.run_due(later, force=True))
    assert results["dispatch.anonymise_expired"].startswith("1 closed requests anonymised")
    request.refresh_from_db()
    assert (request.description, request.resolution, request.rating_comment) == ("", "", "")
    assert request.anonymised_at == later
    assert (request.state, request.rating, request.category.code) == ("closed", 4, "water")  # figures stay
    assert not TimelineEntry.objects.filter(request=request).exclude(note="").exists()
    assert TimelineEntry.objects.filter(request=request).count() >= 4  # the steps stay, without words
    assert not Attachment.objects.filter(request=request).exists()
    assert audit_count("request.anonymise", object_id=str(request.pk), actor_name="system") == 1
    assert audit.verify().ok
    # Idempotent: a second run finds nothing and writes nothing.
    entries = audit_count()
    assert services.requests_anonymise_expired() == []
    assert audit_count() == entries


def test_open_and_resolved_requests_are_kept(net, settings):
    settings.RETENTION_DAYS = 1
    open_request = file_request(net, description="Still waiting for water.")
    resolved = _closed_request(net, rated=False)
    assert resolved.state == "resolved"
    clock.set_now(FILED + dt.timedelta(days=400))
    Request.objects.filter(pk=resolved.pk).update(reopen_until=None)  # not closed yet: the job waits
    assert services.requests_anonymise_expired() == []
    assert Request.objects.get(pk=open_request.pk).description == "Still waiting for water."


def test_rejected_requests_count_as_closed(net, settings):
    settings.RETENTION_DAYS = 10
    clock.set_now(FILED)
    request = file_request(net, description="Complaint naming a neighbour.")
    services.request_reject(actor=net.user("grid_worker_a"), request=request, reason="Not ours: the neighbour.")
    clock.set_now(FILED + dt.timedelta(days=11))
    assert [r.pk for r in services.requests_anonymise_expired()] == [request.pk]
    request.refresh_from_db()
    assert request.description == "" and request.resolution == ""


def test_the_page_says_the_words_were_removed(net, settings):
    from django.test import Client

    settings.RETENTION_DAYS = 1
    request = _closed_request(net)
    clock.set_now(request.closed_at + dt.timedelta(days=2))
    services.requests_anonymise_expired()
    client = Client()
    client.force_login(net.user("grid_worker_a"))
    page = client.get(f"/dispatch/requests/{request.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Pema" not in page
    assert "removed after its retention period" in page
