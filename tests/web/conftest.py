"""Fixtures for the page tests (Django's test client): the small synthetic network."""

from __future__ import annotations

import pytest

# The network is shared with the browser tests.
from tests.factories import build_pages_network, tibetan_selectable


@pytest.fixture
def net(db):
    return build_pages_network()


@pytest.fixture
def client_as(db):
    """``client_as(user, language)``: a client of its own, signed in as ``user`` (Chinese unless
    told), so that several people can act in one test."""
    from django.test import Client

    def sign_in(user, language: str = "zh-hans"):
        client = Client()
        client.force_login(user)
        client.cookies["django_language"] = language
        return client

    return sign_in


@pytest.fixture
def dnet(net):
    """The page network with the dispatch catalogue, departments and officers."""
    from tests.web.test_dispatch_pages import add_dispatch

    return add_dispatch(net)


@pytest.fixture
def dispatch_now():
    """The dispatch page tests' moment (``test_dispatch_pages.NOW``); the language is reset after."""
    from django.utils import translation

    from tests.web.test_dispatch_pages import NOW
    from tongxin.core import clock

    clock.set_now(NOW)
    yield
    clock.set_now(None)
    translation.deactivate()


@pytest.fixture(autouse=True)
def _tibetan_selectable(settings, tmp_path_factory):
    tibetan_selectable(settings, tmp_path_factory.mktemp("locale"))
