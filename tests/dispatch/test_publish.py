"""Publishing a request (issue 8, item 7): the reporter chooses at filing, off by default, on
every filing path (the API, the filing page, Open311 in test_open311.py); the public description
is approved through ``POST /api/v1/requests/{id}/publish`` and the request's page, audited."""

from __future__ import annotations

import uuid

from django.urls import reverse

from tests.dispatch.support import audit_count, file_request, login
from tongxin.dispatch.models import Request


def test_api_filing_publishes_only_when_the_reporter_says_so(net):
    client = login(net.user("grid_worker_a"))
    body = {"category": "water", "household": str(net.households["a1"].pk), "description": "Dry tap."}
    unsaid = client.post("/api/v1/requests", body)
    said = client.post("/api/v1/requests", {**body, "publish": True})
    assert unsaid.status_code == said.status_code == 201, unsaid.content
    assert (unsaid.json()["publish"], said.json()["publish"]) == (False, True)
    assert unsaid.json()["public_description"] == "" and unsaid.json()["may_publish"] is True
    assert dict(Request.objects.values_list("pk", "publish")) == {
        uuid.UUID(unsaid.json()["id"]): False, uuid.UUID(said.json()["id"]): True}


def test_the_public_description_through_the_api(net):
    req = file_request(net)
    worker = login(net.user("grid_worker_a"))
    before = audit_count()
    response = worker.post(f"/api/v1/requests/{req.pk}/publish", {"text": "  Water supply fault.  "})
    assert response.status_code == 200, response.content
    assert response.json()["public_description"] == "Water supply fault."
    assert audit_count("request.publish") == 1 and audit_count() == before + 1
    assert response.json()["state"] == "reported"  # not a step of the workflow
    too_long = worker.post(f"/api/v1/requests/{req.pk}/publish", {"text": "x" * 501})
    assert too_long.status_code == 422
    # Outside the caller's scope: 404, nothing written.
    other = login(net.user("grid_worker_b"))
    assert other.post(f"/api/v1/requests/{req.pk}/publish", {"text": "Mine now."}).status_code == 404
    assert Request.objects.get(pk=req.pk).public_description == "Water supply fault."


def test_the_filing_page_asks_and_defaults_to_not_publishing(net, page_client):
    client = page_client(net.user("resident_a"))
    page = client.get(reverse("dispatch:request_new"))
    html = page.content.decode()
    assert 'name="publish"' in html and 'name="publish" checked' not in html
    form = {"category": "water", "description": "Dry tap.", "urgency": "normal"}
    client.post(reverse("dispatch:request_new"), {**form, "client_id": str(uuid.uuid4())})
    client.post(reverse("dispatch:request_new"), {**form, "client_id": str(uuid.uuid4()), "publish": "on"})
    assert sorted(Request.objects.values_list("publish", flat=True)) == [False, True]


def test_the_request_page_approves_the_public_description(net, page_client):
    req = file_request(net, by="resident_a", reporter_kind="resident")
    handler = page_client(net.user("grid_worker_a"))
    page = handler.get(reverse("dispatch:request", args=[req.pk])).content.decode()
    assert reverse("dispatch:act", args=[req.pk, "publish"]) in page
    assert 'name="consent"' not in page  # a handler approves a text; only the reporter publishes
    response = handler.post(reverse("dispatch:act", args=[req.pk, "publish"]), {"text": "Water supply fault."})
    assert response.status_code == 302
    resident = page_client(net.user("resident_a"))
    page = resident.get(reverse("dispatch:request", args=[req.pk])).content.decode()
    assert "Water supply fault." in page and 'name="consent"' in page
    resident.post(reverse("dispatch:act", args=[req.pk, "publish"]),
                  {"text": "Water supply fault.", "consent": "1", "publish": "on"})
    stored = Request.objects.get(pk=req.pk)
    assert stored.publish and stored.public_description == "Water supply fault."
    assert audit_count("request.publish") == 2
