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
    """Template context: the menu entries the apps registered that the signed-in user may use,
    in their order, as ``menu`` (a list of ``url`` and ``label``)."""
    from django.urls import reverse

    from tongxin.core import extensions

    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"menu": []}
    return {"menu": [{"url": reverse(entry.url_name), "label": entry.label}
                     for entry in extensions.menu_entries() if entry.visible(user)]}
