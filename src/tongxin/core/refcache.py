"""A cache of reference data: the category catalogue, the node tree, who staffs each node.

Filing a request reads its category, the node that handles it first and the staff to tell;
all of these change a few times a year, so they are kept in Django's cache framework (the
``reference`` cache: memory of each process by default, ``TONGXIN_REFERENCE_CACHE_URL``
may name a shared Redis) instead of being asked of the database on every request, the way
DHIS2 keeps its organisation units.

Two rules keep it honest:

- only committed data is kept: inside a transaction (a service's write, or a test that will
  roll back) the cache is bypassed, so a value that may still be undone is never served
  (a cache made with ``serve_in_transactions`` serves committed values there, keeps none);
- a change to a cached model moves the cache to a new generation at once and again when the
  change commits, so nothing read before it is served after it; writes that send no signal
  (``core.rows.insert``, ``bulk_create``, ``QuerySet.update``, SQL) call ``model_changed``.
  With the default memory cache, other processes (a second server, the job worker) see the
  change when their copy expires, within ``TONGXIN_REFERENCE_CACHE_SECONDS`` (60; 0 turns
  caching off); with a shared cache, within a second.

Values come back as copies (the cache pickles them), so callers may not share an instance
between threads by accident.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Hashable, Iterable
from typing import Any

from django.conf import settings
from django.core.cache import caches
from django.db import transaction
from django.db.models import Model
from django.db.models.signals import post_delete, post_save

_ALL: list[ReferenceCache] = []
_TRACKING: dict[str, list[ReferenceCache]] = {}  # model label (lower case) -> the caches it feeds
_MISSING = object()


class ReferenceCache:
    """``models`` are the labels whose saves and deletes make the cache forget (post_save and
    post_delete, connected at once, so a process that writes before it ever reads still tells
    the others). ``serve_in_transactions``: read inside a transaction too (never kept there);
    for data that no service reads back in the transaction that changes it — the change moves
    the generation at once, so the transaction that writes still reads its own rows."""

    def __init__(self, name: str, *, models: tuple[str, ...], serve_in_transactions: bool = False):
        self.name = name
        self.models = models
        self.serve_in_transactions = serve_in_transactions
        self._generation_seen = 0
        self._generation_read = -1.0e9
        _ALL.append(self)
        for label in models:
            _TRACKING.setdefault(label.lower(), []).append(self)
            # A label as sender: connected when the model is loaded, whenever that is.
            post_save.connect(self._changed, sender=label, weak=False, dispatch_uid=f"refcache-{name}-{label}-s")
            post_delete.connect(self._changed, sender=label, weak=False, dispatch_uid=f"refcache-{name}-{label}-d")

    @property
    def _cache(self):
        return caches["reference"]

    @property
    def ttl(self) -> float:
        return float(getattr(settings, "REFERENCE_CACHE_SECONDS", 60))

    def _generation(self) -> int:
        """The current generation: asked of the cache at most once a second (this process's own
        changes set it at once; another process's reach a shared cache within that second)."""
        now = time.monotonic()
        if now - self._generation_read < 1.0:
            return self._generation_seen
        # A generation evicted from the cache comes back as a new timestamp, never as an old number.
        self._generation_seen = self._cache.get_or_set(f"{self.name}:generation", time.time_ns, timeout=None)
        self._generation_read = now
        return self._generation_seen

    def _key(self, key: Hashable) -> str:
        digest = hashlib.blake2b(repr(key).encode(), digest_size=12).hexdigest()
        return f"{self.name}:{self._generation()}:{digest}"

    def get(self, key: Hashable, load: Callable[[], Any]) -> Any:
        """The cached value for ``key``, or ``load()`` (kept when read outside a transaction)."""
        ttl = self.ttl
        in_transaction = transaction.get_connection().in_atomic_block
        if ttl <= 0 or (in_transaction and not self.serve_in_transactions):
            return load()
        cache_key = self._key(key)
        value = self._cache.get(cache_key, _MISSING)
        if value is _MISSING:
            value = load()
            if not in_transaction:  # only committed data is kept
                self._cache.set(cache_key, value, timeout=ttl)
        return value

    def get_many(self, keys: Iterable[Hashable], load: Callable[[list], dict]) -> dict:
        """The cached values for ``keys``, the missing ones loaded together by ``load(missing)``
        (which answers ``{key: value}`` and may leave out keys that have no value): one load for a
        page of rows, never one per row. Kept like ``get``'s: only outside a transaction."""
        keys = list(dict.fromkeys(keys))
        ttl = self.ttl
        in_transaction = transaction.get_connection().in_atomic_block
        if ttl <= 0 or (in_transaction and not self.serve_in_transactions):
            return load(keys) if keys else {}
        by_cache_key = {self._key(k): k for k in keys}
        values = {by_cache_key[ck]: v for ck, v in self._cache.get_many(list(by_cache_key)).items()}
        missing = [k for k in keys if k not in values]
        if missing:
            loaded = load(missing)
            values.update(loaded)
            if not in_transaction and loaded:
                self._cache.set_many({self._key(k): v for k, v in loaded.items()}, timeout=ttl)
        return values

    def clear(self) -> None:
        """Start a new generation: nothing cached before is served again."""
        key = f"{self.name}:generation"
        try:
            self._generation_seen = self._cache.incr(key)
        except ValueError:  # no generation yet (or it was evicted): a new timestamp differs from any before
            self._generation_seen = time.time_ns()
            self._cache.set(key, self._generation_seen, timeout=None)
        self._generation_read = time.monotonic()

    def changed(self, using: str | None = None) -> None:
        """Cached data changed: forget it now and again when the change commits. Signals call
        this for saves and deletes; a service that writes with ``QuerySet.update`` calls it."""
        self.clear()
        transaction.on_commit(self.clear, using=using)

    def _changed(self, **kwargs) -> None:
        self.changed(kwargs.get("using"))


def model_changed(model: type[Model], using: str | None = None) -> None:
    """Rows of ``model`` were written without signals (a plain INSERT, ``bulk_create``,
    ``QuerySet.update``, SQL): every cache that holds the model forgets, as a save would make it."""
    for cache in _TRACKING.get(model._meta.label_lower, ()):
        cache.changed(using)


def clear_all() -> None:
    """Forget everything (tests that flush the database call this)."""
    for cache in _ALL:
        cache.clear()
