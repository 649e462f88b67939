"""Web pages of the registry: the household list, one household, one resident.

Every page that shows personal data of named residents is audited like the API: a
resident's page through ``resident_view``, a household's through ``household_view``, each
page of the household list through ``list_shown``.
"""

from __future__ import annotations

import json

from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_POST

from tongxin.core import extensions
from tongxin.core.errors import NotFound
from tongxin.core.export import xlsx_response
from tongxin.core.tables import Filter, Listing, Sheet
from tongxin.core.views import export_link, page_view, paginate, wants_fragment
from tongxin.grid.selectors import ancestors_visible, node_get
from tongxin.people.permissions import user_can
from tongxin.people.scope import allows_at
from tongxin.registry import rights, selectors
from tongxin.registry.models import Household
from tongxin.registry.tables import HOUSEHOLDS, MEMBERS


def _place(user, node) -> list:
    """The breadcrumb of a record's node: the visible ancestors, and the node if visible."""
    trail = ancestors_visible(actor=user, node=node)
    if allows_at(user, "node.view", node.path):
        trail.append(node)
    return trail


def _households_filtered(request):
    if not user_can(request.user, "household.view"):
        raise NotFound()
    code = (request.GET.get("node") or "").strip()
    node = node_get(actor=request.user, code=code) if code else None
    q = (request.GET.get("q") or "").strip()[:100]
    return node, q, selectors.household_list(actor=request.user, node=node, search=q)


@page_view
def household_list(request):
    node, q, households = _households_filtered(request)
    page = paginate(request, households)
    selectors.list_shown(actor=request.user, model=Household, rows=page.items)
    context = {"node": node, "q": q, "page": page, "trail": _place(request.user, node) if node else [],
               "table": HOUSEHOLDS, "export_url": export_link(request, "registry:household_export")}
    if wants_fragment(request):
        # "more" appends rows to the table; the filter form replaces the whole result.
        template = ("registry/_household_rows.html" if request.htmx.target != "results"
                    else "registry/_household_results.html")
        return render(request, template, context)
    return render(request, "registry/household_list.html", context)


@require_GET
@page_view
def household_export(request):
    """The household list as filtered, every row, with the members of those households (masked
    as the reader is shown them), to Excel; audited as one export naming the list and filter."""
    node, q, households = _households_filtered(request)
    filters = [Filter(key="q", raw=q, label=_("Household number or head of household"))]
    if node is not None:
        filters.insert(0, Filter(key="node", raw=node.code, label=_("Place"), shown=f"{node.name} ({node.code})"))
    return xlsx_response(actor=request.user, listing=Listing(
        name=HOUSEHOLDS.name, title=HOUSEHOLDS.title, filters=filters, place=node.path if node else "",
        sheets=[Sheet(HOUSEHOLDS, households.iterator(chunk_size=500)),
                Sheet(MEMBERS, selectors.members_shown(actor=request.user, households=households))]))


@page_view
def household_detail(request, household_id: str):
    household, residents = selectors.household_view(actor=request.user, household_id=household_id)
    members = [
        # Masked here for everyone: the whole number is shown only on the resident's page. The
        # birth date only to those who may see the whole number (the others get the year).
        (resident, resident.id_number_masked, selectors.shown_birth_date(actor=request.user, resident=resident))
        for resident in residents
    ]
    return render(request, "registry/household_detail.html", {
        "household": household,
        "members": members,
        "trail": _place(request.user, household.node),
        "may_anonymise": household.anonymised_at is None and allows_at(request.user, "household.anonymise",
                                                                         household.node_path),
        # Staff call the household from its page (a resident is not offered to call themself).
        "may_call": bool(household.phone) and household.anonymised_at is None
        and allows_at(request.user, "household.view", household.node_path),
        # What the apps above the registry do for a household (record a visit, file a request …).
        "links": extensions.page_links("registry:household", request.user, household),
        "sections": extensions.page_sections("registry:household", request, household),
    })


@page_view
def resident_detail(request, resident_id: str):
    resident = selectors.resident_view(actor=request.user, resident_id=resident_id)
    return render(request, "registry/resident_detail.html", {
        "resident": resident,
        "id_number": selectors.shown_id_number(actor=request.user, resident=resident),
        "birth_date": selectors.shown_birth_date(actor=request.user, resident=resident),
        "trail": _place(request.user, resident.node),
        "may_export": allows_at(request.user, "resident.view_id", resident.node_path),
    })


# --- the rights of the people in the registry (registry.rights) ---------------------------------


def _download(content: bytes, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


@page_view
def resident_export_json(request, resident_id: str):
    """The resident's copy of their data (PIPL Art. 45), made by staff at their request."""
    data = rights.resident_export(actor=request.user, resident_id=resident_id)
    return _download(json.dumps(data, ensure_ascii=False, indent=2).encode(), "application/json",
                     f"resident-{data['resident']['id']}.json")


@page_view
def resident_export_pdf(request, resident_id: str):
    data = rights.resident_export(actor=request.user, resident_id=resident_id)
    return _download(rights.resident_export_pdf(data), "application/pdf", f"resident-{data['resident']['id']}.pdf")


@page_view
@require_POST
def household_anonymise(request, household_id: str):
    household = selectors.household_get(actor=request.user, household_id=household_id)
    rights.household_anonymise(actor=request.user, household=household, reason=request.POST.get("reason", ""))
    return redirect("registry:household", household_id=household.pk)
