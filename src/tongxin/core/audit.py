"""The keyed, hash-chained audit log: one chain per county.

Rules:

- ``record()`` runs inside the transaction of the write it describes, so an entry exists
  exactly when the write does. It writes the entry *unlinked*: with its own keyed hash (an
  HMAC under the audit key, which lives in the environment or the key file, never in the
  database) but no place in its chain yet, so that writes of one county never queue behind
  each other's commit.
- The sequencer (``seal()``) gives committed entries their place: right after the writing
  transaction commits, and from a periodic job for whatever is left. Each chain is sealed
  under its head's row lock and an entry is linked only while unlinked, so any number of
  sequencers may run at once and nothing is chained twice.
- Entries are never updated (but for that one link) or deleted: on PostgreSQL database
  triggers refuse it. ``verify()`` recomputes every chain with the key and names the first
  entry that does not match; a signed checkpoint (``checkpoint_body``) kept outside the
  database lets it prove too that no chain was cut short.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import hmac
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, close_old_connections, connections, models, transaction

from tongxin.core import clock, context, crypto
from tongxin.core.models import AuditEntry, AuditHead
from tongxin.core.rows import insert
from tongxin.core.types import Actor

log = logging.getLogger("tongxin.audit")

GLOBAL_CHAIN = "_"


def chain_for(node_path: str) -> str:
    """The county code in a node path (a six-digit code not ending in 00), else the global chain."""
    for code in node_path.strip("/").split("/"):
        if len(code) == 6 and code.isdigit() and not code.endswith("00"):
            return code
    return GLOBAL_CHAIN


def chain_path(node_path: str) -> str:
    """The node path down to the county of ``node_path`` (``/540230/`` of ``/540230/540230100/``),
    or "" for the global chain: where a chain's head is placed for the scope function."""
    codes = []
    for code in node_path.strip("/").split("/"):
        codes.append(code)
        if len(code) == 6 and code.isdigit() and not code.endswith("00"):
            return "/" + "/".join(codes) + "/"
    return ""


# Where an entry that names no node belongs (a login, an account): ``people`` registers the
# function, since the kernel knows no account's place.
_place_of: Callable[[Change], str] | None = None


def set_place_resolver(resolver: Callable[[Change], str] | None) -> None:
    """Register ``resolver(change) -> node path`` for entries that name no node (``people``:
    the county of the account they are about)."""
    global _place_of
    _place_of = resolver


# What each action is called in the reader's language: apps add theirs from ``ready()``; an
# action without a label is shown by its name.
_action_labels: dict[str, Any] = {}


def add_action_labels(labels: dict[str, Any]) -> None:
    """Register the translated names of audit actions (``{"request.file": _("filed a request")}``)."""
    _action_labels.update(labels)


def action_label(action: str) -> str:
    label = _action_labels.get(action)
    return str(label) if label is not None else action


def action_choices() -> list[tuple[str, str]]:
    """Every registered action as (name, label in the active language), sorted by label."""
    return sorted(((name, str(label)) for name, label in _action_labels.items()), key=lambda c: (c[1], c[0]))


def _value(field: models.Field, obj: models.Model) -> Any:
    value = field.value_from_object(obj)
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, (bytes, memoryview)):
        return bytes(value).hex()
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        # In UTC, as the database gives it back: the digest of a row made while the clock was
        # set in another zone must equal the digest of the row read again.
        return value.astimezone(dt.timezone.utc).isoformat()
    return field.value_to_string(obj)


def snapshot(obj: models.Model | None) -> dict[str, Any]:
    """The stored values of a record, for digests and change lists (not kept in the log)."""
    if obj is None:
        return {}
    return {f.attname: _value(f, obj) for f in obj._meta.concrete_fields if f.attname not in {"updated_at"}}


def digest(values: dict[str, Any]) -> str:
    if not values:
        return ""
    return hashlib.sha256(json.dumps(values, sort_keys=True, default=str, ensure_ascii=False).encode()).hexdigest()


def _payload(entry: AuditEntry) -> bytes:
    payload = {
        "chain": entry.chain,
        "seq": entry.seq,
        # In UTC: the database gives the time back in UTC whatever zone the clock was set in.
        "created_at": entry.created_at.astimezone(dt.timezone.utc).isoformat(),
        "actor_id": str(entry.actor_id) if entry.actor_id else "",
        "actor_name": entry.actor_name,
        "action": entry.action,
        "object_type": entry.object_type,
        "object_id": entry.object_id,
        "node_path": entry.node_path,
        "ip": entry.ip,
        "channel": entry.channel,
        "changes": list(entry.changes or []),
        "before_digest": entry.before_digest,
        "after_digest": entry.after_digest,
        "prev_hash": entry.prev_hash,
    }
    return json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()


def _entry_hash(entry: AuditEntry) -> str:
    """The entry's keyed hash (HMAC under the audit key, which is not in the database): over
    its content alone while it waits for the sequencer (``seq`` None, no predecessor), over
    its content, its place and its predecessor's hash once chained."""
    return crypto.audit_mac(_payload(entry))


@dataclass
class Change:
    """What one write did, before it is chained: built by services, appended by ``record``."""

    action: str
    actor: Actor | None = None
    obj: models.Model | None = None
    object_type: str = ""
    object_id: str = ""
    node_path: str = ""
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None


def _build(change: Change, moment) -> AuditEntry:
    ctx = context.current()
    obj = change.obj
    before = change.before or {}
    after = change.after if change.after is not None else (snapshot(obj) if obj is not None else {})
    changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k)) if before else []
    node_path = change.node_path or getattr(obj, "node_path", "") or getattr(obj, "path", "") or ""
    if not node_path and _place_of is not None:
        node_path = _place_of(change) or ""
    actor = change.actor if getattr(change.actor, "pk", None) else None
    return AuditEntry(
        chain=chain_for(node_path),
        created_at=moment,
        actor_id=actor.pk if actor else None,
        actor_name=getattr(actor, "username", "") if actor else "system",
        action=change.action,
        object_type=change.object_type or (obj._meta.label_lower if obj is not None else ""),
        object_id=change.object_id or (str(obj.pk) if obj is not None else ""),
        node_path=node_path,
        ip=ctx.ip,
        channel=ctx.channel,
        changes=changed,
        before_digest=digest(before),
        after_digest=digest(after) if after else "",
    )


def record(*, action: str, actor: Actor | None = None, obj: models.Model | None = None, before: dict | None = None,
           after: dict | None = None, node_path: str = "", object_type: str = "", object_id: str = "") -> AuditEntry:
    """Append one entry. Call inside the writing service's transaction."""
    entries = record_many([Change(action=action, actor=actor, obj=obj, before=before, after=after,
                                  node_path=node_path, object_type=object_type, object_id=object_id)])
    return entries[0]


def record_many(changes: Iterable[Change], *, link: bool = False) -> list[AuditEntry]:
    """Append entries for many writes at once.

    The entries are written unlinked (no place in their chain yet, each with its own keyed
    hash) and the sequencer chains them after the transaction commits, so that writes of one
    county never wait for each other's commit. ``link=True`` (the bulk seeding path, which
    writes many entries in few transactions) chains them at once under the chain's head.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit.record must run inside the write's transaction")
    moment = clock.now()
    built = [_build(c, moment) for c in changes]
    connection = transaction.get_connection()
    if link:
        by_chain: dict[str, list[AuditEntry]] = {}
        for entry in built:
            by_chain.setdefault(entry.chain, []).append(entry)
        for chain in sorted(by_chain):
            head = _lock_head(connection, chain, path=chain_path(by_chain[chain][0].node_path))
            assert head is not None, "waiting for the head always answers it"
            seq, prev = head
            for entry in by_chain[chain]:
                seq += 1
                entry.seq, entry.prev_hash = seq, prev
                entry.hash = prev = _entry_hash(entry)
            with connection.cursor() as cursor:
                cursor.execute(_HEAD_SQL["update"], [seq, prev, chain])
    else:
        for entry in built:
            entry.hash = _entry_hash(entry)
        _seal_after_commit(connection)
    if len(built) == 1:
        insert(built[0])  # one row: a plain INSERT costs a fraction of bulk_create's
    else:
        AuditEntry.objects.bulk_create(built, batch_size=2000)
    return built


# --- the sequencer ----------------------------------------------------------------------------

# The head of a chain is read and moved with plain statements, not ORM queries (the table and
# column names come from the model).
_HEAD = AuditHead._meta.db_table
_ENTRY = AuditEntry._meta.db_table
_HEAD_SQL = {
    "select": f"SELECT seq, hash FROM {_HEAD} WHERE chain = %s",
    "update": f"UPDATE {_HEAD} SET seq = %s, hash = %s WHERE chain = %s",
    "pending": f"SELECT DISTINCT chain FROM {_ENTRY} WHERE seq IS NULL",
    "link": f"UPDATE {_ENTRY} SET seq = %s, prev_hash = %s, hash = %s WHERE id = %s AND seq IS NULL",
}


def _lock_head(connection, chain: str, *, path: str = "", wait: bool = True) -> tuple[int, str] | None:
    """The chain's head (seq, hash), made when missing and locked until the transaction ends
    (SQLite's write transaction holds the whole database already). With ``wait=False`` a head
    another transaction holds answers None at once (PostgreSQL's SKIP LOCKED)."""
    lock = ""
    if connection.features.has_select_for_update:
        lock = " FOR UPDATE" if wait else " FOR UPDATE SKIP LOCKED"
    with connection.cursor() as cursor:
        cursor.execute(_HEAD_SQL["select"] + lock, [chain])
        row = cursor.fetchone()
        if row is None and not AuditHead.objects.using(connection.alias).filter(chain=chain).exists():
            # A new chain: make its head (two first writers of one chain: one waits on the key).
            if not path:
                first = (AuditEntry.objects.using(connection.alias).filter(chain=chain)
                         .values_list("node_path", flat=True).first())
                path = chain_path(first or "")
            with transaction.atomic(using=connection.alias):
                AuditHead.objects.using(connection.alias).get_or_create(chain=chain, defaults={"path": path})
            cursor.execute(_HEAD_SQL["select"] + lock, [chain])
            row = cursor.fetchone()
    return (int(row[0]), row[1]) if row else None


def _seal_after_commit(connection) -> None:
    """Chain this transaction's entries right after it commits (once per transaction)."""
    if not any(func is _seal_now for _sids, func, _robust in connection.run_on_commit):
        transaction.on_commit(_seal_now, robust=True)


def _seal_now() -> None:
    """After a commit that wrote entries. With ``AUDIT_SEAL_DELAY`` 0 (the tests) the writer's
    thread chains them at once, without waiting for a head another sequencer holds (that one,
    the next commit or the periodic job takes the rest). Otherwise this process's sequencer
    thread is woken: it lets a burst of commits gather for that many seconds and chains them
    in one transaction, so that a busy server pays one short transaction per burst, not one
    per write, and no request waits for it."""
    delay = float(getattr(settings, "AUDIT_SEAL_DELAY", 0) or 0)
    if delay <= 0:
        seal(wait=False)
        return
    _wake.set()
    global _sequencer
    with _sequencer_lock:
        if _sequencer is None or not _sequencer.is_alive():
            _sequencer = threading.Thread(target=_sequencer_loop, args=(delay,), name="tongxin-audit-sequencer",
                                          daemon=True)
            _sequencer.start()


_wake = threading.Event()
_sequencer: threading.Thread | None = None
_sequencer_lock = threading.Lock()


# How long the sequencer keeps its database session after its last round: a busy server
# does not open a new one every round, an idle one holds none.
SEQUENCER_IDLE_SECONDS = 10.0


def _sequencer_loop(delay: float) -> None:
    while True:
        if not _wake.wait(SEQUENCER_IDLE_SECONDS):
            connections[DEFAULT_DB_ALIAS].close()  # idle: hold no database session
            _wake.wait()
        time.sleep(delay)  # a pause, not a reading of the time: the clock rule is not concerned
        # Cleared before sealing: a commit from now on wakes the next round, none is missed.
        _wake.clear()
        try:
            close_old_connections()
            seal()
        except Exception:
            log.exception("the audit sequencer failed; the next commit or the periodic job retries")
            connections[DEFAULT_DB_ALIAS].close()


def seal(*, chain: str | None = None, wait: bool = True, batch: int = 2000) -> int:
    """The sequencer: give every committed, unlinked entry its place in its chain, in the
    order they are found (by id), and move the head. Returns how many it chained.

    Safe to run in any number of processes at once: each chain is sealed under its head's
    row lock, and an entry is linked only while it is still unlinked, so nothing is chained
    twice. ``wait=False`` skips a chain whose head another sequencer holds."""
    connection = transaction.get_connection()
    if chain is None:
        with connection.cursor() as cursor:
            cursor.execute(_HEAD_SQL["pending"])
            chains = sorted(r[0] for r in cursor.fetchall())
    else:
        chains = [chain]
    total = 0
    for name in chains:
        while True:
            done = _seal_batch(connection, name, wait=wait, batch=batch)
            total += done
            if done < batch:
                break
    return total


def _seal_batch(connection, chain: str, *, wait: bool, batch: int) -> int:
    with transaction.atomic(using=connection.alias):
        if connection.vendor == "postgresql":
            # Losing this commit in a crash loses nothing: the entries are unlinked again and
            # the next run links them. So it need not wait for the disk.
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit = off")
        head = _lock_head(connection, chain, wait=wait)
        if head is None:
            return 0
        seq, prev = head
        rows = list(AuditEntry.objects.using(connection.alias).filter(chain=chain, seq__isnull=True)
                    .order_by("id")[:batch])
        if not rows:
            return 0
        links = []
        for entry in rows:
            seq += 1
            entry.seq, entry.prev_hash = seq, prev
            entry.hash = prev = _entry_hash(entry)
            links.append((entry.seq, entry.prev_hash, entry.hash, entry.id))
        with connection.cursor() as cursor:
            cursor.executemany(_HEAD_SQL["link"], links)
            cursor.execute(_HEAD_SQL["update"], [seq, prev, chain])
        return len(rows)


# --- verifying ----------------------------------------------------------------------------------


@dataclass
class VerifyResult:
    ok: bool
    checked: int
    problem: str = ""
    unlinked: int = 0  # entries still waiting for the sequencer (each checked on its own)
    checkpoint_chains: int = 0  # chains a checkpoint named, each proved extended


class CheckpointInvalid(ValueError):
    """A checkpoint that is not one: unreadable, or not signed with this deployment's key."""


@contextlib.contextmanager
def _snapshot() -> Iterator[None]:
    """One consistent view of the log while it is read (PostgreSQL: REPEATABLE READ), so that
    the sequencer moving a head meanwhile is not taken for tampering."""
    connection = transaction.get_connection()
    if connection.in_atomic_block:
        yield
        return
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        yield


def verify(batch: int = 5000, *, checkpoint: dict | None = None) -> VerifyResult:
    """Recompute every chain with the key: an altered, deleted or inserted entry breaks it,
    and so does an entry rewritten by anyone without the key. Entries the sequencer has not
    chained yet are checked one by one and counted in ``unlinked``.

    With a ``checkpoint`` (see ``checkpoint_body``), also prove that each chain it names still
    extends it: its entry at the checkpoint's length is there with the checkpoint's hash. That
    finds a log cut short with its head moved back, and one rewritten even with the key.
    A checkpoint whose signature does not hold raises ``CheckpointInvalid``."""
    marks: dict[str, tuple[int, str]] = {}
    if checkpoint is not None:
        marks = checkpoint_chains(checkpoint)
    with _snapshot():
        result = _verify(batch, marks)
    result.checkpoint_chains = len(marks) if result.ok else 0
    return result


def _verify(batch: int, marks: dict[str, tuple[int, str]]) -> VerifyResult:
    checked = 0
    heads = {h.chain: h for h in AuditHead.objects.all()}
    chains = set(heads) | set(AuditEntry.objects.filter(seq__isnull=False).values_list("chain", flat=True)
                              .distinct()) | set(marks)
    for chain in sorted(chains):
        expected_seq, prev = 1, ""
        last_seq = 0
        mark = marks.get(chain)
        qs = AuditEntry.objects.filter(chain=chain, seq__isnull=False).order_by("seq")
        while True:
            rows = list(qs.filter(seq__gt=last_seq)[:batch])
            if not rows:
                break
            for entry in rows:
                if entry.seq != expected_seq:
                    return VerifyResult(False, checked, f"chain {chain}: entry {expected_seq} is missing "
                                                        f"(next is {entry.seq}, id {entry.id})")
                if entry.prev_hash != prev:
                    return VerifyResult(False, checked, f"chain {chain}: entry {entry.seq} (id {entry.id}) "
                                                        "does not follow its predecessor")
                if _entry_hash(entry) != entry.hash:
                    return VerifyResult(False, checked, f"chain {chain}: entry {entry.seq} (id {entry.id}) was altered")
                if mark is not None and entry.seq == mark[0] and entry.hash != mark[1]:
                    return VerifyResult(False, checked, f"chain {chain}: entry {entry.seq} (id {entry.id}) is not "
                                                        "the one the checkpoint holds: the log was rewritten")
                prev, expected_seq, last_seq = entry.hash, expected_seq + 1, entry.seq
                checked += 1
        length = expected_seq - 1
        head = heads.get(chain)
        if mark is not None and length < mark[0]:
            return VerifyResult(False, checked, f"chain {chain}: the log ends at entry {length} but the checkpoint "
                                                f"holds {mark[0]}: entries {length + 1} to {mark[0]} were cut off")
        if head is None:
            return VerifyResult(False, checked, f"chain {chain}: its head record is missing")
        if head.seq != length or head.hash != prev:
            return VerifyResult(False, checked, f"chain {chain}: entries after {length} were deleted "
                                                f"(head is at {head.seq})")
    unlinked = 0
    last_id = 0
    pending = AuditEntry.objects.filter(seq__isnull=True).order_by("id")
    while True:
        rows = list(pending.filter(id__gt=last_id)[:batch])
        if not rows:
            break
        for entry in rows:
            if entry.prev_hash or _entry_hash(entry) != entry.hash:
                return VerifyResult(False, checked, f"chain {entry.chain}: entry not yet chained (id {entry.id}) "
                                                    "was altered", unlinked)
            unlinked += 1
            checked += 1
            last_id = entry.id
    return VerifyResult(True, checked, unlinked=unlinked)


# --- checkpoints -------------------------------------------------------------------------------

CHECKPOINT_FORMAT = "tongxin-audit-checkpoint/1"


def _canonical(body: dict) -> bytes:
    return json.dumps({k: v for k, v in body.items() if k != "signature"}, sort_keys=True,
                      ensure_ascii=False, separators=(",", ":")).encode()


def checkpoint_body(*, chains: Iterable[str] | None, taken_by: str) -> dict[str, Any]:
    """A signed checkpoint of the heads of ``chains`` (None: every chain), after chaining
    every entry committed so far. Kept outside the database, it lets ``verify`` prove later
    that the log still extends it."""
    seal()
    heads = AuditHead.objects.order_by("chain")
    if chains is not None:
        heads = heads.filter(chain__in=list(chains))
    body: dict[str, Any] = {
        "format": CHECKPOINT_FORMAT,
        "taken_at": clock.now().astimezone(dt.timezone.utc).isoformat(),
        "taken_by": taken_by,
        "chains": {h.chain: {"seq": h.seq, "hash": h.hash} for h in heads},
    }
    body["signature"] = crypto.checkpoint_signature(_canonical(body))
    return body


def checkpoint_chains(body: Any) -> dict[str, tuple[int, str]]:
    """The (length, head hash) of each chain a checkpoint names, once its signature holds."""
    if not isinstance(body, dict) or body.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointInvalid("not a Tongxin audit checkpoint")
    signature = body.get("signature")
    expected = crypto.checkpoint_signature(_canonical(body))
    if not isinstance(signature, str) or not hmac.compare_digest(signature, expected):
        raise CheckpointInvalid("the checkpoint's signature does not hold: it was altered, or signed "
                                "with another key")
    chains = body.get("chains")
    if not isinstance(chains, dict):
        raise CheckpointInvalid("the checkpoint names no chains")
    try:
        return {str(c): (int(v["seq"]), str(v["hash"])) for c, v in chains.items()}
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointInvalid("the checkpoint's chains are not readable") from exc
