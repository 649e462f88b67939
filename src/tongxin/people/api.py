from __future__ import annotations

from ninja import Router, Schema

from tongxin.core import idempotency
from tongxin.core.api import In, NotBlank, refuses
from tongxin.people import services

router = Router(tags=["auth"])


class TokenIn(In):
    username: str
    password: str
    otp: str | None = None


class TokenOut(Schema):
    token: str


@router.post("/auth/token", auth=None, response={200: TokenOut, **refuses(401, 403, 423)},
             summary="Log in and get a bearer token")
def token(request, payload: TokenIn):
    user = services.authenticate(username=payload.username, password=payload.password, otp=payload.otp)
    idempotency.never_store(request)  # a bearer token is never kept for replay
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


import uuid  # noqa: E402

from ninja import Field, Query  # noqa: E402

from tongxin.core.api import Page, paged  # noqa: E402
from tongxin.core.errors import NotFound  # noqa: E402
from tongxin.grid.models import Department  # noqa: E402
from tongxin.grid.selectors import node_get  # noqa: E402
from tongxin.people import selectors  # noqa: E402
from tongxin.people.models import Language, User  # noqa: E402
from tongxin.people.roles import Role  # noqa: E402


class StaffOut(Schema):
    id: uuid.UUID
    username: str
    full_name: str
    role: str
    node: str
    department: str | None

    @staticmethod
    def resolve_username(obj) -> str:
        return obj.user.username

    @staticmethod
    def resolve_full_name(obj) -> str:
        return obj.user.full_name

    @staticmethod
    def resolve_node(obj) -> str:
        return obj.node.code

    @staticmethod
    def resolve_department(obj) -> str | None:
        return obj.department.code if obj.department_id else None


class StaffPage(Page):
    items: list[StaffOut]


class StaffFilter(Schema):
    node: str | None = None
    role: Role | None = None
    limit: int = 100
    offset: int = 0


@router.get("/staff", response={200: StaffPage, **refuses(404)},
            summary="Role assignments at or below a node (the staff roster)")
def staff_list(request, filters: Query[StaffFilter]):
    node = node_get(actor=request.auth, code=filters.node) if filters.node else None
    qs = selectors.staff_list(actor=request.auth, node=node, role=filters.role)
    return paged(qs, filters.limit, filters.offset)


class UserIn(In):
    username: NotBlank = Field(max_length=150)
    password: str = Field(max_length=128)
    full_name: str = Field("", max_length=100)
    phone: str = Field("", max_length=32)
    preferred_language: Language = Language.ZH


class UserOut(Schema):
    id: uuid.UUID
    username: str
    full_name: str
    preferred_language: str


@router.post("/users", response={201: UserOut, **refuses(403)}, summary="Create an account (system administrator)")
def user_create(request, payload: UserIn):
    # The administrator chose the password: the new user chooses their own at the first login.
    return 201, services.user_create(actor=request.auth, must_change_password=True, **payload.dict())


class GrantIn(In):
    username: str = Field(max_length=150)
    role: Role
    node: str = Field(max_length=18)
    department: str | None = Field(None, max_length=40)


def _account(username: str) -> User:
    user = User.objects.filter(username=username).first()
    if user is None:
        raise NotFound()
    return user


@router.post("/role-assignments", response={201: StaffOut, **refuses(403, 404)},
             summary="Grant a role at a node (security administrator)")
def role_grant(request, payload: GrantIn):
    node = node_get(actor=request.auth, code=payload.node)
    user = _account(payload.username)
    department = None
    if payload.department:
        department = Department.objects.filter(node_path__in=node.ancestor_paths(), code=payload.department).first()
        if department is None:
            raise NotFound()
    return 201, services.role_grant(actor=request.auth, user=user, role=payload.role, node=node, department=department)


class UnlockOut(Schema):
    locks_lifted: int


@router.post("/users/{username}/unlock", response={200: UnlockOut, **refuses(404)},
             summary="Lift the login locks of an account (security administrator, audited)")
def login_unlock(request, username: str):
    return {"locks_lifted": services.login_lock_lift(actor=request.auth, user=_account(username))}


# --- revoking roles, the account lifecycle -------------------------------------------------

from tongxin.people.models import RoleAssignment  # noqa: E402


@router.delete("/role-assignments/{assignment_id}", response={200: StaffOut, **refuses(403, 404)},
               summary="Revoke a role (security administrator, within scope, never one's own)")
def role_revoke(request, assignment_id: uuid.UUID):
    assignment = (RoleAssignment.objects.visible_to(request.auth, "role.grant")
                  .select_related("user", "node", "department").filter(pk=assignment_id).first())
    if assignment is None:
        raise NotFound()
    services.role_revoke(actor=request.auth, assignment=assignment)
    return assignment


class AccountOut(Schema):
    id: uuid.UUID
    username: str
    full_name: str
    is_active: bool
    must_change_password: bool
    second_factor_set: bool

    @staticmethod
    def resolve_second_factor_set(obj) -> bool:
        return bool(obj.totp_secret and obj.totp_confirmed)


class PasswordResetOut(Schema):
    username: str
    password: str


@router.post("/users/{user_id}/password-reset", response={200: PasswordResetOut, **refuses(404)},
             summary="Reset a forgotten password (security administrator): a new one, shown once, "
                     "that the user replaces at the next login")
def password_reset(request, user_id: uuid.UUID):
    user = services.account_get(actor=request.auth, action="user.secure", user_id=user_id)
    return {"username": user.username, "password": services.password_reset(actor=request.auth, user=user)}


@router.post("/users/{user_id}/second-factor-reset", response={200: AccountOut, **refuses(404)},
             summary="Reset a lost second factor (security administrator): a new one is set up at the next login")
def second_factor_reset(request, user_id: uuid.UUID):
    user = services.account_get(actor=request.auth, action="user.secure", user_id=user_id)
    services.second_factor_reset(actor=request.auth, user=user)
    return user


@router.post("/users/{user_id}/deactivate", response={200: AccountOut, **refuses(404, 409)},
             summary="Deactivate an account: its sessions and tokens stop at once (security administrator)")
def user_deactivate(request, user_id: uuid.UUID):
    user = services.account_get(actor=request.auth, action="user.secure", user_id=user_id)
    services.user_set_active(actor=request.auth, user=user, active=False)
    return user


@router.post("/users/{user_id}/reactivate", response={200: AccountOut, **refuses(404, 409)},
             summary="Reactivate an account (security administrator)")
def user_reactivate(request, user_id: uuid.UUID):
    user = services.account_get(actor=request.auth, action="user.secure", user_id=user_id)
    services.user_set_active(actor=request.auth, user=user, active=True)
    return user


# --- one's own account: password, logout, sessions and tokens ---------------------------------

import datetime as dt  # noqa: E402


class PasswordIn(In):
    old_password: str = Field(max_length=128)
    new_password: str = Field(max_length=128)


@router.post("/auth/password", response={204: None, **refuses(403, 422)},
             summary="Change one's own password (the current one is required); other tokens stop working")
def password_change(request, payload: PasswordIn):
    user = request.auth
    services.password_change(user=user, old_password=payload.old_password, new_password=payload.new_password,
                             keep_token_digest=services.presenting_token_digest(user))
    return 204, None


@router.post("/auth/logout", response={204: None, **refuses(401)}, summary="Log out: this token stops working")
def logout(request):
    services.token_logout(user=request.auth)
    return 204, None


class TokenInfo(Schema):
    id: uuid.UUID
    created_at: dt.datetime
    last_used_at: dt.datetime
    current: bool


class TokenList(Schema):
    items: list[TokenInfo]
    count: int


@router.get("/auth/tokens", response=TokenList, summary="One's own API tokens")
def tokens(request):
    current = services.presenting_token_digest(request.auth)
    items = [{"id": t.pk, "created_at": t.created_at, "last_used_at": t.last_used_at, "current": t.digest == current}
             for t in services.tokens_of(user=request.auth)]
    return {"items": items, "count": len(items)}


@router.delete("/auth/tokens/{token_id}", response={204: None, **refuses(404)},
               summary="Revoke one of one's own API tokens")
def token_revoke(request, token_id: uuid.UUID):
    services.token_revoke(user=request.auth, token_id=token_id)
    return 204, None


class SessionInfo(Schema):
    id: str
    signed_in_at: dt.datetime | None
    last_seen_at: dt.datetime | None
    user_agent: str


class SessionList(Schema):
    items: list[SessionInfo]
    count: int


@router.get("/auth/sessions", response=SessionList, summary="One's own web sessions")
def sessions(request):
    items = [{"id": services.session_id(s), "signed_in_at": s.signed_in_at, "last_seen_at": s.last_seen_at,
              "user_agent": s.user_agent} for s in services.sessions_of(user=request.auth)]
    return {"items": items, "count": len(items)}


@router.delete("/auth/sessions/{session_id}", response={204: None, **refuses(404)},
               summary="End one of one's own web sessions")
def session_end(request, session_id: str):
    services.session_end(user=request.auth, public_id=session_id[:64])
    return 204, None
