"""The API root: authentication, the error body of DESIGN.md, list paging.

Every error leaves as ``{"error": {"code", "message", "fields"}}`` in the caller's
language; a 500 is a bug, never a way to report bad input.
"""

from __future__ import annotations

from typing import Any

import orjson
from django.http import Http404, HttpRequest
from django.utils import translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.renderers import BaseRenderer
from ninja.responses import NinjaJSONEncoder
from ninja.security import HttpBearer
from pydantic import ConfigDict

from tongxin.core.errors import ApplicationError


class BearerAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str):
        from tongxin.people.services import token_user

        user = token_user(token)
        if user is None:
            return None
        request.user = user
        if "HTTP_ACCEPT_LANGUAGE" not in request.META:
            translation.activate(user.preferred_language)
            request.LANGUAGE_CODE = user.preferred_language
        return user


class JSONRenderer(BaseRenderer):
    """Answers serialised by orjson (in C; Tibetan and Chinese stay UTF-8 rather than
    ``\\u`` escapes, half the bytes on a weak link). What orjson leaves to Python (times,
    lazy translations, decimals) is written exactly as Django Ninja's own encoder writes it."""

    media_type = "application/json"
    _fallback = NinjaJSONEncoder()

    def render(self, request: HttpRequest, data: Any, *, response_status: int) -> bytes:
        return orjson.dumps(data, default=self._fallback.default,
                            option=orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_NON_STR_KEYS)


class In(Schema):
    """Request bodies refuse unknown fields."""

    model_config = ConfigDict(extra="forbid")


class Page(Schema):
    count: int


def paged(queryset, limit: int, offset: int) -> dict[str, Any]:
    count = queryset.count()
    limit = max(1, min(limit, 500))
    # Past the end there is nothing to fetch; a huge offset must not reach the database (500).
    offset = max(0, min(offset, count))
    return {"count": count, "items": list(queryset[offset: offset + limit])}


api = NinjaAPI(
    title="Tongxin API",
    version="1",
    urls_namespace="api",
    auth=BearerAuth(),
    renderer=JSONRenderer(),
    description="基层治理一张网 · གཞི་རིམ་སྤྱི་ཁྱབ་དྲ་བ། · one network for grassroots governance",
)


def error_response(request, status: int, code: str, message, fields: dict | None = None):
    body = {"error": {"code": code, "message": str(message), "fields": fields or {}}}
    return api.create_response(request, body, status=status)


@api.exception_handler(ApplicationError)
def _application_error(request, exc: ApplicationError):
    return api.create_response(request, exc.as_body(), status=exc.status)


_PYDANTIC_MESSAGES = {
    "missing": _("This field is required."),
    "extra_forbidden": _("Unknown field."),
    "string_type": _("Expected text."),
    "int_type": _("Expected a whole number."),
    "int_parsing": _("Expected a whole number."),
    "float_type": _("Expected a number."),
    "float_parsing": _("Expected a number."),
    "bool_type": _("Expected true or false."),
    "bool_parsing": _("Expected true or false."),
    "date_type": _("Expected a date (YYYY-MM-DD)."),
    "date_parsing": _("Expected a date (YYYY-MM-DD)."),
    "date_from_datetime_parsing": _("Expected a date (YYYY-MM-DD)."),
    "uuid_type": _("Expected an id."),
    "uuid_parsing": _("Expected an id."),
    "string_too_long": _("The text is too long."),
    "string_too_short": _("The text is too short."),
    "model_attributes_type": _("Expected an object."),
    "dict_type": _("Expected an object."),
    "list_type": _("Expected a list."),
    "greater_than_equal": _("The number is too small."),
    "less_than_equal": _("The number is too large."),
    "json_invalid": _("The body is not valid JSON."),
}


@api.exception_handler(NinjaValidationError)
def _validation_error(request, exc: NinjaValidationError):
    fields: dict[str, list[str]] = {}
    for err in exc.errors:
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path", "payload", "form")]
        # Ninja nests the body under the parameter name: drop it.
        if len(loc) > 1 and err.get("loc", [None])[0] == "body":
            loc = loc[1:]
        name = ".".join(loc) or "body"
        message = _PYDANTIC_MESSAGES.get(err.get("type", ""), _("This value is not valid."))
        fields.setdefault(name, []).append(str(message))
    return error_response(request, 422, "invalid", _("Some fields are not valid."), fields)


@api.exception_handler(AuthenticationError)
def _authentication_error(request, exc):
    return error_response(request, 401, "not_authenticated", _("Please log in: send Authorization: Bearer <token>."))


@api.exception_handler(HttpError)
def _http_error(request, exc: HttpError):
    if exc.status_code == 400:
        return error_response(request, 400, "malformed", _("The request body is not valid JSON."))
    return error_response(request, exc.status_code, "error", gettext("The request could not be processed."))


@api.exception_handler(Http404)
def _not_found(request, exc):
    return error_response(request, 404, "not_found", _("Not found."))


def _register_routers() -> None:
    from tongxin.core.routes import router as core_router
    from tongxin.dispatch.api import router as dispatch_router
    from tongxin.grid.api import router as grid_router
    from tongxin.people.api import router as people_router
    from tongxin.registry.api import router as registry_router

    api.add_router("", people_router)
    api.add_router("", grid_router)
    api.add_router("", registry_router)
    api.add_router("", dispatch_router)
    api.add_router("", core_router)


_register_routers()
