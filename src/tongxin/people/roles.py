"""The roles people hold at nodes, and the one table of what each role may do."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    COUNTY_ADMIN = "county_admin", _("county administrator")
    DISPATCH_OFFICER = "dispatch_officer", _("dispatch officer")
    DEPARTMENT_OFFICER = "department_officer", _("department officer")
    TOWNSHIP_STAFF = "township_staff", _("township staff")
    VILLAGE_STAFF = "village_staff", _("village staff")
    GRID_LEADER = "grid_leader", _("grid leader")  # 网格长
    GRID_WORKER = "grid_worker", _("grid worker")  # 网格员
    UNIT_HEAD = "unit_head", _("unit head")  # 联户长
    RESIDENT = "resident", _("resident")
    # 三权分立: the three separated administrators of MLPS level 3.
    SYSTEM_ADMIN = "system_admin", _("system administrator")
    SECURITY_ADMIN = "security_admin", _("security administrator")
    AUDIT_ADMIN = "audit_admin", _("audit administrator")


# Roles that must log in with a second factor (TOTP).
SECOND_FACTOR_ROLES = {Role.SYSTEM_ADMIN, Role.SECURITY_ADMIN, Role.AUDIT_ADMIN, Role.COUNTY_ADMIN}

_READ_REGISTRY = {"node.view", "household.view", "resident.view", "staff.view", "department.view"}
# household.link: link a resident's account to the household it belongs to (people.services.
# user_household_link). It opens that household's records to the account, so it is an action of
# its own, held by the staff who register households and know who lives in them.
_WORK_REGISTRY = _READ_REGISTRY | {"household.change", "resident.change", "household.link"}
# Requests (群众诉求): filing, seeing, handling (accept, escalate, resolve …), statistics.
_REQUESTS = {"request.file", "request.view", "request.handle", "visit.view", "visit.record", "dispatch.stats"}

# role -> actions. Scope (which records) is decided separately by people.scope; this
# table only says which kinds of action a role may take at all.
PERMISSIONS: dict[str, frozenset[str]] = {
    Role.COUNTY_ADMIN: frozenset(_READ_REGISTRY | {"request.view", "visit.view", "dispatch.stats"}),
    Role.DISPATCH_OFFICER: frozenset(_READ_REGISTRY | _REQUESTS | {"visit.plan", "category.view"}),
    Role.DEPARTMENT_OFFICER: frozenset({"node.view", "department.view", "request.view", "request.handle",
                                        "category.view"}),
    # household.anonymise: a household that left the county (registry.rights, PIPL Art. 47).
    Role.TOWNSHIP_STAFF: frozenset(_WORK_REGISTRY | _REQUESTS | {"resident.view_id", "visit.plan",
                                                                 "household.anonymise"}),
    Role.VILLAGE_STAFF: frozenset(_WORK_REGISTRY | _REQUESTS | {"resident.view_id", "visit.plan"}),
    Role.GRID_LEADER: frozenset(_WORK_REGISTRY | _REQUESTS | {"visit.plan"}),
    Role.GRID_WORKER: frozenset((_WORK_REGISTRY - {"staff.view"}) | _REQUESTS - {"dispatch.stats"}),
    Role.UNIT_HEAD: frozenset({"node.view", "household.view", "resident.view", "request.file", "request.view"}),
    # A resident's scope is their own household and requests, not their node (see people.scope).
    Role.RESIDENT: frozenset({"household.view", "resident.view", "request.file", "request.view", "request.rate"}),
    Role.SYSTEM_ADMIN: frozenset({"node.view", "node.change", "department.view", "department.change",
                                  "staff.view", "user.manage", "calendar.change", "category.change",
                                  "category.view"}),
    # user.secure: reset a password or a lost second factor, deactivate and reactivate accounts.
    Role.SECURITY_ADMIN: frozenset({"node.view", "staff.view", "role.grant", "login.unlock", "user.secure"}),
    Role.AUDIT_ADMIN: frozenset({"audit.view"}),
}

# The roles that handle requests at each level of the ladder (who is told of a new or
# escalated request there). Unit and grid share the grid's workers.
HANDLERS_AT: dict[str, list[str]] = {
    "unit": [Role.GRID_WORKER, Role.GRID_LEADER],
    "grid": [Role.GRID_WORKER, Role.GRID_LEADER],
    "village": [Role.VILLAGE_STAFF],
    "township": [Role.TOWNSHIP_STAFF],
    "county": [Role.DISPATCH_OFFICER],
}

# Actions a department officer holds only through their department (the model's
# ``department_scope``), never through the node their assignment sits at.
DEPARTMENT_SCOPED_ACTIONS = frozenset({"request.view", "request.handle"})

ALL_ACTIONS = frozenset().union(*PERMISSIONS.values())


def role_allows(role: str, action: str) -> bool:
    return action in PERMISSIONS.get(role, frozenset())


# --- who may hold what, and where (MLPS level 3, 三权分立) ----------------------------------

# The three separated administrators: nobody holds two of them, and none of them is held
# together with a role that sees personal data (else the system administrator who also holds
# township staff reads whole ID numbers).
ADMINISTRATOR_ROLES = frozenset({Role.SYSTEM_ADMIN, Role.SECURITY_ADMIN, Role.AUDIT_ADMIN})

# Actions that show or change the personal data of residents and of those who file requests.
PERSONAL_DATA_ACTIONS = frozenset({"household.view", "household.change", "household.link", "resident.view",
                                   "resident.view_id", "resident.change", "request.view", "request.file",
                                   "request.handle", "visit.view", "visit.record"})

# Every role whose actions include one of those.
PERSONAL_DATA_ROLES = frozenset(role for role, actions in PERMISSIONS.items() if actions & PERSONAL_DATA_ACTIONS)


def exclusive_with(role: str) -> frozenset[str]:
    """The roles a holder of ``role`` may not hold as well (at any node)."""
    if role in ADMINISTRATOR_ROLES:
        return (ADMINISTRATOR_ROLES - {role}) | PERSONAL_DATA_ROLES
    if role in PERSONAL_DATA_ROLES:
        return ADMINISTRATOR_ROLES
    return frozenset()


# The levels of node at which each role may be granted: a role acts for the level it serves.
_COUNTY_AND_ABOVE = frozenset({"region", "prefecture", "county"})
ROLE_LEVELS: dict[str, frozenset[str]] = {
    Role.COUNTY_ADMIN: _COUNTY_AND_ABOVE,
    Role.DISPATCH_OFFICER: _COUNTY_AND_ABOVE,
    Role.DEPARTMENT_OFFICER: _COUNTY_AND_ABOVE | {"township"},
    Role.TOWNSHIP_STAFF: frozenset({"township"}),
    Role.VILLAGE_STAFF: frozenset({"village"}),
    Role.GRID_LEADER: frozenset({"grid"}),
    Role.GRID_WORKER: frozenset({"grid"}),
    Role.UNIT_HEAD: frozenset({"unit"}),
    # A resident's node says where their account may be linked to a household (people.scope.
    # resident_paths): their unit, or a village or grid whose households they may belong to.
    Role.RESIDENT: frozenset({"village", "grid", "unit"}),
    Role.SYSTEM_ADMIN: _COUNTY_AND_ABOVE | {"township"},
    Role.SECURITY_ADMIN: _COUNTY_AND_ABOVE | {"township"},
    Role.AUDIT_ADMIN: _COUNTY_AND_ABOVE | {"township"},
}


def role_fits_level(role: str, level: str) -> bool:
    return level in ROLE_LEVELS.get(role, frozenset())
