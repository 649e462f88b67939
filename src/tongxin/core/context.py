"""Request context (who, from where) for the audit log, and page navigation."""

from __future__ import annotations

import contextvars
from dataclasses import dataclass


@dataclass(frozen=True)
class RequestContext:
    ip: str = ""
    user_agent: str = ""
    channel: str = "system"


_current: contextvars.ContextVar[RequestContext] = contextvars.ContextVar("tongxin_request", default=RequestContext())


def current() -> RequestContext:
    return _current.get()


def bind(ctx: RequestContext) -> contextvars.Token:
    return _current.set(ctx)


def reset(token: contextvars.Token) -> None:
    _current.reset(token)


def navigation(request) -> dict:
    """Template context: which menu entries the signed-in user may use."""
    from tongxin.people.permissions import user_can

    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav": {}}
    return {
        "nav": {
            "network": user_can(user, "node.view"),
            "households": user_can(user, "household.view"),
            "staff": user_can(user, "staff.view"),
            "audit": user_can(user, "audit.view"),
        }
    }
