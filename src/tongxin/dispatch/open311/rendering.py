"""Rendering GeoReport v2 answers: JSON or XML, errors as GeoReport lists, and the public
shape of a service and of a request (nothing personal: fixed phrases, coarse places)."""

from __future__ import annotations

import datetime as dt
import json
import re
import xml.etree.ElementTree as ET

from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from tongxin.core.errors import ApplicationError
from tongxin.dispatch import rules
from tongxin.dispatch.models import (
    Category,
    Request,
    State,
    TimeUnit,
)
from tongxin.grid.models import Level, Node

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
FORMATS = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}
MAX_RESULTS = 1000
DEFAULT_SPAN = MAX_SPAN = dt.timedelta(days=90)
# Levels a public answer may name (DESIGN.md, "Public outputs": places are coarse, a
# township at most); villages, grids and household units are too small to name.
PUBLIC_LEVELS = (Level.COUNTY, Level.TOWNSHIP)
# A public point is rounded to two decimal places: about 1.1 km of latitude.
POINT_DECIMALS = 2
# XML list element -> the element of each item (the Spark convention's mapping).
ITEM_NAMES = {"services": "service", "service_requests": "request", "attributes": "attribute",
              "values": "value", "errors": "error", "endpoints": "endpoint", "formats": "format"}
# Service validation fields -> the GeoReport parameter the client sent.
PARAMETER_NAMES = {"category": "service_code", "lat": "lat", "lon": "long", "node": "address_id",
                   "description": "description"}
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
# A "+" in an unencoded query string arrives as a space: "…T08:00:00 08:00".
SPACE_FOR_PLUS = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?) (\d{2}:?\d{2})$")


class BadRequest(ApplicationError):
    """Anything the client must fix that is neither unknown (404) nor a key problem (403)."""

    status = 400
    code = "bad_request"


# --- rendering --------------------------------------------------------------------------


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return _XML_ILLEGAL.sub("", str(value))


def _xml_fill(element: ET.Element, value) -> None:
    if isinstance(value, dict):
        for key, child in value.items():
            _xml_fill(ET.SubElement(element, key), child)
    elif isinstance(value, list):
        item = ITEM_NAMES[element.tag]
        for child in value:
            _xml_fill(ET.SubElement(element, item), child)
    else:
        element.text = _text(value)


def render(fmt: str, root: str, body, *, status: int = 200) -> HttpResponse:
    """``body`` as JSON, or as XML under ``<root>`` (lists itemised per ``ITEM_NAMES``)."""
    if fmt == "xml":
        element = ET.Element(root)
        _xml_fill(element, body)
        content = b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(element, encoding="unicode").encode()
    else:
        content = json.dumps(body, ensure_ascii=False).encode()
    return HttpResponse(content, status=status, content_type=FORMATS.get(fmt, FORMATS["json"]))


def _descriptions(exc: ApplicationError) -> list[str]:
    if not exc.fields:
        return [str(exc.message)]
    found = []
    for field, messages in exc.fields.items():
        name = PARAMETER_NAMES.get(field)
        for message in messages if isinstance(messages, (list, tuple)) else [messages]:
            found.append(f"{name}: {message}" if name else str(message))
    return found


def error_response(fmt: str, exc: ApplicationError) -> HttpResponse:
    """The GeoReport error list: 404 unknown, 403 api_key, 400 everything else."""
    status = {404: 404, 401: 403, 403: 403, 405: 405}.get(exc.status, 400)
    body = [{"code": status, "description": d} for d in _descriptions(exc)]
    response = render(fmt, "errors", body, status=status)
    if status == 405:
        response["Allow"] = ", ".join(getattr(exc, "allow", ()))
    return response


def w3c(moment: dt.datetime | None) -> str | None:
    return timezone.localtime(moment).isoformat(timespec="seconds") if moment else None


def _span(amount: int, unit: str) -> str:
    if unit == TimeUnit.HOURS:
        return ngettext("%(n)d working hour", "%(n)d working hours", amount) % {"n": amount}
    return ngettext("%(n)d working day", "%(n)d working days", amount) % {"n": amount}


def service_notice(category: Category) -> str:
    """What the county promises for this kind of request (the category's deadlines)."""
    return _("Accepted within %(accept)s and resolved within %(resolve)s after acceptance.") % {
        "accept": _span(category.accept_within, category.accept_unit),
        "resolve": _span(category.resolve_within, category.resolve_unit)}


def service_out(category: Category, groups: dict[str, str]) -> dict:
    names = [category.name_zh, category.name_bo, category.name_en]
    return {
        "service_code": category.code,
        "service_name": category.name,
        "description": category.description,
        "metadata": False,
        "type": "realtime",
        "keywords": ", ".join(dict.fromkeys(n for n in names if n)),
        "group": groups.get(category.department_code, category.department_code),
    }


def _status(req: Request) -> str:
    return "open" if req.state in rules.OPEN_STATES else "closed"


def _status_notes(req: Request) -> str:
    """A fixed phrase per state: never a note, a resolution or a reason someone wrote."""
    return str(State(req.state).label)


def _public_place(path: str, places: dict[str, Node]) -> Node | None:
    """The nearest node at or above ``path`` that a public answer may name (see PUBLIC_LEVELS)."""
    parts = path.strip("/").split("/")
    for i in range(len(parts), 0, -1):
        node = places.get("/" + "/".join(parts[:i]) + "/")
        if node is not None:
            return node
    return None


def _agency(req: Request, places: dict[str, Node]) -> str:
    """Who handles it now (the one rule of ``rules.current_handlers``), as the public may read
    it: a department by name, a node coarsened to its township (never a village, grid or unit,
    whose names point at a handful of households)."""
    names: list[str] = []
    for handler in rules.current_handlers(req):
        if isinstance(handler, Node):
            handler = _public_place(handler.path, places) if handler.level not in PUBLIC_LEVELS else handler
            if handler is None:
                continue
        names.append(handler.name)
    return ", ".join(dict.fromkeys(names))


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, POINT_DECIMALS)


def _updated(req: Request) -> dt.datetime:
    if _status(req) == "closed":
        return req.closed_at or req.resolved_at or req.updated_at
    return req.updated_at


def request_out(req: Request, places: dict[str, Node], notices: dict[str, str]) -> dict:
    """The public fields of one request (GeoReport's order): the approved public description
    (never the reporter's words), a fixed phrase for the state, the township or department
    handling it, the place down to its township, and a point rounded to about a kilometre,
    only for a request not tied to a household."""
    parts = req.node_path.strip("/").split("/")
    named = [places[p] for p in ("/" + "/".join(parts[:i]) + "/" for i in range(len(parts), 0, -1)) if p in places]
    point = req.lat is not None and req.lon is not None and req.household_id is None
    category = req.category
    if category.code not in notices:
        notices[category.code] = service_notice(category)
    return {
        "service_request_id": req.number,
        "status": _status(req),
        "status_notes": _status_notes(req),
        "service_name": category.name,
        "service_code": category.code,
        "description": req.public_description or None,
        "agency_responsible": _agency(req, places),
        "service_notice": notices[category.code],
        "requested_datetime": w3c(req.created_at),
        "updated_datetime": w3c(_updated(req)),
        "expected_datetime": w3c(req.due),
        "address": ", ".join(n.name for n in named) or None,
        "address_id": named[0].code if named else None,
        "zipcode": None,
        "lat": _rounded(req.lat) if point else None,
        "long": _rounded(req.lon) if point else None,
        "media_url": None,
    }
