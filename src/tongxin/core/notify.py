"""Notifications: one interface for every message the platform sends.

The in-app inbox always gets the message; other channels are pluggable backends
(``TONGXIN_NOTIFY_BACKENDS``, default: a logging SMS backend). Messages are rendered
in the recipient's preferred language and sent only after the write commits.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol

from django.conf import settings
from django.db import transaction
from django.utils import translation
from django.utils.module_loading import import_string

from tongxin.core.models import Notification

log = logging.getLogger("tongxin.notify")


class Backend(Protocol):
    def send(self, notification: Notification, phone: str) -> None: ...


class LoggingSmsBackend:
    """Writes what an SMS gateway would send to the log."""

    def send(self, notification: Notification, phone: str) -> None:
        if phone:
            log.info("SMS to %s [%s]: %s", phone, notification.language, notification.subject)


def _backends() -> list[Backend]:
    names = getattr(settings, "NOTIFY_BACKENDS", ["tongxin.core.notify.LoggingSmsBackend"])
    return [import_string(name)() for name in names]


def notify(*, recipients, kind: str, subject: Callable[[], str], body: Callable[[], str] = lambda: "",
           link: str = "", object_id: str = "") -> None:
    """Queue a message to each recipient, rendered in their language, sent after commit.

    ``subject`` and ``body`` are callables so they are rendered once per language.
    """
    users = [u for u in recipients if u is not None]

    def send() -> None:
        rows, phones = [], []
        for user in {u.pk: u for u in users}.values():
            language = user.preferred_language or settings.LANGUAGE_CODE
            with translation.override(language):
                rows.append(Notification(recipient=user, kind=kind, language=language,
                                         subject=str(subject())[:200], body=str(body()), link=link,
                                         object_id=object_id))
            phones.append(user.phone)
        created = list(zip(Notification.objects.bulk_create(rows), phones))
        for backend in _backends():
            for notification, phone in created:
                try:
                    backend.send(notification, phone)
                except Exception:  # a failing gateway must not undo the work
                    log.exception("notification backend %s failed", type(backend).__name__)

    transaction.on_commit(send)
