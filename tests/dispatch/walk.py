"""Dispatch's rows in the scope walk (see tests/walk.py): a request with a photo, a visit
round and a visit in every grid the walk uses.

The visit pages are walked with these rows and the network's: a round's page
(``round_id``), recording a visit (``household_id``, registry's row), coverage and planning
(``code``: the side's grid, the level a round is planned for). The pages that name no object
(``/today/``, ``/visits/``) start from the caller's own scope and are tried in
tests/web/test_visit_pages.py."""

from __future__ import annotations

import datetime as dt

from tests.walk import png
from tongxin.core import clock


def _objects(net, grid_side, filer, side) -> None:
    from tongxin.dispatch import services
    from tongxin.dispatch.selectors import category_get

    actor = net.user(filer)
    side.request, _ = services.request_file(actor=actor, category=category_get("water"), node=grid_side.grid,
                                            household=grid_side.household, description="No water since Monday.")
    side.attachment = services.request_attach(actor=actor, request=side.request, data=png())
    planner = net.user("township1_staff" if grid_side.township.code.endswith("100") else "township2_staff")
    side.visit_round = services.visit_round_plan(actor=planner, grid=grid_side.grid, title="Spring round",
                                                 starts_on=clock.today(),
                                                 ends_on=clock.today() + dt.timedelta(days=7))
    side.visit, _ = services.visit_record(actor=planner, household=grid_side.household, visited_on=clock.today(),
                                          visit_round=side.visit_round, findings="Roof needs repair.")


def _accept(world, s) -> None:
    from tongxin.dispatch import services

    services.request_accept(actor=world.net.user("township1_staff"), request=s.request)


def _resolve(world, s) -> None:
    """Handled by grid A's worker, so that township 1's staff (the insider) may then rate or
    reopen it for the resident: whoever handled a request may not (rules.is_reporter_side)."""
    from tongxin.dispatch import services

    worker = world.net.user("grid_worker_a")
    services.request_accept(actor=worker, request=s.request)
    services.request_resolve(actor=worker, request=s.request, resolution="Done.")


def _reject(world, s) -> None:
    """A household leaves the county only once its requests are closed (dispatch.services.retention)."""
    from tongxin.dispatch import services

    services.request_reject(actor=world.net.user("township1_staff"), request=s.request, reason="Moved away.")


def contribute(rows) -> None:
    rows.path_params.update({
        "request_id": lambda s: str(s.request.pk),
        "attachment_id": lambda s: str(s.attachment.pk),
        "visit_id": lambda s: str(s.visit.pk),
        "round_id": lambda s: str(s.visit_round.pk),
        "photo_id": lambda s: str(s.attachment.pk),
    })
    rows.page_plain["action"] = "accept"
    rows.page_forms["dispatch:act"] = {"note": "on my way"}
    rows.query_refs["round"] = lambda s: str(s.visit_round.pk)
    rows.query_plain.update({"state": None, "category": None, "department": None, "open": None, "overdue": None})
    rows.body_refs.add("round")
    today = lambda: clock.today().isoformat()  # noqa: E731
    rows.bodies.update({
        "POST /api/v1/requests": lambda s: {"category": "water", "node": s.grid.code,
                                            "household": str(s.household.pk),
                                            "description": "The spring pipe is frozen."},
        "POST /api/v1/requests/{request_id}/accept": lambda s: {"note": ""},
        "POST /api/v1/requests/{request_id}/start": lambda s: {"note": ""},
        "POST /api/v1/requests/{request_id}/escalate": lambda s: {"reason": "Needs the village.", "to": "next"},
        "POST /api/v1/requests/{request_id}/resolve": lambda s: {"resolution": "Pipe thawed and lagged."},
        "POST /api/v1/requests/{request_id}/reject": lambda s: {"reason": "Not a request."},
        "POST /api/v1/requests/{request_id}/rate": lambda s: {"rating": 5},
        "POST /api/v1/requests/{request_id}/reopen": lambda s: {"reason": "Frozen again."},
        "POST /api/v1/requests/{request_id}/attachments": lambda s: {"file": ("photo.png", png())},
        "POST /api/v1/requests/{request_id}/publish": lambda s: {"text": "Water supply fault."},
        "POST /api/v1/visit-rounds": lambda s: {"node": s.grid.code, "title": "Winter round", "starts_on": today(),
                                                "ends_on": (clock.today() + dt.timedelta(days=14)).isoformat()},
        "POST /api/v1/visits": lambda s: {"household": str(s.household.pk), "visited_on": today(),
                                          "round": str(s.visit_round.pk), "findings": "All well."},
    })
    # The lists' exports, filtered to a place (and a visit round): outside scope is 404.
    rows.page_queries.update({"dispatch:queue_export": ("node",), "dispatch:stats_export": ("node",),
                              "dispatch:visits_export": ("node", "round")})
    rows.page_unscoped["dispatch:inbox_export"] = ("the caller's own departments' inbox: it takes no place or "
                                                   "object, and lists only requests in the caller's scope")
    rows.unscoped["GET /api/v1/request-categories"] = "the public catalogue, the same for everyone"
    rows.prepare.update({
        "POST /api/v1/requests/{request_id}/start": _accept,
        "POST /api/v1/requests/{request_id}/resolve": _accept,
        "POST /api/v1/requests/{request_id}/rate": _resolve,
        "POST /api/v1/requests/{request_id}/reopen": _resolve,
        "POST /api/v1/households/{household_id}/anonymise": _reject,
        "GET /households/<str:household_id>/anonymise/": _reject,
    })
    rows.side_builders.append(_objects)
