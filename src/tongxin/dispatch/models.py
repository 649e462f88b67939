"""群众诉求与吹哨报到: residents' requests, their escalation to departments, and visits.

Rules: a request's state changes only through ``dispatch.workflow`` (one transition
table, one guard), and every change writes a timeline entry and an audit entry in the
same transaction. A request carries the node where the need is (its scope) and the
node or departments handling it now.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from tongxin.core.i18n import localized
from tongxin.core.models import BaseModel, TimelineStep
from tongxin.grid.models import Department, Level, Node, NodeScoped


class TimeUnit(models.TextChoices):
    HOURS = "hours", _("working hours")
    DAYS = "days", _("working days")


class Category(BaseModel):
    """One kind of request in the catalogue, with who handles it first and its deadlines."""

    code = models.SlugField(max_length=40, unique=True, verbose_name=_("code"))
    name_zh = models.CharField(max_length=100, verbose_name=_("name (Chinese)"))
    name_bo = models.CharField(max_length=200, blank=True, verbose_name=_("name (Tibetan)"))
    name_en = models.CharField(max_length=100, blank=True, verbose_name=_("name (English)"))
    description_zh = models.CharField(max_length=300, blank=True, verbose_name=_("description (Chinese)"))
    description_bo = models.CharField(max_length=500, blank=True, verbose_name=_("description (Tibetan)"))
    description_en = models.CharField(max_length=300, blank=True, verbose_name=_("description (English)"))
    first_level = models.CharField(max_length=16, choices=Level.choices, default=Level.GRID,
                                   verbose_name=_("level that handles it first"))
    department_code = models.SlugField(max_length=40, blank=True,
                                       verbose_name=_("responsible department beyond the village"))
    accept_within = models.PositiveIntegerField(default=4, verbose_name=_("time to accept"))
    accept_unit = models.CharField(max_length=8, choices=TimeUnit.choices, default=TimeUnit.HOURS,
                                   verbose_name=_("unit of time to accept"))
    resolve_within = models.PositiveIntegerField(default=5, verbose_name=_("time to resolve"))
    resolve_unit = models.CharField(max_length=8, choices=TimeUnit.choices, default=TimeUnit.DAYS,
                                    verbose_name=_("unit of time to resolve"))
    private = models.BooleanField(default=False, verbose_name=_("private (never listed publicly)"))
    active = models.BooleanField(default=True, verbose_name=_("active"))
    sort = models.PositiveSmallIntegerField(default=0, verbose_name=_("order"))

    class Meta:
        verbose_name = _("request category")
        verbose_name_plural = _("request categories")
        ordering = ["sort", "code"]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        return localized(self, "name")

    @property
    def description(self) -> str:
        return localized(self, "description")


class State(models.TextChoices):
    REPORTED = "reported", _("reported")
    ACCEPTED = "accepted", _("accepted")
    IN_PROGRESS = "in_progress", _("in progress")
    ESCALATED = "escalated", _("escalated")
    RESOLVED = "resolved", _("resolved")
    CLOSED = "closed", _("closed")
    REJECTED = "rejected", _("rejected")
    REOPENED = "reopened", _("reopened")


OPEN_STATES = (State.REPORTED, State.ACCEPTED, State.IN_PROGRESS, State.ESCALATED, State.REOPENED)
# Waiting to be accepted (the acceptance deadline runs), and in work (the resolution deadline runs).
WAITING = (State.REPORTED, State.ESCALATED, State.REOPENED)
WORKING = (State.ACCEPTED, State.IN_PROGRESS)


class ReporterKind(models.TextChoices):
    RESIDENT = "resident", _("resident")
    GRID_WORKER = "grid_worker", _("grid worker on a resident's behalf")
    VISIT = "visit", _("visit finding")


class Urgency(models.TextChoices):
    NORMAL = "normal", _("normal")
    URGENT = "urgent", _("urgent")


class Request(NodeScoped):
    """群众诉求 / 事件: a resident's need or a problem found in the field."""

    # Unique by a constraint, not ``unique=True``: that would add a second, pattern index on
    # PostgreSQL that no query uses (numbers are looked up whole), and every filing would pay it.
    number = models.CharField(max_length=32, verbose_name=_("number"))
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="+", verbose_name=_("category"))
    description = models.TextField(verbose_name=_("description"))
    lat = models.FloatField(null=True, blank=True, verbose_name=_("latitude"))
    lon = models.FloatField(null=True, blank=True, verbose_name=_("longitude"))
    household = models.ForeignKey("registry.Household", null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="+", verbose_name=_("household"))
    reporter = models.ForeignKey("people.User", null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+", verbose_name=_("reported by"))
    reporter_kind = models.CharField(max_length=16, choices=ReporterKind.choices, default=ReporterKind.RESIDENT,
                                     verbose_name=_("reporter"))
    urgency = models.CharField(max_length=8, choices=Urgency.choices, default=Urgency.NORMAL,
                               verbose_name=_("urgency"))
    state = models.CharField(max_length=16, choices=State.choices, default=State.REPORTED,
                             verbose_name=_("state"))
    handler_node = models.ForeignKey(Node, on_delete=models.PROTECT, related_name="+",
                                     verbose_name=_("handled at"))
    handler_level = models.CharField(max_length=16, choices=Level.choices, verbose_name=_("handling level"))
    accept_due = models.DateTimeField(null=True, blank=True, verbose_name=_("accept by"))
    resolve_due = models.DateTimeField(null=True, blank=True, verbose_name=_("resolve by"))
    accepted_at = models.DateTimeField(null=True, blank=True, verbose_name=_("accepted at"))
    resolved_at = models.DateTimeField(null=True, blank=True, verbose_name=_("resolved at"))
    # Office time from filing to resolution (working days and sessions of the official
    # calendar), kept at resolution so that statistics take its median in the database.
    resolve_working_hours = models.FloatField(null=True, blank=True,
                                              verbose_name=_("working hours from filing to resolution"))
    closed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("closed at"))
    reopen_until = models.DateTimeField(null=True, blank=True, verbose_name=_("may be reopened until"))
    escalations = models.PositiveSmallIntegerField(default=0, verbose_name=_("escalations"))
    accepted_on_time = models.BooleanField(null=True, verbose_name=_("accepted on time"))
    resolved_on_time = models.BooleanField(null=True, verbose_name=_("resolved on time"))
    resolution = models.TextField(blank=True, verbose_name=_("resolution"))
    rating = models.PositiveSmallIntegerField(null=True, blank=True, verbose_name=_("rating (1–5)"))
    rating_comment = models.CharField(max_length=500, blank=True, verbose_name=_("rating comment"))
    # Recorded by staff of the handler's side (``rules.on_handling_side``): kept, but not counted
    # in satisfaction. Whoever took a handling step may not rate at all (``rules.is_reporter_side``).
    rating_by_handlers = models.BooleanField(default=False,
                                             verbose_name=_("rated by the handling side (not counted)"))
    # The public feed (Open311) shows a request only when its category is public and the
    # reporter chose to publish it, and then only ``public_description``: a separate text that
    # the reporter or a handler approved, never the reporter's own ``description``.
    publish = models.BooleanField(default=False, verbose_name=_("published in the public feed"))
    public_description = models.CharField(max_length=500, blank=True, verbose_name=_("public description"))
    public_description_by = models.ForeignKey("people.User", null=True, blank=True, on_delete=models.SET_NULL,
                                              related_name="+", db_index=False,
                                              verbose_name=_("public description approved by"))
    public_description_at = models.DateTimeField(null=True, blank=True,
                                                 verbose_name=_("public description approved at"))
    # Set when the free text and photos were anonymised: after the retention period of a closed
    # request, or when its household left the county (PIPL Art. 47).
    anonymised_at = models.DateTimeField(null=True, blank=True, verbose_name=_("anonymised at"))

    class Meta:
        verbose_name = _("request")
        verbose_name_plural = _("requests")
        ordering = ["-created_at", "id"]
        indexes = [
            models.Index(fields=["node_path", "state"], name="request_path_state"),
            models.Index(fields=["node_path", "updated_at"], name="request_path_changed"),
            models.Index(fields=["state", "accept_due"], name="request_state_accept_due"),
            models.Index(fields=["state", "resolve_due"], name="request_state_resolve_due"),
        ]
        # Every index is paid by every filing: state and the deadlines are found through the
        # pairs above, never alone.
        constraints = [models.UniqueConstraint(fields=["number"], name="request_number_unique")]

    def __str__(self) -> str:
        return self.number

    @classmethod
    def resident_scope(cls, user) -> Q:
        """A resident sees the requests they reported and those of their household."""
        q = Q(reporter_id=user.pk)
        if user.household_id:
            q |= Q(household_id=user.household_id)
        return q

    @classmethod
    def department_scope(cls, department_ids: list) -> Q:
        """A department officer sees what was escalated to their department."""
        return Q(pk__in=RequestDepartment.objects.filter(department_id__in=department_ids).values("request_id"))

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    @property
    def due(self):
        """The deadline that runs now: acceptance until accepted, then resolution."""
        if self.state in WAITING:
            return self.accept_due
        if self.state in WORKING:
            return self.resolve_due
        return None


class DepartmentRole(models.TextChoices):
    LEAD = "lead", _("lead")
    ASSIST = "assist", _("assisting")


class RequestDepartment(BaseModel):
    """吹哨报到 / 连心共治: a department called to a request, lead or assisting, with its own deadlines."""

    request = models.ForeignKey(Request, on_delete=models.CASCADE, related_name="departments",
                                verbose_name=_("request"))
    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="+",
                                   verbose_name=_("department"))
    role = models.CharField(max_length=8, choices=DepartmentRole.choices, verbose_name=_("role"))
    accept_due = models.DateTimeField(verbose_name=_("accept by"))
    resolve_due = models.DateTimeField(verbose_name=_("resolve by"))
    accepted_at = models.DateTimeField(null=True, blank=True, verbose_name=_("accepted at"))
    accepted_by = models.ForeignKey("people.User", null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+", verbose_name=_("accepted by"))
    active = models.BooleanField(default=True, verbose_name=_("active"))

    class Meta:
        verbose_name = _("department on a request")
        verbose_name_plural = _("departments on requests")
        ordering = ["request", "role", "created_at"]
        indexes = [models.Index(fields=["department", "active"], name="request_department_inbox")]


class TimelineEntry(TimelineStep):
    """One step in a request's life; the timeline always explains the current state."""

    request = models.ForeignKey(Request, on_delete=models.CASCADE, related_name="timeline",
                                verbose_name=_("request"))
    # Who handled it at this step, in each language as the names were then ({"zh-hans": …,
    # "bo": …, "en": …}): a department or node renamed later leaves history as it was.
    # ``handler`` keeps the Chinese name, as rows written before ``handler_names`` have only it.
    handler = models.CharField(max_length=200, blank=True, verbose_name=_("handled by"))
    handler_names = models.JSONField(default=dict, blank=True, verbose_name=_("handled by, in each language"))

    class Meta:
        verbose_name = _("timeline entry")
        verbose_name_plural = _("timeline entries")
        ordering = ["request", "id"]

    # ``localized`` reads ``handler_zh`` / ``_bo`` / ``_en``; a missing name falls back to Chinese.
    @property
    def handler_zh(self) -> str:
        return (self.handler_names or {}).get("zh-hans") or self.handler

    @property
    def handler_bo(self) -> str:
        return (self.handler_names or {}).get("bo") or ""

    @property
    def handler_en(self) -> str:
        return (self.handler_names or {}).get("en") or ""

    @property
    def handler_name(self) -> str:
        """Who handled it at this step, in the active language."""
        return localized(self, "handler")


class Attachment(BaseModel):
    """A photo attached to a request: type checked by content, location metadata removed."""

    request = models.ForeignKey(Request, on_delete=models.CASCADE, related_name="attachments",
                                verbose_name=_("request"))
    content_type = models.CharField(max_length=32, verbose_name=_("type"))
    size = models.PositiveIntegerField(verbose_name=_("size"))
    data = models.BinaryField(verbose_name=_("data"))
    uploaded_by = models.ForeignKey("people.User", null=True, on_delete=models.SET_NULL, related_name="+",
                                    verbose_name=_("uploaded by"))

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")


class VisitRound(NodeScoped):
    """敲门行动: a round of door-to-door visits to every household of a grid in a period."""

    title = models.CharField(max_length=200, verbose_name=_("title"))
    starts_on = models.DateField(verbose_name=_("from"))
    ends_on = models.DateField(verbose_name=_("to"))
    planned_by = models.ForeignKey("people.User", null=True, on_delete=models.SET_NULL, related_name="+",
                                   verbose_name=_("planned by"))

    class Meta:
        verbose_name = _("visit round")
        verbose_name_plural = _("visit rounds")
        ordering = ["-starts_on", "node_path"]
        indexes = [models.Index(fields=["node_path", "updated_at"], name="visitround_path_changed")]


class Visit(NodeScoped):
    """One visit to a household: who went, what they found, whether it needs follow-up."""

    round = models.ForeignKey(VisitRound, null=True, blank=True, on_delete=models.PROTECT, related_name="visits",
                              verbose_name=_("visit round"))
    household = models.ForeignKey("registry.Household", on_delete=models.PROTECT, related_name="+",
                                  verbose_name=_("household"))
    worker = models.ForeignKey("people.User", null=True, on_delete=models.SET_NULL, related_name="+",
                               verbose_name=_("visited by"))
    visited_on = models.DateField(verbose_name=_("visited on"))
    findings = models.TextField(blank=True, verbose_name=_("what was found"))
    follow_up = models.BooleanField(default=False, verbose_name=_("follow-up needed"))
    request = models.ForeignKey(Request, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                                verbose_name=_("request opened"))

    class Meta:
        verbose_name = _("visit")
        verbose_name_plural = _("visits")
        ordering = ["-visited_on", "id"]
        indexes = [
            models.Index(fields=["node_path", "visited_on"], name="visit_path_date"),
            models.Index(fields=["node_path", "updated_at"], name="visit_path_changed"),
        ]
