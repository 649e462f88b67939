"""The hash-chained audit log.

Rule: ``record()`` runs inside the transaction of the write it describes, so an entry
exists exactly when the write does. Entries are never updated or deleted; ``verify()``
recomputes every chain and names the first entry that does not match.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import models, transaction

from tongxin.core import clock, context
from tongxin.core.models import AuditEntry, AuditHead
from tongxin.core.rows import insert
from tongxin.core.types import Actor

GLOBAL_CHAIN = "_"


def chain_for(node_path: str) -> str:
    """The county code in a node path (a six-digit code not ending in 00), else the global chain."""
    for code in node_path.strip("/").split("/"):
        if len(code) == 6 and code.isdigit() and not code.endswith("00"):
            return code
    return GLOBAL_CHAIN


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


def _entry_hash(entry: AuditEntry) -> str:
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
    return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


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


def record_many(changes: Iterable[Change]) -> list[AuditEntry]:
    """Append entries for many writes at once (the bulk seeding path uses this)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit.record must run inside the write's transaction")
    moment = clock.now()
    built = [_build(c, moment) for c in changes]
    by_chain: dict[str, list[AuditEntry]] = {}
    for entry in built:
        by_chain.setdefault(entry.chain, []).append(entry)
    connection = transaction.get_connection()
    for chain in sorted(by_chain):
        head = _lock_head(connection, chain)
        if head is None:
            AuditHead.objects.get_or_create(chain=chain)
            head = _lock_head(connection, chain)
            assert head is not None, "the head row was made just above"
        seq, prev = head
        for entry in by_chain[chain]:
            seq += 1
            entry.seq, entry.prev_hash = seq, prev
            entry.hash = prev = _entry_hash(entry)
        with connection.cursor() as cursor:
            cursor.execute(_HEAD_SQL["update"], [seq, prev, chain])
    if len(built) == 1:
        insert(built[0])  # one row: a plain INSERT costs a fraction of bulk_create's
    else:
        AuditEntry.objects.bulk_create(built, batch_size=2000)
    return built


# Every write goes through the head of its chain: two plain statements, not ORM queries,
# keep that step cheap (the table and column names come from the model).
_HEAD_SQL = {
    "select": f"SELECT seq, hash FROM {AuditHead._meta.db_table} WHERE chain = %s",
    "update": f"UPDATE {AuditHead._meta.db_table} SET seq = %s, hash = %s WHERE chain = %s",
}


def _lock_head(connection, chain: str) -> tuple[int, str] | None:
    """The chain's head (seq, hash), locked until the transaction ends (SQLite's write
    transaction holds the whole database already)."""
    sql = _HEAD_SQL["select"] + (" FOR UPDATE" if connection.features.has_select_for_update else "")
    with connection.cursor() as cursor:
        cursor.execute(sql, [chain])
        row = cursor.fetchone()
    return (int(row[0]), row[1]) if row else None


@dataclass
class VerifyResult:
    ok: bool
    checked: int
    problem: str = ""


def verify(batch: int = 5000) -> VerifyResult:
    """Recompute every chain: an altered, deleted or inserted entry breaks it."""
    checked = 0
    heads = {h.chain: h for h in AuditHead.objects.all()}
    chains = set(heads) | set(AuditEntry.objects.values_list("chain", flat=True).distinct())
    for chain in sorted(chains):
        expected_seq, prev = 1, ""
        last_seq = 0
        qs = AuditEntry.objects.filter(chain=chain).order_by("seq")
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
                prev, expected_seq, last_seq = entry.hash, expected_seq + 1, entry.seq
                checked += 1
        head = heads.get(chain)
        if head is None:
            return VerifyResult(False, checked, f"chain {chain}: its head record is missing")
        if head.seq != expected_seq - 1 or head.hash != prev:
            return VerifyResult(False, checked, f"chain {chain}: entries after {expected_seq - 1} were deleted "
                                                f"(head is at {head.seq})")
    return VerifyResult(True, checked)
