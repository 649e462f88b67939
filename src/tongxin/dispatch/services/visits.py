"""Door-knocking visits (敲门行动): planning a round for a grid, recording a visit (a finding
may open a request in the same step, and a client id makes a retry harmless)."""

from __future__ import annotations

import datetime as dt
import uuid

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from tongxin.core import audit, clock
from tongxin.core.actors import Actor
from tongxin.core.errors import Conflict, NotFound, ValidationFailed
from tongxin.dispatch.models import ReporterKind, Urgency, Visit, VisitRound
from tongxin.dispatch.services.filing import request_file
from tongxin.grid.models import Level, Node
from tongxin.people.scope import allows_at
from tongxin.registry.models import Household


def visit_round_plan(*, actor: Actor, grid: Node, title: str, starts_on: dt.date, ends_on: dt.date) -> VisitRound:
    if grid.level != Level.GRID:
        raise ValidationFailed(fields={"node": [_("Visit rounds are planned per grid.")]})
    if not allows_at(actor, "visit.plan", grid.path):
        raise NotFound()
    if ends_on < starts_on:
        raise ValidationFailed(fields={"ends_on": [_("The round must end after it starts.")]})
    if not (title or "").strip():
        raise ValidationFailed(fields={"title": [_("A title is required.")]})
    with transaction.atomic():
        visit_round = VisitRound.objects.create(node=grid, node_path=grid.path, title=title.strip(),
                                                starts_on=starts_on, ends_on=ends_on, planned_by=actor)
        audit.record(action="visit_round.plan", actor=actor, obj=visit_round)
    return visit_round


def visit_record(*, actor: Actor, household: Household, visited_on: dt.date, findings: str = "",
                 follow_up: bool = False,
                 visit_round: VisitRound | None = None, open_request: dict | None = None,
                 client_id: uuid.UUID | None = None) -> tuple[Visit, bool]:
    """Record a visit; a finding can open a request in the same step (``open_request``:
    ``{"category": Category, "description": str, "urgency": str}``)."""
    if client_id is not None:
        existing = Visit.objects.filter(pk=client_id).first()
        if existing is not None:
            if existing.worker_id != getattr(actor, "pk", None):
                raise Conflict(_("This id is already used by another visit."), code="id_taken")
            return existing, False
    if not allows_at(actor, "visit.record", household.node_path):
        raise NotFound()
    if visited_on > clock.today():
        raise ValidationFailed(fields={"visited_on": [_("A visit cannot be in the future.")]})
    if visit_round is not None and not household.node_path.startswith(visit_round.node_path):
        raise ValidationFailed(fields={"round": [_("The household is not in this round's grid.")]})
    with transaction.atomic():
        fields = dict(node_id=household.node_id, node_path=household.node_path, round=visit_round,
                      household=household, worker=actor, visited_on=visited_on, findings=(findings or "").strip(),
                      follow_up=follow_up or bool(open_request))
        if client_id is not None:
            fields["id"] = client_id
        visit = Visit.objects.create(**fields)
        audit.record(action="visit.record", actor=actor, obj=visit)
        if open_request:
            request, _created = request_file(
                actor=actor, category=open_request["category"], node=household.node, household=household,
                description=open_request.get("description") or findings, reporter_kind=ReporterKind.VISIT,
                urgency=open_request.get("urgency", Urgency.NORMAL))
            visit.request = request
            visit.save(update_fields=["request"])
    return visit, True

