"""Backup and restore (issue 8, item 11): ``tongxin backup FILE`` writes a consistent, encrypted
backup of the whole database (photos are rows of it); ``tongxin restore FILE`` loads it into an
empty database, after which ``tongxin audit verify`` passes and the row counts and audit chain
heads equal those at backup time. On SQLite and PostgreSQL alike (the suite's database decides)."""

from __future__ import annotations

import base64
import io
import json
import os
import subprocess
import sys
import uuid

import pytest
from django.conf import settings
from django.db import connection

from tests.walk import png
from tongxin.core import backup
from tongxin.core.models import AuditEntry


def _photo(network):
    from tongxin.dispatch import services
    from tongxin.dispatch.selectors import category_get

    request, _ = services.request_file(actor=network.user("grid_worker_a"), category=category_get("water"),
                                       node=network.a.grid, household=network.a.household,
                                       description="Pipe burst.")
    return services.request_attach(actor=network.user("grid_worker_a"), request=request, data=png())


def test_a_backup_holds_every_row_photos_included_and_only_its_key_opens_it(network, settings):
    _photo(network)
    out = io.BytesIO()
    manifest = backup.backup(out)
    assert manifest.counts == backup.counts() and manifest.heads == backup.chain_heads()
    assert manifest.counts["dispatch.attachment"] == 1 and manifest.counts["registry.resident"] == 8
    assert manifest.counts["core.auditentry"] == AuditEntry.objects.count()
    data = out.getvalue()
    # Encrypted: no name, no ID number, no photo bytes in the clear.
    for clear in (b"Dorje", network.id_numbers[str(network.a.resident.pk)].encode(), b"Pipe burst", b"PNG"):
        assert clear not in data
    assert backup.read_manifest(io.BytesIO(data)).counts == manifest.counts

    settings.BACKUP_KEY = base64.b64encode(b"k" * 32).decode()
    with pytest.raises(backup.BackupError, match="key"):
        backup.read_manifest(io.BytesIO(data))


def _broken(data: bytes) -> list[bytes]:
    middle = len(data) // 2
    return [data[:middle] + bytes([data[middle] ^ 1]) + data[middle + 1:],  # one bit changed
            data[:-10],  # cut short
            data + b"more",  # something appended
            b"not a backup at all"]


def test_a_changed_or_cut_backup_is_refused_and_restores_nothing(network):
    out = io.BytesIO()
    backup.backup(out)
    for bad in _broken(out.getvalue()):
        with pytest.raises(backup.BackupError):
            for _piece in backup._opened(io.BytesIO(bad)):
                pass


def test_restore_refuses_a_database_that_holds_data(network, db_state):
    out = io.BytesIO()
    backup.backup(out)
    before = db_state()
    with pytest.raises(backup.BackupError, match="not empty"):
        backup.restore(io.BytesIO(out.getvalue()))
    assert db_state() == before


# --- the demo county, backed up and restored through the command line -------------------------


def _env(tmp_path, url: str) -> dict:
    # The command's own settings (tongxin.settings), not the suite's.
    env = {k: v for k, v in os.environ.items() if not k.startswith("TONGXIN_") and k != "DJANGO_SETTINGS_MODULE"}
    env.update({
        "TONGXIN_DATA_DIR": str(tmp_path), "TONGXIN_DATABASE_URL": url,
        "TONGXIN_SECRET_KEY": settings.SECRET_KEY, "TONGXIN_ID_KEY": settings.ID_KEY,
        "TONGXIN_BACKUP_KEY": base64.b64encode(b"b" * 32).decode(), "TONGXIN_DB_CONN_MAX_AGE": "0",
    })
    for name, value in os.environ.items():  # the audit key and the like, whatever the suite runs with
        if name.startswith("TONGXIN_") and name not in env and "DATABASE" not in name:
            env[name] = value
    return env


def _tongxin(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tongxin.cli", *args], env=env, capture_output=True, text=True,
                          timeout=600)


FIGURES = ("import json, django; django.setup(); from tongxin.core import backup; "
           "print(json.dumps({'counts': backup.counts(), 'heads': backup.chain_heads()}))")


def _figures(env: dict) -> dict:
    done = subprocess.run([sys.executable, "-c", FIGURES], env={**env, "DJANGO_SETTINGS_MODULE": "tongxin.settings"},
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _databases(tmp_path):
    """Two throwaway databases of the suite's kind: the county's and the one restored into."""
    if connection.vendor != "postgresql":
        yield [f"sqlite:///{tmp_path / name}.sqlite3" for name in ("county", "restored")]
        return
    import psycopg

    base = settings.DATABASES["default"]
    stem = f"{base.get('TEST', {}).get('NAME') or 'test_tongxin'}_bk_{uuid.uuid4().hex[:6]}"
    names = [f"{stem}_county", f"{stem}_restored"]
    admin = psycopg.connect(host=base["HOST"] or "127.0.0.1", port=base["PORT"] or 5432, user=base["USER"],
                            password=base["PASSWORD"] or None, dbname="postgres", autocommit=True)
    try:
        for name in names:
            admin.execute(f'CREATE DATABASE "{name}"')
        auth = base["USER"] + (f":{base['PASSWORD']}" if base["PASSWORD"] else "")
        yield [f"postgresql://{auth}@{base['HOST'] or '127.0.0.1'}:{base['PORT'] or 5432}/{name}" for name in names]
    finally:
        for name in names:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def test_the_demo_county_backed_up_and_restored_verifies_with_equal_counts_and_heads(tmp_path):
    generator = _databases(tmp_path)
    county_url, restored_url = next(generator)
    try:
        county, restored = _env(tmp_path, county_url), _env(tmp_path, restored_url)
        seeded = _tongxin(county, "seed", "--profile", "small")
        assert seeded.returncode == 0, seeded.stderr
        at_backup = _figures(county)
        assert at_backup["counts"]["registry.resident"] > 50 and at_backup["heads"]

        file = tmp_path / "county.backup"
        done = _tongxin(county, "backup", str(file))
        assert done.returncode == 0, done.stderr
        assert oct(file.stat().st_mode & 0o777) == "0o600"
        assert b"demo_" not in file.read_bytes()  # the demo accounts' names are not in the clear

        done = _tongxin(restored, "restore", str(file))
        assert done.returncode == 0, done.stdout + done.stderr
        verified = _tongxin(restored, "audit", "verify")
        assert verified.returncode == 0, verified.stdout + verified.stderr
        assert _figures(restored) == at_backup

        # A second restore into the now full database is refused and changes nothing.
        again = _tongxin(restored, "restore", str(file))
        assert again.returncode == 1 and "not empty" in again.stderr
        assert _figures(restored) == at_backup
        # Without the backup key it was written with, nothing is restored.
        other = {**_env(tmp_path, f"sqlite:///{tmp_path / 'other.sqlite3'}"),
                 "TONGXIN_BACKUP_KEY": base64.b64encode(b"x" * 32).decode()}
        wrong = _tongxin(other, "restore", str(file))
        assert wrong.returncode == 1 and "key" in wrong.stderr
    finally:
        generator.close()
