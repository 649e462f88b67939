"""One error family. Each carries a stable code, a translatable message and field details;
the API and the pages turn it into DESIGN.md's error body in the caller's language."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from typing import Any

from django.utils.translation import gettext_lazy as _


class ApplicationError(Exception):
    status = 400
    code = "bad_request"
    default_message = _("The request could not be processed.")

    def __init__(self, message: Any = None, *, code: str | None = None, fields: dict[str, Any] | None = None):
        self.message = message if message is not None else self.default_message
        if code:
            self.code = code
        self.fields = fields or {}
        super().__init__(str(self.message))

    def as_body(self) -> dict[str, Any]:
        return {
            "error": {
                "code": self.code,
                "message": str(self.message),
                "fields": {k: [str(m) for m in (v if isinstance(v, (list, tuple)) else [v])]
                           for k, v in self.fields.items()},
            }
        }


class ValidationFailed(ApplicationError):
    status = 422
    code = "invalid"
    default_message = _("Some fields are not valid.")


def refuse_empty(changes: dict[str, Any], *, nullable: Collection[str] = frozenset()) -> None:
    """A change that sends ``null`` for a field that must have a value is bad input, not a 500."""
    empty = [name for name, value in changes.items() if value is None and name not in nullable]
    if empty:
        raise ValidationFailed(fields={name: [_("This field cannot be empty.")] for name in empty})


class NotAuthenticated(ApplicationError):
    status = 401
    code = "not_authenticated"
    default_message = _("Please log in.")


class PermissionDenied(ApplicationError):
    """For actions on records the caller can see but may not change. Records outside
    scope are never PermissionDenied: they are NotFound."""

    status = 403
    code = "permission_denied"
    default_message = _("You may not do this.")


class NotFound(ApplicationError):
    status = 404
    code = "not_found"
    default_message = _("Not found.")


def parse_id(value) -> uuid.UUID:
    """A record id from a URL or body: anything that is not a UUID names nothing, so 404."""
    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError, AttributeError):
        raise NotFound() from None


class Conflict(ApplicationError):
    status = 409
    code = "conflict"
    default_message = _("This conflicts with the current state of the record.")


class BadCharacters(ApplicationError):
    status = 400
    code = "bad_characters"
    default_message = _("The request contains a NUL character, which no field may hold.")


class MethodNotAllowed(ApplicationError):
    status = 405
    code = "method_not_allowed"
    default_message = _("This address does not take this method.")


class TooLarge(ApplicationError):
    status = 413
    code = "too_large"
    default_message = _("The request body is too large.")


class Locked(ApplicationError):
    status = 423
    code = "locked"
    default_message = _("This account is locked for a while after too many failed logins.")
