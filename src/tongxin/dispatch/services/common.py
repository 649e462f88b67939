"""What the dispatch services share: deadlines from the category, the handlers to notify,
request numbers, and loading a request locked through the actor's scope."""

from __future__ import annotations

import datetime as dt
import uuid

from django.db.models import Prefetch

from tongxin.core import calendar
from tongxin.core.actors import Actor
from tongxin.core.notify import Recipient
from tongxin.core.workflow import Workflow
from tongxin.dispatch import rules
from tongxin.dispatch.models import Category, Request, RequestDepartment, TimeUnit, Urgency
from tongxin.grid.models import LEVEL_ORDER, Level, Node
from tongxin.grid.selectors import ancestor_at
from tongxin.people.roles import HANDLERS_AT
from tongxin.people.selectors import officers_of, staff_at


def accept_due(category: Category, start: dt.datetime, urgency: str, place: str | None = None) -> dt.datetime:
    """When a request of this category filed (or escalated) at ``start`` must be accepted, by the
    working calendar of its ``place`` (a node path: regional holidays count there)."""
    amount = category.accept_within
    if urgency == Urgency.URGENT and category.accept_unit == TimeUnit.HOURS:
        amount = max(1, amount // 2)
    return calendar.deadline(start, amount, category.accept_unit, place)


def resolve_due(category: Category, start: dt.datetime, place: str | None = None) -> dt.datetime:
    return calendar.deadline(start, category.resolve_within, category.resolve_unit, place)


def working_hours(start: dt.datetime, end: dt.datetime, place: str | None = None) -> float:
    """Office hours between two moments (working days and sessions of the official calendar)."""
    return calendar.working_hours_between(start, end, place)


def ancestor_or_self_at(node: Node, level: str) -> Node:
    """The node's ancestor (or itself) at ``level``; the node itself when it is above that level."""
    if LEVEL_ORDER.index(Level(node.level)) <= LEVEL_ORDER.index(Level(level)):
        return node
    return ancestor_at(node, level) or node


def number(node: Node, moment: dt.datetime) -> str:
    county = node.county_code if node.county_code != "_" else node.code[:6]
    return f"{county}-{moment.strftime('%y%m%d')}-{uuid.uuid4().hex[:6].upper()}"


def handlers_to_notify(request: Request) -> list[Recipient]:
    """The people who handle the request now (``rules.current_handlers``): officers of the
    departments that hold it, or the staff at its handling node."""
    departments = rules.lead_departments(request)
    if departments:
        return officers_of([d.department_id for d in departments])
    return staff_at(request.handler_node_id, HANDLERS_AT.get(Level(request.handler_level), []))


def link(request: Request) -> str:
    return f"/dispatch/requests/{request.pk}/"


def locked(actor: Actor, request: Request | uuid.UUID | str) -> Request:
    """The request (an instance or its id) read through the actor's scope and locked until
    commit, with its category, nodes and departments: everything the rules and the timeline
    ask. Missing or out of scope: 404.

    The row is locked bare first, then read with its joins: on PostgreSQL a locking read that
    joins, once it has waited for another transaction, checks the joins against the rows as
    they were, and would lose a request whose handling node that transaction changed."""
    pk = getattr(request, "pk", request)
    Workflow.lock(Request.objects.visible_to(actor, "request.view").only("pk"), pk)
    return (Request.objects.select_related("category", "handler_node", "node", "reporter")
            .defer("node__boundary", "handler_node__boundary")
            .prefetch_related(Prefetch("departments", queryset=RequestDepartment.objects
                                       .select_related("department").order_by("created_at")))
            .get(pk=pk))


def in_scope(actor: Actor, request: Request | uuid.UUID | str) -> None:
    """404 unless the request (an instance or its id) is in the actor's scope."""
    from tongxin.core.errors import NotFound

    pk = getattr(request, "pk", request)
    if not Request.objects.visible_to(actor, "request.view").filter(pk=pk).exists():
        raise NotFound()


def replace_departments(request: Request, rows: list[RequestDepartment]) -> None:
    """After a round of departments changed, what the rules read of them is the new round."""
    request._prefetched_objects_cache["departments"] = rows
