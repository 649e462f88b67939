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
    from tongxin.people.permissions import roles_of, user_can
    from tongxin.people.roles import Role

    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav": {}}
    handles = user_can(user, "request.handle")
    return {
        "nav": {
            "network": user_can(user, "node.view"),
            "households": user_can(user, "household.view"),
            "staff": user_can(user, "staff.view"),
            "audit": user_can(user, "audit.view"),
            # Requests: the dispatch queue and map, a department's inbox, figures, one's own.
            "dispatch": handles or user_can(user, "dispatch.stats"),
            "dispatch_inbox": Role.DEPARTMENT_OFFICER in roles_of(user),
            "dispatch_stats": user_can(user, "dispatch.stats"),
            "my_requests": user_can(user, "request.file") and not handles,
        }
    }
