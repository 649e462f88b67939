"""The whole ladder through the API: file → accept → whistle to departments (lead and
assisting) → the department lets its deadline pass → ``tongxin jobs run`` escalates to the
county dispatch centre and tells both sides → accept → resolve → rate → closed. The
timeline explains every step, and each write leaves exactly one audit entry."""

from __future__ import annotations

import datetime as dt

from tests.dispatch.support import at, audit_count, login
from tongxin import cli
from tongxin.core import clock
from tongxin.core.models import AuditEntry, JobRun, Notification
from tongxin.dispatch.models import Request, RequestDepartment


def _write(client, path, body, *, action, expect=200, capture):
    """One API write: its status, and exactly one audit entry for the action."""
    before = audit_count()
    with capture(execute=True):
        response = client.post(path, body)
    assert response.status_code == expect, response.content
    assert audit_count() == before + 1
    assert AuditEntry.objects.order_by("-id").first().action == action
    return response.json()


def _inbox(user, kind):
    return list(Notification.objects.filter(recipient=user, kind=kind).order_by("id"))


def test_the_whole_ladder(net, django_capture_on_commit_callbacks, capsys):
    capture = django_capture_on_commit_callbacks
    worker, water, housing = net.user("grid_worker_a"), net.user("water_officer"), net.user("housing_officer")
    dispatcher, resident = net.user("dispatch_officer"), net.user("resident_a")

    # Monday 2 March 2026, 10:00: a resident of household a1 files from their phone.
    clock.set_now(at(2026, 3, 2, 10, 0))
    resident_api, grid_api = login(resident), login(worker)
    body = {"category": "water", "description": "The village tap has been frozen for two days."}
    filed = _write(resident_api, "/api/v1/requests", body, action="request.file", expect=201, capture=capture)
    url = f"/api/v1/requests/{filed['id']}"
    assert filed["state"] == "reported" and filed["handler_node"] == net.grids["a"].code
    assert filed["household"] == str(net.households["a1"].pk) and filed["reporter_kind"] == "resident"
    # 4 working hours from 10:00: 3 h before lunch, then 15:30 + 1 h.
    assert dt.datetime.fromisoformat(filed["accept_due"]) == at(2026, 3, 2, 16, 30)
    assert {n.recipient.username for n in Notification.objects.filter(kind="request.new")} == {
        "grid_worker_a", "grid_leader_a"}

    clock.set_now(at(2026, 3, 2, 10, 30))
    accepted = _write(grid_api, f"{url}/accept", {"note": "On my way."}, action="request.accept", capture=capture)
    assert accepted["state"] == "accepted"
    assert dt.datetime.fromisoformat(accepted["resolve_due"]) == at(2026, 3, 5, 18, 30)
    [told] = _inbox(resident, "request.accepted")
    assert told.language == "bo"  # the resident reads Tibetan

    # 11:30: the pipe is the county's: blow the whistle to water (lead) with housing assisting.
    clock.set_now(at(2026, 3, 2, 11, 30))
    escalated = _write(grid_api, f"{url}/escalate", {"reason": "Main pipe burst under the road.", "to": "departments",
                                                     "lead": "water", "assisting": ["housing"]},
                       action="request.escalate", capture=capture)
    assert escalated["state"] == "escalated" and escalated["handler_node"] == net.county.code
    assert {(d["code"], d["role"]) for d in escalated["departments"]} == {("water", "lead"), ("housing", "assist")}
    # 11:30 + 4 working hours = 18:00 the same day.
    assert dt.datetime.fromisoformat(escalated["accept_due"]) == at(2026, 3, 2, 18, 0)
    [told] = _inbox(water, "request.escalated")
    assert told.language == "bo" and told.object_id == filed["id"]
    assert not _inbox(housing, "request.escalated")  # the lead answers for the request
    [asked] = _inbox(housing, "request.assist")  # … and the assisting department is asked to help
    assert asked.language == "en" and asked.object_id == filed["id"]
    assert asked.subject == f"Request {filed['number']}: your department is asked to assist"
    assert asked.body == "Main pipe burst under the road."
    assert not _inbox(water, "request.assist")

    # The grid worker no longer holds it: the departments do.
    before = audit_count()
    assert grid_api.post(f"{url}/resolve", {"resolution": "x"}).status_code == 403
    assert audit_count() == before

    # The assisting department reports for duty; the request keeps its state.
    clock.set_now(at(2026, 3, 2, 12, 30))
    reported = _write(login(housing), f"{url}/accept", {"note": "Sending a plumber."},
                      action="request.department_accept", capture=capture)
    assert reported["state"] == "escalated"
    assist = RequestDepartment.objects.get(request_id=filed["id"], department__code="housing")
    assert assist.accepted_at == at(2026, 3, 2, 12, 30) and assist.accepted_by_id == housing.pk

    # Water never reports. Next morning the jobs run and the request goes to the dispatch centre.
    capsys.readouterr()
    before = audit_count()
    with capture(execute=True):
        assert cli.main(["jobs", "run", "--now", "2026-03-03T09:00:00+08:00"]) == 0
    out = capsys.readouterr().out
    number = Request.objects.get(pk=filed["id"]).number
    assert f"dispatch.escalate_overdue: 1 overdue requests escalated: {number}" in out
    assert "dispatch.close_unrated: 0 resolved requests closed unrated" in out
    assert audit_count() == before + 1
    assert AuditEntry.objects.order_by("-id").first().action == "request.auto_escalate"
    assert JobRun.objects.get(name="dispatch.escalate_overdue").last_run_at == at(2026, 3, 3, 9, 0)
    # Both sides are told, each in their own language.
    [up] = _inbox(dispatcher, "request.escalated")
    [down] = _inbox(water, "request.overdue")
    assert (up.language, down.language) == ("en", "bo")
    assert up.object_id == down.object_id == filed["id"]
    assert clock.now() == at(2026, 3, 2, 12, 30)  # the job moved the clock only while it ran

    # Running the jobs again at the same moment does nothing more.
    with capture(execute=True):
        cli.main(["jobs", "run", "--now", "2026-03-03T09:00:00+08:00"])
    assert "no job was due" in capsys.readouterr().out

    clock.set_now(at(2026, 3, 3, 9, 30))
    request = Request.objects.get(pk=filed["id"])
    assert request.state == "escalated" and request.handler_node_id == net.county.pk
    assert request.accepted_on_time is False and request.escalations == 2
    assert not RequestDepartment.objects.filter(request=request, active=True).exists()
    # Water lost the request: it still sees its history, but may not act on it.
    water_api = login(water)
    before = audit_count()
    assert water_api.get(url).status_code == 200
    assert water_api.post(f"{url}/accept", {}).status_code == 403
    assert audit_count() == before

    dispatch_api = login(dispatcher)
    accepted = _write(dispatch_api, f"{url}/accept", {}, action="request.accept", capture=capture)
    assert accepted["state"] == "accepted"
    assert dt.datetime.fromisoformat(accepted["resolve_due"]) == at(2026, 3, 6, 18, 30)
    clock.set_now(at(2026, 3, 4, 15, 45))
    dispatch_api = login(dispatcher)  # a token idles out after 8 hours of the clock
    resolved = _write(dispatch_api, f"{url}/resolve", {"resolution": "Pipe replaced; water flows again."},
                      action="request.resolve", capture=capture)
    assert resolved["state"] == "resolved"
    [told] = _inbox(resident, "request.resolved")
    assert told.language == "bo" and told.body == "Pipe replaced; water flows again."

    clock.set_now(at(2026, 3, 5, 10, 0))
    rated = _write(login(resident), f"{url}/rate", {"rating": 5, "comment": "Quick, thank you."},
                   action="request.rate", capture=capture)
    assert rated["state"] == "closed" and rated["rating"] == 5

    request = Request.objects.get(pk=filed["id"])
    assert request.accepted_at == at(2026, 3, 3, 9, 30) and request.resolved_at == at(2026, 3, 4, 15, 45)
    assert request.closed_at == at(2026, 3, 5, 10, 0) and request.resolved_on_time is True
    steps = [(t["action"], t["from_state"], t["to_state"]) for t in rated["timeline"]]
    assert steps == [
        ("file", "", "reported"),
        ("accept", "reported", "accepted"),
        ("escalate", "accepted", "escalated"),
        ("department_accept", "escalated", "escalated"),
        ("auto_escalate", "escalated", "escalated"),
        ("accept", "escalated", "accepted"),
        ("resolve", "accepted", "resolved"),
        ("rate", "resolved", "closed"),
    ]
    timeline = rated["timeline"]
    assert [t["actor"] for t in timeline] == ["Resident A", "Grid Worker A", "Grid Worker A", "Housing Officer",
                                              None, "Dispatch Officer", "Dispatch Officer", "Resident A"]
    # Who handled each step, in the caller's language (the client asks for English).
    assert timeline[2]["note"] == "Main pipe burst under the road."
    assert timeline[2]["handler"] == "Water Resources Bureau"
    assert timeline[4]["handler"] == net.county.name_en and timeline[4]["note"]
    assert timeline[6]["note"] == "Pipe replaced; water flows again."
    # One audit entry per step, each about this request.
    assert AuditEntry.objects.filter(object_id=filed["id"]).count() == len(timeline)
