"""Open311 GeoReport v2 (http://wiki.open311.org/GeoReport_v2) at ``/open311/v2/``.

Third-party apps list the request categories, file requests and follow them through the
open standard, in XML (``.xml``) and JSON (``.json``)::

    GET  discovery.{fmt}                      the Service Discovery document
    GET  services.{fmt}                       the public categories (services)
    GET  services/{service_code}.{fmt}        one service definition (no attributes)
    POST requests.{fmt}                       file a request (needs an api_key)
    GET  requests.{fmt}                       public list of requests
    GET  requests/{service_request_id}.{fmt}  one request (a list of one, as the standard has it)

Rules:

- **Public reads carry no personal information.** ``GET requests`` needs no key, so it shows
  only public fields: the category, the reporter's own description, the state, the place
  named down to its village (never the grid or household unit, whose codes and names can
  point at a handful of households), who handles it, deadlines, and the point (lat/long)
  only when one was given for a request not tied to a household. Reporter, phone,
  household, timeline notes and ratings never leave. Requests of private categories
  (petition, dispute mediation) are never listed and answer 404, like their service codes.
  This public feed is the one read that does not start from the scope function: nobody is
  signed in, and what it shows is public by construction (the fields above, one county).
- **Jurisdiction** is a county: ``jurisdiction_id`` is the county's division code (e.g.
  540230). It may be left out while the deployment has a single county; with several it
  is required (400). An unknown code, or a county the api_key holder may not file in, is 404.
- **Where a filed request belongs** (POST): a resident's key files at their household's unit
  (the household is attached; ``address_id`` is ignored, as the filing service does);
  any other key files at ``address_id`` when given — a node code inside the jurisdiction
  and inside the key holder's scope, else 404 — otherwise at the holder's top scope node
  in the jurisdiction (the first by code when there are several; the county when the
  holder's scope is above it). ``lat``/``long`` are kept as the request's point;
  ``address_string`` counts as the location the standard requires but is not stored (it
  is often a home address, and descriptions are public); ``email``, ``first_name``,
  ``last_name``, ``phone``, ``device_id``, ``account_id``, ``media_url`` and
  ``attribute[…]`` are accepted and not stored (no service definition has attributes).
  POST takes form-encoded bodies (the standard) or JSON. ``Idempotency-Key`` retries are
  replayed by the core middleware.
- **Limits:** ``GET requests`` answers the newest 1,000 requests (``MAX_RESULTS``) filed in
  the date range, which defaults to the last 90 days and may not span more than 90 days
  (the standard's numbers); ``service_request_id`` overrides every other filter.
- **Errors** are GeoReport error lists (``[{"code", "description"}]`` or ``<errors>``) with
  404 for anything unknown, 403 for a missing, invalid or unentitled api_key, 400 for
  everything else; the description is in the caller's language.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import json
import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable

from django.db.models import Max, OuterRef, Prefetch, Subquery
from django.http import HttpResponse
from django.utils import timezone, translation
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.csrf import csrf_exempt

from tongxin.core import clock, context
from tongxin.core.errors import ApplicationError, NotFound, PermissionDenied
from tongxin.dispatch import selectors, services, workflow
from tongxin.dispatch.catalogue import DEPARTMENTS
from tongxin.dispatch.models import (
    OPEN_STATES,
    Category,
    ReporterKind,
    Request,
    RequestDepartment,
    State,
    TimelineEntry,
    TimeUnit,
)
from tongxin.grid.models import Department, Level, Node
from tongxin.people.permissions import user_can
from tongxin.people.roles import Role
from tongxin.people.scope import allows_at, assignments, scope_roots
from tongxin.people.services import token_user
from tongxin.registry.models import Household

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
FORMATS = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}
MAX_RESULTS = 1000
DEFAULT_SPAN = MAX_SPAN = dt.timedelta(days=90)
# Levels a public answer may name; grids and household units are too small to name.
PUBLIC_LEVELS = (Level.COUNTY, Level.TOWNSHIP, Level.VILLAGE)
# XML list element -> the element of each item (the Spark convention's mapping).
ITEM_NAMES = {"services": "service", "service_requests": "request", "attributes": "attribute",
              "values": "value", "errors": "error", "endpoints": "endpoint", "formats": "format"}
# Service validation fields -> the GeoReport parameter the client sent.
PARAMETER_NAMES = {"category": "service_code", "lat": "lat", "lon": "long", "node": "address_id",
                   "description": "description"}
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
# A "+" in an unencoded query string arrives as a space: "…T08:00:00 08:00".
_SPACE_FOR_PLUS = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?) (\d{2}:?\d{2})$")


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


class _WrongMethod(ApplicationError):
    status = 405

    def __init__(self, allow: Iterable[str]):
        self.allow = tuple(allow)
        super().__init__(_("This address takes only %(methods)s.") % {"methods": ", ".join(self.allow)})


def georeport(*methods: str) -> Callable:
    """A GeoReport view: a known format (else 404), allowed methods (else 405), and every
    ``ApplicationError`` answered in the GeoReport error format."""

    allowed = set(methods) | ({"HEAD"} if "GET" in methods else set())

    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapper(request, *args, fmt: str, **kwargs):
            if fmt not in FORMATS:
                return error_response("json", NotFound(_("Unknown format “%(format)s”: use .xml or .json.") % {
                    "format": fmt}))
            try:
                if request.method not in allowed:
                    raise _WrongMethod(sorted(allowed))
                return view(request, *args, fmt=fmt, **kwargs)
            except ApplicationError as exc:
                return error_response(fmt, exc)

        return wrapper

    return decorate


def unknown(request, *args, **kwargs) -> HttpResponse:
    """Any other address under /open311/v2/."""
    return error_response("json", NotFound(_("There is no GeoReport v2 resource at this address.")))


def _w3c(moment: dt.datetime | None) -> str | None:
    return timezone.localtime(moment).isoformat(timespec="seconds") if moment else None


# --- jurisdiction and services ----------------------------------------------------------


def jurisdiction(jurisdiction_id: str | None) -> Node:
    """The county a call is about: named by its code, or the only county there is."""
    jurisdiction_id = (jurisdiction_id or "").strip()
    if jurisdiction_id:
        county = Node.objects.filter(code=jurisdiction_id[:18], level=Level.COUNTY).defer("boundary").first()
        if county is None:
            raise NotFound(_("jurisdiction_id %(id)s was not found.") % {"id": jurisdiction_id[:18]})
        return county
    counties = list(Node.objects.filter(level=Level.COUNTY).defer("boundary").order_by("path")[:2])
    if len(counties) > 1:
        raise BadRequest(_("jurisdiction_id was not provided: this endpoint serves several counties."))
    if not counties:
        raise NotFound(_("This endpoint serves no jurisdiction yet."))
    return counties[0]


def _span(amount: int, unit: str) -> str:
    if unit == TimeUnit.HOURS:
        return ngettext("%(n)d working hour", "%(n)d working hours", amount) % {"n": amount}
    return ngettext("%(n)d working day", "%(n)d working days", amount) % {"n": amount}


def service_notice(category: Category) -> str:
    """What the county promises for this kind of request (the category's deadlines)."""
    return _("Accepted within %(accept)s and resolved within %(resolve)s after acceptance.") % {
        "accept": _span(category.accept_within, category.accept_unit),
        "resolve": _span(category.resolve_within, category.resolve_unit)}


def _service(category: Category, groups: dict[str, str]) -> dict:
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


def _groups(county: Node, codes: Iterable[str]) -> dict[str, str]:
    """Department code -> the jurisdiction's department name (the county's own before a
    township's), else the catalogue's name for it."""
    column = {"bo": 1, "en": 2}.get((translation.get_language() or "").split("-")[0], 0)
    found = {code: (names[column] or names[0]) for code, *names in DEPARTMENTS}
    for dept in (Department.objects.filter(node_path__startswith=county.path, code__in=[c for c in codes if c])
                 .order_by("-node_path")):
        found[dept.code] = dept.name
    return found


@georeport("GET")
def discovery(request, *, fmt: str) -> HttpResponse:
    changed = Category.objects.aggregate(at=Max("updated_at"))["at"]
    changeset = _w3c(changed) or ""
    return render(fmt, "discovery", {
        "changeset": changeset,
        "contact": _("Ask the county's dispatch centre (指挥调度中心) for help with this API."),
        "key_service": _("An api_key is a token from POST /api/v1/auth/token, for an account that may file "
                         "requests; the county's security administrator grants accounts."),
        "endpoints": [{
            "specification": SPECIFICATION,
            "url": request.build_absolute_uri(request.path.rsplit("/", 1)[0]),
            "changeset": changeset,
            "type": "production",
            "formats": ["text/xml", "application/json"],
        }],
    })


@georeport("GET")
def service_list(request, *, fmt: str) -> HttpResponse:
    county = jurisdiction(request.GET.get("jurisdiction_id"))
    categories = list(selectors.category_list(include_private=False))
    groups = _groups(county, {c.department_code for c in categories})
    return render(fmt, "services", [_service(c, groups) for c in categories])


def _public_category(code: str | None) -> Category:
    try:
        return selectors.category_get(code or "", include_private=False)
    except NotFound:
        raise NotFound(_("service_code %(code)s was not found.") % {"code": (code or "")[:40]}) from None


@georeport("GET")
def service_definition(request, service_code: str, *, fmt: str) -> HttpResponse:
    jurisdiction(request.GET.get("jurisdiction_id"))
    category = _public_category(service_code)
    return render(fmt, "service_definition", {"service_code": category.code, "attributes": []})


# --- reading requests -------------------------------------------------------------------


def public_requests(county: Node):
    """Every request of a public category in the county, with what its public fields need:
    one query, plus one for the departments handling them."""
    latest = TimelineEntry.objects.filter(request=OuterRef("pk")).order_by("-id").values("action")[:1]
    return (Request.objects.filter(node_path__startswith=county.path, category__private=False)
            .select_related("category", "handler_node")
            .defer("handler_node__boundary", "rating_comment")
            .annotate(latest_action=Subquery(latest))
            .prefetch_related(Prefetch("departments", to_attr="active_departments",
                                       queryset=RequestDepartment.objects.filter(active=True)
                                       .select_related("department").order_by("created_at")))
            .order_by("-created_at", "-id"))


def _places(county: Node) -> dict[str, Node]:
    """The county's nodes a public answer may name, by path."""
    return {n.path: n for n in Node.objects.filter(path__startswith=county.path, level__in=PUBLIC_LEVELS)
            .only("path", "code", "level", "name_zh", "name_bo", "name_en")}


def _status(req: Request) -> str:
    return "open" if req.state in OPEN_STATES else "closed"


def _status_notes(req: Request) -> str:
    action = getattr(req, "latest_action", None) or ""
    step = workflow.TRANSITIONS.get(action)
    label = str(step.label) if step else str(workflow.NOTES.get(action, State(req.state).label))
    if _status(req) == "closed" and req.resolution:
        return _("%(step)s: %(text)s") % {"step": label, "text": req.resolution}
    return label


def _agency(req: Request) -> str:
    """Who handles it now: the lead departments while departments hold it, else the handling level."""
    departments = getattr(req, "active_departments", None)
    if departments is None:
        departments = list(req.departments.filter(active=True).select_related("department"))
    if req.state in (State.ESCALATED, State.ACCEPTED, State.IN_PROGRESS) and departments:
        lead = [d for d in departments if d.role == "lead"]
        return ", ".join(d.department.name for d in (lead or departments))
    return req.handler_node.name


def _updated(req: Request) -> dt.datetime:
    if _status(req) == "closed":
        return req.closed_at or req.resolved_at or req.updated_at
    return req.updated_at


def request_out(req: Request, places: dict[str, Node], notices: dict[str, str]) -> dict:
    """The public fields of one request (GeoReport's order)."""
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
        "description": req.description,
        "agency_responsible": _agency(req),
        "service_notice": notices[category.code],
        "requested_datetime": _w3c(req.created_at),
        "updated_datetime": _w3c(_updated(req)),
        "expected_datetime": _w3c(req.due),
        "address": ", ".join(n.name for n in named) or None,
        "address_id": named[0].code if named else None,
        "zipcode": None,
        "lat": req.lat if point else None,
        "long": req.lon if point else None,
        "media_url": None,
    }


def _render_requests(fmt: str, county: Node, reqs: list[Request], *, status: int = 200) -> HttpResponse:
    places = _places(county) if reqs else {}
    notices: dict[str, str] = {}
    return render(fmt, "service_requests", [request_out(r, places, notices) for r in reqs], status=status)


def _values(request, name: str) -> list[str]:
    """A parameter that may be repeated and comma-delimited."""
    return [v.strip() for raw in request.GET.getlist(name) for v in raw.split(",") if v.strip()]


def parse_w3c(value: str, name: str) -> dt.datetime:
    """A W3C date-time (2010-01-01T00:00:00Z, with an offset, or a bare date in local time)."""
    value = _SPACE_FOR_PLUS.sub(r"\1+\2", value.strip())
    try:
        moment = parse_datetime(value)
        if moment is None and (day := parse_date(value)) is not None:
            moment = dt.datetime.combine(day, dt.time.min)
    except ValueError:
        moment = None
    if moment is None:
        raise BadRequest(_("%(name)s is not a W3C date-time such as 2010-01-01T00:00:00Z.") % {"name": name})
    return timezone.make_aware(moment) if timezone.is_naive(moment) else moment


def _period(request) -> tuple[dt.datetime, dt.datetime]:
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


def _list(request, fmt: str) -> HttpResponse:
    county = jurisdiction(request.GET.get("jurisdiction_id"))
    qs = public_requests(county)
    numbers = _values(request, "service_request_id")
    if numbers:  # the standard: this overrides all other arguments
        qs = qs.filter(number__in=[n[:32] for n in numbers[:MAX_RESULTS]])
    else:
        statuses = set(_values(request, "status"))
        if statuses - {"open", "closed"}:
            raise BadRequest(_("status is open or closed (or both, comma-delimited)."))
        if statuses == {"open"}:
            qs = qs.filter(state__in=OPEN_STATES)
        elif statuses == {"closed"}:
            qs = qs.exclude(state__in=OPEN_STATES)
        codes = _values(request, "service_code")
        if codes:
            qs = qs.filter(category__code__in=[c[:40] for c in codes])
        since, until = _period(request)
        qs = qs.filter(created_at__gte=since, created_at__lte=until)
    return _render_requests(fmt, county, list(qs[:MAX_RESULTS]))


@georeport("GET")
def request_detail(request, service_request_id: str, *, fmt: str) -> HttpResponse:
    county = jurisdiction(request.GET.get("jurisdiction_id"))
    req = public_requests(county).filter(number=service_request_id[:32]).first()
    if req is None:
        raise NotFound(_("service_request_id %(id)s was not found.") % {"id": service_request_id[:32]})
    return _render_requests(fmt, county, [req])


# --- filing a request -------------------------------------------------------------------


def _parameters(request) -> dict[str, str]:
    """The POST parameters as text: form-encoded (the standard) or a JSON object. Empty
    values count as absent (the standard's "optional" rule); attributes are dropped."""
    if request.content_type == "application/json":
        try:
            data = json.loads(request.body or b"{}")
        except (ValueError, UnicodeDecodeError):
            raise BadRequest(_("The body is not valid JSON.")) from None
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


def _key_holder(params: dict[str, str]):
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


def _location(params: dict[str, str]) -> tuple[float | None, float | None]:
    lat, lon = _coordinate(params, "lat"), _coordinate(params, "long")
    if (lat is None) != (lon is None):
        raise BadRequest(_("lat and long must be sent together."))
    if lat is None and not params.get("address_string") and not params.get("address_id"):
        raise BadRequest(_("A location is required: lat and long, address_string or address_id."))
    return lat, lon


def _is_resident(user) -> bool:
    roles = {a.role for a in assignments(user)}
    return roles == {Role.RESIDENT}


def _place(user, county: Node, address_id: str | None):
    """Where the request is filed, and its household (see the module's rules)."""
    not_found = NotFound(_("jurisdiction_id %(id)s was not found.") % {"id": county.code})
    if _is_resident(user):
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


def _file(request, fmt: str) -> HttpResponse:
    params = _parameters(request)
    user = _key_holder(params)
    if "HTTP_ACCEPT_LANGUAGE" not in request.META:
        translation.activate(user.preferred_language)
    county = jurisdiction(params.get("jurisdiction_id"))
    if not params.get("service_code"):
        raise BadRequest(_("service_code was not provided."))
    lat, lon = _location(params)
    category = _public_category(params["service_code"])
    node, household = _place(user, county, params.get("address_id"))
    # Audit entries of this write say where it came from.
    token = context.bind(dataclasses.replace(context.current(), channel="open311"))
    try:
        req, _created = services.request_file(
            actor=user, category=category, node=node, description=params.get("description", ""), lat=lat, lon=lon,
            household=household,
            reporter_kind=ReporterKind.RESIDENT if household is not None else ReporterKind.GRID_WORKER)
    finally:
        context.reset(token)
    return render(fmt, "service_requests", [{"service_request_id": req.number,
                                             "service_notice": service_notice(category),
                                             "account_id": None}], status=201)


@csrf_exempt  # called by other systems with an api_key, never with a browser session
@georeport("GET", "POST")
def service_requests(request, *, fmt: str) -> HttpResponse:
    if request.method == "POST":
        return _file(request, fmt)
    return _list(request, fmt)
