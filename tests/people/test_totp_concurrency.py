"""Two logins with the same second-factor code at the same moment, in two database connections:
exactly one gets in, the other is refused like a wrong code. (The only test here that is not
in a transaction: it needs two connections, so it builds its own county and flushes after.)"""

from __future__ import annotations

import datetime as dt
import threading

import pyotp
import pytest
from django.db import connection

from tests.factories import COUNTY, PASSWORD, Factory
from tongxin.core import clock
from tongxin.core.errors import ApplicationError
from tongxin.core.models import AuditEntry
from tongxin.grid.models import Level
from tongxin.people import services
from tongxin.people.roles import Role

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.timezone.utc)


def _attempt(code, barrier, outcomes):
    try:
        services.authenticate(username="county_admin", password=PASSWORD, otp=code)
        outcomes.append("in")
    except ApplicationError as exc:
        outcomes.append(exc.code)
    except Exception as exc:  # anything else is a failure the test must show
        outcomes.append(repr(exc))
    finally:
        connection.close()


def test_one_code_twice_at_once_logs_in_once(transactional_db, monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("needs two real database connections: the SQLite test database is in memory (settings give "
                    "it no file); test_services checks the same race with two stale reads in one connection")
    factory = Factory()
    county = factory.node(code=COUNTY, level=Level.COUNTY, parent=None)
    user = factory.user("county_admin", Role.COUNTY_ADMIN, county)
    clock.set_now(T0)
    totp = pyotp.TOTP(services.totp_setup(user=user))
    services.totp_confirm(user=user, code=totp.at(T0 - dt.timedelta(seconds=30)))
    # Both submissions find the code unused before either records it: only the conditional
    # UPDATE stands between them.
    barrier, outcomes = threading.Barrier(2), []
    matching_step = services.authentication._totp_matching_step

    def both_read_first(user, code, now):
        step = matching_step(user, code, now)
        barrier.wait(timeout=10)
        return step

    monkeypatch.setattr(services.authentication, "_totp_matching_step", both_read_first)
    threads = [threading.Thread(target=_attempt, args=(totp.at(T0), barrier, outcomes)) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["in", "not_authenticated"], outcomes
    assert AuditEntry.objects.filter(action="user.login", object_id=str(user.pk)).count() == 1
    assert AuditEntry.objects.filter(action="user.login_failed", object_id=str(user.pk)).count() == 1
