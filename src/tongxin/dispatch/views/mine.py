"""Residents' own requests, and filing a new one from a phone."""

from __future__ import annotations

import uuid6
from django.conf import settings
from django.contrib import messages
from django.db import transaction
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from tongxin.core import clock
from tongxin.core.errors import ApplicationError, NotFound, ValidationFailed
from tongxin.core.views import page_view, paginate
from tongxin.dispatch import rules, selectors, services, workflow
from tongxin.dispatch.models import (
    ReporterKind,
    Request,
    State,
    Urgency,
)
from tongxin.dispatch.views.common import _decorate
from tongxin.dispatch.views.forms import RequestForm
from tongxin.grid import selectors as grid_selectors
from tongxin.grid.places import Places
from tongxin.people.permissions import user_can
from tongxin.people.scope import is_resident_only
from tongxin.registry import selectors as registry_selectors
from tongxin.registry.models import Household

# --- residents' own requests -------------------------------------------------------------


@page_view
def my_requests(request):
    """A resident's own requests and their household's (the scope function gives no more)."""
    user = request.user
    if not user_can(user, "request.file"):
        raise NotFound()
    rows = selectors.request_list(actor=user).filter(Request.resident_scope(user)).defer(
        "node__boundary", "handler_node__boundary")
    page = paginate(request, rows, size=20)
    _decorate(page.items, clock.now())
    return render(request, "dispatch/my_requests.html", {"page": page})


HOUSEHOLD_MATCHES = 10


class SeveralHouseholds(ValidationFailed):
    """Several households match what was typed: the form offers them to choose from."""

    def __init__(self, households: list):
        super().__init__(fields={"household_number": [_("Several households match: choose one.")]})
        self.households = households


def _where(user, form: RequestForm):
    """The household and the place a request is filed for."""
    data = form.cleaned_data
    if not form.staff:
        household = registry_selectors.household_get(actor=user, household_id=user.household_id) \
            if user.household_id else None
        if household is None:
            raise ValidationFailed(fields={"household": [_("Your account is not linked to a household.")]})
        return household, household.node
    if data.get("household"):
        household = registry_selectors.household_get(actor=user, household_id=data["household"])
        return household, household.node
    text = (data.get("household_number") or "").strip()
    if text:
        # The head's name or part of the number: nobody types a 20-digit number on a phone.
        households = registry_selectors.household_list(actor=user)
        found = list(households.filter(number=text)[:2]) or list(
            registry_selectors.household_list(actor=user, search=text)[:HOUSEHOLD_MATCHES + 1])
        if not found:
            raise ValidationFailed(fields={"household_number": [
                _("No household with this name or number in your part of the network.")]})
        if len(found) > 1:
            raise SeveralHouseholds(found[:HOUSEHOLD_MATCHES])
        return found[0], found[0].node
    if data.get("place"):
        return None, grid_selectors.node_get(actor=user, code=data["place"])
    raise ValidationFailed(fields={"household_number": [_("Say which household, or choose a place.")]})


def _filed_message(req: Request) -> str:
    """The confirmation after filing: its number, who handles it, and by when they accept it."""
    text = gettext("Filed: request %(number)s, handled by %(handler)s.") % {
        "number": req.number, "handler": rules.handler_name(req)}
    if req.accept_due:
        text += " " + gettext("To be accepted by %(due)s.") % {
            "due": date_format(timezone.localtime(req.accept_due), "Y-m-d H:i")}
    return text


def _photo_hint() -> str:
    return gettext("A large photo is made smaller before it is sent (%(size)s at most).") % {
        "size": f"{settings.MAX_BODY_BYTES / (1024 * 1024):g} MB"}


@page_view
def request_new(request):
    """File a request. The form carries an id made when it was shown: sending it twice
    (a double tap, a retry on a bad link) files one request."""
    user = request.user
    if not user_can(user, "request.file"):
        raise NotFound()
    household = None
    preset = request.GET.get("household")
    if preset and not is_resident_only(user):
        household = registry_selectors.household_get(actor=user, household_id=preset)
    status = 200
    matches: list = []
    if request.method == "POST":
        form = RequestForm(request.POST, request.FILES, user=user)
        if form.is_valid():
            try:
                req = _file(user, form)
            except SeveralHouseholds as exc:
                matches = exc.households
                registry_selectors.list_shown(actor=user, model=Household, rows=matches)  # heads' names: audited
                form.add_error("household_number", str(exc.fields["household_number"][0]))
                status = exc.status
            except ApplicationError as exc:
                if isinstance(exc, NotFound) and not exc.fields:
                    raise
                for field, msgs in exc.fields.items():
                    for m in (msgs if isinstance(msgs, (list, tuple)) else [msgs]):
                        form.add_error(field if field in form.fields else None, str(m))
                if not exc.fields:
                    form.add_error(None, str(exc.message))
                status = exc.status
            else:
                messages.success(request, _filed_message(req))
                return redirect("dispatch:request", request_id=req.pk)
        else:
            status = 422
        chosen = getattr(form, "cleaned_data", {}).get("household")
        if chosen:
            household = registry_selectors.household_get(actor=user, household_id=chosen)
    else:
        form = RequestForm(initial={"client_id": uuid6.uuid7(), "urgency": Urgency.NORMAL,
                                    "household": household.pk if household else None}, user=user)
    return render(request, "dispatch/request_form.html", {
        "form": form, "household": household, "photo_hint": _photo_hint(), "matches": matches,
    }, status=status)


def _file(user, form: RequestForm) -> Request:
    data = form.cleaned_data
    household, node = _where(user, form)
    category = selectors.category_get(data["category"])
    photo = data.get("photo")
    if photo is not None and photo.size > services.MAX_PHOTO_BYTES:
        raise ValidationFailed(fields={"photo": [gettext("A photo may be 5 MB at most.")]})
    # The request and its photo are one step: a photo the services refuse files nothing.
    with transaction.atomic():
        req, created = services.request_file(
            actor=user, category=category, node=node, household=household, description=data["description"],
            urgency=data["urgency"], client_id=data["client_id"], publish=bool(data.get("publish")),
            reporter_kind=ReporterKind.RESIDENT if not form.staff else ReporterKind.GRID_WORKER)
        # A double tap on a slow link can deliver the first POST cut short before its photo:
        # the retry then brings the photo to the request the first one filed, once.
        if photo is not None and (created or not req.attachments.exists()):
            try:
                services.request_attach(actor=user, request=req, data=photo.read(services.MAX_PHOTO_BYTES + 1))
            except ValidationFailed as exc:
                raise ValidationFailed(fields={"photo": exc.fields.get("file", [exc.message])}) from None
    return req



@page_view
def to_confirm(request):
    """待确认评价: resolved requests in the grid worker's part of the network that wait for the
    resident's confirmation and rating, which the worker records with them at the doorstep
    (the workflow's ``rate``); the oldest resolution first, before it closes by itself."""
    user = request.user
    if not user_can(user, "request.handle"):
        raise NotFound()
    rows = (selectors.request_list(actor=user, state=State.RESOLVED).select_related("household")
            .defer("node__boundary", "handler_node__boundary", "household__address", "household__phone",
                   "household__head_name").order_by("resolved_at", "id"))
    page = paginate(request, rows)
    _decorate(page.items, clock.now())
    rules.preload_handled_by(user, page.items)
    for r in page.items:
        r.may_rate = "rate" in workflow.available_actions(user, r)
    return render(request, "dispatch/to_confirm.html", {
        "page": page, "places": Places(user, [r.node for r in page.items])})
