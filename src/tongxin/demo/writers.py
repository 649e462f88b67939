"""Writing synthetic data: through the services one row at a time, or in bulk.

Rule: the bulk path makes exactly the rows and audit entries the services make.
It builds each row with the same validation (``registry.services.build_*``, the
network's code and parent checks), saves many rows with one ``bulk_create``, and
appends one audit entry per row, with the services' action names, through
``core.audit.record_many`` in the same transaction. tests/demo/test_seed.py
compares both paths field by field.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from tongxin.core import audit
from tongxin.core.actors import SYSTEM
from tongxin.core.errors import ValidationFailed
from tongxin.demo.families import HouseholdSpec
from tongxin.demo.plan import NodeSpec
from tongxin.grid import services as grid_services
from tongxin.grid.models import Department, Node
from tongxin.people import services as people_services
from tongxin.people.models import RoleAssignment, User
from tongxin.people.roles import Role
from tongxin.registry import services as registry_services
from tongxin.registry.models import Household, Resident

# Rows per INSERT: large enough that round trips do not count, small enough for
# SQLite's and PostgreSQL's statement limits.
BATCH_ROWS = 2000


# -- the network ---------------------------------------------------------------

def nodes_via_services(specs: Iterable[NodeSpec], *, known: dict[str, Node], actor=SYSTEM) -> list[Node]:
    made = []
    for s in specs:
        node = grid_services.node_create(
            actor=actor, code=s.code, level=s.level, parent=known[s.parent_code] if s.parent_code else None,
            name_zh=s.name_zh, name_bo=s.name_bo, name_en=s.name_en, centre_lat=s.lat, centre_lon=s.lon)
        known[s.code] = node
        made.append(node)
    return made


def nodes_bulk(specs: Iterable[NodeSpec], *, known: dict[str, Node], actor=SYSTEM) -> list[Node]:
    """Many nodes at once, checked as ``grid.services.node_create`` checks one."""
    made = []
    for s in specs:
        parent = known[s.parent_code] if s.parent_code else None
        grid_services._check_code(s.code, s.level)
        grid_services._check_parent(s.level, parent)
        if not s.name_zh.strip():
            raise ValidationFailed(fields={"name_zh": [_("A name is required.")]})
        node = Node(code=s.code, level=s.level, parent=parent, path=(parent.path if parent else "/") + s.code + "/",
                    name_zh=s.name_zh.strip(), name_bo=s.name_bo.strip(), name_en=s.name_en.strip(), boundary=None,
                    centre_lat=s.lat, centre_lon=s.lon)
        known[s.code] = node
        made.append(node)
    with transaction.atomic():
        Node.objects.bulk_create(made, batch_size=BATCH_ROWS)
        audit.record_many((audit.Change(action="node.create", actor=actor, obj=n) for n in made), link=True)
    return made


# -- staff -----------------------------------------------------------------------

@dataclass(frozen=True)
class StaffSpec:
    """One account and the role it holds at a node."""

    username: str
    full_name: str
    preferred_language: str
    role: str
    node: Node
    department: Department | None = None


def staff_via_services(specs: Iterable[StaffSpec], *, password_hash: str, actor=SYSTEM) -> list[User]:
    made = []
    for s in specs:
        user = people_services.user_create(actor=actor, username=s.username, password=None,
                                           password_hash=password_hash, full_name=s.full_name,
                                           preferred_language=s.preferred_language)
        people_services.role_grant(actor=actor, user=user, role=s.role, node=s.node, department=s.department)
        made.append(user)
    return made


def staff_bulk(specs: Sequence[StaffSpec], *, password_hash: str, actor=SYSTEM) -> list[User]:
    """Many accounts with their roles at once, checked as ``user_create`` and ``role_grant`` check one."""
    users, grants, changes = [], [], []
    for s in specs:
        username = (s.username or "").strip()
        if not username or len(username) > 150:
            raise ValidationFailed(fields={"username": [_("A user name of 1 to 150 characters is required.")]})
        if s.role not in Role.values:
            raise ValidationFailed(fields={"role": [_("Unknown role.")]})
        if s.role == Role.DEPARTMENT_OFFICER and s.department is None:
            raise ValidationFailed(fields={"department": [_("A department officer needs a department.")]})
        people_services.role_grant_check(role=s.role, node=s.node, held=set())  # a new account: its level only
        user = User(username=username, full_name=s.full_name, phone="", preferred_language=s.preferred_language,
                    password=password_hash)
        grant = RoleAssignment(user=user, role=s.role, node=s.node, node_path=s.node.path, department=s.department)
        users.append(user)
        grants.append(grant)
        changes.append(audit.Change(action="user.create", actor=actor, obj=user, after={"username": username}))
        changes.append(audit.Change(action="role.grant", actor=actor, obj=grant))
    with transaction.atomic():
        User.objects.bulk_create(users, batch_size=BATCH_ROWS)
        RoleAssignment.objects.bulk_create(grants, batch_size=BATCH_ROWS)
        audit.record_many(changes, link=True)
    return users


# -- households and residents ------------------------------------------------------

def households_via_services(specs: Iterable[HouseholdSpec], *, units: dict[str, Node], actor=SYSTEM) -> list[Household]:
    made = []
    for s in specs:
        household = registry_services.household_create(actor=actor, node=units[s.unit_code],
                                                       **s.fields)
        for member in s.members:
            registry_services.resident_create(actor=actor, household=household, **member)
        made.append(household)
    return made


def households_bulk(specs: Iterable[HouseholdSpec], *, units: dict[str, Node], actor=SYSTEM) -> tuple[int, int]:
    """Register many households and their members at once; answers (households, residents).

    The caller keeps batches to a few thousand households: the rows of one batch are
    held in memory and written in one transaction.
    """
    households, residents, changes = [], [], []
    for s in specs:
        household = registry_services.build_household(node=units[s.unit_code], **s.fields)
        households.append(household)
        changes.append(audit.Change(action="household.create", actor=actor, obj=household))
        for member in s.members:
            resident = registry_services.build_resident(household=household, **member)
            residents.append(resident)
            changes.append(audit.Change(action="resident.create", actor=actor, obj=resident))
    with transaction.atomic():
        Household.objects.bulk_create(households, batch_size=BATCH_ROWS)
        Resident.objects.bulk_create(residents, batch_size=BATCH_ROWS)
        audit.record_many(changes, link=True)
    return len(households), len(residents)
