"""Notifications: one interface for every message the platform sends.

The in-app inbox always gets the message; other channels are pluggable backends
(``TONGXIN_NOTIFY_BACKENDS``, default: a logging SMS backend). Messages are rendered
in the recipient's preferred language; the inbox row is written with the change that
caused it, and other channels send only after that change commits.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import NamedTuple, Protocol

from django.conf import settings
from django.db import transaction
from django.utils import translation
from django.utils.module_loading import import_string

from tongxin.core.models import Notification
from tongxin.core.rows import insert

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


class Recipient(NamedTuple):
    """What sending needs of a user, read without loading the whole account."""

    pk: object
    preferred_language: str
    phone: str


def notify(*, recipients, kind: str, subject: Callable[[], str], body: Callable[[], str] = lambda: "",
           link: str = "", object_id: str = "") -> None:
    """Put a message in each recipient's inbox, rendered in their language; other channels
    (SMS) send only after the write commits.

    Call inside the writing service's transaction: the inbox rows commit or roll back with
    the write. ``recipients`` are users or ``Recipient`` tuples; ``subject`` and ``body``
    are callables so they are rendered once per language.
    """
    rows, phones = [], []
    for user in {u.pk: u for u in recipients if u is not None}.values():
        language = user.preferred_language or settings.LANGUAGE_CODE
        with translation.override(language):
            rows.append(Notification(recipient_id=user.pk, kind=kind, language=language,
                                     subject=str(subject())[:200], body=str(body()), link=link,
                                     object_id=object_id))
        phones.append(user.phone)
    if not rows:
        return
    if len(rows) <= 3:
        for row in rows:
            insert(row)  # a few rows: plain INSERTs cost less than bulk_create's
    else:
        Notification.objects.bulk_create(rows)
    created = list(zip(rows, phones))

    def send() -> None:
        for backend in _backends():
            for notification, phone in created:
                try:
                    backend.send(notification, phone)
                except Exception:  # a failing gateway must not undo the work
                    log.exception("notification backend %s failed", type(backend).__name__)

    transaction.on_commit(send)
