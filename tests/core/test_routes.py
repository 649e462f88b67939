"""The official calendar and the notification inbox through the API."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from tongxin.core import calendar, clock
from tongxin.core.actors import SYSTEM
from tongxin.core.models import AuditEntry, CalendarDay, Notification
from tongxin.grid.services import node_create
from tongxin.people import services as people

pytestmark = pytest.mark.django_db
PASSWORD = "Calendar-test-2026!"


@pytest.fixture
def county():
    return node_create(actor=SYSTEM, code="540230", level="county", parent=None, name_zh="康马县")


def _user(name, role, node):
    user = people.user_create(actor=SYSTEM, username=name, password=PASSWORD)
    people.role_grant(actor=SYSTEM, user=user, role=role, node=node)
    return user


def _bearer(client, user, otp=None):
    body = {"username": user.username, "password": PASSWORD}
    if otp:
        body["otp"] = otp
    token = client.post("/api/v1/auth/token", json.dumps(body), content_type="application/json").json()["token"]
    return {"HTTP_AUTHORIZATION": f"Bearer {token}", "HTTP_ACCEPT_LANGUAGE": "en"}


def _admin_headers(client, county):
    import pyotp

    admin = _user("sysadmin", "system_admin", county)
    secret = people.totp_setup(user=admin)
    people.totp_confirm(user=admin, code=pyotp.TOTP(secret).at(clock.now()))
    return _bearer(client, admin, otp=pyotp.TOTP(secret).at(clock.now(), counter_offset=1))  # each code is good once


def test_a_year_unknown_to_the_package_can_be_entered_and_moves_deadlines(client, county):
    headers = _admin_headers(client, county)
    assert client.get("/api/v1/calendar/2027", **headers).json()["known"] is False
    start = dt.datetime(2027, 2, 5, 10, tzinfo=dt.timezone(dt.timedelta(hours=8)))  # a Friday
    assert calendar.add_working_days(start, 1).date() == dt.date(2027, 2, 8)
    days = [{"date": "2027-02-08", "working": False, "name": "春节"},
            {"date": "2027-02-07", "working": True, "name": "调休"}]
    audit_before = AuditEntry.objects.count()
    response = client.put("/api/v1/calendar/2027", json.dumps({"days": days}), content_type="application/json",
                          **headers)
    assert response.status_code == 200, response.content
    assert response.json()["known"] is True and len(response.json()["entered"]) == 2
    assert AuditEntry.objects.count() == audit_before + 1
    # Sunday 7 February became a working day, Monday 8 February a holiday.
    assert calendar.add_working_days(start, 1).date() == dt.date(2027, 2, 7)
    assert calendar.add_working_days(start, 2).date() == dt.date(2027, 2, 9)


def test_entering_a_calendar_refuses_bad_input_and_changes_nothing(client, county):
    headers = _admin_headers(client, county)
    put = lambda year, body: client.put(f"/api/v1/calendar/{year}", json.dumps(body),  # noqa: E731
                                        content_type="application/json", **headers)
    assert put(2027, {"days": [{"date": "2028-01-01", "working": False}]}).status_code == 422
    assert put(2027, {"days": [{"date": "2027-01-01", "working": False}] * 2}).status_code == 422
    assert put(1800, {"days": []}).status_code == 422
    assert put(2027, {"days": [{"date": "not a date", "working": False}]}).status_code == 422
    assert CalendarDay.objects.count() == 0


def test_only_calendar_administrators_enter_the_calendar(client, county):
    worker = _user("worker", "dispatch_officer", county)  # a county role without calendar.change
    response = client.put("/api/v1/calendar/2027", json.dumps({"days": []}), content_type="application/json",
                          **_bearer(client, worker))
    assert response.status_code == 403
    assert set(response.json()["error"]) == {"code", "message", "fields"}


def test_the_inbox_shows_and_reads_only_the_callers_notifications(client, county):
    alice, bob = _user("alice", "dispatch_officer", county), _user("bob", "dispatch_officer", county)
    mine = Notification.objects.create(recipient=alice, kind="k", language="en", subject="for alice")
    theirs = Notification.objects.create(recipient=bob, kind="k", language="en", subject="for bob")
    headers = _bearer(client, alice)
    inbox = client.get("/api/v1/notifications", **headers).json()
    assert [n["subject"] for n in inbox["items"]] == ["for alice"] and inbox["unread"] == 1
    assert client.post(f"/api/v1/notifications/{theirs.pk}/read", **headers).status_code == 404
    assert client.post(f"/api/v1/notifications/{mine.pk}/read", **headers).status_code == 200
    theirs.refresh_from_db()
    mine.refresh_from_db()
    assert mine.read_at is not None and theirs.read_at is None
    assert client.get("/api/v1/notifications", **headers).json()["unread"] == 0


def test_a_region_enters_its_own_days_over_the_national_calendar(client, county):
    headers = _admin_headers(client, county)
    losar = [{"date": "2027-02-08", "working": False, "name": "ལོ་གསར། Losar (test entry)"}]
    audit_before = AuditEntry.objects.count()
    response = client.put("/api/v1/calendar/2027?region=54", json.dumps({"days": losar}),
                          content_type="application/json", **headers)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["region"] == "54" and [d["date"] for d in body["entered"]] == ["2027-02-08"]
    assert body["known"] is False  # a region's days do not make the national schedule known
    assert AuditEntry.objects.count() == audit_before + 1
    entry = AuditEntry.objects.order_by("-id").first()
    assert entry.action == "calendar.set_year" and entry.object_id == "2027/54"
    # The national calendar is untouched; Kangma (540230) keeps Losar, Beijing works.
    assert client.get("/api/v1/calendar/2027", **headers).json()["entered"] == []
    assert client.get("/api/v1/calendar/2027?region=54", **headers).json()["entered"][0]["name"].startswith("ལོ་གསར")
    assert not calendar.is_working_day(dt.date(2027, 2, 8), place=county.path)
    assert calendar.is_working_day(dt.date(2027, 2, 8), place="110101")
    # Entering the national year replaces national entries only.
    national = [{"date": "2027-02-09", "working": False, "name": "春节"}]
    assert client.put("/api/v1/calendar/2027", json.dumps({"days": national}), content_type="application/json",
                      **headers).status_code == 200
    assert set(CalendarDay.objects.values_list("region", "date")) == {
        ("54", dt.date(2027, 2, 8)), ("", dt.date(2027, 2, 9))}


def test_an_unknown_region_is_refused_in_the_callers_language(client, county):
    headers = {**_admin_headers(client, county), "HTTP_ACCEPT_LANGUAGE": "zh-hans"}
    put = lambda region: client.put(f"/api/v1/calendar/2027?region={region}",  # noqa: E731
                                    json.dumps({"days": [{"date": "2027-02-08", "working": False}]}),
                                    content_type="application/json", **headers)
    unknown = put("11")  # Beijing: no place in this network
    assert unknown.status_code == 422
    assert unknown.json()["error"]["fields"]["region"] == ["网络中没有代码以 11 开头的地方。"]
    assert put("Tibet").status_code == 422
    assert put("5" * 19).status_code == 422
    assert CalendarDay.objects.count() == 0
