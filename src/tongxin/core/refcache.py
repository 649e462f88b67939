"""A per-process cache of reference data: the category catalogue, the node tree.

Filing a request reads its category and the node that handles it first; both change
a few times a year, so each process keeps what it read for a short while instead of
asking the database on every request (DHIS2 keeps its organisation units the same way).

Two rules keep it honest:

- only committed data is kept: inside a transaction (a service's write, or a test
  that will roll back) the cache is bypassed, so a value that may still be undone is
  never served to anyone else;
- a change to a cached model clears the cache in this process at once and again when
  the change commits; other processes (a second server, the job worker) see it within
  ``ttl`` seconds (``TONGXIN_REFERENCE_CACHE_SECONDS``, 60 by default; 0 turns caching off).

Cached values are shared between threads: callers read them and never change them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models.signals import post_delete, post_save

_ALL: list["ReferenceCache"] = []


class ReferenceCache:
    def __init__(self, name: str, *, models: tuple[str, ...], max_entries: int = 50_000):
        self.name = name
        self.models = models
        self.max_entries = max_entries
        self._data: dict[Hashable, tuple[float, Any]] = {}
        self._lock = threading.Lock()
        self._connected = False
        _ALL.append(self)

    @property
    def ttl(self) -> float:
        return float(getattr(settings, "REFERENCE_CACHE_SECONDS", 60))

    def _connect(self) -> None:
        from django.apps import apps

        for label in self.models:
            model = apps.get_model(label)
            post_save.connect(self._changed, sender=model, weak=False, dispatch_uid=f"refcache-{self.name}-{label}-s")
            post_delete.connect(self._changed, sender=model, weak=False,
                                dispatch_uid=f"refcache-{self.name}-{label}-d")
        self._connected = True

    def get(self, key: Hashable, load: Callable[[], Any]) -> Any:
        """The cached value for ``key``, or ``load()`` (kept when read outside a transaction)."""
        if not self._connected:
            self._connect()
        ttl = self.ttl
        if ttl <= 0 or transaction.get_connection().in_atomic_block:
            return load()
        now = time.monotonic()
        hit = self._data.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        value = load()
        with self._lock:
            if len(self._data) >= self.max_entries:
                self._data.clear()
            self._data[key] = (now + ttl, value)
        return value

    def clear(self) -> None:
        with self._lock:
            self._data.clear()

    def changed(self, using: str | None = None) -> None:
        """Cached data changed: forget it now and again when the change commits. Signals call
        this for saves and deletes; a service that writes with ``QuerySet.update`` calls it."""
        self.clear()
        transaction.on_commit(self.clear, using=using)

    def _changed(self, **kwargs) -> None:
        self.changed(kwargs.get("using"))


def clear_all() -> None:
    """Forget everything (tests that flush the database call this)."""
    for cache in _ALL:
        cache.clear()
