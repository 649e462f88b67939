"""The dispatch centre's queue and map."""

from __future__ import annotations

import math

from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext
from django.views.decorators.http import require_GET

from tongxin.core import clock
from tongxin.core.errors import NotFound
from tongxin.core.export import xlsx_response
from tongxin.core.tables import Listing, Sheet
from tongxin.core.views import export_link, form_filters, page_view, paginate, wants_fragment
from tongxin.dispatch import selectors
from tongxin.dispatch.models import (
    State,
    Urgency,
)
from tongxin.dispatch.rules import WAITING
from tongxin.dispatch.tables import QUEUE
from tongxin.dispatch.views.common import (
    MAP_POINTS_MAX,
    _decorate,
    _may_watch,
    _place_choices,
    due_info,
    placed,
    polling,
    since_of,
)
from tongxin.dispatch.views.forms import QueueFilter, state_filter
from tongxin.grid import selectors as grid_selectors
from tongxin.grid.models import Node
from tongxin.grid.places import Places
from tongxin.people.permissions import user_can
from tongxin.people.scope import allows_at, scope_roots


def _queue_filtered(request):
    """The queue's filter form, its place, and the requests it selects (the page and its export alike)."""
    user = request.user
    form = QueueFilter(request.GET or None, user=user)
    form.is_valid()  # a field with a bad value is shown with its error and left out of the filter
    data = getattr(form, "cleaned_data", {})
    node = grid_selectors.node_get(actor=user, code=data["node"]) if data.get("node") else None
    search = (data.get("q") or "").strip()
    states = state_filter(data.get("state") or "", searching=bool(search))
    filters = dict(actor=user, node=node, category=data.get("category") or None,
                   department=data.get("department") or None, search=search,
                   filed_from=data.get("from"), filed_to=data.get("to"))
    requests = selectors.request_list(overdue=bool(data.get("overdue")), **states, **filters)
    requests = requests.defer("node__boundary", "handler_node__boundary", "description")
    if search:  # which household each found request is for, to tell namesakes apart
        requests = requests.select_related("household")
    return form, node, filters, requests, search, states, data


def _queue_context(request) -> dict:
    user = request.user
    form, node, filters, requests, search, states, data = _queue_filtered(request)
    page = paginate(request, requests)
    now = clock.now()
    since = since_of(request, now)
    _decorate(page.items, now)
    for r in placed(user, page.items):
        r.new = r.created_at > since or (r.state in WAITING and r.updated_at > since)
        r.household_shown = bool(search and r.household_id and allows_at(user, "household.view", r.node_path))
    if search:
        selectors.search_shown(actor=user, rows=page.items)
    overdue = selectors.request_list(overdue=True, **filters).count() if states.get("open_only") else None
    return {"form": form, "page": page, "node": node, "overdue_count": overdue, "now": now, "table": QUEUE,
            "searching": bool(search), "open_only": bool(states.get("open_only")),
            "every_state": bool(search) and not data.get("state"),
            "places": Places(user, [r.node for r in page.items]), **polling(request, since),
            "export_url": export_link(request, "dispatch:queue_export")}


@page_view
def queue(request):
    """指挥调度中心: open requests in scope, the earliest running deadline first."""
    if not _may_watch(request.user):
        raise NotFound()
    context = _queue_context(request)
    context["may_file"] = user_can(request.user, "request.file")
    if wants_fragment(request):
        return render(request, "dispatch/_queue_results.html", context)
    return render(request, "dispatch/queue.html", context)


@require_GET
@page_view
def queue_export(request):
    """The queue as shown, with its filters, to Excel (every row, not one page)."""
    if not _may_watch(request.user):
        raise NotFound()
    form, node, _filters, requests, _search, _states, _data = _queue_filtered(request)
    rows = placed(request.user, requests.iterator(chunk_size=500))
    listing = Listing(name=QUEUE.name, title=QUEUE.title, sheets=[Sheet(QUEUE, rows)],
                      filters=form_filters(form), place=node.path if node else "")
    return xlsx_response(actor=request.user, listing=listing)


# --- the map -----------------------------------------------------------------------------


def _spread(points: list[dict]) -> None:
    """Requests placed at the same node centre would hide each other: lay them on a small
    spiral around it (a few hundred metres), so each can be seen and tapped."""
    seen: dict[tuple[float, float], int] = {}
    for p in points:
        key = (round(p["lat"], 5), round(p["lon"], 5))
        i = seen.get(key, 0)
        seen[key] = i + 1
        if i:
            angle, radius = i * 2.39996, 0.0012 * math.sqrt(i)
            p["lat"] += radius * math.sin(angle)
            p["lon"] += radius * math.cos(angle) / max(0.2, math.cos(math.radians(p["lat"])))


def _centres(nodes: list[Node]) -> dict[str, tuple[float, float]]:
    """For nodes without a centre of their own, the nearest ancestor's centre (one query).
    Read past the scope on purpose: a place's centre says where a village is, not who lives
    there, and a grid worker's unit would otherwise have no position at all."""
    wanted = {path for n in nodes if n.centre_lat is None for path in n.ancestor_paths()}
    if not wanted:
        return {}
    return {n.path: (n.centre_lat, n.centre_lon) for n in Node.objects.filter(
        path__in=wanted, centre_lat__isnull=False, centre_lon__isnull=False).only("path", "centre_lat", "centre_lon")}


def _map_data(request, node: Node | None) -> dict:
    user = request.user
    now = clock.now()
    requests = list(selectors.request_list(actor=user, node=node, open_only=True)
                    .defer("node__boundary", "handler_node__boundary", "description")[:MAP_POINTS_MAX + 1])
    truncated = len(requests) > MAP_POINTS_MAX
    requests = requests[:MAP_POINTS_MAX]
    centres = _centres([r.node for r in requests])
    places = Places(user, [r.node for r in requests])
    points, unplaced = [], 0
    for r in requests:
        if r.lat is not None and r.lon is not None:
            lat, lon, approx = r.lat, r.lon, False
        elif r.node.centre_lat is not None and r.node.centre_lon is not None:
            lat, lon, approx = r.node.centre_lat, r.node.centre_lon, True
        else:
            found = next((centres[p] for p in reversed(r.node.ancestor_paths()) if p in centres), None)
            if found is None:
                unplaced += 1
                continue
            (lat, lon), approx = found, True
        due = due_info(r.due_at, now)
        points.append({
            "lat": lat, "lon": lon, "approx": approx, "number": r.number, "category": r.category.name,
            "place": places.text(r.node), "state": str(State(r.state).label), "urgent": r.urgency == Urgency.URGENT,
            "overdue": bool(due and due["overdue"]), "due": due["text"] if due else "",
            "url": reverse("dispatch:request", args=[r.pk]),
        })
    _spread(points)
    # Outlines: the place shown and the places just below it.
    if node is not None:
        outlined = [node]
    else:
        outlined = list(grid_selectors.node_list(actor=user).filter(path__in=scope_roots(user, "node.view")))
    children = list(grid_selectors.node_list(actor=user).filter(parent__in=outlined)) if outlined else []
    boundaries = [{"name": n.name, "level": n.level, "geometry": n.boundary}
                  for n in [*outlined, *children] if n.boundary]
    centre = next(((n.centre_lat, n.centre_lon) for n in outlined if n.centre_lat is not None), None)
    return {"points": points, "boundaries": boundaries, "centre": centre, "unplaced": unplaced,
            "truncated": truncated,
            "labels": {"open": gettext("Open the request"), "approx": gettext("placed at the centre of its place")}}


@page_view
def request_map(request):
    """Open requests on a plain background: place outlines and points, no internet tiles."""
    if not _may_watch(request.user):
        raise NotFound()
    code = (request.GET.get("node") or "").strip()
    node = grid_selectors.node_get(actor=request.user, code=code) if code else None
    data = _map_data(request, node)
    overdue = sum(1 for p in data["points"] if p["overdue"])
    return render(request, "dispatch/map.html", {
        "node": node, "map_data": data, "places": _place_choices(request.user),
        "shown": len(data["points"]), "overdue": overdue,
    })


