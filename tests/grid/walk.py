"""The network's rows in the scope walk (see tests/walk.py)."""

from __future__ import annotations

from tests.walk import fresh


def _unit_code(side) -> str:
    return f"{side.grid.code}{500 + next(fresh) % 400:03d}"


def contribute(rows) -> None:
    rows.path_params["code"] = lambda s: s.grid.code
    rows.query_refs.update({"node": lambda s: s.grid.code, "parent": lambda s: s.grid.code})
    rows.query_plain["level"] = None
    rows.body_refs.update({"node", "parent"})
    rows.bodies.update({
        "POST /api/v1/nodes": lambda s: {"code": _unit_code(s), "level": "unit", "parent": s.grid.code,
                                         "name_zh": "新联户单元"},
        "PATCH /api/v1/nodes/{code}": lambda s: {"name_en": "Renamed by the walk"},
        "POST /api/v1/nodes/{code}/move": lambda s: {"parent": s.village.code},
    })
    rows.insiders.update({
        "POST /api/v1/nodes": "system_admin_t1",
        "PATCH /api/v1/nodes/{code}": "system_admin_t1",
        "POST /api/v1/nodes/{code}/move": "system_admin_t1",
    })
