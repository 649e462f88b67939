"""Parsing GeoReport v2 parameters: W3C times, the period asked for, a filing's fields, its location and place."""

from __future__ import annotations

import datetime as dt
import json
import math

from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _

from tongxin.core import clock
from tongxin.core.errors import NotFound, PermissionDenied
from tongxin.dispatch.open311.rendering import (
    DEFAULT_SPAN,
    MAX_SPAN,
    SPACE_FOR_PLUS,
    BadRequest,
)
from tongxin.grid.models import Node
from tongxin.people.permissions import user_can
from tongxin.people.scope import allows_at, is_resident_only, scope_roots
from tongxin.people.services import token_user
from tongxin.registry.models import Household


def values_of(request, name: str) -> list[str]:
    """A parameter that may be repeated and comma-delimited."""
    return [v.strip() for raw in request.GET.getlist(name) for v in raw.split(",") if v.strip()]


def parse_w3c(value: str, name: str) -> dt.datetime:
    """A W3C date-time (2010-01-01T00:00:00Z, with an offset, or a bare date in local time)."""
    value = SPACE_FOR_PLUS.sub(r"\1+\2", value.strip())
    try:
        moment = parse_datetime(value)
        if moment is None and (day := parse_date(value)) is not None:
            moment = dt.datetime.combine(day, dt.time.min)
    except ValueError:
        moment = None
    if moment is None:
        raise BadRequest(_("%(name)s is not a W3C date-time such as 2010-01-01T00:00:00Z.") % {"name": name})
    return timezone.make_aware(moment) if timezone.is_naive(moment) else moment


def period_of(request) -> tuple[dt.datetime, dt.datetime]:
    start = request.GET.get("start_date", "").strip()
    end = request.GET.get("end_date", "").strip()
    start_at = parse_w3c(start, "start_date") if start else None
    end_at = parse_w3c(end, "end_date") if end else None
    if start_at and end_at:
        if start_at > end_at:
            raise BadRequest(_("start_date must come before end_date."))
        if end_at - start_at > MAX_SPAN:
            raise BadRequest(_("start_date and end_date may not span more than %(days)d days.") % {
                "days": MAX_SPAN.days})
        return start_at, end_at
    if start_at:
        return start_at, start_at + DEFAULT_SPAN
    end_at = end_at or clock.now()
    return end_at - DEFAULT_SPAN, end_at


def parameters_of(request) -> dict[str, str]:
    """The POST parameters as text: form-encoded (the standard) or a JSON object. Empty
    values count as absent (the standard's "optional" rule); attributes are dropped."""
    if request.content_type == "application/json":
        try:
            data = json.loads(request.body or b"{}")
        except (ValueError, UnicodeDecodeError):
            raise BadRequest(_("The body is not valid JSON.")) from None
        except RecursionError:  # nested deeper than the parser goes: no GeoReport body is
            raise BadRequest(_("The body is nested too deeply: send a flat JSON object of GeoReport "
                               "parameters.")) from None
        if not isinstance(data, dict):
            raise BadRequest(_("The body must be a JSON object of GeoReport parameters."))
        items = [(str(k), ("true" if v else "false") if isinstance(v, bool) else str(v))
                 for k, v in data.items() if isinstance(v, (str, int, float, bool))]
    else:
        items = [(k, request.POST.get(k, "")) for k in request.POST]
    params = {}
    for key, value in items:
        if "\x00" in key or "\x00" in value:
            raise BadRequest(_("The request contains a NUL character, which no field may hold."))
        if value.strip() and not key.startswith("attribute"):
            params[key] = value.strip() if key != "description" else value
    if "jurisdiction_id" not in params and request.GET.get("jurisdiction_id", "").strip():
        params["jurisdiction_id"] = request.GET["jurisdiction_id"].strip()
    return params


def publish_of(params: dict[str, str]) -> bool:
    """``publish`` (an extension of the standard): whether the reporter agrees that the request
    appears in the public feed. Off unless said."""
    value = params.get("publish", "false").strip().lower()
    if value not in ("true", "false", "1", "0"):
        raise BadRequest(_("publish is true or false."))
    return value in ("true", "1")


def key_holder(params: dict[str, str]):
    key = params.get("api_key", "")
    if not key:
        raise PermissionDenied(_("api_key is missing: filing a request needs one."))
    user = token_user(key[:200])
    if user is None:
        raise PermissionDenied(_("Invalid api_key received: cannot create the request."))
    if not user_can(user, "request.file"):
        raise PermissionDenied(_("The account behind this api_key may not file requests."))
    return user


def _coordinate(params: dict[str, str], name: str) -> float | None:
    raw = params.get(name)
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise BadRequest(_("%(name)s is not a number.") % {"name": name})
    return value


def location_of(params: dict[str, str]) -> tuple[float | None, float | None]:
    lat, lon = _coordinate(params, "lat"), _coordinate(params, "long")
    if (lat is None) != (lon is None):
        raise BadRequest(_("lat and long must be sent together."))
    if lat is None and not params.get("address_string") and not params.get("address_id"):
        raise BadRequest(_("A location is required: lat and long, address_string or address_id."))
    return lat, lon


def place_of(user, county: Node, address_id: str | None):
    """Where the request is filed, and its household (see the module's rules)."""
    not_found = NotFound(_("jurisdiction_id %(id)s was not found.") % {"id": county.code})
    if is_resident_only(user):
        household = Household.objects.select_related("node").filter(pk=user.household_id).first()
        if household is None:
            raise BadRequest(_("Your account is not linked to a household."))
        if not household.node_path.startswith(county.path):
            raise not_found
        return household.node, household
    if address_id:
        node = Node.objects.filter(code=address_id[:18], path__startswith=county.path).first()
        if node is None or not allows_at(user, "request.file", node.path):
            raise NotFound(_("address_id %(id)s was not found.") % {"id": address_id[:18]})
        return node, None
    for root in scope_roots(user, "request.file"):
        if root.startswith(county.path):
            return Node.objects.get(path=root), None
        if county.path.startswith(root):
            return county, None
    raise not_found
