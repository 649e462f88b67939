from __future__ import annotations

from ninja import Query, Router, Schema

from tongxin.core.api import Page, paged
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


@router.get("/nodes", response=NodePage, summary="Nodes in scope")
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
