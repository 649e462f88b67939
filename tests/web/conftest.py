"""Fixtures for the page tests (Django's test client): the small synthetic network."""

from __future__ import annotations

import pytest

# The network is shared with the browser tests.
from tests.factories import build_pages_network, tibetan_selectable


@pytest.fixture
def net(db):
    return build_pages_network()


@pytest.fixture
def client_as(client):
    """``client_as(user)``: the test client signed in as ``user``, in Chinese."""

    def sign_in(user, language: str = "zh-hans"):
        client.force_login(user)
        client.cookies["django_language"] = language
        return client

    return sign_in


@pytest.fixture(autouse=True)
def _tibetan_selectable(settings, tmp_path_factory):
    tibetan_selectable(settings, tmp_path_factory.mktemp("locale"))
