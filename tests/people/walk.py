"""People's rows in the scope walk (see tests/walk.py)."""

from __future__ import annotations


def contribute(rows) -> None:
    rows.query_plain["role"] = None
    rows.bodies["POST /api/v1/role-assignments"] = lambda s: {"username": "newcomer", "role": "grid_worker",
                                                              "node": s.grid.code}
    rows.insiders["POST /api/v1/role-assignments"] = "security_admin_t1"
    rows.insiders["POST /api/v1/users/{username}/unlock"] = "security_admin_t1"
    rows.unscoped.update({
        "POST /api/v1/auth/token": "logging in names no object",
        "GET /api/v1/auth/me": "answers about the caller only",
        "POST /api/v1/users": "accounts sit at no node; only user.manage may create them (tested in people)",
    })
