"""Throttling of failed logins, by client address as well as by account name.

Three counters, each over a window of ``LOGIN_LOCK_SECONDS``:

- an account name from one client address (``LOGIN_MAX_FAILURES``, 6): the guesser is stopped,
  the owner logging in from anywhere else is not;
- an account name from all addresses (``LOGIN_ACCOUNT_MAX_FAILURES``): a guesser with many
  addresses is stopped too. An account that needs a second factor still gets in past this lock
  with its password and a valid code (the lock was made by someone else), and the security
  administrator can lift it (``login_lock_lift``);
- a client address, whatever names it tries (``LOGIN_ADDRESS_MAX_FAILURES``).

Names that do not exist are counted exactly like real ones, so a lock says nothing about whether
a name exists. Rows are keyed by a keyed digest of the name or address, never the clear text.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac

from django.conf import settings
from django.db import IntegrityError, transaction

from tongxin.core import audit, clock
from tongxin.core.errors import NotFound
from tongxin.people.models import LoginThrottle, User
from tongxin.people.scope import allows_at

Kind = LoginThrottle.Kind


def normalise(username: str) -> str:
    return (username or "").strip().casefold()[:150]


def _digest(*parts: str) -> str:
    message = "\x00".join(parts).encode()
    return hmac.new(settings.SECRET_KEY.encode(), b"tongxin.login_throttle\x00" + message, hashlib.sha256).hexdigest()


def _keys(username: str, address: str) -> dict[str, str]:
    name = normalise(username)
    return {
        Kind.ACCOUNT_ADDRESS: _digest(Kind.ACCOUNT_ADDRESS, name, address),
        Kind.ACCOUNT: _digest(Kind.ACCOUNT, name),
        Kind.ADDRESS: _digest(Kind.ADDRESS, address),
    }


def _limit(kind: str) -> int:
    limits: dict[str, int] = {
        Kind.ACCOUNT_ADDRESS: settings.LOGIN_MAX_FAILURES,
        Kind.ACCOUNT: settings.LOGIN_ACCOUNT_MAX_FAILURES,
        Kind.ADDRESS: settings.LOGIN_ADDRESS_MAX_FAILURES,
    }
    return limits[kind]


def locks(*, username: str, address: str, now: dt.datetime) -> set[str]:
    """The kinds of lock that hold now for this name from this address."""
    keys = _keys(username, address)
    rows = LoginThrottle.objects.filter(key__in=list(keys.values()), locked_until__gt=now)
    return {kind for kind, key in keys.items() for row in rows if row.kind == kind and row.key == key}


def _row_locked(kind: str, key: str, account_key: str) -> LoginThrottle:
    try:
        with transaction.atomic():
            LoginThrottle.objects.get_or_create(kind=kind, key=key, defaults={"account_key": account_key})
    except IntegrityError:
        pass  # made by a concurrent failure a moment ago
    return LoginThrottle.objects.select_for_update().get(kind=kind, key=key)


def record_failure(*, username: str, address: str, now: dt.datetime) -> set[str]:
    """Count a failed login in each counter; returns the kinds of lock that hold afterwards."""
    window = dt.timedelta(seconds=settings.LOGIN_LOCK_SECONDS)
    locked: set[str] = set()
    account_key = _digest(Kind.ACCOUNT, normalise(username))
    with transaction.atomic():
        for kind, key in sorted(_keys(username, address).items()):  # one order: no deadlock between two
            row = _row_locked(kind, key, "" if kind == Kind.ADDRESS else account_key)
            if row.locked_until and row.locked_until > now:
                locked.add(kind)
                continue
            if row.window_start is None or now - row.window_start >= window:
                row.failures, row.window_start = 0, now
            row.failures += 1
            row.locked_until = None
            if row.failures >= _limit(kind):
                row.failures, row.window_start, row.locked_until = 0, None, now + window
                locked.add(kind)
            row.save(update_fields=["failures", "window_start", "locked_until"])
    return locked


def record_success(*, username: str, address: str) -> None:
    """A login with every factor right clears the name's counters (not the address's: one
    account of one's own must not reset a guesser's count of other names)."""
    keys = _keys(username, address)
    LoginThrottle.objects.filter(kind__in=[Kind.ACCOUNT_ADDRESS, Kind.ACCOUNT],
                                 key__in=[keys[Kind.ACCOUNT_ADDRESS], keys[Kind.ACCOUNT]]).delete()


def login_lock_lift(*, actor, user: User) -> int:
    """The security administrator lifts every lock of an account name (from all addresses),
    audited; returns how many locks held. An account outside the actor's scope is not found.
    Locks of client addresses expire by themselves."""
    paths = list(user.assignments.values_list("node_path", flat=True))
    if not any(allows_at(actor, "login.unlock", path) for path in paths):
        raise NotFound()
    now = clock.now()
    rows = LoginThrottle.objects.filter(account_key=_digest(Kind.ACCOUNT, normalise(user.username)))
    with transaction.atomic():
        lifted = rows.filter(locked_until__gt=now).count()
        rows.delete()
        audit.record(action="user.login_unlock", actor=actor, object_type="people.user", object_id=str(user.pk),
                     node_path=min(paths, key=len), after={"locks_lifted": lifted})
    return lifted
