"""Each process keeps the role assignments it read under the account's roles stamp: every
change of assignments gives a new stamp in its own transaction, so a grant, a revocation or
a move of the network takes effect at once for every fresh read of the account, while a
request that reads an unchanged account asks nothing of the database for its roles."""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext

from tongxin.core.actors import SYSTEM
from tongxin.grid import services as grid_services
from tongxin.people import scope, services
from tongxin.people.models import RoleAssignment, User
from tongxin.people.roles import Role


def _role_reads(ctx) -> int:
    return sum(1 for q in ctx.captured_queries if RoleAssignment._meta.db_table in q["sql"]
               and q["sql"].lstrip().upper().startswith("SELECT"))


def test_an_unchanged_account_reads_its_roles_once_per_process(network):
    scope.assignments(network.user("grid_worker_a"))  # read and kept
    with CaptureQueriesContext(connection) as ctx:
        fresh = network.user("grid_worker_a")  # as every request loads the account
        assert scope.allows_at(fresh, "household.view", network.a.unit.path)
    assert _role_reads(ctx) == 0


def test_a_revocation_takes_effect_at_once_for_the_next_read_of_the_account(network):
    worker = network.user("grid_worker_a")
    assert scope.allows_at(worker, "household.view", network.a.unit.path)  # kept under the old stamp
    stamp = worker.roles_stamp
    assignment = RoleAssignment.objects.get(user=worker, role=Role.GRID_WORKER)
    services.role_revoke(actor=network.user("security_admin"), assignment=assignment)

    fresh = network.user("grid_worker_a")
    assert fresh.roles_stamp != stamp
    assert not scope.allows_at(fresh, "household.view", network.a.unit.path)
    assert scope.assignments(fresh) == ()


def test_a_grant_takes_effect_and_the_granting_object_sees_it(network):
    worker = network.user("grid_worker_b")
    assert not scope.allows_at(worker, "household.view", network.a.unit.path)
    services.role_grant(actor=network.user("security_admin"), user=worker, role=Role.GRID_WORKER,
                        node=network.a.grid)
    assert scope.allows_at(worker, "household.view", network.a.unit.path)
    assert scope.allows_at(network.user("grid_worker_b"), "household.view", network.a.unit.path)


def test_a_rolled_back_change_leaves_no_stamp_behind(network):
    from django.db import transaction

    worker = network.user("grid_worker_b")
    before = worker.roles_stamp
    try:
        with transaction.atomic():
            services.role_grant(actor=SYSTEM, user=worker, role=Role.GRID_WORKER, node=network.a.grid)
            assert scope.allows_at(network.user("grid_worker_b"), "household.view", network.a.unit.path)
            raise RuntimeError("undo")
    except RuntimeError:
        pass
    fresh = network.user("grid_worker_b")
    assert fresh.roles_stamp == before
    assert not scope.allows_at(fresh, "household.view", network.a.unit.path)


def test_moving_a_subtree_renews_the_stamps_of_those_who_serve_in_it(network):
    worker = network.user("grid_worker_a")
    assert scope.allows_at(worker, "household.view", network.a.grid.path)
    old_path = network.a.grid.path
    stamps = dict(User.objects.values_list("pk", "roles_stamp"))
    grid_services.node_move(actor=network.user("system_admin"), node=network.a.grid, new_parent=network.b.village)

    fresh = network.user("grid_worker_a")
    new_path = network.b.village.path + network.a.grid.code + "/"
    assert fresh.roles_stamp != stamps[fresh.pk]
    assert scope.allows_at(fresh, "household.view", new_path)
    assert not scope.allows_at(fresh, "household.view", old_path)
    # those serving elsewhere keep theirs
    assert network.user("grid_worker_b").roles_stamp == stamps[network.users["grid_worker_b"].pk]
