"""Fixtures for the dispatch tests: a small county built through the real services, the
departments of the category catalogue, a user for every handler on the ladder, and API
clients that log in through ``POST /api/v1/auth/token`` (see ``support.build_net``)."""

from __future__ import annotations

import pytest

from tests.dispatch.support import Net, build_net, database_state, login
from tongxin.core import calendar


@pytest.fixture(autouse=True)
def _reset_calendar():
    calendar.clear_cache()
    yield
    calendar.clear_cache()


@pytest.fixture
def net(db) -> Net:
    return build_net()


@pytest.fixture
def login_as(net):
    """``login_as("grid_worker_a")``: a client logged in, at the clock's current moment, as one of the users."""
    return lambda name, language="en": login(net.user(name), language)


@pytest.fixture
def db_snapshot(db):
    """``db_snapshot()`` twice and compare: equal means nothing was written."""
    return database_state
