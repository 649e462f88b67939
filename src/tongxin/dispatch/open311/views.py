"""The GeoReport v2 endpoints: discovery, services, requests (read, and file with an api_key)."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Iterable

from django.db.models import Max
from django.http import HttpResponse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from tongxin.core import context
from tongxin.core.errors import ApplicationError, NotFound
from tongxin.dispatch import rules, selectors, services
from tongxin.dispatch.models import (
    Category,
    ReporterKind,
    Request,
)
from tongxin.dispatch.open311.parsing import (
    key_holder,
    location_of,
    parameters_of,
    period_of,
    place_of,
    publish_of,
    values_of,
)
from tongxin.dispatch.open311.rendering import (
    FORMATS,
    MAX_RESULTS,
    SPECIFICATION,
    BadRequest,
    error_response,
    render,
    request_out,
    service_notice,
    service_out,
    w3c,
)
from tongxin.dispatch.open311.selectors import (
    department_names,
    jurisdiction,
    public_category,
    public_places,
    public_requests,
)
from tongxin.grid.models import Node


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


@georeport("GET")
def discovery(request, *, fmt: str) -> HttpResponse:
    changed = Category.objects.aggregate(at=Max("updated_at"))["at"]
    changeset = w3c(changed) or ""
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
    groups = department_names(county, {c.department_code for c in categories})
    return render(fmt, "services", [service_out(c, groups) for c in categories])


@georeport("GET")
def service_definition(request, service_code: str, *, fmt: str) -> HttpResponse:
    jurisdiction(request.GET.get("jurisdiction_id"))
    category = public_category(service_code)
    return render(fmt, "service_definition", {"service_code": category.code, "attributes": []})


def _render_requests(fmt: str, county: Node, reqs: list[Request], *, status: int = 200) -> HttpResponse:
    places = public_places(county) if reqs else {}
    notices: dict[str, str] = {}
    return render(fmt, "service_requests", [request_out(r, places, notices) for r in reqs], status=status)


def _list(request, fmt: str) -> HttpResponse:
    county = jurisdiction(request.GET.get("jurisdiction_id"))
    qs = public_requests(county)
    numbers = values_of(request, "service_request_id")
    if numbers:  # the standard: this overrides all other arguments
        qs = qs.filter(number__in=[n[:32] for n in numbers[:MAX_RESULTS]])
    else:
        statuses = set(values_of(request, "status"))
        if statuses - {"open", "closed"}:
            raise BadRequest(_("status is open or closed (or both, comma-delimited)."))
        if statuses == {"open"}:
            qs = qs.filter(state__in=rules.OPEN_STATES)
        elif statuses == {"closed"}:
            qs = qs.exclude(state__in=rules.OPEN_STATES)
        codes = values_of(request, "service_code")
        if codes:
            qs = qs.filter(category__code__in=[c[:40] for c in codes])
        since, until = period_of(request)
        qs = qs.filter(created_at__gte=since, created_at__lte=until)
    return _render_requests(fmt, county, list(qs[:MAX_RESULTS]))


@georeport("GET")
def request_detail(request, service_request_id: str, *, fmt: str) -> HttpResponse:
    county = jurisdiction(request.GET.get("jurisdiction_id"))
    req = public_requests(county).filter(number=service_request_id[:32]).first()
    if req is None:
        raise NotFound(_("service_request_id %(id)s was not found.") % {"id": service_request_id[:32]})
    return _render_requests(fmt, county, [req])


def _file(request, fmt: str) -> HttpResponse:
    params = parameters_of(request)
    user = key_holder(params)
    if "HTTP_ACCEPT_LANGUAGE" not in request.META:
        translation.activate(user.preferred_language)
    county = jurisdiction(params.get("jurisdiction_id"))
    if not params.get("service_code"):
        raise BadRequest(_("service_code was not provided."))
    lat, lon = location_of(params)
    publish = publish_of(params)
    category = public_category(params["service_code"])
    node, household = place_of(user, county, params.get("address_id"))
    # Audit entries of this write say where it came from.
    token = context.bind(dataclasses.replace(context.current(), channel="open311"))
    try:
        req, _created = services.request_file(
            actor=user, category=category, node=node, description=params.get("description", ""), lat=lat, lon=lon,
            household=household, publish=publish,
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
