"""A department's inbox (吹哨报到)."""

from __future__ import annotations

from django.shortcuts import render

from tongxin.core import clock
from tongxin.core.errors import NotFound
from tongxin.core.views import page_view, paginate, wants_fragment
from tongxin.dispatch import selectors, workflow
from tongxin.dispatch.models import (
    DepartmentRole,
)
from tongxin.dispatch.views.common import _decorate, due_info, polling, since_of
from tongxin.grid.places import Places
from tongxin.people.permissions import user_can
from tongxin.people.scope import department_ids

# --- a department's inbox ----------------------------------------------------------------


@page_view
def inbox(request):
    """吹哨报到: what was escalated to the officer's departments and still waits for them; it
    refreshes by itself (HTMX polling) and marks what arrived since it was opened."""
    user = request.user
    if not user_can(user, "request.handle"):
        raise NotFound()
    mine = department_ids(user)
    rows = selectors.department_inbox(actor=user).defer("node__boundary", "handler_node__boundary")
    page = paginate(request, rows)
    now = clock.now()
    since = since_of(request, now)
    _decorate(page.items, now)
    contacts = selectors.household_contacts(actor=user, requests=page.items)
    for r in page.items:
        calls = [d for d in r.departments.all() if d.active and (d.department_id in mine or not mine)]
        r.calls = [{"name": d.department.name, "role": DepartmentRole(d.role).label, "accepted_at": d.accepted_at,
                    "accept_due": due_info(d.accept_due, now) if d.accepted_at is None else None,
                    "resolve_due": due_info(d.resolve_due, now)} for d in calls]
        r.may_accept = "accept" in workflow.available_actions(user, r)
        r.new = any(d.created_at > since for d in calls)
        r.contact = contacts.get(r.pk)
    context = {"page": page, "is_officer": bool(mine), "places": Places(user, [r.node for r in page.items]),
               **polling(request, since)}
    if wants_fragment(request):
        return render(request, "dispatch/_inbox_results.html", context)
    return render(request, "dispatch/inbox.html", context)
