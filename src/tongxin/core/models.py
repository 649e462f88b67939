"""Shared kernel tables: the base model every record uses, and the audit log."""

from __future__ import annotations

from typing import cast

import uuid6
from django.db import models
from django.utils.translation import gettext_lazy as _

from tongxin.core import access, clock
from tongxin.core.i18n import active_code


class ScopedQuerySet(models.QuerySet):
    def visible_to(self, user, action: str) -> ScopedQuerySet:
        """The rows ``user`` may take ``action`` on: always through the one scope function."""
        return cast("ScopedQuerySet", access.restrict(self, user, action))

    def one_or_none(self):
        """The row a unique filter names, or None: like ``first()`` without the ORDER BY that
        ``first()`` adds (the filter names one row, so order means nothing and costs a compile)."""
        return next(iter(self.order_by()[:1]), None)


ScopedManager = models.Manager.from_queryset(ScopedQuerySet)


class BaseModel(models.Model):
    """Every record: a UUIDv7 id a client may generate itself, and when it was made and last changed.

    ``updated_at`` is indexed (with the node path on scoped tables) so that a client
    can ask what changed in its scope since its last sync without a full scan.
    """

    id = models.UUIDField(primary_key=True, default=uuid6.uuid7, editable=False, verbose_name=_("id"))
    created_at = models.DateTimeField(default=clock.now, editable=False, verbose_name=_("created at"))
    updated_at = models.DateTimeField(default=clock.now, db_index=True, verbose_name=_("updated at"))

    objects = ScopedManager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        # The one bookkeeping rule kept in save(): the change stamp follows the clock.
        self.updated_at = clock.now()
        update_fields = kwargs.get("update_fields")
        if update_fields is not None:
            kwargs["update_fields"] = {*update_fields, "updated_at"}
        super().save(*args, **kwargs)


class AuditHead(models.Model):
    """The last chained entry of one audit chain; chains are kept per county. ``path`` is the
    county's node path ("" for the global chain), so that a checkpoint covers the chains in
    its taker's scope. Only the sequencer moves a head, and only forward (a trigger on
    PostgreSQL); a head moved back is found by a checkpoint."""

    scope_path_field = "path"
    scope_unplaced_from_root = True

    chain = models.CharField(max_length=32, primary_key=True, verbose_name=_("chain"))
    seq = models.BigIntegerField(default=0, verbose_name=_("sequence"))
    hash = models.CharField(max_length=64, default="", verbose_name=_("hash"))
    path = models.CharField(max_length=255, blank=True, default="", verbose_name=_("node path"))

    class Meta:
        verbose_name = _("audit chain head")


class AuditEntry(models.Model):
    """One append-only, hash-chained entry of the audit log, scoped like every record: by its
    node path, and entries of no node only from a root of the network. ``seq`` is empty
    (and ``prev_hash`` blank) until the sequencer gives the entry its place in its chain."""

    scope_path_field = "node_path"
    scope_unplaced_from_root = True

    id = models.BigAutoField(primary_key=True)
    chain = models.CharField(max_length=32, verbose_name=_("chain"))
    seq = models.BigIntegerField(null=True, blank=True, verbose_name=_("sequence"))
    created_at = models.DateTimeField(verbose_name=_("time"))
    # DO_NOTHING: the log is never updated, not even when an account goes.
    actor = models.ForeignKey(
        "people.User", null=True, blank=True, on_delete=models.DO_NOTHING, related_name="+", db_constraint=False,
        verbose_name=_("actor"),
    )
    actor_name = models.CharField(max_length=150, blank=True, verbose_name=_("actor name"))
    action = models.CharField(max_length=64, db_index=True, verbose_name=_("action"))
    object_type = models.CharField(max_length=64, blank=True, verbose_name=_("object type"))
    object_id = models.CharField(max_length=64, blank=True, verbose_name=_("object id"))
    node_path = models.CharField(max_length=255, blank=True, db_index=True, verbose_name=_("node path"))
    ip = models.CharField(max_length=64, blank=True, verbose_name=_("from address"))
    channel = models.CharField(max_length=16, blank=True, verbose_name=_("channel"))
    changes = models.JSONField(default=list, blank=True, verbose_name=_("changed fields"))
    before_digest = models.CharField(max_length=64, blank=True, verbose_name=_("before digest"))
    after_digest = models.CharField(max_length=64, blank=True, verbose_name=_("after digest"))
    prev_hash = models.CharField(max_length=64, blank=True, default="", verbose_name=_("previous hash"))
    hash = models.CharField(max_length=64, verbose_name=_("hash"))

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["chain", "seq"], name="audit_chain_seq_unique")]
        indexes = [
            models.Index(fields=["node_path", "created_at"], name="audit_path_time"),
            # A plain index (the field's ``db_index`` would add a pattern index on PostgreSQL that
            # no query uses, and every audited write would pay it: object ids are looked up whole).
            models.Index(fields=["object_id"], name="audit_object"),
            # The sequencer's queue: the few entries not chained yet.
            models.Index(fields=["chain", "id"], name="audit_unlinked", condition=models.Q(seq__isnull=True)),
        ]


class IdempotencyRecord(models.Model):
    """The first answer to a request sent with ``Idempotency-Key``, replayed to retries."""

    key = models.CharField(max_length=64, verbose_name=_("key"))
    caller = models.CharField(max_length=64, verbose_name=_("caller digest"))
    body_digest = models.CharField(max_length=64, verbose_name=_("body digest"))
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=255)
    status = models.PositiveSmallIntegerField(null=True, blank=True)
    content_type = models.CharField(max_length=100, blank=True)
    response = models.BinaryField(null=True, blank=True)
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        verbose_name = _("idempotency record")
        constraints = [models.UniqueConstraint(fields=["caller", "key"], name="idempotency_caller_key_unique")]


class CalendarDay(models.Model):
    """An administrator's entry in the official working-day calendar: a holiday, or a
    make-up working day (调休). Entries override the calendar package, so a year's
    schedule can be entered before the package knows it. An entry with a ``region`` (a
    node code prefix: "54" is Tibet) holds for the places under it only, over the
    national entry and the package (Losar, the Shoton festival)."""

    date = models.DateField(verbose_name=_("date"))
    region = models.CharField(max_length=18, blank=True, default="", verbose_name=_("region (code prefix)"))
    is_working_day = models.BooleanField(verbose_name=_("working day"))
    name = models.CharField(max_length=100, blank=True, verbose_name=_("name"))
    updated_at = models.DateTimeField(default=clock.now, verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("calendar day")
        verbose_name_plural = _("calendar days")
        ordering = ["region", "date"]
        constraints = [models.UniqueConstraint(fields=["region", "date"], name="calendarday_region_date_unique")]


class Notification(models.Model):
    """One message in a user's in-app inbox; other channels (SMS …) are sent beside it."""

    id = models.BigAutoField(primary_key=True)
    recipient = models.ForeignKey("people.User", on_delete=models.CASCADE, related_name="notifications",
                                  verbose_name=_("recipient"))
    kind = models.CharField(max_length=64, verbose_name=_("kind"))
    language = models.CharField(max_length=8, verbose_name=_("language"))
    subject = models.CharField(max_length=200, verbose_name=_("subject"))
    body = models.TextField(blank=True, verbose_name=_("body"))
    link = models.CharField(max_length=255, blank=True, verbose_name=_("link"))
    object_id = models.CharField(max_length=64, blank=True, verbose_name=_("object id"))
    created_at = models.DateTimeField(default=clock.now, verbose_name=_("created at"))
    read_at = models.DateTimeField(null=True, blank=True, verbose_name=_("read at"))

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["recipient", "read_at", "created_at"], name="notification_inbox")]


class JobRun(models.Model):
    """When each periodic job last ran, so ``tongxin jobs run`` runs only what is due; when
    it was last queued for the worker; and, on SQLite, who holds its lease (core/jobs.py)."""

    name = models.CharField(max_length=64, primary_key=True, verbose_name=_("job"))
    last_run_at = models.DateTimeField(null=True, verbose_name=_("last run"))
    last_result = models.CharField(max_length=200, blank=True, verbose_name=_("last result"))
    enqueued_at = models.DateTimeField(null=True, verbose_name=_("last queued"))
    lease_holder = models.CharField(max_length=100, blank=True, verbose_name=_("lease held by"))
    lease_until = models.DateTimeField(null=True, verbose_name=_("lease held until"))

    class Meta:
        verbose_name = _("job run")


class TimelineStep(models.Model):
    """One step of a workflow object's life (core.workflow writes it): when, who — with the
    actor's name in every language as it was then, so a later renaming leaves history as it
    was — which step, the state before and after, and a note. A workflow model's timeline
    table inherits this and adds its foreign key to the object (and anything of its own)."""

    id = models.BigAutoField(primary_key=True)
    at = models.DateTimeField(verbose_name=_("time"))
    actor = models.ForeignKey("people.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                              verbose_name=_("by"))
    actor_names = models.JSONField(default=dict, blank=True, verbose_name=_("by, in each language"))
    action = models.CharField(max_length=32, verbose_name=_("action"))
    from_state = models.CharField(max_length=16, blank=True, verbose_name=_("from state"))
    to_state = models.CharField(max_length=16, verbose_name=_("to state"))
    note = models.TextField(blank=True, verbose_name=_("note"))

    class Meta:
        abstract = True

    @property
    def actor_name(self) -> str:
        """Who took the step, in the active language (as the name was then)."""
        names = self.actor_names or {}
        if names:
            return names.get(active_code()) or names.get("zh-hans") or ""
        actor = self.actor if self.actor_id else None
        return (actor.full_name or actor.username) if actor is not None else ""
