"""Retries are never done twice (DESIGN.md, "Retries").

A client that may retry a write sends ``Idempotency-Key: <uuid>``. The first request
with a key claims it; its answer is stored and replayed to every retry. A retry that
arrives while the first is still running gets 409; the same key with a different
body gets 422. A claim whose request failed with a 5xx is released so the retry runs.

Two rules keep secrets out of the table: an answer that carries one (a login's bearer token)
is never stored — its view calls ``never_store(request)`` and the claim is dropped, so a retry
logs in again — and every record is purged once its window (``IDEMPOTENCY_KEEP_SECONDS``) has
passed, by the periodic job ``core.idempotency_purge``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpResponse, JsonResponse
from django.utils.translation import gettext as _

from tongxin.core import clock
from tongxin.core.models import IdempotencyRecord

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
STALE_AFTER = dt.timedelta(minutes=2)


_NEVER_STORE = "_tongxin_idempotency_never_store"


def never_store(request) -> None:
    """The answer to ``request`` carries a secret (a token): it is never kept for replay."""
    setattr(request, _NEVER_STORE, True)


def purge(now: dt.datetime) -> str:
    """Delete the records whose window has passed (the periodic job ``core.idempotency_purge``)."""
    cutoff = now - dt.timedelta(seconds=settings.IDEMPOTENCY_KEEP_SECONDS)
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return f"{deleted} idempotency records purged"


def _error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "message": message, "fields": {}}}, status=status)


def _api_key(request) -> str:
    """Open311 clients authenticate with an ``api_key`` parameter instead of a header."""
    if request.content_type == "application/x-www-form-urlencoded":
        return "api_key:" + request.POST.get("api_key", "") if request.POST.get("api_key") else ""
    return ""


class IdempotencyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        key = request.META.get("HTTP_IDEMPOTENCY_KEY")
        if not key or request.method not in WRITE_METHODS:
            return self.get_response(request)
        try:
            key = str(uuid.UUID(key))
        except ValueError:
            return _error(400, "bad_idempotency_key", _("Idempotency-Key must be a UUID."))
        credentials = (request.META.get("HTTP_AUTHORIZATION") or request.COOKIES.get("sessionid")
                       or _api_key(request) or "anonymous")
        caller = hashlib.sha256(credentials.encode()).hexdigest()
        body_digest = hashlib.sha256(request.method.encode() + request.path.encode() + request.body).hexdigest()
        try:
            with transaction.atomic():
                record = IdempotencyRecord.objects.create(key=key, caller=caller, body_digest=body_digest,
                                                          method=request.method, path=request.path[:255])
        except IntegrityError:
            existing = IdempotencyRecord.objects.filter(caller=caller, key=key).first()
            if existing is None:
                return _error(409, "retry_in_progress", _("The same request is being processed; try again shortly."))
            if existing.body_digest != body_digest:
                return _error(422, "idempotency_key_reused",
                              _("This Idempotency-Key was used for a different request."))
            if existing.status is None:
                if clock.now() - existing.created_at < STALE_AFTER:
                    return _error(409, "retry_in_progress",
                                  _("The same request is being processed; try again shortly."))
                existing.delete()
                return self(request)
            response = HttpResponse(bytes(existing.response or b""), status=existing.status,
                                    content_type=existing.content_type)
            response["Idempotent-Replayed"] = "true"
            return response
        response = self.get_response(request)
        if (response.status_code >= 500 or getattr(response, "streaming", False)
                or getattr(request, _NEVER_STORE, False)):
            IdempotencyRecord.objects.filter(pk=record.pk).delete()
        else:
            IdempotencyRecord.objects.filter(pk=record.pk).update(
                status=response.status_code, content_type=response.get("Content-Type", ""),
                response=bytes(response.content))
        return response
