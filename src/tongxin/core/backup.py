"""Backup and restore: ``tongxin backup FILE`` and ``tongxin restore FILE``.

A backup is every row of every installed model (photos are rows too: ``Attachment.data``;
nothing is kept on disk beside the database), read in one snapshot and written encrypted.
It is database-neutral (Django's JSON-lines serialisation), so SQLite and PostgreSQL back up
and restore the same way, and one may be restored into the other.

Rules:

- **Consistent.** Every row is read inside one read-only snapshot: a ``REPEATABLE READ``
  transaction on PostgreSQL, a deferred read transaction on SQLite in WAL mode. Writers go on
  meanwhile, and the backup holds the database as it was at one moment.
- **Encrypted and sealed.** AES-256-GCM in frames (``cryptography``); each frame's nonce counts
  the frames and the last one says it is the last, so a changed, reordered, cut or appended
  frame is refused. The key is ``TONGXIN_BACKUP_KEY`` (base64 of 32 bytes), else derived from
  the master key (``TONGXIN_ID_KEY``); keep it apart from the backups.
- **Into an empty database only.** ``restore`` migrates the target and refuses one that holds
  people, places or audit entries; it loads in one transaction and resets the sequences, then
  checks the row counts and the audit chain heads against the manifest written at backup time.

The restored database reads ID numbers and verifies the audit chain only with the same keys
(``TONGXIN_ID_KEY`` and the audit key) as the database that was backed up.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import io
import json
import os
import struct
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.apps import apps
from django.conf import settings
from django.core import serializers
from django.core.management.color import no_style
from django.core.serializers.json import DjangoJSONEncoder
from django.db import DEFAULT_DB_ALIAS, connections, models, transaction

from tongxin.core import clock

MAGIC = b"TONGXIN-BACKUP\x00\x01"
FRAME_BYTES = 1 << 20
_FINAL = 0x80000000
BATCH = 2000
# Rows that belong to a running server, not to the county's data.
SKIPPED = {"sessions.session"}


class BackupError(Exception):
    """The backup cannot be read (wrong key, changed or cut) or the target is not empty."""


# --- the key and the frames -------------------------------------------------------------------


def _base_key() -> bytes:
    if settings.BACKUP_KEY:
        key = base64.b64decode(settings.BACKUP_KEY)
        if len(key) < 32:
            raise BackupError("TONGXIN_BACKUP_KEY must be base64 of at least 32 bytes")
        return key
    master = base64.b64decode(settings.ID_KEY)
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"tongxin-backup-v1").derive(master)


def _file_key(salt: bytes) -> bytes:
    """A key of its own for every backup file (the salt is random and stored in the header)."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=b"tongxin-backup-file").derive(_base_key())


class _Sealer:
    """Compresses and encrypts a stream into frames: length (the top bit marks the last frame),
    then the AES-GCM ciphertext; the nonce is the file's prefix and the frame's number."""

    def __init__(self, out: IO[bytes]):
        salt, self.prefix = os.urandom(16), os.urandom(8)
        self.header = MAGIC + salt + self.prefix
        self.aead = AESGCM(_file_key(salt))
        self.out, self.count = out, 0
        self.zip = zlib.compressobj(6)
        self.pending = bytearray()
        out.write(self.header)

    def write(self, data: bytes) -> None:
        self.pending += self.zip.compress(data)
        while len(self.pending) >= FRAME_BYTES:
            self._frame(bytes(self.pending[:FRAME_BYTES]), final=False)
            del self.pending[:FRAME_BYTES]

    def close(self) -> None:
        self.pending += self.zip.flush()
        self._frame(bytes(self.pending), final=True)

    def _frame(self, plain: bytes, *, final: bool) -> None:
        nonce = self.prefix + struct.pack(">I", self.count)
        sealed = self.aead.encrypt(nonce, plain, self.header + bytes([final]))
        self.out.write(struct.pack(">I", len(sealed) | (_FINAL if final else 0)) + sealed)
        self.count += 1


def _opened(source: IO[bytes]) -> Iterator[bytes]:
    """The decrypted, decompressed stream of a backup, in pieces; refuses anything changed."""
    header = source.read(len(MAGIC) + 24)
    if len(header) != len(MAGIC) + 24 or not header.startswith(MAGIC):
        raise BackupError("not a Tongxin backup (or a backup of another format version)")
    salt, prefix = header[len(MAGIC):len(MAGIC) + 16], header[len(MAGIC) + 16:]
    aead = AESGCM(_file_key(salt))
    unzip = zlib.decompressobj()
    count = 0
    while True:
        raw = source.read(4)
        if len(raw) != 4:
            raise BackupError("the backup is cut short: its last part is missing")
        (length,) = struct.unpack(">I", raw)
        final = bool(length & _FINAL)
        sealed = source.read(length & ~_FINAL)
        try:
            plain = aead.decrypt(prefix + struct.pack(">I", count), sealed, header + bytes([final]))
        except InvalidTag:
            raise BackupError("the backup cannot be opened with this key, or it was changed") from None
        count += 1
        yield unzip.decompress(plain)
        if final:
            if source.read(1):
                raise BackupError("the backup has data after its last part")
            yield unzip.flush()
            return


def _lines(pieces: Iterable[bytes]) -> Iterator[str]:
    rest = b""
    for piece in pieces:
        rest += piece
        *whole, rest = rest.split(b"\n")
        for line in whole:
            if line:
                yield line.decode()
    if rest.strip():
        yield rest.decode()


# --- what is backed up --------------------------------------------------------------------------


def _models() -> list[type[models.Model]]:
    """Every concrete model with a table of its own, the referenced before the referring."""
    found = [m for m in apps.get_models() if m._meta.managed and not m._meta.proxy
             and m._meta.label_lower not in SKIPPED]
    ordered = serializers.sort_dependencies([(None, found)], allow_cycles=True)
    return [m for m in ordered if m in found]


class _ExactEncoder(DjangoJSONEncoder):
    """Django's encoder cuts times to milliseconds (as ECMAScript reads them); a backup keeps
    every microsecond, or the audit entries' hashes would no longer match their times."""

    def default(self, o):
        if isinstance(o, (dt.datetime, dt.time)) and not (isinstance(o, dt.time) and o.utcoffset() is not None):
            return o.isoformat()
        return super().default(o)


def _batches(model: type[models.Model], using: str) -> Iterator[list[models.Model]]:
    """All rows of ``model`` in primary-key order, a batch at a time (no server-side cursor)."""
    qs = model._base_manager.using(using).order_by("pk")
    last = None
    while True:
        batch = list(qs.filter(pk__gt=last)[:BATCH] if last is not None else qs[:BATCH])
        if not batch:
            return
        yield batch
        last = batch[-1].pk


def chain_heads(using: str = DEFAULT_DB_ALIAS) -> dict[str, list]:
    """Each audit chain's head (sequence and hash), from whichever head table the audit log keeps."""
    heads: dict[str, list] = {}
    for model in apps.get_app_config("core").get_models():
        if model.__name__ == "AuditHead":
            for row in model._base_manager.using(using).order_by("pk").values():
                chain = row.get("chain")
                heads[str(chain)] = [row.get("seq"), row.get("hash")]
    return heads


def counts(using: str = DEFAULT_DB_ALIAS) -> dict[str, int]:
    return {m._meta.label_lower: m._base_manager.using(using).count() for m in _models()}


@contextlib.contextmanager
def _snapshot(using: str) -> Iterator[None]:
    """One read-only snapshot for every read in the block (the caller's own transaction when
    it is already in one, as in a test)."""
    connection = connections[using]
    if connection.in_atomic_block:
        yield
        return
    connection.ensure_connection()
    begin = ("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY" if connection.vendor == "postgresql"
             else "BEGIN DEFERRED")
    with connection.cursor() as cursor:
        cursor.execute(begin)
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("ROLLBACK")


@dataclass
class Manifest:
    created_at: str
    vendor: str
    counts: dict[str, int] = field(default_factory=dict)
    heads: dict[str, list] = field(default_factory=dict)


def backup(out: IO[bytes], *, using: str = DEFAULT_DB_ALIAS) -> Manifest:
    """Write an encrypted backup of the whole database to ``out``; answers its manifest."""
    sealer = _Sealer(out)
    connection = connections[using]
    with _snapshot(using):
        manifest = Manifest(created_at=clock.now().isoformat(), vendor=connection.vendor,
                            counts=counts(using), heads=chain_heads(using))
        sealer.write(json.dumps({"tongxin_backup": 1, **manifest.__dict__}).encode() + b"\n")
        for model in _models():
            for batch in _batches(model, using):
                buffer = io.StringIO()
                serializers.serialize("jsonl", batch, stream=buffer, cls=_ExactEncoder)
                sealer.write(buffer.getvalue().encode())
    sealer.close()
    return manifest


def read_manifest(source: IO[bytes]) -> Manifest:
    first = next(_lines(_opened(source)))
    data = json.loads(first)
    return Manifest(created_at=data["created_at"], vendor=data["vendor"], counts=data["counts"], heads=data["heads"])


# --- restore ------------------------------------------------------------------------------------


def _refuse_unless_empty(using: str) -> None:
    """Empty: no accounts and no audit entries (the migrations make neither; they do make the
    category catalogue and content types, which the backup's rows then replace)."""
    from django.contrib.auth import get_user_model

    from tongxin.core.models import AuditEntry

    for model in (get_user_model(), AuditEntry):
        if model._base_manager.using(using).exists():
            raise BackupError(f"the database is not empty ({model._meta.label_lower} has rows): "
                              "restore into an empty database")


def _flush(batch: list[models.Model], using: str) -> None:
    if batch:
        type(batch[0])._base_manager.using(using).bulk_create(batch, batch_size=500)
        batch.clear()


def restore(source: IO[bytes], *, using: str = DEFAULT_DB_ALIAS) -> Manifest:
    """Load a backup into an empty, migrated database in one transaction; the row counts and
    the audit chain heads must then equal the manifest's, or nothing is kept."""
    lines = _lines(_opened(source))
    try:
        head = json.loads(next(lines))
    except StopIteration:
        raise BackupError("the backup is empty") from None
    if head.get("tongxin_backup") != 1:
        raise BackupError("not a Tongxin backup manifest")
    manifest = Manifest(created_at=head["created_at"], vendor=head["vendor"], counts=head["counts"],
                        heads=head["heads"])
    connection = connections[using]
    loaded: set[type[models.Model]] = set()
    with transaction.atomic(using=using):
        _refuse_unless_empty(using)
        # Rows the migrations made (the category catalogue, content types) give way to the backup's.
        for model in reversed(_models()):
            qs = model._base_manager.using(using).all()
            if qs.exists():
                qs._raw_delete(using)
        batch: list[models.Model] = []
        for obj in serializers.deserialize("jsonl", lines, using=using):
            model = type(obj.object)
            loaded.add(model)
            if obj.m2m_data:
                _flush(batch, using)
                obj.save(using=using)
                continue
            if batch and type(batch[0]) is not model:
                _flush(batch, using)
            batch.append(obj.object)
            if len(batch) >= BATCH:
                _flush(batch, using)
        _flush(batch, using)
        with connection.cursor() as cursor:
            for sql in connection.ops.sequence_reset_sql(no_style(), list(loaded)):
                cursor.execute(sql)
        found, heads = counts(using), chain_heads(using)
        differ = {k: (v, found.get(k)) for k, v in manifest.counts.items() if found.get(k) != v}
        if differ or heads != manifest.heads:
            raise BackupError(f"the restored database differs from the backup: counts {differ}, "
                              f"chain heads {'equal' if heads == manifest.heads else 'differ'}")
    return manifest


def describe(manifest: Manifest) -> str:
    rows = sum(manifest.counts.values())
    return (f"{rows} rows in {sum(1 for n in manifest.counts.values() if n)} tables, "
            f"{len(manifest.heads)} audit chains, taken {manifest.created_at} on {manifest.vendor}")
