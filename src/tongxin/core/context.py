"""Request context (who, from where) for the audit log, and page navigation (the menu, and the
number of unread notifications every page shows)."""

from __future__ import annotations

import contextvars
import functools
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
    in their order, as ``menu`` (a list of ``url`` and ``label``), and
    ``unread_notifications`` (counted when a page first shows it)."""
    from django.urls import reverse

    from tongxin.core import extensions
    from tongxin.core.selectors import unread_notifications

    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"menu": []}

    @functools.cache
    def unread() -> int:  # asked only by a page that shows the header, once
        return unread_notifications(actor=user)

    return {"menu": [{"url": reverse(entry.url_name), "label": entry.label}
                     for entry in extensions.menu_entries() if entry.visible(user)],
            "unread_notifications": unread}
