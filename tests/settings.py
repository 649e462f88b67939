"""Settings for the test suite: Tongxin's settings with fixed throwaway keys, a fast password
hasher and the test database, so that nothing in ``tongxin.settings`` depends on whether
pytest is loaded (pyproject's pytest configuration names this module).

The tests run on SQLite unless ``TONGXIN_TEST_DATABASE_URL`` names a PostgreSQL server
(``TONGXIN_TEST_DATABASE_NAME`` names the throwaway database made there, ``test_tongxin``
by default); an unreachable server is reported and the tests run on SQLite.
"""

from __future__ import annotations

import base64
import os
import sys

# Before tongxin.settings reads them: no key file is written beside the working directory.
os.environ.setdefault("TONGXIN_SECRET_KEY", "test-only-secret-key-not-for-production-" + "x" * 20)
os.environ.setdefault("TONGXIN_ID_KEY", base64.b64encode(b"t" * 32).decode())

import dj_database_url  # noqa: E402

from tongxin.settings import *  # noqa: E402,F403
from tongxin.settings import DATA_DIR, _database, env  # noqa: E402

# Each commit chains its own audit entries at once (no sequencer thread racing the tests).
AUDIT_SEAL_DELAY = 0.0

# The real hasher costs ~0.3 s a user; the suite makes dozens of users per test.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _unreachable(url: str) -> str:
    """Why the test database at ``url`` cannot be used, or ''."""
    try:
        import psycopg

        parsed = dj_database_url.parse(url)
        psycopg.connect(host=parsed["HOST"] or "127.0.0.1", port=parsed["PORT"] or 5432, user=parsed["USER"],
                        password=parsed["PASSWORD"] or None, dbname=parsed["NAME"] or "postgres",
                        connect_timeout=3).close()
    except Exception as exc:  # any failure means: skip PostgreSQL, say why
        return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return ""


def _test_database() -> tuple[dict, str]:
    # Never the deployment's TONGXIN_DATABASE_URL: SQLite (in memory) unless a test server is named.
    sqlite = _database(f"sqlite:///{DATA_DIR / 'tongxin-test.sqlite3'}")
    test_url = env("TEST_DATABASE_URL")
    if not test_url:
        return sqlite, "tests run on SQLite (set TONGXIN_TEST_DATABASE_URL for PostgreSQL)"
    reason = _unreachable(test_url)
    if reason:
        note = f"PostgreSQL skipped: {test_url} is not reachable ({reason}); running on SQLite"
        print(note, file=sys.stderr)
        return sqlite, note
    config = dj_database_url.parse(test_url)
    config["TEST"] = {"NAME": env("TEST_DATABASE_NAME") or "test_tongxin"}
    return config, f"tests run on PostgreSQL ({config['HOST']}:{config['PORT']}, database {config['TEST']['NAME']})"


_default, TEST_DATABASE_NOTE = _test_database()
DATABASES = {"default": _default}
