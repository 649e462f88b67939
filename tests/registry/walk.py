"""The registry's rows in the scope walk (see tests/walk.py): households, residents, and a
resident's account linked to its household."""

from __future__ import annotations

import datetime as dt

from tests.factories import Factory, id_number
from tests.walk import fresh
from tongxin.people.roles import Role


def _new_resident(s) -> dict:
    birth = dt.date(1990, 5, 17)
    return {"household": str(s.household.pk), "name": "Lhamo", "sex": "F", "birth_date": birth.isoformat(),
            "id_number": id_number(birth, 500 + next(fresh) % 400)}


def _account(net, grid_side, filer, side) -> None:
    # A resident's account with its role at the unit, linked to no household.
    side.account = Factory().user(f"walk_resident_{grid_side.unit.code}", Role.RESIDENT, grid_side.unit)


def _link(world, s) -> None:
    from tongxin.registry import services

    services.user_household_link(actor=world.net.user("township1_staff"), user=s.account, household=s.household)


def contribute(rows) -> None:
    rows.path_params.update({
        "household_id": lambda s: str(s.household.pk),
        "resident_id": lambda s: str(s.resident.pk),
        "username": lambda s: s.account.username,
    })
    rows.body_refs.add("household")
    rows.bodies.update({
        "PUT /api/v1/users/{username}/household": lambda s: {"household": str(s.household.pk)},
        "POST /api/v1/households": lambda s: {"node": s.unit.code, "number": f"W{next(fresh):04d}",
                                              "address": "Walk Road 1"},
        "PATCH /api/v1/households/{household_id}": lambda s: {"address": "Walk Road 2"},
        "POST /api/v1/residents": _new_resident,
        "POST /api/v1/residents/search": lambda s: {"id_number": s.id_number},
        "PATCH /api/v1/residents/{resident_id}": lambda s: {"phone": "13800000000"},
        "POST /api/v1/households/{household_id}/anonymise": lambda s: {"reason": "Moved out of the county."},
    })
    rows.page_queries["registry:household_export"] = ("node",)
    rows.page_forms["registry:household_anonymise"] = {"reason": "Moved out of the county."}
    rows.prepare["DELETE /api/v1/users/{username}/household"] = _link
    rows.side_builders.append(_account)
