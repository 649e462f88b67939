from __future__ import annotations

from ninja import Query, Router, Schema

from tongxin.core.api import NotBlank, Page, paged, refuses
from tongxin.grid import selectors
from tongxin.grid.models import Level

router = Router(tags=["network"])


class NodeOut(Schema):
    code: str
    level: str
    name: str
    name_zh: str
    name_bo: str
    name_en: str
    parent: str | None
    path: str
    centre_lat: float | None
    centre_lon: float | None

    @staticmethod
    def resolve_parent(obj) -> str | None:
        return obj.path.strip("/").split("/")[-2] if obj.parent_id else None


class NodeDetail(NodeOut):
    boundary: dict | None


class NodePage(Page):
    items: list[NodeOut]


class NodeFilter(Schema):
    level: Level | None = None
    parent: str | None = None
    limit: int = 100
    offset: int = 0


@router.get("/nodes", response={200: NodePage, **refuses(404)}, summary="Nodes in scope")
def node_list(request, filters: Query[NodeFilter]):
    parent = selectors.node_get(actor=request.auth, code=filters.parent) if filters.parent else None
    qs = selectors.node_list(actor=request.auth, level=filters.level, parent=parent)
    return paged(qs, filters.limit, filters.offset)


@router.get("/nodes/{code}", response=NodeDetail, summary="One node")
def node_detail(request, code: str):
    return selectors.node_get(actor=request.auth, code=code)


class RollupChild(Schema):
    code: str
    name: str
    level: str
    # Figures registered by the apps that keep the records (core.extensions.add_rollup_figure):
    households: int
    residents: int
    grid_workers: int
    townships: int
    villages: int
    grids: int
    units: int


class RollupOut(RollupChild):
    children: list[RollupChild]


@router.get("/nodes/{code}/rollup", response=RollupOut, summary="A node's figures and one entry per child")
def node_rollup(request, code: str):
    node = selectors.node_get(actor=request.auth, code=code)
    rollup = selectors.node_rollup(actor=request.auth, node=node)
    return {
        "code": node.code, "name": node.name, "level": node.level, **rollup.figures,
        "children": [{"code": r.code, "name": r.name, "level": r.level, **r.figures} for r in rollup.children],
    }


from typing import Any, Literal  # noqa: E402

from ninja import Field  # noqa: E402
from pydantic import BaseModel, ConfigDict  # noqa: E402

from tongxin.core.api import In  # noqa: E402
from tongxin.grid import services  # noqa: E402

GeometryType = Literal["Polygon", "MultiPolygon", "Point", "LineString", "MultiLineString", "MultiPoint",
                       "GeometryCollection"]


class _GeoJSON(BaseModel):
    model_config = ConfigDict(extra="allow")  # GeoJSON members beyond these are kept as sent


class Geometry(_GeoJSON):
    type: GeometryType
    coordinates: Any


class GeometryCollection(_GeoJSON):
    type: GeometryType
    geometries: Any


class Feature(_GeoJSON):
    type: Literal["Feature"]
    geometry: Geometry | GeometryCollection


# A node's boundary: a GeoJSON geometry (with coordinates, or geometries) or a Feature holding
# one; the shape grid.services.check_boundary() checks for the pages and the CLI.
Boundary = Geometry | GeometryCollection | Feature


class NodeIn(In):
    code: str = Field(max_length=18)
    level: Level
    parent: str | None = None
    name_zh: NotBlank = Field(max_length=100)
    name_bo: str = Field("", max_length=200)
    name_en: str = Field("", max_length=100)
    boundary: Boundary | None = None
    centre_lat: float | None = Field(None, ge=-90, le=90)
    centre_lon: float | None = Field(None, ge=-180, le=180)


@router.post("/nodes", response={201: NodeDetail, **refuses(404)}, summary="Create a node (system administrator)")
def node_create(request, payload: NodeIn):
    data = payload.dict()
    parent_code = data.pop("parent")
    parent = selectors.node_get(actor=request.auth, code=parent_code) if parent_code else None
    return 201, services.node_create(actor=request.auth, parent=parent, **data)


class NodePatch(In):
    name_zh: NotBlank | None = Field(None, max_length=100)
    name_bo: str | None = Field(None, max_length=200)
    name_en: str | None = Field(None, max_length=100)
    boundary: Boundary | None = None
    centre_lat: float | None = Field(None, ge=-90, le=90)
    centre_lon: float | None = Field(None, ge=-180, le=180)


@router.patch("/nodes/{code}", response=NodeDetail, summary="Rename a node or change its map data")
def node_update(request, code: str, payload: NodePatch):
    node = selectors.node_get(actor=request.auth, code=code)
    changes = payload.dict(exclude_unset=True)
    return services.node_update(actor=request.auth, node=node, **changes)


class MoveIn(In):
    parent: str = Field(max_length=18)


@router.post("/nodes/{code}/move", response=NodeDetail, summary="Move a node and everything below it")
def node_move(request, code: str, payload: MoveIn):
    node = selectors.node_get(actor=request.auth, code=code)
    parent = selectors.node_get(actor=request.auth, code=payload.parent)
    return services.node_move(actor=request.auth, node=node, new_parent=parent)
