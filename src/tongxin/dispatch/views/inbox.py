"""A department's inbox (吹哨报到)."""

from __future__ import annotations

from django.shortcuts import render

from tongxin.core import clock
from tongxin.core.errors import NotFound
from tongxin.core.views import page_view, paginate
from tongxin.dispatch import selectors, workflow
from tongxin.dispatch.models import (
    DepartmentRole,
)
from tongxin.dispatch.views.common import _decorate, due_info
from tongxin.people.permissions import user_can
from tongxin.people.scope import department_ids

# --- a department's inbox ----------------------------------------------------------------


@page_view
def inbox(request):
    """吹哨报到: what was escalated to the officer's departments and still waits for them."""
    user = request.user
    if not user_can(user, "request.handle"):
        raise NotFound()
    mine = department_ids(user)
    rows = selectors.department_inbox(actor=user).defer("node__boundary", "handler_node__boundary")
    page = paginate(request, rows)
    now = clock.now()
    _decorate(page.items, now)
    for r in page.items:
        calls = [d for d in r.departments.all() if d.active and (d.department_id in mine or not mine)]
        r.calls = [{"name": d.department.name, "role": DepartmentRole(d.role).label, "accepted_at": d.accepted_at,
                    "accept_due": due_info(d.accept_due, now) if d.accepted_at is None else None,
                    "resolve_due": due_info(d.resolve_due, now)} for d in calls]
        r.may_accept = "accept" in workflow.available_actions(user, r)
    return render(request, "dispatch/inbox.html", {"page": page, "is_officer": bool(mine)})


