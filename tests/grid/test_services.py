"""Writes to the network: creating nodes (validated), renaming, moving a subtree."""

from __future__ import annotations

import pytest

from tongxin.core import audit
from tongxin.core.actors import SYSTEM
from tongxin.core.errors import NotFound, ValidationFailed
from tongxin.core.models import AuditEntry
from tongxin.grid import services
from tongxin.grid.models import Level, Node
from tongxin.people.models import RoleAssignment
from tongxin.registry.models import Household, Resident


def _create(actor, **fields):
    return services.node_create(actor=actor, name_zh=fields.pop("name_zh", "新节点"), **fields)


@pytest.mark.parametrize("level, code", [
    (Level.TOWNSHIP, "540230"),           # county length
    (Level.TOWNSHIP, "5402301001"),       # one digit too many
    (Level.VILLAGE, "54023010020"),       # one too few
    (Level.GRID, "54023010020100A"),      # not digits
    (Level.UNIT, "540230100201001 01"),   # a space
    (Level.VILLAGE, "54023010020²"),      # isdigit() says yes, it is not a digit
    (Level.VILLAGE, "٥٤٠٢٣٠١٠٠٢٠٩"),      # Arabic-Indic digits
])
def test_code_length_and_digits_per_level(network, level, code):
    parent = {Level.TOWNSHIP: network.county, Level.VILLAGE: network.a.township, Level.GRID: network.a.village,
              Level.UNIT: network.a.grid}[level]
    before = Node.objects.count()
    with pytest.raises(ValidationFailed) as exc:
        _create(network.user("system_admin"), code=code, level=level, parent=parent)
    assert "code" in exc.value.fields
    assert Node.objects.count() == before


def test_a_duplicate_code_is_refused(network):
    with pytest.raises(ValidationFailed) as exc:
        _create(network.user("system_admin"), code=network.a.grid.code, level=Level.GRID, parent=network.a.village)
    assert "code" in exc.value.fields


@pytest.mark.parametrize("level, code, parent", [
    (Level.VILLAGE, "540230100209", "grid"),         # a village under a grid
    (Level.TOWNSHIP, "540230100", "township"),       # beside, not below
    (Level.GRID, "540230100201009", "township"),     # skips the village
    (Level.UNIT, "540230100201001009", "village"),   # skips the grid
    (Level.VILLAGE, "540230100209", None),           # below the county, a parent is needed
    (Level.COUNTY, "540231", "township"),            # above its parent's level
])
def test_level_order(network, level, code, parent):
    parent_node = {"grid": network.a.grid, "township": network.a.township, "village": network.a.village,
                   None: None}[parent]
    with pytest.raises(ValidationFailed) as exc:
        services.node_create(actor=SYSTEM, code=code, level=level, parent=parent_node, name_zh="x")
    assert "parent" in exc.value.fields


def test_unknown_level_and_empty_name(network):
    admin = network.user("system_admin")
    with pytest.raises(ValidationFailed) as exc:
        _create(admin, code="540230100201001009", level="hamlet", parent=network.a.grid)
    assert "level" in exc.value.fields
    with pytest.raises(ValidationFailed) as exc:
        _create(admin, code="540230100201001009", level=Level.UNIT, parent=network.a.grid, name_zh="   ")
    assert "name_zh" in exc.value.fields


def test_create_checks_scope_and_writes_one_audit_entry(network):
    entries = AuditEntry.objects.count()
    unit = _create(network.user("system_admin_t1"), code=f"{network.a.grid.code}009", level=Level.UNIT,
                   parent=network.a.grid)
    assert unit.path == network.a.grid.path + unit.code + "/"
    assert AuditEntry.objects.count() == entries + 1
    with pytest.raises(NotFound):  # township 2 is outside a township-1 administrator's scope
        _create(network.user("system_admin_t1"), code=f"{network.b.grid.code}009", level=Level.UNIT,
                parent=network.b.grid)
    with pytest.raises(NotFound):  # township staff have no node.change at all
        _create(network.user("township1_staff"), code=f"{network.a.grid.code}008", level=Level.UNIT,
                parent=network.a.grid)


def test_update_renames_and_refuses_other_fields(network):
    admin = network.user("system_admin")
    node = services.node_update(actor=admin, node=network.a.grid, name_en="Upper pasture", centre_lat=28.5)
    assert node.name_en == "Upper pasture" and node.centre_lat == 28.5
    with pytest.raises(ValidationFailed) as exc:
        services.node_update(actor=admin, node=network.a.grid, code="540230100201099")
    assert "code" in exc.value.fields
    with pytest.raises(ValidationFailed) as exc:
        services.node_update(actor=admin, node=network.a.grid, name_bo=None)
    assert "name_bo" in exc.value.fields
    with pytest.raises(ValidationFailed) as exc:
        services.node_update(actor=admin, node=network.a.grid, boundary={"type": "Circle"})
    assert "boundary" in exc.value.fields


def _paths_under(prefix: str) -> dict[str, list[str]]:
    return {
        "nodes": sorted(Node.objects.filter(path__startswith=prefix).values_list("path", flat=True)),
        "households": sorted(Household.objects.filter(node_path__startswith=prefix)
                             .values_list("node_path", flat=True)),
        "residents": sorted(Resident.objects.filter(node_path__startswith=prefix).values_list("node_path", flat=True)),
        "assignments": sorted(RoleAssignment.objects.filter(node_path__startswith=prefix)
                              .values_list("node_path", flat=True)),
    }


def test_move_carries_the_subtree_and_every_path_copy(network):
    grid, unit = network.a.grid, network.a.unit
    old_prefix = grid.path
    before = _paths_under(old_prefix)
    assert before["households"] and before["residents"] and before["assignments"]

    moved = services.node_move(actor=network.user("system_admin"), node=grid, new_parent=network.b.village)

    new_prefix = network.b.village.path + grid.code + "/"
    assert moved.path == new_prefix and moved.parent_id == network.b.village.pk
    assert Node.objects.get(pk=unit.pk).path == new_prefix + unit.code + "/"
    assert _paths_under(old_prefix) == {k: [] for k in before}
    after = _paths_under(new_prefix)
    assert after == {k: [new_prefix + p[len(old_prefix):] for p in v] for k, v in before.items()}
    assert Household.objects.get(pk=network.a.household.pk).node_path == new_prefix + unit.code + "/"
    entry = AuditEntry.objects.filter(action="node.move").get()
    assert entry.object_id == str(grid.pk) and "path" in entry.changes and "parent_id" in entry.changes


def test_move_is_one_transaction(network, monkeypatch):
    before = _paths_under("/")

    def broken(**kwargs):
        raise RuntimeError("audit log unavailable")

    monkeypatch.setattr(audit, "record", broken)
    with pytest.raises(RuntimeError):
        services.node_move(actor=network.user("system_admin"), node=network.a.grid, new_parent=network.b.village)
    assert _paths_under("/") == before


def test_move_refuses_loops_wrong_levels_and_out_of_scope(network):
    admin = network.user("system_admin")
    with pytest.raises(ValidationFailed):
        services.node_move(actor=admin, node=network.a.village, new_parent=network.a.grid)  # below itself
    with pytest.raises(ValidationFailed):
        services.node_move(actor=admin, node=network.a.grid, new_parent=network.b.township)  # skips a level
    with pytest.raises(NotFound):
        services.node_move(actor=network.user("system_admin_t1"), node=network.a.grid, new_parent=network.b.village)
    assert Node.objects.get(pk=network.a.grid.pk).path == network.a.grid.path


def test_department_create(network):
    admin = network.user("system_admin")
    dept = services.department_create(actor=admin, node=network.a.township, code="civil_affairs", name_zh="民政所")
    assert dept.node_path == network.a.township.path
    with pytest.raises(ValidationFailed) as exc:
        services.department_create(actor=admin, node=network.a.township, code="civil_affairs", name_zh="again")
    assert "code" in exc.value.fields
    with pytest.raises(ValidationFailed) as exc:
        services.department_create(actor=admin, node=network.a.village, code="water", name_zh="村水利")
    assert "node" in exc.value.fields
    with pytest.raises(NotFound):
        services.department_create(actor=network.user("township1_staff"), node=network.a.township, code="x",
                                   name_zh="x")
