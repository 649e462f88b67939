"""Reads of the network: node lists, one node, and roll-ups in a constant number of queries."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tongxin.core.errors import NotFound
from tongxin.grid import selectors
from tongxin.grid.models import Level
from tongxin.people.roles import Role
from tongxin.registry import selectors as registry_selectors


def _figures(rollup) -> dict:
    return {"own": rollup.figures, **{row.code: row.figures for row in rollup.children}}


def test_county_rollup(network):
    rollup = selectors.node_rollup(actor=network.user("county_admin"), node=network.county)
    assert rollup.figures == {"households": 4, "residents": 8, "grid_workers": 2, "townships": 2, "villages": 2,
                              "grids": 4, "units": 4}
    assert [row.code for row in rollup.children] == [network.a.township.code, network.b.township.code]
    assert rollup.children[0].level == Level.TOWNSHIP
    assert rollup.children[0].figures == {"households": 2, "residents": 4, "grid_workers": 1, "townships": 0,
                                          "villages": 1, "grids": 2, "units": 2}


def test_township_and_grid_rollups(network, make):
    make.resident(network.a.household)  # a third member in grid A
    township = selectors.node_rollup(actor=network.user("township1_staff"), node=network.a.township)
    assert township.figures == {"households": 2, "residents": 5, "grid_workers": 1, "townships": 0, "villages": 1,
                                "grids": 2, "units": 2}
    assert [(r.code, r.figures["residents"], r.figures["grids"]) for r in township.children] == [
        (network.a.village.code, 5, 2)]
    grid = selectors.node_rollup(actor=network.user("grid_worker_a"), node=network.a.grid)
    assert grid.figures["households"] == 1 and grid.figures["residents"] == 3 and grid.figures["units"] == 1
    assert grid.figures["grid_workers"] == 1
    assert [(r.code, r.level, r.figures["residents"]) for r in grid.children] == [(network.a.unit.code, "unit", 3)]


def test_a_node_without_children_rolls_up_itself(network):
    rollup = selectors.node_rollup(actor=network.user("unit_head_a"), node=network.a.unit)
    assert rollup.children == []
    assert rollup.figures["households"] == 1 and rollup.figures["residents"] == 2


def test_node_get_is_scoped(network):
    worker = network.user("grid_worker_a")
    assert selectors.node_get(actor=worker, code=network.a.unit.code) == network.a.unit
    for code in (network.b.grid.code, network.a2.grid.code, network.a.village.code, "nonsense", "9" * 300):
        with pytest.raises(NotFound):
            selectors.node_get(actor=worker, code=code)


def test_node_list_filters(network):
    staff = network.user("township1_staff")
    grids = selectors.node_list(actor=staff, level=Level.GRID)
    assert [n.code for n in grids] == [network.a.grid.code, network.a2.grid.code]
    children = selectors.node_list(actor=staff, parent=network.a.village)
    assert [n.code for n in children] == [network.a.grid.code, network.a2.grid.code]
    assert list(selectors.node_list(actor=network.user("audit_admin"))) == []


def test_breadcrumb_shows_only_visible_ancestors(network):
    crumbs = selectors.ancestors_visible(actor=network.user("grid_worker_a"), node=network.a.unit)
    assert [n.code for n in crumbs] == [network.a.grid.code]


# --- query counts: constant whatever the size of the tree --------------------------------


def _grow(network, make, n: int) -> None:
    """More villages, grids, units, households, residents and grid workers in township 1."""
    for i in range(n):
        village = make.node(code=f"{network.a.township.code}{300 + i}", level=Level.VILLAGE,
                            parent=network.a.township)
        for g in range(2):
            grid = make.node(code=f"{village.code}00{g + 1}", level=Level.GRID, parent=village)
            make.user(f"grid_worker_{i}_{g}", Role.GRID_WORKER, grid)
            for u in range(2):
                unit = make.node(code=f"{grid.code}00{u + 1}", level=Level.UNIT, parent=grid)
                household = make.household(unit)
                make.resident(household)
                make.resident(household)


def _count(call) -> int:
    with CaptureQueriesContext(connection) as ctx:
        call()
    return len(ctx.captured_queries)


READS = {
    "county rollup": lambda net: selectors.node_rollup(actor=net.user("county_admin"), node=net.county),
    "township rollup": lambda net: selectors.node_rollup(actor=net.user("township1_staff"), node=net.a.township),
    "node list": lambda net: list(selectors.node_list(actor=net.user("township1_staff"))),
    "household list": lambda net: [h.node.code for h in
                                   registry_selectors.household_list(actor=net.user("township1_staff"))],
    "resident list": lambda net: [r.household_id for r in
                                  registry_selectors.resident_list(actor=net.user("township1_staff"))],
}


@pytest.mark.parametrize("read", sorted(READS))
def test_reads_run_a_constant_number_of_queries(network, make, django_assert_num_queries, read):
    small = _count(lambda: READS[read](network))
    _grow(network, make, 3)
    with django_assert_num_queries(small):
        READS[read](network)


API_READS = ["/api/v1/nodes/540230/rollup", "/api/v1/nodes/540230100/rollup", "/api/v1/nodes?limit=500",
             "/api/v1/households?limit=500", "/api/v1/residents?limit=500", "/api/v1/staff?limit=500"]


@pytest.mark.parametrize("path", API_READS)
def test_api_reads_run_a_constant_number_of_queries(network, make, api, django_assert_num_queries, path):
    client = api(network.user("county_admin") if "rollup" in path else network.user("system_admin")
                 if "staff" in path else network.user("township1_staff"))
    assert client.get(path).status_code == 200
    small = _count(lambda: client.get(path))
    _grow(network, make, 3)
    with django_assert_num_queries(small):
        response = client.get(path)
    assert response.status_code == 200
