"""Request gates and answer headers: 413 before reading, no-store on every answer."""

from __future__ import annotations

from django.conf import settings
from django.test import Client


def test_every_answer_is_no_store(network, api):
    client = api(network.user("grid_worker_a"))
    for path in ("/api/v1/auth/me", f"/api/v1/households/{network.a.household.pk}", "/api/v1/nodes/nonsense"):
        assert client.get(path)["Cache-Control"] == "no-store"


def test_a_declared_oversized_body_is_refused_on_any_path(db):
    """The API answers the error body; a page answers a page (a form posted without JavaScript)."""
    response = Client().generic("POST", "/api/v1/anything", b"x", content_type="text/plain",
                                CONTENT_LENGTH=str(settings.MAX_BODY_BYTES + 1))
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"
    page = Client().generic("POST", "/my/requests/new/", b"x", content_type="text/plain",
                            CONTENT_LENGTH=str(settings.MAX_BODY_BYTES + 1), HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 413
    assert page["Content-Type"].startswith("text/html") and b"too large" in page.content


def test_a_nul_in_a_page_address_is_refused(db):
    response = Client().get("/network/%00/")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "bad_characters"
