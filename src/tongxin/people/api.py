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


@router.post("/auth/token", auth=None, response={200: TokenOut, **refuses(401, 423)},
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
    return 201, services.user_create(actor=request.auth, **payload.dict())


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
