"""One request: its page with the timeline and the buttons of ``workflow.available_actions``,
and each action (POST-redirect-GET)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from tongxin.core import clock
from tongxin.core.errors import ApplicationError, NotFound, ValidationFailed
from tongxin.core.views import page_view
from tongxin.dispatch import rules, selectors, services, workflow
from tongxin.dispatch.models import (
    DepartmentRole,
    Request,
    State,
    Urgency,
)
from tongxin.dispatch.views.common import RATINGS, _safe_next, due_info
from tongxin.grid.models import Department
from tongxin.people.permissions import user_can

# --- one request -------------------------------------------------------------------------


def _timeline(req: Request) -> list[dict]:
    steps = []
    for e in req.timeline.all():
        label = workflow.label(e.action)
        steps.append({
            "at": timezone.localtime(e.at), "actor": e.actor_name if e.actor_id else "",
            "action": e.action, "label": label,
            "from": State(e.from_state).label if e.from_state in State.values else "",
            "to": State(e.to_state).label if e.to_state in State.values else "",
            "changed": bool(e.from_state) and e.from_state != e.to_state, "handler": e.handler_name, "note": e.note,
        })
    return steps


def _detail_context(request, req: Request, *, error: ApplicationError | None = None, failed: str = "") -> dict:
    user = request.user
    now = clock.now()
    actions = workflow.available_actions(user, req)
    departments = [{
        "name": d.department.name, "code": d.department.code, "role": DepartmentRole(d.role).label,
        "lead": d.role == DepartmentRole.LEAD, "active": d.active, "accepted_at": d.accepted_at,
        "accept_due": due_info(d.accept_due, now) if d.active and d.accepted_at is None and req.is_open else None,
        "accept_by": d.accept_due, "resolve_by": d.resolve_due,
    } for d in req.departments.all()]
    context = {
        "req": req, "state_label": State(req.state).label, "urgent": req.urgency == Urgency.URGENT,
        "due": due_info(req.due_at, now) if req.is_open else None, "handler": rules.handler_name(req),
        "timeline": _timeline(req), "departments": departments, "actions": actions,
        "photos": [a.pk for a in req.attachments.all()],
        "may_see_household": req.household_id is not None and user_can(user, "household.view"),
        "contact": selectors.household_contacts(actor=user, requests=[req]).get(req.pk),
        "error": error, "failed": failed, "posted": request.POST if error else {},
        "ratings": RATINGS, "now": now,
        "may_publish": rules.may_publish(user, req), "reporter_side": rules.speaks_for_reporter(user, req),
    }
    if "escalate" in actions:
        context["departments_to_call"] = list(rules.callable_departments(req.node).values())
        # Where "the next level up" goes, named on the form (None: at the top, departments only).
        context["next_level"] = rules.next_level(req)
        posted_lead = request.POST.get("lead") if error else None
        context["lead_code"] = posted_lead if posted_lead is not None else req.category.department_code
        context["assisting_codes"] = request.POST.getlist("assisting") if error else []
        context["escalate_to"] = (request.POST.get("to") if error else "") or "next"
    return context


@page_view
def request_detail(request, request_id):
    req = selectors.request_get(actor=request.user, request_id=request_id)
    return render(request, "dispatch/detail.html", _detail_context(request, req))


def _escalation_departments(req: Request, data) -> tuple[list[Department], list[Department]]:
    if data.get("to") != "departments":
        return [], []
    by_code = rules.callable_departments(req.node)
    lead_code = (data.get("lead") or "").strip()
    if not lead_code:
        raise ValidationFailed(fields={"lead": [_("Choose the lead department.")]})
    codes = [lead_code, *[c for c in data.getlist("assisting") if c]]
    unknown = [c for c in codes if c not in by_code]
    if unknown:
        raise ValidationFailed(fields={"departments": [
            gettext("Unknown department: %(code)s.") % {"code": c} for c in unknown]})
    return [by_code[lead_code]], [by_code[c] for c in codes[1:] if c != lead_code]


def _rating(value: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValidationFailed(fields={"rating": [_("A rating is a whole number from 1 to 5.")]}) from None


def _escalate(user, req: Request, data) -> None:
    lead, assisting = _escalation_departments(req, data)
    services.request_escalate(actor=user, request=req, reason=data.get("reason", ""), departments=lead,
                              assisting=assisting)


# Each action's one service, called with the form's fields.
ACT = {
    "accept": lambda user, req, data: services.request_accept(actor=user, request=req, note=data.get("note", "")),
    "start": lambda user, req, data: services.request_start(actor=user, request=req, note=data.get("note", "")),
    "escalate": _escalate,
    "resolve": lambda user, req, data: services.request_resolve(actor=user, request=req,
                                                                resolution=data.get("resolution", "")),
    "reject": lambda user, req, data: services.request_reject(actor=user, request=req, reason=data.get("reason", "")),
    "rate": lambda user, req, data: services.request_rate(actor=user, request=req, rating=_rating(data.get("rating")),
                                                          comment=data.get("comment", "")),
    "reopen": lambda user, req, data: services.request_reopen(actor=user, request=req,
                                                              reason=data.get("reason", "")),
    # Not a step of the workflow: the public description (and, for the reporter's side, the
    # choice to publish, sent with ``consent``).
    "publish": lambda user, req, data: services.request_publish(
        actor=user, request=req, text=data.get("text", ""),
        publish=(data.get("publish") == "on") if data.get("consent") else None),
}


DONE = {
    "accept": _("Accepted."), "start": _("Work started."), "escalate": _("Escalated."),
    "resolve": _("Marked as resolved."), "reject": _("Rejected."), "rate": _("Thank you for your rating."),
    "reopen": _("Reopened."), "publish": _("Saved what the public feed shows."),
}


@page_view
@require_POST
def request_act(request, request_id, action: str):
    """One action on a request (POST); on success back to the page it came from, else the
    request's page again with the error and its status."""
    if action not in ACT:
        raise NotFound()
    req = selectors.request_get(actor=request.user, request_id=request_id)
    try:
        ACT[action](request.user, req, request.POST)
    except NotFound:
        raise
    except ApplicationError as exc:
        req = selectors.request_get(actor=request.user, request_id=request_id)
        context = _detail_context(request, req, error=exc, failed=action)
        return render(request, "dispatch/detail.html", context, status=exc.status)
    messages.success(request, DONE[action])
    return redirect(_safe_next(request, reverse("dispatch:request", args=[req.pk])))


@page_view
def request_photo(request, request_id, photo_id):
    """A photo of a request, for the page (the API serves the same bytes to bearer tokens)."""
    req = selectors.request_get(actor=request.user, request_id=request_id)
    photo = next((a for a in req.attachments.all() if a.pk == photo_id), None)
    if photo is None:
        raise NotFound()
    # Like every page, never kept by browsers or proxies (the middleware says no-store).
    return HttpResponse(bytes(photo.data), content_type=photo.content_type)


