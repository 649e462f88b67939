"""Bad input gets a 4xx with the error body, in the caller's language, and changes nothing;
photos are checked by their content and stored without their location metadata."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import Image

from tests.dispatch.support import at, audit_count, file_request, login
from tongxin.core import clock
from tongxin.dispatch import services
from tongxin.dispatch.models import Attachment, TimelineEntry

GPS_IFD = 0x8825


@pytest.fixture
def reported(net):
    clock.set_now(at(2026, 3, 2, 10, 0))
    return file_request(net)


@pytest.fixture
def worker(net, reported):
    return login(net.user("grid_worker_a"))


def _refused(client, path, body, snapshot, *, status, code=None, fields=()):
    before = snapshot()
    response = client.post(path, body)
    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert set(error) == {"code", "message", "fields"} and error["message"]
    if code:
        assert error["code"] == code
    for name in fields:
        assert name in error["fields"], error
    assert snapshot() == before
    return error


def test_an_unknown_category_is_not_found(net, worker, db_snapshot):
    _refused(worker, "/api/v1/requests", {"category": "yak-racing", "household": str(net.households["a1"].pk),
                                          "description": "x"}, db_snapshot, status=404, code="not_found")


@pytest.mark.parametrize("body, fields", [
    ({"category": "water", "household": None, "description": "x"}, ["node"]),            # nowhere
    ({"category": "water", "node": "540230100201001", "description": "  "}, ["description"]),
    ({"category": "water", "node": "540230100201001", "description": "x", "lat": 91}, ["lat"]),
    ({"category": "water", "node": "540230100201001", "description": "x", "urgency": "panic"}, ["urgency"]),
    ({"category": "water", "node": "540230100201001", "description": "x", "colour": "red"}, ["colour"]),
])
def test_a_request_with_bad_fields_is_refused(net, worker, db_snapshot, body, fields):
    _refused(worker, "/api/v1/requests", body, db_snapshot, status=422, code="invalid", fields=fields)


def test_escalating_to_an_unknown_department_names_the_field(net, worker, reported, db_snapshot):
    url = f"/api/v1/requests/{reported.pk}/escalate"
    error = _refused(worker, url, {"reason": "pipe", "to": "departments", "lead": "ministry-of-magic"}, db_snapshot,
                     status=422, code="invalid", fields=["departments"])
    assert "ministry-of-magic" in error["fields"]["departments"][0]
    _refused(worker, url, {"reason": "pipe", "to": "departments", "lead": "water", "assisting": ["nope"]},
             db_snapshot, status=422, fields=["departments"])
    _refused(worker, url, {"reason": "pipe", "to": "departments", "lead": "water", "assisting": ["water"]},
             db_snapshot, status=422, fields=["assisting"])
    _refused(worker, url, {"reason": "pipe", "to": "departments"}, db_snapshot, status=422, fields=["lead"])
    _refused(worker, url, {"reason": "pipe", "lead": "water"}, db_snapshot, status=422, fields=["to"])
    _refused(worker, url, {"reason": "   "}, db_snapshot, status=422, fields=["reason"])
    _refused(worker, url, {"reason": "x", "to": "the moon"}, db_snapshot, status=422, fields=["to"])


def test_ratings_are_one_to_five(net, worker, reported, db_snapshot):
    dispatcher = net.user("grid_worker_a")
    services.request_accept(actor=dispatcher, request=reported)
    services.request_resolve(actor=dispatcher, request=reported, resolution="done")
    url = f"/api/v1/requests/{reported.pk}/rate"
    reporter = login(net.user("resident_a"))  # the reporter's household rates; whoever handled it may not
    for rating in (0, 6, -1, "five", 4.5, None):
        _refused(reporter, url, {"rating": rating}, db_snapshot, status=422, code="invalid", fields=["rating"])
    assert reporter.post(url, {"rating": 4}).json()["state"] == "closed"


def test_a_rejection_needs_a_reason(net, worker, reported, db_snapshot):
    url = f"/api/v1/requests/{reported.pk}/reject"
    _refused(worker, url, {}, db_snapshot, status=422, fields=["reason"])
    _refused(worker, url, {"reason": "   "}, db_snapshot, status=422, fields=["reason"])
    _refused(worker, f"/api/v1/requests/{reported.pk}/resolve", {"resolution": ""}, db_snapshot, status=422,
             fields=["resolution"])


@pytest.mark.parametrize("action, body", [
    ("start", {}), ("resolve", {"resolution": "done"}), ("rate", {"rating": 5}), ("reopen", {"reason": "again"}),
])
def test_illegal_transitions_are_409(net, worker, reported, db_snapshot, action, body):
    error = _refused(worker, f"/api/v1/requests/{reported.pk}/{action}", body, db_snapshot, status=409,
                     code="illegal_transition")
    assert "reported" in error["message"]


def test_a_closed_request_cannot_move_but_by_reopening(net, worker, reported, db_snapshot):
    actor = net.user("grid_worker_a")
    services.request_accept(actor=actor, request=reported)
    services.request_resolve(actor=actor, request=reported, resolution="done")
    services.request_rate(actor=net.user("resident_a"), request=reported, rating=5)
    # The handler's steps asked by the handler, the reporter's side's by the reporter's household.
    reporter = login(net.user("resident_a"))
    for action, body in [("accept", {}), ("start", {}), ("escalate", {"reason": "x"}), ("resolve", {"resolution": "x"}),
                         ("reject", {"reason": "x"}), ("rate", {"rating": 4})]:
        _refused(reporter if action == "rate" else worker, f"/api/v1/requests/{reported.pk}/{action}", body,
                 db_snapshot, status=409, code="illegal_transition")
    # After the reopening window, even reopening is refused.
    clock.set_now(at(2026, 3, 20, 10, 0))
    late = login(net.user("resident_a"))
    _refused(late, f"/api/v1/requests/{reported.pk}/reopen", {"reason": "x"}, db_snapshot, status=409,
             code="reopen_window_passed")


def test_unknown_ids_are_not_found(net, worker, db_snapshot):
    for path in ("/api/v1/requests/not-a-uuid", "/api/v1/requests/01900000-0000-7000-8000-000000000000"):
        assert worker.get(path).status_code == 404
        _refused(worker, f"{path}/accept", {}, db_snapshot, status=404)


def _jpeg_with_gps() -> bytes:
    image = Image.new("RGB", (40, 30), (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "Plateau Phone"  # Make
    gps = exif.get_ifd(GPS_IFD)
    gps.update({1: "N", 2: (28.0, 33.0, 36.0), 3: "E", 4: (89.0, 40.0, 48.0)})  # Kangma, roughly
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif.tobytes())
    data = buffer.getvalue()
    assert Image.open(io.BytesIO(data)).getexif().get_ifd(GPS_IFD)  # the upload really carries a location
    return data


def test_a_photo_is_stored_without_its_exif_location(net, worker, reported):
    url = f"/api/v1/requests/{reported.pk}/attachments"
    before = audit_count()
    response = worker.upload(url, "tap.jpg", _jpeg_with_gps(), "image/jpeg")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["content_type"] == "image/jpeg" and audit_count() == before + 1
    stored = bytes(Attachment.objects.get(pk=body["id"]).data)
    image = Image.open(io.BytesIO(stored))
    assert image.format == "JPEG" and image.size == (40, 30)
    assert not image.getexif() and not image.getexif().get_ifd(GPS_IFD) and "exif" not in image.info
    assert TimelineEntry.objects.filter(request=reported, action="attach").count() == 1

    # The photo comes back the same way, to those who may see the request, and to nobody else.
    download = worker.get(f"{url}/{body['id']}")
    assert download.status_code == 200 and download["Content-Type"] == "image/jpeg"
    assert download.content == stored
    assert worker.get(f"{url}/01900000-0000-7000-8000-000000000000").status_code == 404
    assert login(net.user("grid_worker_b")).get(f"{url}/{body['id']}").status_code == 404


def _jpeg(size=(40, 30), **save) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (30, 90, 200)).save(buffer, "JPEG", **save)
    return buffer.getvalue()


def _cut_off_jpeg() -> bytes:
    """A camera photo's first half: the header is whole, the picture data stops."""
    buffer = io.BytesIO()
    Image.effect_noise((300, 200), 60).convert("RGB").save(buffer, "JPEG")
    data = buffer.getvalue()[: len(buffer.getvalue()) // 2]
    Image.open(io.BytesIO(data)).verify()  # opens and verifies: only decoding finds the cut
    return data


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims to be huge (a decompression bomb) and holds almost nothing."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b""))


def test_a_phone_s_multi_picture_jpeg_is_taken_as_its_first_picture(net, worker, reported):
    first, depth_map = Image.new("RGB", (40, 30), "red"), Image.new("RGB", (40, 30), "blue")
    buffer = io.BytesIO()
    first.save(buffer, "MPO", save_all=True, append_images=[depth_map])
    assert Image.open(io.BytesIO(buffer.getvalue())).format == "MPO"
    response = worker.upload(f"/api/v1/requests/{reported.pk}/attachments", "IMG_0001.jpg", buffer.getvalue())
    assert response.status_code == 201, response.content
    stored = Image.open(io.BytesIO(bytes(Attachment.objects.get(pk=response.json()["id"]).data)))
    assert stored.format == "JPEG" and getattr(stored, "n_frames", 1) == 1
    assert stored.getpixel((20, 15))[0] > 200  # the red first picture, not the depth map


def test_a_photo_taken_sideways_is_stored_upright(net, worker, reported):
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: the camera was turned; viewers rotate 90° clockwise
    response = worker.upload(f"/api/v1/requests/{reported.pk}/attachments", "side.jpg",
                             _jpeg((40, 30), exif=exif.tobytes()))
    assert response.status_code == 201, response.content
    stored = Image.open(io.BytesIO(bytes(Attachment.objects.get(pk=response.json()["id"]).data)))
    assert stored.size == (30, 40) and not stored.getexif()


@pytest.mark.parametrize("name, content", [
    ("cut.jpg", _cut_off_jpeg()),  # an upload cut off by a dropped signal
    ("bomb.png", _png_header_only(30000, 30000)),
    ("notes.jpg", b"This is not a photo at all."),
    ("doc.pdf", b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\n"),
    ("half.jpg", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00"),  # a JPEG header and nothing else
    ("anim.gif", b"GIF89a\x01\x00\x01\x00\x00\x00\x00;"),
], ids=["cut-off", "bomb", "text", "pdf", "header-only", "gif"])
def test_an_attachment_that_is_not_a_photo_is_refused(net, worker, reported, db_snapshot, name, content):
    before = db_snapshot()
    response = worker.upload(f"/api/v1/requests/{reported.pk}/attachments", name, content, "image/jpeg")
    assert response.status_code == 422, response.content
    assert "file" in response.json()["error"]["fields"]
    assert db_snapshot() == before
