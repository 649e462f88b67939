from __future__ import annotations

import re

from django.conf import settings
from django.http import JsonResponse
from django.utils import translation

from tongxin.core import context
from tongxin.core.errors import BadCharacters, MethodNotAllowed, TooLarge

# A JSON string escape for NUL that is not itself an escaped backslash.
_JSON_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")


def _carries_nul(request) -> bool:
    """NUL fits in no text column (PostgreSQL refuses it outright): it is never valid input.
    Form fields refuse it themselves; paths, query strings and JSON bodies are checked here."""
    if "\x00" in request.path_info or "%00" in request.META.get("QUERY_STRING", ""):
        return True
    return request.content_type == "application/json" and bool(_JSON_NUL.search(request.body))


class BodySizeLimitMiddleware:
    """Refuses, before anything reads them, oversized bodies (413) and requests carrying a NUL
    character (400), with the error body."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > settings.MAX_BODY_BYTES:
            translation.activate(translation.get_language_from_request(request))
            if not request.path.startswith(("/api/", "/open311/")):
                from django.shortcuts import render

                return render(request, "error.html", {"error": TooLarge(), "status": 413}, status=413)
            return JsonResponse(TooLarge().as_body(), status=413)
        if _carries_nul(request):
            translation.activate(translation.get_language_from_request(request))
            return JsonResponse(BadCharacters().as_body(), status=400)
        return self.get_response(request)


def client_address(request) -> str:
    """The client's address: the socket's peer, or the last entry of the header a reverse proxy
    in front writes it into (``TONGXIN_CLIENT_ADDRESS_HEADER``)."""
    header = settings.CLIENT_ADDRESS_HEADER
    if header:
        value = request.META.get("HTTP_" + header.upper().replace("-", "_"), "")
        last = value.split(",")[-1].strip()
        if last:
            return last[:64]
    return request.META.get("REMOTE_ADDR", "")


class RequestContextMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = context.bind(
            context.RequestContext(
                ip=client_address(request),
                user_agent=request.META.get("HTTP_USER_AGENT", "")[:200],
                channel="api" if request.path.startswith("/api/") else "web",
            )
        )
        try:
            response = self.get_response(request)
        finally:
            context.reset(token)
        if response.status_code == 405 and request.path.startswith("/api/") and not response.get(
                "Content-Type", "").startswith("application/json"):
            # Ninja answers a wrong method in plain text; every API error carries the error body.
            allowed = response.get("Allow", "")
            response = JsonResponse(MethodNotAllowed().as_body(), status=405)
            response["Allow"] = allowed
        # Pages and answers may carry personal data: never kept by browsers or proxies.
        if not request.path.startswith(settings.STATIC_URL) and "Cache-Control" not in response:
            response["Cache-Control"] = "no-store"
        return response
