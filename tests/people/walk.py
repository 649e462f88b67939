"""People's rows in the scope walk (see tests/walk.py)."""

from __future__ import annotations

from tests.walk import fresh
from tongxin.core.actors import SYSTEM
from tongxin.people import services
from tongxin.people.roles import Role

# The security administrator's operations on accounts and roles: township 1's security administrator
# plays "township 1"; a grid worker of grid A is an outsider to every one of them.
SECURITY = "security_admin_t1"
ACCOUNT_ROUTES = [
    "DELETE /api/v1/role-assignments/{assignment_id}",
    "POST /api/v1/users/{user_id}/password-reset",
    "POST /api/v1/users/{user_id}/second-factor-reset",
    "POST /api/v1/users/{user_id}/deactivate",
    "POST /api/v1/users/{user_id}/reactivate",
    "GET /accounts/<uuid:user_id>/",
    "GET /accounts/<uuid:user_id>/password-reset/",
    "GET /accounts/<uuid:user_id>/second-factor-reset/",
    "GET /accounts/<uuid:user_id>/deactivate/",
    "GET /accounts/<uuid:user_id>/reactivate/",
    "GET /role-assignments/<uuid:assignment_id>/revoke/",
]


def _account(net, s, filer, side) -> None:
    """An account holding a grid worker's role in this grid: what the security administrator acts on."""
    user = services.user_create(actor=SYSTEM, username=f"worker{next(fresh)}_{s.grid.code}", password=None)
    side.assignment = services.role_grant(actor=SYSTEM, user=user, role=Role.GRID_WORKER, node=s.grid)
    side.account = user


def _deactivated(world, side) -> None:
    from tongxin.people.models import User

    # Read afresh: the world's objects outlive each test's rolled-back writes.
    services.user_set_active(actor=SYSTEM, user=User.objects.get(pk=side.account.pk), active=False)


def contribute(rows) -> None:
    rows.page_queries["people:staff_export"] = ("node",)
    rows.query_plain["role"] = None
    rows.bodies["POST /api/v1/role-assignments"] = lambda s: {"username": "newcomer", "role": "grid_worker",
                                                              "node": s.grid.code}
    rows.insiders["POST /api/v1/role-assignments"] = SECURITY
    rows.side_builders.append(_account)
    rows.path_params["user_id"] = lambda s: str(s.account.pk)
    rows.path_params["assignment_id"] = lambda s: str(s.assignment.pk)
    for key in ACCOUNT_ROUTES:
        rows.insiders[key] = SECURITY
    rows.prepare["POST /api/v1/users/{user_id}/reactivate"] = _deactivated
    rows.prepare["GET /accounts/<uuid:user_id>/reactivate/"] = _deactivated
    rows.insiders["POST /api/v1/users/{username}/unlock"] = SECURITY
    rows.unscoped.update({
        "POST /api/v1/auth/token": "logging in names no object",
        "GET /api/v1/auth/me": "answers about the caller only",
        "POST /api/v1/users": "accounts sit at no node; only user.manage may create them (tested in people)",
        "POST /api/v1/auth/logout": "ends the presenting token only",
        "POST /api/v1/auth/password": "changes the caller's own password only",
        "GET /api/v1/auth/tokens": "lists the caller's own tokens only",
        "DELETE /api/v1/auth/tokens/{token_id}": "names the caller's own token; another's is 404 "
                                                 "(tests/people/test_lifecycle.py)",
        "GET /api/v1/auth/sessions": "lists the caller's own web sessions only",
        "DELETE /api/v1/auth/sessions/{session_id}": "names the caller's own session; another's is 404 "
                                                     "(tests/people/test_lifecycle.py)",
    })
