"""What Open311 reads: the jurisdiction, department names, public categories and the public
requests of a county (one query each)."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Prefetch
from django.utils import translation
from django.utils.translation import gettext as _

from tongxin.core.errors import NotFound
from tongxin.dispatch import selectors
from tongxin.dispatch.catalogue import DEPARTMENTS
from tongxin.dispatch.models import (
    Category,
    Request,
    RequestDepartment,
)
from tongxin.dispatch.open311.rendering import PUBLIC_LEVELS, BadRequest
from tongxin.grid.models import Department, Level, Node


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


def department_names(county: Node, codes: Iterable[str]) -> dict[str, str]:
    """Department code -> the jurisdiction's department name (the county's own before a
    township's), else the catalogue's name for it."""
    column = {"bo": 1, "en": 2}.get((translation.get_language() or "").split("-")[0], 0)
    found = {code: (names[column] or names[0]) for code, *names in DEPARTMENTS}
    for dept in (Department.objects.filter(node_path__startswith=county.path, code__in=[c for c in codes if c])
                 .order_by("-node_path")):
        found[dept.code] = dept.name
    return found


def public_category(code: str | None) -> Category:
    try:
        return selectors.category_get(code or "", include_private=False)
    except NotFound:
        raise NotFound(_("service_code %(code)s was not found.") % {"code": (code or "")[:40]}) from None


def public_requests(county: Node):
    """Every published request of a public category in the county (its reporter chose to
    publish it), with what its public fields need and nothing else: one query, plus one for
    the departments handling them. The reporter's words, the resolution and the rating
    comment are not even read."""
    return (Request.objects.filter(node_path__startswith=county.path, category__private=False, publish=True)
            .select_related("category", "handler_node")
            .defer("handler_node__boundary", "description", "resolution", "rating_comment")
            .prefetch_related(Prefetch("departments", queryset=RequestDepartment.objects.filter(active=True)
                                       .select_related("department").order_by("created_at")))
            .order_by("-created_at", "-id"))


def public_places(county: Node) -> dict[str, Node]:
    """The county's nodes a public answer may name, by path."""
    return {n.path: n for n in Node.objects.filter(path__startswith=county.path, level__in=PUBLIC_LEVELS)
            .only("path", "code", "level", "name_zh", "name_bo", "name_en")}
