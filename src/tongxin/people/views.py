"""Web pages about people: logging in (with the second factor), logging out, the staff roster,
one's own account (password, sessions, tokens) and the administrators' account pages.

Rule of the login: name, password and (for administrators) the code are given in one form and
answered alike whichever part was wrong. Only an account that must still enrol its second factor
gets a second step: between the two the session keeps only the id of the user whose password was
verified, when, and how many codes were tried, never the password. The pending step expires
after a few minutes and after a few wrong codes, and the password must be given again.
"""

from __future__ import annotations

import segno
from django.contrib import messages
from django.contrib.auth import get_user_model, update_session_auth_hash
from django.contrib.auth import login as auth_login
from django.contrib.auth import logout as auth_logout
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_POST

from tongxin.core import clock
from tongxin.core.errors import (
    Conflict,
    Locked,
    NotAuthenticated,
    NotFound,
    PermissionDenied,
    ValidationFailed,
    parse_id,
)
from tongxin.core.export import xlsx_response
from tongxin.core.tables import Filter, Listing, Sheet
from tongxin.core.views import export_link, page_view, paginate
from tongxin.grid.models import Department
from tongxin.grid.selectors import ancestors_visible, node_get
from tongxin.people import selectors, services
from tongxin.people.models import Language, RoleAssignment
from tongxin.people.permissions import user_can
from tongxin.people.roles import Role
from tongxin.people.tables import STAFF

PENDING = "tongxin_login_pending"
PENDING_SECONDS = 5 * 60
MAX_CODE_TRIES = 5


def _safe_next(request, candidate: str | None) -> str:
    if candidate and url_has_allowed_host_and_scheme(candidate, allowed_hosts={request.get_host()},
                                                     require_https=request.is_secure()):
        return candidate
    return reverse("core:home")


def _pending(request) -> dict | None:
    pending = request.session.get(PENDING)
    if not pending:
        return None
    if clock.now().timestamp() - pending.get("at", 0) > PENDING_SECONDS:
        request.session.pop(PENDING, None)
        return None
    return pending


def _pending_user(pending: dict):
    return get_user_model()._default_manager.filter(pk=pending["user"], is_active=True).first()


def _field_message(exc: ValidationFailed, field: str) -> str:
    messages = exc.fields.get(field) or [exc.message]
    return str(messages[0] if isinstance(messages, (list, tuple)) else messages)


def _sign_in(request, user, next_url: str):
    request.session.pop(PENDING, None)
    auth_login(request, user)
    _sign_in_marks(request)
    return redirect(next_url)


def _password_step(request, next_url: str):
    username = (request.POST.get("username") or "").strip()
    password = request.POST.get("password") or ""
    try:
        # Name, password and (for administrators) the code in one step: a right password without
        # its code is answered like a wrong one, so the page never tells which part was right.
        user = services.authenticate(username=username, password=password, otp=request.POST.get("otp") or "",
                                     allow_setup=True)
    except ValidationFailed as exc:
        if exc.code != "second_factor_setup":
            return {"error": exc.message, "username": username}
        # The right password of an account that must still enrol its second factor.
        user = get_user_model()._default_manager.get(username=username)
        services.totp_setup(user=user)
        request.session[PENDING] = {
            "user": str(user.pk),
            "step": "setup",
            "at": clock.now().timestamp(),
            "tries": 0,
            "next": next_url,
        }
        return redirect("people:login")
    except (NotAuthenticated, Locked) as exc:
        return {"error": exc.message, "username": username}
    return _sign_in(request, user, next_url)


def _code_step(request, pending: dict):
    user = _pending_user(pending)
    if user is None:
        request.session.pop(PENDING, None)
        return redirect("people:login")
    try:
        # Checks the first code (confirming the newly enrolled secret) and records the login.
        user = services.login_second_factor(user=user, otp=request.POST.get("otp") or "")
    except Locked as exc:
        request.session.pop(PENDING, None)
        return {"error": exc.message}
    except ValidationFailed as exc:
        pending["tries"] = pending.get("tries", 0) + 1
        if pending["tries"] >= MAX_CODE_TRIES:
            request.session.pop(PENDING, None)
            return {"error": gettext("Too many wrong codes. Please log in again.")}
        request.session[PENDING] = pending
        return {"error": _field_message(exc, "otp")}
    return _sign_in(request, user, pending.get("next") or reverse("core:home"))


def _second_factor_context(pending: dict, user) -> dict:
    context = {"step": pending["step"], "pending_user": user}
    if pending["step"] == "setup":
        uri = services.totp_uri(user)
        secret = services.totp_secret(user)
        context["qr_svg"] = mark_safe(segno.make(uri).svg_inline(scale=4))  # drawn modules only, no text
        context["secret_groups"] = [secret[i:i + 4] for i in range(0, len(secret), 4)]
    return context


@sensitive_post_parameters("password", "otp")
@csrf_protect
@never_cache
def login_view(request):
    next_url = _safe_next(request, request.POST.get("next") or request.GET.get("next"))
    if request.user.is_authenticated:
        return redirect(next_url)
    if request.GET.get("restart"):
        request.session.pop(PENDING, None)
        return redirect("people:login")
    pending = _pending(request)
    result: dict = {}
    if request.method == "POST":
        step = request.POST.get("step")
        if step == "code" and pending:
            result = _code_step(request, pending)
        elif step == "code":
            result = {"error": gettext("This login took too long. Please log in again.")}
        else:
            request.session.pop(PENDING, None)
            result = _password_step(request, next_url)
        if not isinstance(result, dict):
            return result
        pending = _pending(request)
    context = {"next": next_url, "error": result.get("error"), "username": result.get("username", "")}
    if pending:
        user = _pending_user(pending)
        if user is not None:
            context.update(_second_factor_context(pending, user))
            return render(request, "people/login_second_factor.html", context)
        request.session.pop(PENDING, None)
    return render(request, "people/login.html", context)


@require_POST
def logout_view(request):
    auth_logout(request)
    return redirect("people:login")


def _staff_filtered(request):
    if not user_can(request.user, "staff.view"):
        raise NotFound()
    node = node_get(actor=request.user, code=request.GET["node"]) if request.GET.get("node") else None
    return node, selectors.staff_list(actor=request.user, node=node)


@page_view
def staff_list(request):
    """The role assignments the user may see, at or below a node."""
    node, qs = _staff_filtered(request)
    trail = [*ancestors_visible(actor=request.user, node=node), node] if node else []
    return render(request, "people/staff.html", {
        "node": node, "trail": trail, "page": paginate(request, qs), "table": STAFF,
        "export_url": export_link(request, "people:staff_export")})


@require_GET
@page_view
def staff_export(request):
    """The staff roster as filtered, every row, to Excel."""
    node, qs = _staff_filtered(request)
    filters = [Filter(key="node", raw=node.code, label=_("Place"), shown=f"{node.name} ({node.code})")] if node else []
    return xlsx_response(actor=request.user, listing=Listing(
        name=STAFF.name, title=STAFF.title, filters=filters, place=node.path if node else "",
        sheets=[Sheet(STAFF, qs.defer("node__boundary").iterator(chunk_size=500))]))


# --- one's own account: password, sessions and tokens -----------------------------------------


def _sign_in_marks(request) -> None:
    """What the session list shows about this sign-in (people/sessions.py stores it)."""
    from tongxin.people.sessions import SIGNED_IN_AT, USER_AGENT

    request.session[SIGNED_IN_AT] = clock.now().isoformat()
    request.session[USER_AGENT] = (request.META.get("HTTP_USER_AGENT") or "")[:200]


@page_view
def account(request):
    """The signed-in user's own account: change the password, see and end sessions and tokens."""
    current = services.session_id(request.session) if request.session.session_key else ""
    sessions = [{"id": services.session_id(s), "row": s, "current": services.session_id(s) == current}
                for s in services.sessions_of(user=request.user)]
    return render(request, "people/account.html", {"sessions": sessions,
                                                   "tokens": services.tokens_of(user=request.user)})


@sensitive_post_parameters("old_password", "new_password", "new_password2")
@csrf_protect
@never_cache
@page_view
def password_change(request):
    errors: dict = {}
    if request.method == "POST":
        new = request.POST.get("new_password") or ""
        if new != (request.POST.get("new_password2") or ""):
            errors = {"new_password2": [gettext("The two new passwords differ.")]}
        else:
            try:
                services.password_change(user=request.user, old_password=request.POST.get("old_password") or "",
                                         new_password=new, keep_session_key=request.session.session_key or "")
            except (ValidationFailed, PermissionDenied) as exc:
                errors = exc.fields
            else:
                update_session_auth_hash(request, request.user)  # this session stays, the others end
                messages.success(request, gettext("Your password was changed."))
                return redirect("people:account")
    return render(request, "people/password_change.html", {
        "errors": {k: [str(m) for m in v] for k, v in errors.items()},
        "forced": request.user.must_change_password})


@require_POST
@page_view
def session_end(request):
    services.session_end(user=request.user, public_id=(request.POST.get("session") or "")[:64])
    return redirect("people:account")


@require_POST
@page_view
def token_revoke(request):
    services.token_revoke(user=request.user, token_id=parse_id(request.POST.get("token")))
    return redirect("people:account")


# --- administrators: accounts, roles ------------------------------------------------------------


def _may_see_accounts(user) -> bool:
    return user_can(user, "user.secure") or user_can(user, "user.manage") or user_can(user, "role.grant")


@page_view
def accounts(request):
    """Accounts: the system administrator creates them, the security administrator grants and
    revokes roles and resets, deactivates and reactivates them."""
    if not _may_see_accounts(request.user):
        raise NotFound()
    qs = selectors.accounts_list(actor=request.user, query=request.GET.get("q") or "")
    return render(request, "people/accounts.html", {
        "page": paginate(request, qs), "q": request.GET.get("q") or "",
        "may_create": user_can(request.user, "user.manage"), "may_grant": user_can(request.user, "role.grant")})


@csrf_protect
@page_view
def account_new(request):
    """A system administrator creates an account; the password they give is replaced by the
    user at the first login. Roles are granted by a security administrator."""
    if not user_can(request.user, "user.manage"):
        raise NotFound()
    errors: dict = {}
    values = {k: (request.POST.get(k) or "").strip() for k in ("username", "full_name", "phone", "language")}
    if request.method == "POST":
        try:
            user = services.user_create(actor=request.user, username=values["username"],
                                        password=request.POST.get("password") or "", full_name=values["full_name"],
                                        phone=values["phone"], preferred_language=values["language"] or "zh-hans",
                                        must_change_password=True)
        except ValidationFailed as exc:
            errors = {k: [str(m) for m in v] for k, v in exc.fields.items()}
        else:
            messages.success(request, gettext("The account %(username)s was created.") % {"username": user.username})
            return redirect("people:accounts")
    return render(request, "people/account_new.html", {"errors": errors, "values": values,
                                                       "language_choices": Language.choices})


@page_view
def account_detail(request, user_id):
    """One account, for the security administrator: its roles (revoke), and the lifecycle actions."""
    user = services.account_get(actor=request.user, action="user.secure", user_id=user_id)
    roles = user.assignments.select_related("node", "department").order_by("node_path", "role")
    return render(request, "people/account_detail.html", {"account": user, "roles": roles,
                                                          "second_factor_set": bool(user.totp_confirmed)})


@require_POST
@page_view
def account_password_reset(request, user_id):
    user = services.account_get(actor=request.user, action="user.secure", user_id=user_id)
    password = services.password_reset(actor=request.user, user=user)
    return render(request, "people/password_reset_done.html", {"account": user, "password": password})


@require_POST
@page_view
def account_second_factor_reset(request, user_id):
    user = services.account_get(actor=request.user, action="user.secure", user_id=user_id)
    services.second_factor_reset(actor=request.user, user=user)
    messages.success(request, gettext("The second factor was reset: a new one is set up at the next login."))
    return redirect("people:account_detail", user_id=user.pk)


@require_POST
@page_view
def account_deactivate(request, user_id):
    user = services.account_get(actor=request.user, action="user.secure", user_id=user_id)
    services.user_set_active(actor=request.user, user=user, active=False)
    messages.success(request, gettext("The account was deactivated: its sessions and tokens ended."))
    return redirect("people:account_detail", user_id=user.pk)


@require_POST
@page_view
def account_reactivate(request, user_id):
    user = services.account_get(actor=request.user, action="user.secure", user_id=user_id)
    services.user_set_active(actor=request.user, user=user, active=True)
    messages.success(request, gettext("The account was reactivated."))
    return redirect("people:account_detail", user_id=user.pk)


@require_POST
@page_view
def role_revoke(request, assignment_id):
    assignment = (RoleAssignment.objects.visible_to(request.user, "role.grant").filter(pk=assignment_id)
                  .select_related("user").first())
    if assignment is None:
        raise NotFound()
    services.role_revoke(actor=request.user, assignment=assignment)
    messages.success(request, gettext("The role was revoked."))
    return redirect("people:accounts")


@csrf_protect
@page_view
def role_grant(request):
    """A security administrator grants a role at a node of their scope (and, for department
    officers, a department there or above)."""
    if not user_can(request.user, "role.grant"):
        raise NotFound()
    values = {k: (request.POST.get(k) or request.GET.get(k) or "").strip()
              for k in ("username", "role", "node", "department")}
    error = ""
    if request.method == "POST":
        try:
            node = node_get(actor=request.user, code=values["node"])
            user = get_user_model()._default_manager.filter(username__iexact=values["username"]).first()
            if user is None:
                raise ValidationFailed(fields={"username": [gettext("No account has this user name.")]})
            department = None
            if values["department"]:
                department = Department.objects.filter(node_path__in=node.ancestor_paths(),
                                                       code=values["department"]).first()
                if department is None:
                    raise ValidationFailed(fields={"department": [gettext("No such department here.")]})
            services.role_grant(actor=request.user, user=user, role=values["role"], node=node, department=department)
        except (ValidationFailed, Conflict, PermissionDenied, NotFound) as exc:
            fields = getattr(exc, "fields", {}) or {}
            error = "; ".join(str(m) for v in fields.values() for m in v) or str(exc.message)
        else:
            messages.success(request, gettext("The role was granted."))
            if services.user_in_reach(request.user, "user.secure", user):
                return redirect("people:account_detail", user_id=user.pk)
            return redirect("people:accounts")
    return render(request, "people/role_grant.html", {"values": values, "error": error, "roles": Role.choices})
