"""Personal data at rest: authenticated encryption and keyed hashes.

Both keys derive from the one master key ``TONGXIN_ID_KEY`` with HKDF, so a value's
ciphertext cannot be confused with its search hash. Ciphertexts carry a version
byte so keys can be rotated later.

The audit log's keys (the chain's MAC and the checkpoints' signature) derive the same way
from ``TONGXIN_AUDIT_KEY``, or from ``TONGXIN_ID_KEY`` when that is not set: never from
anything kept in the database, so whoever can write the database cannot rewrite the log.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import os

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

_VERSION = b"\x01"


def _derive(master_b64: str, setting: str, *infos: bytes) -> tuple[bytes, ...]:
    """Keys for separate uses, derived (HKDF-SHA256) from one master key given in base64."""
    master = base64.b64decode(master_b64)
    if len(master) < 32:
        raise ValueError(f"{setting} must be base64 of at least 32 bytes")
    return tuple(HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(master) for info in infos)


@functools.cache
def _keys(master_b64: str) -> tuple[bytes, ...]:
    return _derive(master_b64, "TONGXIN_ID_KEY", b"tongxin-encrypt-v1", b"tongxin-search-v1")


@functools.cache
def _audit_keys(master_b64: str) -> tuple[bytes, ...]:
    return _derive(master_b64, "TONGXIN_AUDIT_KEY", b"tongxin-audit-chain-v1", b"tongxin-audit-checkpoint-v1")


def _audit_master() -> str:
    return getattr(settings, "AUDIT_KEY", "") or settings.ID_KEY


def audit_mac(payload: bytes) -> str:
    """The keyed hash of one audit entry (HMAC-SHA-256, hex)."""
    key, _ = _audit_keys(_audit_master())
    return hmac.new(key, payload, hashlib.sha256).hexdigest()


def checkpoint_signature(payload: bytes) -> str:
    """The signature of an audit checkpoint (HMAC-SHA-256 under its own derived key, hex)."""
    _, key = _audit_keys(_audit_master())
    return hmac.new(key, payload, hashlib.sha256).hexdigest()


def encrypt(plaintext: str, *, context: str) -> str:
    key, _ = _keys(settings.ID_KEY)
    nonce = os.urandom(12)
    sealed = AESGCM(key).encrypt(nonce, plaintext.encode(), context.encode())
    return base64.b64encode(_VERSION + nonce + sealed).decode()


def decrypt(token: str, *, context: str) -> str:
    key, _ = _keys(settings.ID_KEY)
    raw = base64.b64decode(token)
    if raw[:1] != _VERSION:
        raise ValueError("unknown ciphertext version")
    return AESGCM(key).decrypt(raw[1:13], raw[13:], context.encode()).decode()


def search_hash(value: str, *, context: str) -> str:
    _, key = _keys(settings.ID_KEY)
    return hmac.new(key, f"{context}:{value}".encode(), hashlib.sha256).hexdigest()


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
