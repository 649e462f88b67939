from __future__ import annotations

from django.conf import settings
from django.http import JsonResponse

from tongxin.core import context
from tongxin.core.errors import TooLarge


class BodySizeLimitMiddleware:
    """Refuses oversized bodies with 413 and the error body before anything reads them."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > settings.MAX_BODY_BYTES:
            from django.utils import translation

            translation.activate(translation.get_language_from_request(request))
            return JsonResponse(TooLarge().as_body(), status=413)
        return self.get_response(request)


class RequestContextMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = context.bind(
            context.RequestContext(
                ip=request.META.get("REMOTE_ADDR", ""),
                user_agent=request.META.get("HTTP_USER_AGENT", "")[:200],
                channel="api" if request.path.startswith("/api/") else "web",
            )
        )
        try:
            response = self.get_response(request)
        finally:
            context.reset(token)
        # Pages and answers may carry personal data: never kept by browsers or proxies.
        if not request.path.startswith(settings.STATIC_URL) and "Cache-Control" not in response:
            response["Cache-Control"] = "no-store"
        return response
