"""Web pages about people: logging in (with the second factor), logging out, the staff roster.

Rule of the login: name, password and (for administrators) the code are given in one form and
answered alike whichever part was wrong. Only an account that must still enrol its second factor
gets a second step: between the two the session keeps only the id of the user whose password was
verified, when, and how many codes were tried, never the password. The pending step expires
after a few minutes and after a few wrong codes, and the password must be given again.
"""

from __future__ import annotations

import segno
from django.contrib.auth import get_user_model
from django.contrib.auth import login as auth_login
from django.contrib.auth import logout as auth_logout
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import gettext
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from tongxin.core import clock
from tongxin.core.errors import Locked, NotAuthenticated, NotFound, ValidationFailed
from tongxin.core.views import page_view, paginate
from tongxin.grid.selectors import ancestors_visible, node_get
from tongxin.people import selectors, services
from tongxin.people.permissions import user_can

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


@page_view
def staff_list(request):
    """The role assignments the user may see, at or below a node."""
    if not user_can(request.user, "staff.view"):
        raise NotFound()
    node = node_get(actor=request.user, code=request.GET["node"]) if request.GET.get("node") else None
    qs = selectors.staff_list(actor=request.user, node=node)
    trail = [*ancestors_visible(actor=request.user, node=node), node] if node else []
    return render(request, "people/staff.html", {"node": node, "trail": trail, "page": paginate(request, qs)})
