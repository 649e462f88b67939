"""Visits (敲门行动) out to Excel: the visits in scope, under a place and in a round.

The visit pages draw the same declaration (dispatch.tables.VISITS)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from tongxin.core.errors import NotFound, parse_id
from tongxin.core.export import xlsx_response
from tongxin.core.tables import Filter, Listing, Sheet
from tongxin.core.views import page_view
from tongxin.dispatch import selectors
from tongxin.dispatch.tables import VISITS
from tongxin.grid import selectors as grid_selectors
from tongxin.people.permissions import user_can


@require_GET
@page_view
def visits_export(request):
    user = request.user
    if not user_can(user, "visit.view"):
        raise NotFound()
    code = (request.GET.get("node") or "").strip()[:18]
    node = grid_selectors.node_get(actor=user, code=code) if code else None
    round_id = (request.GET.get("round") or "").strip()
    filters = []
    if node is not None:
        filters.append(Filter(key="node", raw=node.code, label=_("Place"), shown=f"{node.name} ({node.code})"))
    if round_id:
        found = selectors.visit_rounds(actor=user).filter(pk=parse_id(round_id)).first()
        if found is None:
            raise NotFound()
        filters.append(Filter(key="round", raw=str(found.pk), label=_("Visit round"), shown=found.title))
    visits = (selectors.visit_list(actor=user, node=node, visit_round=round_id or None)
              .select_related("request").defer("node__boundary"))
    return xlsx_response(actor=user, listing=Listing(
        name=VISITS.name, title=VISITS.title, filters=filters, place=node.path if node else "",
        sheets=[Sheet(VISITS, visits.iterator(chunk_size=500))]))
