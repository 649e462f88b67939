"""Tongxin's one settings module, configured from ``TONGXIN_*`` environment variables.

With nothing set, Tongxin runs on an embedded SQLite file in the working
directory, with secrets kept in a key file beside it, so ``tongxin demo`` needs
no configuration. Production sets ``TONGXIN_DATABASE_URL``,
``TONGXIN_SECRET_KEY`` and ``TONGXIN_ID_KEY``.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from pathlib import Path

import dj_database_url
from django.conf import locale as django_locale
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent
DATA_DIR = Path(os.environ.get("TONGXIN_DATA_DIR", os.getcwd()))


def env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(f"TONGXIN_{name}", default)


def env_bool(name: str, default: bool = False) -> bool:
    value = env(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _local_secrets() -> dict[str, str]:
    """Secrets for the embedded default, made once and kept beside the database."""
    path = DATA_DIR / "tongxin.key"
    if path.exists():
        return json.loads(path.read_text())
    data = {
        "secret_key": secrets.token_urlsafe(50),
        "id_key": base64.b64encode(secrets.token_bytes(32)).decode(),
    }
    try:
        path.write_text(json.dumps(data))
        path.chmod(0o600)
    except OSError:
        pass
    return data


_needs_local = env("SECRET_KEY") is None or env("ID_KEY") is None
_local = _local_secrets() if _needs_local else {}

SECRET_KEY = env("SECRET_KEY") or _local["secret_key"]
# Master key for personal data at rest: base64 of 32 bytes.
ID_KEY = env("ID_KEY") or _local["id_key"]
# Key of the audit log's chain and checkpoints (base64 of 32 bytes); derived from ID_KEY when unset.
# Never kept in the database: an entry rewritten without it no longer verifies.
AUDIT_KEY = env("AUDIT_KEY") or ""
# Seconds the audit sequencer lets a burst of commits gather before it chains them (0: each
# commit chains its own entries in the writer's thread, as the tests do).
AUDIT_SEAL_DELAY = float(env("AUDIT_SEAL_DELAY") or 0.2)
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = (env("ALLOWED_HOSTS") or "127.0.0.1,localhost,testserver,[::1]").split(",")
CSRF_TRUSTED_ORIGINS = [o for o in (env("CSRF_TRUSTED_ORIGINS") or "").split(",") if o]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "leaflet",
    "ninja",  # serves Swagger UI's files for /api/v1/docs from the package, never a CDN
    "csp",
    "django_tasks",
    "django_tasks_db",  # the database backend of the tasks framework: periodic jobs' queue
    "tongxin.core",
    "tongxin.grid",
    "tongxin.people",
    "tongxin.registry",
    "tongxin.dispatch",
    "tongxin.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "tongxin.core.middleware.BodySizeLimitMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "tongxin.people.middleware.UserLanguageMiddleware",
    "tongxin.people.middleware.PasswordChangeRequiredMiddleware",
    "tongxin.core.middleware.RequestContextMiddleware",
    "tongxin.core.idempotency.IdempotencyMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "tongxin.urls"
WSGI_APPLICATION = "tongxin.wsgi.application"
AUTH_USER_MODEL = "people.User"
LOGIN_URL = "people:login"
LOGIN_REDIRECT_URL = "/"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "tongxin.core.context.navigation",
            ],
        },
    }
]


def _database(url: str | None = None) -> dict:
    url = url or env("DATABASE_URL") or f"sqlite:///{DATA_DIR / 'tongxin.sqlite3'}"
    # Each server thread keeps its connection (checked before reuse): opening one per request
    # cost PostgreSQL a new backend and cold caches every time.
    config = dj_database_url.parse(url, conn_max_age=int(env("DB_CONN_MAX_AGE") or 600), conn_health_checks=True)
    if config["ENGINE"] == "django.db.backends.sqlite3":
        # WAL lets readers work beside one writer; IMMEDIATE takes the write lock
        # at BEGIN so two writers queue instead of failing on lock upgrade.
        config["OPTIONS"] = {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=10000;",
            "transaction_mode": "IMMEDIATE",
        }
    else:
        config.setdefault("OPTIONS", {})
    config["ATOMIC_REQUESTS"] = False
    return config


DATABASES = {"default": _database()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Idle sessions expire: every request pushes the expiry forward by SESSION_COOKIE_AGE.
SESSION_COOKIE_AGE = int(env("SESSION_IDLE_SECONDS") or 30 * 60)
SESSION_SAVE_EVERY_REQUEST = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
# Sessions name their account, so that people can list and end their own (people/sessions.py).
SESSION_ENGINE = "tongxin.people.sessions"
# API tokens expire when unused for this long, and at the latest this long after they were issued.
TOKEN_IDLE_SECONDS = int(env("TOKEN_IDLE_SECONDS") or 8 * 3600)
TOKEN_MAX_AGE_SECONDS = int(env("TOKEN_MAX_AGE_SECONDS") or 7 * 24 * 3600)
# Failed logins (people/services/throttle.py), each counted over LOGIN_LOCK_SECONDS and locking
# for as long: the 6th for one account name from one client address stops that address trying
# that name; the 30th for one name from all addresses locks the name (an account with a second
# factor still gets in with its password and a code; the security administrator can lift it);
# the 60th from one address, whatever the names, stops that address.
LOGIN_MAX_FAILURES = int(env("LOGIN_MAX_FAILURES") or 6)
LOGIN_ACCOUNT_MAX_FAILURES = int(env("LOGIN_ACCOUNT_MAX_FAILURES") or 30)
LOGIN_ADDRESS_MAX_FAILURES = int(env("LOGIN_ADDRESS_MAX_FAILURES") or 60)
LOGIN_LOCK_SECONDS = int(env("LOGIN_LOCK_SECONDS") or 15 * 60)
# Behind a reverse proxy every client has the proxy's address: name the header in which the
# proxy passes the client's own (e.g. X-Forwarded-For; its last entry is taken, the one the
# proxy added). Only set it when such a proxy sits in front, or clients could choose their address.
CLIENT_ADDRESS_HEADER = env("CLIENT_ADDRESS_HEADER") or ""

# Answers stored under an Idempotency-Key are replayed to retries for this long, then purged.
IDEMPOTENCY_KEEP_SECONDS = int(env("IDEMPOTENCY_KEEP_SECONDS") or 24 * 3600)

# PIPL Art. 47: a closed request's free text (description, resolution, notes, rating comment)
# and its photos are anonymised this many days after it closed (registry.rights, dispatch job).
RETENTION_DAYS = int(env("RETENTION_DAYS") or 3 * 365)
# The key that encrypts backups (core.backup): base64 of 32 bytes. Unset, it is derived from the
# master key (ID_KEY). Either way it is kept apart from the backups it opens.
BACKUP_KEY = env("BACKUP_KEY") or ""

# Bodies larger than this are refused with 413 before anything reads them.
MAX_BODY_BYTES = int(env("MAX_BODY_BYTES") or 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_BODY_BYTES
# Photos with more pixels than this are refused from their header, before they are decoded
# (a small file can claim a huge picture: 13,000 x 13,000 pixels is 169 million).
MAX_PHOTO_PIXELS = int(env("MAX_PHOTO_PIXELS") or 40_000_000)

# Languages: Django knows no Tibetan, so it is added here.
django_locale.LANG_INFO["bo"] = {
    "bidi": False,
    "code": "bo",
    "name": "Tibetan",
    "name_local": "བོད་ཡིག",
}
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [
    ("zh-hans", _("Simplified Chinese")),
    ("bo", _("Tibetan")),
    ("en", _("English")),
]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = env("TIME_ZONE") or "Asia/Shanghai"

STATIC_URL = "/static/"
STATIC_ROOT = env("STATIC_ROOT")  # only for `tongxin manage collectstatic`; finders serve otherwise
STATICFILES_DIRS = [BASE_DIR / "static"]
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"

# Content-Security-Policy on every answer (django-csp): scripts, styles, images and fonts from
# this site only, no inline script anywhere; inline style attributes only (bar widths; they run
# nothing). Nothing is fetched from another site, which also keeps pages working offline.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "style-src-attr": ["'unsafe-inline'"],
        "img-src": ["'self'", "data:", "blob:"],  # blob: the phone's photo, made smaller before it is sent
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

# Behind TLS (TONGXIN_HTTPS=true): cookies only over HTTPS, HSTS, and plain HTTP redirected. A
# TLS-terminating proxy in front must set X-Forwarded-Proto (and strip any the client sent).
HTTPS = env_bool("HTTPS", False)
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
LANGUAGE_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = int(env("HSTS_SECONDS") or 365 * 24 * 3600) if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS and env_bool("HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_SSL_REDIRECT = HTTPS
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if HTTPS else None

LEAFLET_CONFIG = {"TILES": [], "RESET_VIEW": False}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL") or "WARNING"},
}
NOTIFY_BACKENDS = [b for b in (env("NOTIFY_BACKENDS") or "tongxin.core.notify.LoggingSmsBackend").split(",") if b]
# A resolved request may be reopened by its reporter for this many days; then it closes.
REOPEN_DAYS = int(env("REOPEN_DAYS") or 7)
# How often the dispatch queue and a department's inbox ask for what is new (HTMX polling), in seconds.
POLL_SECONDS = max(5, int(env("POLL_SECONDS") or 30))
# Each process keeps the category catalogue and the node tree it has read for this many
# seconds (changes in the same process apply at once; see core/refcache.py). 0: no cache.
REFERENCE_CACHE_SECONDS = float(env("REFERENCE_CACHE_SECONDS") or 60)
# Background work (core/jobs.py): the django-tasks backport, queued in the database.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "tongxin-default"},
    # Reference data (core/refcache.py): categories, the node tree, who staffs each node.
    "reference": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "tongxin-reference",
                  "OPTIONS": {"MAX_ENTRIES": 100_000}},
}
