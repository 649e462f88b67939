from __future__ import annotations

from ninja import Router, Schema

from tongxin.core.api import In
from tongxin.people import services

router = Router(tags=["auth"])


class TokenIn(In):
    username: str
    password: str
    otp: str | None = None


class TokenOut(Schema):
    token: str


@router.post("/auth/token", auth=None, response=TokenOut, summary="Log in and get a bearer token")
def token(request, payload: TokenIn):
    user = services.authenticate(username=payload.username, password=payload.password, otp=payload.otp)
    return {"token": services.token_issue(user=user)}


class MeOut(Schema):
    username: str
    full_name: str
    preferred_language: str
    roles: list[dict]


@router.get("/auth/me", response=MeOut, summary="Who am I, and where")
def me(request):
    user = request.auth
    return {
        "username": user.username,
        "full_name": user.full_name,
        "preferred_language": user.preferred_language,
        "roles": [{"role": a.role, "node": a.node.code} for a in user.assignments.select_related("node")],
    }
