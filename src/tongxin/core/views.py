"""Web pages of the kernel (home, audit log) and what every page shares.

Rules: views are thin (parse, call a selector or service, render). Every signed-in page
is wrapped in ``page_view``, which sends strangers to the login page and turns an
``ApplicationError`` into an error page with its status: a record outside scope is
the same 404 page as one that does not exist.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import wraps
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpResponse
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRedirect

from tongxin.core import audit, extensions, selectors, services
from tongxin.core.errors import ApplicationError, NotAuthenticated, NotFound

PAGE_SIZE = 50


def error_page(request, exc: ApplicationError):
    """The page for a 4xx: 404.html for "not found", error.html for the others."""
    template = "404.html" if isinstance(exc, NotFound) else "error.html"
    return render(request, template, {"error": exc, "status": exc.status}, status=exc.status)


def _to_login(request):
    if request.htmx:
        return HttpResponseClientRedirect(resolve_url(settings.LOGIN_URL))
    return redirect_to_login(request.get_full_path())


def page_view(view):
    """A page for signed-in users, with ApplicationError mapped to an error page."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return _to_login(request)
        try:
            response = view(request, *args, **kwargs)
        except NotAuthenticated:
            return _to_login(request)
        except ApplicationError as exc:
            response = error_page(request, exc)
        # HTMX requests get fragments of the same URLs.
        patch_vary_headers(response, ["HX-Request"])
        return response

    return wrapper


def wants_fragment(request) -> bool:
    """An HTMX swap (not a history restore, which needs the whole page)."""
    return bool(request.htmx) and not request.htmx.history_restore_request


@dataclass
class Page:
    """One page of a list, found without counting the whole list unless asked."""

    items: list
    number: int
    has_next: bool
    count: int | None
    size: int
    query: dict

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def first_index(self) -> int:
        return (self.number - 1) * self.size + 1 if self.items else 0

    @property
    def last_index(self) -> int:
        return (self.number - 1) * self.size + len(self.items)

    def _link(self, number: int) -> str:
        return "?" + urlencode({**self.query, "page": number})

    @property
    def next_link(self) -> str:
        return self._link(self.number + 1)

    @property
    def previous_link(self) -> str:
        return self._link(self.number - 1)


def paginate(request, queryset, *, size: int = PAGE_SIZE, count: bool = True) -> Page:
    """The page ``?page=N`` of ``queryset``; other query parameters are kept in the links."""
    try:
        number = max(1, int(request.GET.get("page", "1")))
    except ValueError:
        number = 1
    total = queryset.count() if count else None
    if total is not None:
        number = min(number, max(1, -(-total // size)))
    start = (number - 1) * size
    rows = list(queryset[start: start + size + 1])
    query = {k: v for k, v in request.GET.items() if k != "page" and v}
    return Page(items=rows[:size], number=number, has_next=len(rows) > size, count=total, size=size, query=query)


# --- lists out to Excel (core.export) -------------------------------------------------------


def export_link(request, url_name: str) -> str:
    """The address of a list's export with the filters the page was shown with (not its page)."""
    from django.urls import reverse

    query = urlencode([(k, v) for k, values in request.GET.lists() if k != "page" for v in values if v])
    return reverse(url_name) + (f"?{query}" if query else "")


def form_filters(form: forms.Form, *, keys: dict[str, str] | None = None) -> list:
    """The valid filters of a bound filter form, each with its label and the value as shown
    (a choice by its label); ``keys`` renames fields to their query parameters."""
    from tongxin.core.tables import Filter

    data = getattr(form, "cleaned_data", {}) or {}
    found = []
    for name, bound in ((n, form[n]) for n in form.fields):
        value = data.get(name)
        if value in (None, "", False):
            continue
        choices = dict(getattr(bound.field, "choices", None) or getattr(bound.field.widget, "choices", None) or [])
        if isinstance(value, bool):
            shown = gettext("yes")
        else:
            shown = str(choices.get(value, choices.get(str(value), value))).strip()
        raw = value.isoformat() if hasattr(value, "isoformat") else ("1" if value is True else str(value))
        found.append(Filter(key=(keys or {}).get(name, name), raw=raw, label=bound.label, shown=shown))
    return found


@page_view
def home(request):
    """Where a signed-in user starts: the first registered start page with a place for them
    (their part of the network, the audit log, their household), else a plain welcome."""
    url = extensions.start_page(request.user)
    if url:
        return redirect(url)
    return render(request, "core/home.html")


def _action_choices() -> list[tuple[str, str]]:
    """Every action the apps named, by its label in the reader's language, after the families
    of actions (``resident.``: every action on residents)."""
    actions = audit.action_choices()
    families = sorted({name.split(".", 1)[0] + "." for name, _label in actions if "." in name})
    return [("", gettext("Every action")),
            *((f, gettext("%(family)s… (every action)") % {"family": f}) for f in families),
            *actions]


class AuditFilter(forms.Form):
    action = forms.ChoiceField(required=False, label=_("Action"), choices=_action_choices)
    actor = forms.CharField(required=False, max_length=150, label=_("Actor"))
    object_id = forms.CharField(required=False, max_length=64, label=_("Object id"))
    since = forms.DateField(required=False, label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, label=_("Until"), widget=forms.DateInput(attrs={"type": "date"}))


@page_view
def audit_log(request):
    form = AuditFilter(request.GET)
    form.is_valid()  # invalid fields are shown with their errors and left out of the filter
    data = {k: v for k, v in getattr(form, "cleaned_data", {}).items() if v not in (None, "")}
    entries = selectors.audit_list(
        actor=request.user, action=data.get("action", ""), actor_name=data.get("actor", ""),
        object_id=data.get("object_id", ""), since=data.get("since"), until=data.get("until"))
    # The log grows without end: page through it without counting it.
    page = paginate(request, entries, count=False)
    for entry in page.items:  # the node's own code; the whole path is in the cell's title
        entry.place_code = entry.node_path.strip("/").rsplit("/", 1)[-1]
        entry.action_label = audit.action_label(entry.action)
    return render(request, "core/audit.html", {"form": form, "page": page})


@require_POST
@page_view
def audit_checkpoint(request):
    """The audit administrator's signed checkpoint, as a file to keep outside the database."""
    body = services.audit_checkpoint_take(actor=request.user)
    response = HttpResponse(json.dumps(body, ensure_ascii=False, indent=2, sort_keys=True) + "\n",
                            content_type="application/json; charset=utf-8")
    moment = body["taken_at"][:19].replace(":", "").replace("-", "")
    response["Content-Disposition"] = f'attachment; filename="tongxin-audit-checkpoint-{moment}.json"'
    return response


# --- one's notifications ---------------------------------------------------------------------


def _safe_link(request, link: str) -> str:
    """A notification's link, if it is an address on this site; else the notification list."""
    if link.startswith("/") and not link.startswith("//") and url_has_allowed_host_and_scheme(
            link, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return link
    return reverse("core:notifications")


@page_view
def notifications(request):
    """The user's notifications, newest first: those shown unread are marked read (and shown as
    new this once); each opens what it is about."""
    page = paginate(request, selectors.notification_list(actor=request.user), size=30)
    fresh = [n.pk for n in page.items if n.read_at is None]
    for n in page.items:
        n.fresh = n.read_at is None
    if fresh:
        services.notifications_read(actor=request.user, ids=fresh)
    return render(request, "core/notifications.html", {"page": page})


@require_POST
@page_view
def notifications_read_all(request):
    services.notifications_read(actor=request.user)
    return redirect("core:notifications")


@page_view
def notification_open(request, notification_id: int):
    """One notification: marked read, then what it is about (its link)."""
    notification = selectors.notification_get(actor=request.user, notification_id=notification_id)
    if notification.read_at is None:
        services.notifications_read(actor=request.user, ids=[notification.pk])
    return redirect(_safe_link(request, notification.link))

