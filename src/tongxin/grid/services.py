"""Writes to the network: creating nodes and departments, renaming, moving a subtree."""

from __future__ import annotations

from django.apps import apps
from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Concat, Substr
from django.utils.translation import gettext_lazy as _

from tongxin.core import audit, clock
from tongxin.core.access import allows_at
from tongxin.core.errors import NotFound, ValidationFailed, refuse_empty
from tongxin.grid import selectors, signals
from tongxin.grid.models import CODE_LENGTH, LEVEL_ORDER, Department, Level, Node, NodeScoped


def _check_code(code: str, level: str) -> None:
    want = CODE_LENGTH[Level(level)]
    if not (code.isascii() and code.isdigit()) or len(code) != want:  # isdigit() alone takes "²" and "٣"
        raise ValidationFailed(fields={"code": [
            _("A %(level)s code is %(n)d digits.") % {"level": Level(level).label, "n": want}]})


def _check_parent(level: str, parent: Node | None) -> None:
    """Above the county a level may be skipped (a county directly under its region); from the
    township down each node sits right below the level above it, so that all children of a
    node share one level and one code length, as roll-ups need."""
    index = LEVEL_ORDER.index(Level(level))
    if index > LEVEL_ORDER.index(Level.COUNTY):
        if parent is None or parent.level != LEVEL_ORDER[index - 1]:
            raise ValidationFailed(fields={"parent": [_("A %(level)s sits right below a %(above)s.") % {
                "level": Level(level).label, "above": LEVEL_ORDER[index - 1].label}]})
        return
    if parent is not None and LEVEL_ORDER.index(Level(parent.level)) >= index:
        raise ValidationFailed(fields={"parent": [_("A node must sit below a node of a higher level.")]})


_GEOMETRIES = {"Polygon", "MultiPolygon", "Point", "LineString", "MultiLineString", "MultiPoint", "GeometryCollection"}


def check_boundary(boundary: dict | None) -> None:
    """A boundary is a GeoJSON geometry or Feature with coordinates."""
    if boundary is None:
        return
    geometry = boundary.get("geometry") if boundary.get("type") == "Feature" else boundary
    if not isinstance(geometry, dict) or geometry.get("type") not in _GEOMETRIES or (
            "coordinates" not in geometry and "geometries" not in geometry):
        raise ValidationFailed(fields={"boundary": [_("A boundary is a GeoJSON geometry or Feature.")]})


def node_create(*, actor, code: str, level: str, parent: Node | None, name_zh: str, name_bo: str = "",
                name_en: str = "", boundary: dict | None = None, centre_lat: float | None = None,
                centre_lon: float | None = None) -> Node:
    if level not in Level.values:
        raise ValidationFailed(fields={"level": [_("Unknown level.")]})
    _check_code(code, level)
    _check_parent(level, parent)
    path = (parent.path if parent else "/") + code + "/"
    if not allows_at(actor, "node.change", parent.path if parent else path):
        raise NotFound()
    if not name_zh.strip():
        raise ValidationFailed(fields={"name_zh": [_("A name is required.")]})
    check_boundary(boundary)
    with transaction.atomic():
        if Node.objects.filter(code=code).exists():
            raise ValidationFailed(fields={"code": [_("This code is already used.")]})
        node = Node.objects.create(code=code, level=level, parent=parent, path=path, name_zh=name_zh.strip(),
                                   name_bo=name_bo.strip(), name_en=name_en.strip(), boundary=boundary,
                                   centre_lat=centre_lat, centre_lon=centre_lon)
        audit.record(action="node.create", actor=actor, obj=node)
    return node


def node_update(*, actor, node: Node, **changes) -> Node:
    allowed = {"name_zh", "name_bo", "name_en", "boundary", "centre_lat", "centre_lon"}
    unknown = set(changes) - allowed
    if unknown:
        raise ValidationFailed(fields={k: [_("This field cannot be changed here.")] for k in unknown})
    if not allows_at(actor, "node.change", node.path):
        raise NotFound()
    refuse_empty(changes, nullable={"boundary", "centre_lat", "centre_lon"})
    check_boundary(changes.get("boundary"))
    if "name_zh" in changes and not (changes["name_zh"] or "").strip():
        raise ValidationFailed(fields={"name_zh": [_("A name is required.")]})
    with transaction.atomic():
        node = Node.objects.select_for_update().get(pk=node.pk)
        before = audit.snapshot(node)
        for key, value in changes.items():
            setattr(node, key, value)
        node.save()
        audit.record(action="node.update", actor=actor, obj=node, before=before)
    return node


def scoped_models() -> list[type[NodeScoped]]:
    return [m for m in apps.get_models() if issubclass(m, NodeScoped)]


def node_move(*, actor, node: Node, new_parent: Node) -> Node:
    """Move a subtree: the paths below it, and the path copies on every record, in one transaction."""
    if not (allows_at(actor, "node.change", node.path) and allows_at(actor, "node.change", new_parent.path)):
        raise NotFound()
    if new_parent.path.startswith(node.path):
        raise ValidationFailed(fields={"parent": [_("A node cannot move below itself.")]})
    _check_parent(node.level, new_parent)
    old, new = node.path, new_parent.path + node.code + "/"
    now = clock.now()
    with transaction.atomic():
        before = audit.snapshot(node)
        tail = Substr(F("path"), len(old) + 1)
        Node.objects.filter(path__startswith=old).update(path=Concat(Value(new), tail), updated_at=now)
        Node.objects.filter(pk=node.pk).update(parent=new_parent, updated_at=now)
        for model in scoped_models():
            model._default_manager.filter(node_path__startswith=old).update(
                node_path=Concat(Value(new), Substr(F("node_path"), len(old) + 1)), updated_at=now)
        node.refresh_from_db()
        selectors.node_cache.changed()  # the updates above send no signals
        signals.subtree_moved.send(sender=Node, old=old, new=new)
        audit.record(action="node.move", actor=actor, obj=node, before=before)
    return node


def department_create(*, actor, node: Node, code: str, name_zh: str, name_bo: str = "", name_en: str = "",
                      phone: str = "") -> Department:
    if node.level not in (Level.COUNTY, Level.TOWNSHIP):
        raise ValidationFailed(fields={"node": [_("Departments belong to a county or a township.")]})
    if not allows_at(actor, "department.change", node.path):
        raise NotFound()
    with transaction.atomic():
        if Department.objects.filter(node=node, code=code).exists():
            raise ValidationFailed(fields={"code": [_("This code is already used.")]})
        dept = Department.objects.create(node=node, node_path=node.path, code=code, name_zh=name_zh,
                                         name_bo=name_bo, name_en=name_en, phone=phone)
        audit.record(action="department.create", actor=actor, obj=dept)
    return dept
