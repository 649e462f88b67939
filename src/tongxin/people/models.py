"""Users, their role assignments at nodes, and API tokens."""

from __future__ import annotations

import uuid6
from django.contrib.auth.models import AbstractUser
from django.contrib.sessions.base_session import AbstractBaseSession
from django.db import models
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from tongxin.core import clock
from tongxin.core.models import BaseModel
from tongxin.grid.models import Department, NodeScoped
from tongxin.people.roles import Role


class Language(models.TextChoices):
    ZH = "zh-hans", _("Simplified Chinese")
    BO = "bo", _("Tibetan")
    EN = "en", _("English")


class User(AbstractUser):
    id = models.UUIDField(primary_key=True, default=uuid6.uuid7, editable=False)
    full_name = models.CharField(max_length=100, blank=True, verbose_name=_("full name"))
    phone = models.CharField(max_length=32, blank=True, verbose_name=_("phone"))
    preferred_language = models.CharField(max_length=8, choices=Language.choices, default=Language.ZH,
                                          verbose_name=_("preferred language"))
    failed_logins = models.PositiveIntegerField(default=0, verbose_name=_("failed logins in a row"))
    locked_until = models.DateTimeField(null=True, blank=True, verbose_name=_("locked until"))
    totp_secret = models.CharField(max_length=255, blank=True, verbose_name=_("second factor secret (encrypted)"))
    totp_confirmed = models.BooleanField(default=False, verbose_name=_("second factor confirmed"))
    # The time step of the last code accepted, so that no code is accepted twice (replay).
    totp_last_step = models.BigIntegerField(null=True, blank=True, verbose_name=_("last second-factor time step used"))
    household = models.ForeignKey("registry.Household", null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+", verbose_name=_("own household (residents)"))
    # Set when a security administrator resets the password: the next login must choose a new one.
    must_change_password = models.BooleanField(default=False, verbose_name=_("must change password"))
    # A new value whenever the account's role assignments change (in the same transaction): the
    # key under which each process keeps the roles it read (``people.scope.assignments``), so
    # that a revoked role stops working at once everywhere, without a query per request.
    roles_stamp = models.UUIDField(default=uuid6.uuid7, editable=False, verbose_name=_("roles changed"))
    updated_at = models.DateTimeField(default=clock.now, db_index=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        # "Tashi" and "tashi" are one name to the people who read it.
        constraints = [models.UniqueConstraint(Lower("username"), name="user_username_ci_unique")]

    def __str__(self) -> str:
        return self.full_name or self.username


class RoleAssignment(NodeScoped):
    """A user holds a role at a node (and, for department officers, in a department)."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="assignments", verbose_name=_("user"))
    role = models.CharField(max_length=32, choices=Role.choices, verbose_name=_("role"))
    department = models.ForeignKey(Department, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="officers", verbose_name=_("department"))

    class Meta:
        verbose_name = _("role assignment")
        verbose_name_plural = _("role assignments")
        ordering = ["node_path", "role"]
        constraints = [models.UniqueConstraint(fields=["user", "role", "node"], name="assignment_unique")]
        indexes = [
            models.Index(fields=["role", "node_path"], name="assignment_role_path"),
            models.Index(fields=["node_path", "updated_at"], name="assignment_path_changed"),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.get_role_display()} · {self.node.code}"


class ApiToken(BaseModel):
    """A bearer token; only its digest is stored. It expires when unused for a while, and
    at the latest a fixed time after it was issued (``created_at``)."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="tokens", verbose_name=_("user"))
    digest = models.CharField(max_length=64, unique=True, verbose_name=_("digest"))
    last_used_at = models.DateTimeField(default=clock.now, verbose_name=_("last used"))

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")


class LoginThrottle(models.Model):
    """Failed logins counted per client address, per account name, and per account name from one
    address (people/services/throttle.py). Keyed by a keyed digest: names that do not exist are
    counted like real ones, and the table holds neither names nor addresses in clear."""

    class Kind(models.TextChoices):
        ADDRESS = "address", _("client address")
        ACCOUNT = "account", _("account")
        ACCOUNT_ADDRESS = "account_address", _("account from one address")

    kind = models.CharField(max_length=16, choices=Kind.choices, verbose_name=_("kind"))
    key = models.CharField(max_length=64, verbose_name=_("digest"))
    # The digest of the account name alone (kinds naming an account), to lift all its locks at once.
    account_key = models.CharField(max_length=64, blank=True, db_index=True, verbose_name=_("account digest"))
    failures = models.PositiveIntegerField(default=0, verbose_name=_("failures in the window"))
    window_start = models.DateTimeField(null=True, blank=True, verbose_name=_("window start"))
    locked_until = models.DateTimeField(null=True, blank=True, verbose_name=_("locked until"))

    class Meta:
        verbose_name = _("login throttle")
        constraints = [models.UniqueConstraint(fields=["kind", "key"], name="login_throttle_kind_key_unique")]


class UserSession(AbstractBaseSession):
    """A web session (Django's database session) that knows its account, so that a user can
    list and end their own sessions and an account's sessions end when it is deactivated."""

    user = models.ForeignKey(User, null=True, blank=True, on_delete=models.CASCADE, related_name="web_sessions",
                             verbose_name=_("user"))
    signed_in_at = models.DateTimeField(null=True, blank=True, verbose_name=_("signed in at"))
    last_seen_at = models.DateTimeField(null=True, blank=True, verbose_name=_("last seen"))
    user_agent = models.CharField(max_length=200, blank=True, verbose_name=_("browser"))

    class Meta:
        verbose_name = _("web session")
        verbose_name_plural = _("web sessions")

    @classmethod
    def get_session_store_class(cls):
        from tongxin.people.sessions import SessionStore

        return SessionStore
