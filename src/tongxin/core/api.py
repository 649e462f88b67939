"""The API root: authentication, the error body of DESIGN.md, list paging.

The root knows no app: each app registers its router (``core.extensions.add_router``) and
``people`` registers who a bearer token names; the registered routers are mounted, in their
order, the first time the URLs or the OpenAPI document are built.

Every error leaves as ``{"error": {"code", "message", "fields"}}`` in the caller's
language; a 500 is a bug, never a way to report bad input.
"""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from django.http import Http404, HttpRequest
from django.utils import translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from ninja import Field, NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.renderers import BaseRenderer
from ninja.responses import NinjaJSONEncoder
from ninja.security import HttpBearer
from pydantic import ConfigDict, StringConstraints

from tongxin.core import extensions
from tongxin.core.errors import ApplicationError


class BearerAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str):
        user = extensions.token_user(token)
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


# The characters str.strip() removes, spelled alike for Python's, Rust's (pydantic) and ECMA's
# (the document, its clients) regular expressions, whose own \s each mean a different set.
_STRIPPED = "".join(f"\\u{ord(c):04x}" for c in map(chr, range(0x3001)) if c.isspace())
NOT_BLANK_PATTERN = f"[^{_STRIPPED}]"
SPACE_PATTERN = f"[{_STRIPPED}]"
_PATTERN_MESSAGES: dict[str, Any] = {}


def matching(pattern: str, message) -> StringConstraints:
    """A text constraint for a schema field, with the message a mismatch answers in the error body."""
    _PATTERN_MESSAGES[pattern] = message
    return StringConstraints(pattern=pattern)


# Text that must say something: not empty, not only spaces (the services strip what they store).
NotBlank = Annotated[str, matching(NOT_BLANK_PATTERN, _("This field cannot be empty."))]


class Page(Schema):
    count: int


def paged(queryset, limit: int, offset: int) -> dict[str, Any]:
    count = queryset.count()
    limit = max(1, min(limit, 500))
    # Past the end there is nothing to fetch; a huge offset must not reach the database (500).
    offset = max(0, min(offset, count))
    return {"count": count, "items": list(queryset[offset: offset + limit])}


class ErrorDetail(Schema):
    code: str = Field(description="stable, for programs: not_found, invalid, conflict, …")
    message: str = Field(description="for people, in the caller's language")
    fields: dict[str, list[str]] = Field(description="what is wrong with each field sent, by field name")


class ErrorBody(Schema):
    """Every error answer of the API (DESIGN.md, "Errors")."""

    error: ErrorDetail


def refuses(*statuses: int) -> dict[int, type[ErrorBody]]:
    """Error answers an operation gives beyond those every operation of its shape gives (see
    ``TongxinAPI``): ``response={200: Out, **refuses(403, 409)}``."""
    return {status: ErrorBody for status in statuses}


# Every answer that comes from the API root or the middleware rather than from the operation
# itself, and the operations that can give it.
_WRITES = {"post", "put", "patch", "delete"}
_COMMON_ERRORS = {
    400: ("A body that is not JSON, a NUL character anywhere in the request, or an Idempotency-Key "
          "that is not a UUID", lambda op: True),
    401: ("Not logged in: no bearer token, or one that is unknown or expired", lambda op: "security" in op),
    404: ("Nothing in the caller's scope has this id or code (missing and out of scope are the same)",
          lambda op: any(p.get("in") == "path" for p in op.get("parameters", ()))),
    409: ("A retry under the same Idempotency-Key while the first request is still running",
          lambda op: op["_method"] in _WRITES),
    413: ("The body is too large", lambda op: "requestBody" in op),
    422: ("Some fields are not valid (each named in error.fields), or an Idempotency-Key reused with "
          "another body", lambda op: bool(op.get("parameters")) or "requestBody" in op or op["_method"] in _WRITES),
}
_ERROR_REF = {"$ref": "#/components/schemas/ErrorBody"}


class TongxinAPI(NinjaAPI):
    """The API root. It mounts the routers the apps registered (``core.extensions``) before it
    first builds its URLs or its document, and the document declares, on every operation, each
    error answer it can give, with the error body: the ones listed in ``_COMMON_ERRORS`` by the
    operation's shape, the others (403, a workflow's 409, …) by the operation itself through
    ``refuses``."""

    _mounted = False

    def mount_registered(self) -> TongxinAPI:
        if not self._mounted:
            self._mounted = True
            for prefix, router in extensions.routers():
                self.add_router(prefix, router)
        return self

    @property
    def urls(self):
        self.mount_registered()
        return super().urls

    def get_openapi_schema(self, *, path_prefix: str | None = None, path_params: dict | None = None):
        self.mount_registered()
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        body = ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
        components.update(body.pop("$defs", {}))
        components["ErrorBody"] = body
        for methods in schema["paths"].values():
            for method, operation in methods.items():
                operation["_method"] = method
                responses = operation["responses"]
                for status, (description, gives) in _COMMON_ERRORS.items():
                    if gives(operation):
                        answer = responses.setdefault(status, {"description": description})
                        answer.setdefault("content", {"application/json": {"schema": _ERROR_REF}})
                del operation["_method"]
                operation["responses"] = dict(sorted(responses.items(), key=lambda item: int(item[0])))
        return schema


api = TongxinAPI(
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
        raw = [str(p) for p in err.get("loc", ())]
        if raw[:1] == ["body"] and len(raw) > 2:
            loc = raw[2:]  # Ninja nests the body under the parameter's name: drop both
        else:
            loc = [p for p in raw if p not in ("body", "query", "path", "payload", "form")]
        name = ".".join(loc) or "body"
        kind, ctx = str(err.get("type", "")), err.get("ctx") or {}
        if kind == "string_pattern_mismatch":
            message = _PATTERN_MESSAGES.get(str(ctx.get("pattern")), _("This value is not valid."))
        elif kind in ("enum", "literal_error") and "expected" in ctx:
            message = gettext("Choose one of: %(choices)s.") % {"choices": ctx["expected"]}
        else:
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
