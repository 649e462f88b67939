"""The per-process reference cache (categories, nodes, staff): served outside transactions,
bypassed inside them, and forgotten at once when this process changes what it holds."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from tests.dispatch.support import build_net, ensure_categories, file_request, make_user
from tongxin.core import refcache
from tongxin.core.actors import SYSTEM
from tongxin.core.errors import NotFound
from tongxin.core.models import Notification
from tongxin.core.refcache import ReferenceCache
from tongxin.dispatch import selectors
from tongxin.dispatch.models import Category
from tongxin.grid import services as grid_services
from tongxin.grid.selectors import ancestor_at, node_cached
from tongxin.people.roles import Role
from tongxin.people.selectors import staff_at


@pytest.fixture
def catalogue_kept(django_db_blocker):
    """A transactional test ends with a flush that empties the catalogue: put it back after."""
    yield
    with django_db_blocker.unblock():
        ensure_categories()
    refcache.clear_all()


def _queries(fn):
    with CaptureQueriesContext(connection) as ctx:
        result = fn()
    return len(ctx.captured_queries), result


def test_inside_a_transaction_the_cache_is_bypassed(db):
    cache = ReferenceCache("test-bypass", models=("dispatch.Category",))
    loads = []
    assert connection.in_atomic_block  # the test's own transaction
    for _ in range(3):
        assert cache.get("k", lambda: loads.append(1) or len(loads)) == len(loads)
    assert loads == [1, 1, 1]


def test_outside_transactions_values_are_kept_until_this_process_changes_them(catalogue_kept, transactional_db):
    ensure_categories()
    refcache.clear_all()
    assert not connection.in_atomic_block
    first = _queries(lambda: selectors.category_get("water"))
    again = _queries(lambda: selectors.category_get("water"))
    assert first[0] == 1 and again[0] == 0
    assert again[1] == first[1] and again[1] is not first[1]  # a copy: no instance is shared between threads
    # An administrator switches the category off in this process: refused at once.
    water = Category.objects.get(code="water")
    water.active = False
    water.save()
    with pytest.raises(NotFound):
        selectors.category_get("water")
    water.active = True
    water.save()
    assert selectors.category_get("water").active


def test_a_change_that_rolls_back_leaves_nothing_cached(catalogue_kept, transactional_db):
    ensure_categories()
    refcache.clear_all()
    selectors.category_get("heating")
    try:
        with transaction.atomic():
            Category.objects.filter(code="heating").first().save()  # clears now and on commit
            raise RuntimeError("undo")
    except RuntimeError:
        pass
    count, category = _queries(lambda: selectors.category_get("heating"))
    assert count == 1 and category.active


def test_zero_seconds_turns_the_cache_off(catalogue_kept, transactional_db, settings):
    ensure_categories()
    settings.REFERENCE_CACHE_SECONDS = 0
    assert _queries(lambda: selectors.category_get("water"))[0] == 1
    assert _queries(lambda: selectors.category_get("water"))[0] == 1


def test_private_categories_stay_hidden_from_public_reads_through_the_cache(catalogue_kept, transactional_db):
    ensure_categories()
    refcache.clear_all()
    assert selectors.category_get("petition").private
    with pytest.raises(NotFound):
        selectors.category_get("petition", include_private=False)


def test_a_moved_node_is_read_afresh_under_its_new_path(catalogue_kept, transactional_db):
    net = build_net()
    refcache.clear_all()
    unit = net.units["a"]
    assert ancestor_at(unit, "village").pk == net.villages["a"].pk
    # Move grid a under village b through the service, as the system administrator would.
    admin = make_user("mover", Role.SYSTEM_ADMIN, net.county)
    grid_services.node_move(actor=admin, node=net.grids["a"], new_parent=net.villages["b"])
    unit.refresh_from_db()
    assert unit.path.startswith(net.villages["b"].path)
    assert node_cached(unit.pk, unit.path).path == unit.path
    assert ancestor_at(unit, "village").pk == net.villages["b"].pk
    # Filing at a household of the moved unit goes to village b's staff.
    net.households["a1"].refresh_from_db()
    request = file_request(net, category="housing_safety", household="a1")
    assert request.node_path == unit.path
    assert request.handler_node_id == net.villages["b"].pk


def test_new_staff_hear_of_the_next_request_at_once(catalogue_kept, transactional_db):
    net = build_net()
    refcache.clear_all()
    grid = net.grids["a"]
    before = {r.pk for r in staff_at(grid.pk, [Role.GRID_WORKER, Role.GRID_LEADER])}
    assert before == {net.users["grid_worker_a"].pk, net.users["grid_leader_a"].pk}
    assert _queries(lambda: staff_at(grid.pk, [Role.GRID_WORKER, Role.GRID_LEADER]))[0] == 0
    newcomer = make_user("newcomer", Role.GRID_WORKER, grid, language="bo")
    file_request(net, by="grid_worker_a", household="a1")
    told = Notification.objects.filter(kind="request.new", recipient=newcomer).get()
    assert told.language == "bo"


def test_get_many_loads_what_is_missing_at_once_and_keeps_it_outside_transactions(transactional_db):
    """A page of rows asks for many keys: one load for those the cache lacks, none once kept."""
    cache = ReferenceCache("test-many", models=("grid.Node",))
    cache.clear()
    loads: list[list] = []

    def load(keys):
        loads.append(sorted(keys))
        return {k: k * 10 for k in keys if k != 3}  # 3 has no value: answered without it

    assert not connection.in_atomic_block
    assert cache.get_many([1, 2, 3], load) == {1: 10, 2: 20}
    assert cache.get_many([2, 1, 4], load) == {1: 10, 2: 20, 4: 40}
    assert loads == [[1, 2, 3], [4]]
    assert cache.get_many([], load) == {} and len(loads) == 2
    grid_services.node_create(actor=SYSTEM, code="540230",
                              level="county", parent=None, name_zh="康马县")
    assert cache.get_many([1], load) == {1: 10} and loads[-1] == [1]  # a node changed: forgotten
    with transaction.atomic():  # inside a transaction: loaded every time, kept never
        cache.get_many([1], load)
        cache.get_many([1], load)
    assert loads[-2:] == [[1], [1]]
