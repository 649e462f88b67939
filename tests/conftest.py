"""Fixtures for the whole suite (the code behind them is in tests/factories.py): the clock
frozen at ``FROZEN_AT``, a small network built through the real services, a user for every
role, households and residents in every grid, and an API client that logs in through
``POST /api/v1/auth/token``.

The network (codes are real in shape: county 6 digits, township 9, village 12, grid 15,
unit 18)::

    540230 county
    ├── 540230100 township 1            township1_staff, system_admin_t1, security_admin_t1
    │   └── 540230100201 village 1      village1_staff
    │       ├── 540230100201001 grid A  grid_worker_a, grid_leader_a
    │       │   └── …001 unit A         unit_head_a, resident_a (own household: household A)
    │       └── 540230100201002 grid A2
    │           └── …001 unit A2
    └── 540230200 township 2            township2_staff
        └── 540230200201 village 2
            ├── 540230200201001 grid B  grid_worker_b
            │   └── …001 unit B
            └── 540230200201002 grid B2
                └── …001 unit B2

County-level: county_admin, dispatch_officer, department_officer (department "water"),
system_admin, security_admin, audit_admin. ``newcomer`` has no role. Each unit has one
household of two residents.
"""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import translation

from tests.factories import (
    FROZEN_AT,
    PASSWORD,
    ApiClient,
    Factory,
    Network,
    audit_count,
    build_network,
    database_state,
    login,
    module_transaction,
)
from tongxin.core import clock
from tongxin.people.models import User


def pytest_report_header(config):
    from django.conf import settings

    return [f"tongxin: {getattr(settings, 'TEST_DATABASE_NOTE', '')}; the clock is frozen at {FROZEN_AT.isoformat()}"]


@pytest.fixture(autouse=True, scope="session")
def _frozen_clock_for_the_session():
    """Module- and session-wide data (``shared_network``) is made at the frozen moment too."""
    clock.set_now(FROZEN_AT)
    yield
    clock.set_now(None)


@pytest.fixture(autouse=True)
def _frozen_clock_and_language_reset():
    """Every test starts at ``FROZEN_AT`` whatever the host's time; a test moves the clock on
    purpose (``clock.set_now``, ``clock.frozen_at``). The clock is process-wide, so a live
    server's threads and a job worker's read the same moment."""
    clock.set_now(FROZEN_AT)
    yield
    clock.set_now(FROZEN_AT)
    translation.deactivate()


@pytest.fixture(autouse=True)
def _category_catalogue(request):
    """A transactional test (browser, concurrency) flushes every table, the data migration's
    category catalogue included: put it back for tests that use the database."""
    uses_db = request.node.get_closest_marker("django_db") or {
        "db", "transactional_db", "live_server"} & set(request.fixturenames)
    if uses_db:
        from tongxin.dispatch.catalogue import ensure_categories

        request.getfixturevalue("transactional_db" if {"transactional_db", "live_server"} & set(
            request.fixturenames) else "db")
        ensure_categories()
    yield
    if uses_db:
        from tongxin.core import refcache

        refcache.clear_all()  # a flush or a rollback leaves nothing a later test could be served


@pytest.fixture
def make() -> Factory:
    return Factory(start=5000)  # apart from the numbers of the network's own records


@pytest.fixture
def network(db) -> Network:
    """The network, built for this test (committed under ``transactional_db``, so a live server
    sees it)."""
    return build_network(Factory())


@pytest.fixture(scope="module")
def _module_network(django_db_setup, django_db_blocker):
    with module_transaction(django_db_blocker):
        with django_db_blocker.unblock():
            built = build_network(Factory())
        yield built


@pytest.fixture
def shared_network(_module_network, db) -> Network:
    """The network built once per module, read afresh for each test. Packages whose tests all
    run in transactions (no ``transactional_db``, no live server) use it as ``network``."""
    return _module_network.fresh()


@pytest.fixture
def api(db):
    """``api(user)`` logs in through the API (with a TOTP code for the roles that need one)
    and gives a client sending the bearer token; ``api(None)`` is anonymous."""

    def log_in(user: User | None, *, language: str | None = None, password: str = PASSWORD) -> ApiClient:
        return login(user, language, password=password)

    return log_in


@pytest.fixture
def page_client(db):
    """``page_client(user)``: a session-authenticated client for web pages."""

    def login(user: User | None) -> Client:
        client = Client()
        if user is not None:
            client.force_login(user)
        return client

    return login


@pytest.fixture
def db_state(db):
    return database_state


@pytest.fixture
def audit_entries(db):
    """``audit_entries()`` counts the log; ``audit_entries(action)`` counts one action."""
    return audit_count
