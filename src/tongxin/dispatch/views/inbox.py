"""A department's inbox (吹哨报到)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from django.shortcuts import render
from django.views.decorators.http import require_GET

from tongxin.core import clock
from tongxin.core.errors import NotFound
from tongxin.core.export import xlsx_response
from tongxin.core.tables import Listing, Sheet
from tongxin.core.views import export_link, page_view, paginate, wants_fragment
from tongxin.dispatch import selectors, workflow
from tongxin.dispatch.models import (
    DepartmentRole,
)
from tongxin.dispatch.tables import INBOX
from tongxin.dispatch.views.common import _decorate, due_info, placed, polling, since_of
from tongxin.grid.places import Places
from tongxin.people.permissions import user_can
from tongxin.people.scope import department_ids

# --- a department's inbox ----------------------------------------------------------------


def _inbox_rows(user):
    return selectors.department_inbox(actor=user).defer("node__boundary", "handler_node__boundary", "description")


def _with_calls(rows: Iterable, mine: set, now) -> Iterator:
    """Each request with the calls of the officer's own departments (all of them for others)."""
    for r in rows:
        calls = [d for d in r.departments.all() if d.active and (d.department_id in mine or not mine)]
        r.calls = [{"name": d.department.name, "role": DepartmentRole(d.role).label, "accepted_at": d.accepted_at,
                    "accept_due": due_info(d.accept_due, now) if d.accepted_at is None else None,
                    "resolve_due": due_info(d.resolve_due, now)} for d in calls]
        yield r


@page_view
def inbox(request):
    """吹哨报到: what was escalated to the officer's departments and still waits for them; it
    refreshes by itself (HTMX polling) and marks what arrived since it was opened."""
    user = request.user
    if not user_can(user, "request.handle"):
        raise NotFound()
    mine = set(department_ids(user))
    page = paginate(request, _inbox_rows(user))
    now = clock.now()
    since = since_of(request, now)
    _decorate(page.items, now)
    contacts = selectors.household_contacts(actor=user, requests=page.items)
    for r in placed(user, _with_calls(page.items, mine, now)):
        r.may_accept = "accept" in workflow.available_actions(user, r)
        r.new = any(d.created_at > since for d in r.departments.all()
                    if d.active and (d.department_id in mine or not mine))
        r.contact = contacts.get(r.pk)
    context = {"page": page, "is_officer": bool(mine), "table": INBOX,
               "places": Places(user, [r.node for r in page.items]),
               "export_url": export_link(request, "dispatch:inbox_export"), **polling(request, since)}
    if wants_fragment(request):
        return render(request, "dispatch/_inbox_results.html", context)
    return render(request, "dispatch/inbox.html", context)


@require_GET
@page_view
def inbox_export(request):
    """The inbox, every row, to Excel."""
    user = request.user
    if not user_can(user, "request.handle"):
        raise NotFound()
    rows = placed(user, _with_calls(_inbox_rows(user).iterator(chunk_size=500), set(department_ids(user)),
                                    clock.now()))
    return xlsx_response(actor=user, listing=Listing(name=INBOX.name, title=INBOX.title, sheets=[Sheet(INBOX, rows)]))
