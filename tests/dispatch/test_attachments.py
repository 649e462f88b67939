"""Photos on requests (``services.request_attach``): a picture of too many pixels is refused from
its header before it is decoded (``MAX_PHOTO_PIXELS``); only those who file or handle a request
attach to it (a resident only to their own), and never to a closed or rejected one."""

from __future__ import annotations

import io
import warnings

import pytest
from django.test import override_settings
from PIL import Image, ImageFile

from tests.dispatch.support import audit_count, file_request, login, make_user
from tests.walk import png
from tongxin.core.errors import Conflict, PermissionDenied, ValidationFailed
from tongxin.dispatch import services
from tongxin.dispatch.models import Attachment, Request
from tongxin.people.roles import Role


@pytest.fixture(scope="module")
def huge_png() -> bytes:
    """13,000 × 13,000 pixels (169 megapixels) in about 20 KB: a one-bit picture of nothing,
    which decoded costs what the picture claims."""
    out = io.BytesIO()
    Image.new("1", (13_000, 13_000)).save(out, format="PNG")
    data = out.getvalue()
    with warnings.catch_warnings():  # Pillow's own warning: it is the test's bomb
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        assert len(data) < 100_000 and Image.open(io.BytesIO(data)).size == (13_000, 13_000)
    return data


@pytest.fixture
def forbid_decoding(monkeypatch):
    """``forbid_decoding()``: from then on, decoding a picture fails the test (the refusal must
    come from the header alone)."""

    def load(self, *args, **kwargs):
        raise AssertionError(f"a {self.size[0]}×{self.size[1]} picture was decoded")

    def arm() -> None:
        monkeypatch.setattr(ImageFile.ImageFile, "load", load)
        monkeypatch.setattr(Image.Image, "load", load)

    return arm


@pytest.fixture
def reported(net) -> Request:
    return file_request(net)


def test_a_huge_picture_in_a_small_file_is_refused_before_it_is_decoded(net, reported, huge_png, forbid_decoding,
                                                                        db_snapshot):
    zh = login(net.user("grid_worker_a"), "zh-hans")
    before = db_snapshot()
    forbid_decoding()
    response = zh.upload(f"/api/v1/requests/{reported.pk}/attachments", "bomb.png", huge_png, "image/png")
    assert response.status_code == 422, response.content
    [message] = response.json()["error"]["fields"]["file"]
    assert "40" in message and "像素" in message  # the limit, in the caller's language
    assert db_snapshot() == before


def test_the_pixel_limit_is_a_setting(net, reported):
    worker = net.user("grid_worker_a")
    small = png()  # 4 × 4
    with override_settings(MAX_PHOTO_PIXELS=15):
        with pytest.raises(ValidationFailed) as refused:
            services.request_attach(actor=worker, request=reported, data=small)
        assert "file" in refused.value.fields
    with override_settings(MAX_PHOTO_PIXELS=16):
        assert services.request_attach(actor=worker, request=reported, data=small).size > 0


def test_a_picture_just_above_the_limit_is_refused_below_pillow_s_own_limit(net, reported, forbid_decoding):
    """Pillow itself only warns between its limit and twice it: ours refuses at the limit, and
    says how large the picture is."""
    out = io.BytesIO()
    Image.new("1", (200, 101)).save(out, format="PNG")
    forbid_decoding()
    with override_settings(MAX_PHOTO_PIXELS=200 * 100):
        with pytest.raises(ValidationFailed) as refused:
            services.request_attach(actor=net.user("grid_worker_a"), request=reported, data=out.getvalue())
    assert "200 × 101" in str(refused.value.fields["file"][0])


def test_only_those_who_file_or_handle_may_attach(net, reported):
    # The county administrator sees every request of the county (to follow the figures) but
    # neither files nor handles them.
    leader = make_user("attach_county_admin", Role.COUNTY_ADMIN, net.county)
    assert Request.objects.visible_to(leader, "request.view").filter(pk=reported.pk).exists()
    before = audit_count()
    with pytest.raises(PermissionDenied):
        services.request_attach(actor=leader, request=reported, data=png())
    assert audit_count() == before and not Attachment.objects.exists()
    # The reporter's household (a resident), the grid worker who filed it, and the village
    # staff above the handling grid may.
    for name in ("resident_a", "grid_worker_a", "village1_staff"):
        services.request_attach(actor=net.user(name), request=reported, data=png())
    assert Attachment.objects.filter(request=reported).count() == 3


def test_a_department_released_from_a_request_may_no_longer_attach(net, reported):
    water, housing = net.departments["water"], net.departments["housing"]
    worker = net.user("grid_worker_a")
    services.request_escalate(actor=worker, request=reported, departments=[water], assisting=[housing],
                              reason="Needs the bureau.")
    officer = net.user("housing_officer")
    services.request_attach(actor=officer, request=reported, data=png())  # assisting in this round
    services.request_accept(actor=net.user("water_officer"), request=reported)
    services.request_escalate(actor=net.user("water_officer"), request=reported, reason="Beyond us.")
    with pytest.raises(PermissionDenied):  # still sees it (it was called once), no longer on it
        services.request_attach(actor=net.user("housing_officer"), request=reported, data=png())


def test_a_resident_attaches_only_to_their_own_household_s_requests(net):
    other = file_request(net, household="a2")
    resident = net.user("resident_a")
    assert not Request.objects.visible_to(resident, "request.view").filter(pk=other.pk).exists()
    client = login(resident)
    response = client.upload(f"/api/v1/requests/{other.pk}/attachments", "a.png", png(), "image/png")
    assert response.status_code == 404


@pytest.mark.parametrize("finish", ["close", "reject"])
def test_no_photo_is_attached_to_a_closed_or_rejected_request(net, reported, finish, db_snapshot):
    worker = net.user("grid_worker_a")
    if finish == "reject":
        services.request_reject(actor=worker, request=reported, reason="Not a request.")
    else:
        services.request_accept(actor=worker, request=reported)
        services.request_resolve(actor=worker, request=reported, resolution="Mended.")
        services.request_attach(actor=worker, request=reported, data=png())  # resolved: still takes photos
        services.request_rate(actor=net.user("resident_a"), request=reported, rating=5)
    with pytest.raises(Conflict):
        services.request_attach(actor=worker, request=reported, data=png())
    client = login(net.user("grid_worker_a"))
    before = db_snapshot()
    response = client.upload(f"/api/v1/requests/{reported.pk}/attachments", "a.png", png(), "image/png")
    assert response.status_code == 409, response.content
    assert response.json()["error"]["code"] == "request_closed"
    assert db_snapshot() == before
