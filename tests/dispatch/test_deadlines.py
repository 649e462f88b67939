"""Deadlines on requests count the official calendar: the National Day week, its make-up
Saturday, administrators' entries, and a year the calendar package does not know yet."""

from __future__ import annotations

import datetime as dt

from tests.dispatch.support import at, file_request, login
from tongxin import cli
from tongxin.core import calendar, clock
from tongxin.core.models import CalendarDay
from tongxin.dispatch import services
from tongxin.dispatch.models import Request


def test_filed_on_the_afternoon_before_national_day_it_is_due_on_8_october(net):
    clock.set_now(at(2026, 9, 30, 16, 0))
    request = file_request(net, category="water")  # accept within 4 working hours
    assert request.accept_due == at(2026, 10, 8, 11, 0)
    urgent = file_request(net, category="water", urgency="urgent")  # half the hours: 2 h, still on the 30th
    assert urgent.accept_due == at(2026, 9, 30, 18, 0)
    roads = file_request(net, category="roads", by="village1_staff")  # accept within 1 working day
    assert roads.accept_due == at(2026, 10, 8, 18, 30)

    response = login(net.user("grid_worker_a")).get(f"/api/v1/requests/{request.pk}")
    assert dt.datetime.fromisoformat(response.json()["due"]) == at(2026, 10, 8, 11, 0)
    assert response.json()["overdue"] is False


def test_resolution_days_skip_the_holiday_and_count_the_make_up_saturday(net):
    clock.set_now(at(2026, 9, 30, 16, 0))
    request = file_request(net, category="water")  # resolve within 3 working days
    clock.set_now(at(2026, 9, 30, 17, 0))
    request = services.request_accept(actor=net.user("grid_worker_a"), request=request)
    # 8 October (Thu), 9 (Fri), 10 (the make-up Saturday).
    assert request.resolve_due == at(2026, 10, 10, 18, 30)
    assert request.accepted_on_time is True
    other = file_request(net, category="heating")  # resolve within 2 working days
    clock.set_now(at(2026, 10, 9, 9, 45))
    other = services.request_accept(actor=net.user("grid_worker_a"), request=other)
    assert other.accepted_on_time is False  # due 8 October 11:00
    # 10 October (Saturday, worked), then Monday 12: Sunday 11 is off.
    assert other.resolve_due == at(2026, 10, 12, 18, 30)


def test_the_overdue_job_waits_through_the_holiday(net, capsys):
    clock.set_now(at(2026, 9, 30, 16, 0))
    request = file_request(net, category="water")
    cli.main(["jobs", "run", "--now", "2026-10-05T12:00:00+08:00"])
    assert "0 overdue requests escalated" in capsys.readouterr().out
    assert Request.objects.get(pk=request.pk).state == "reported"
    cli.main(["jobs", "run", "--now", "2026-10-08T11:01:00+08:00"])
    assert f"1 overdue requests escalated: {request.number}" in capsys.readouterr().out
    request.refresh_from_db()
    assert request.state == "escalated" and request.handler_node_id == net.villages["a"].pk
    # The village's new deadline: 4 working hours from 11:01 (1 h 59 before lunch, 2 h 01 after).
    assert request.accept_due == at(2026, 10, 8, 17, 31)
    assert request.accepted_on_time is False


def test_in_2027_deadlines_compute_without_the_package_and_follow_entered_days(net, capsys):
    # Nobody has entered 2027 yet; the platform keeps working on 1 January.
    assert not calendar.year_is_known(2027)
    clock.set_now(at(2027, 1, 1, 10, 0))
    assert cli.main(["jobs", "run", "--now", "2027-01-01T10:00:00+08:00"]) == 0
    assert "dispatch.escalate_overdue: 0 overdue requests escalated" in capsys.readouterr().out
    first = file_request(net, category="water")
    assert first.accept_due == at(2027, 1, 4, 16, 0)  # 1 January off, then the weekend
    days = file_request(net, category="roads", by="village1_staff")
    assert days.accept_due == at(2027, 1, 4, 18, 30)

    # The administrator enters 4 January as a holiday: the next deadlines move to the 5th.
    CalendarDay.objects.create(date=dt.date(2027, 1, 4), is_working_day=False, name="bridge day")
    calendar.clear_cache()
    second = file_request(net, category="water")
    assert second.accept_due == at(2027, 1, 5, 16, 0)
    assert Request.objects.get(pk=first.pk).accept_due == at(2027, 1, 4, 16, 0)  # a set deadline stays

    # The job honours it: on the 4th at 17:00 only the first request is late.
    cli.main(["jobs", "run", "--now", "2027-01-04T17:00:00+08:00"])
    assert f"1 overdue requests escalated: {first.number}" in capsys.readouterr().out
    assert Request.objects.get(pk=second.pk).state == "reported"


def test_handling_time_in_office_hours_leaves_out_the_holiday(net):
    clock.set_now(at(2026, 9, 30, 16, 0))
    request = file_request(net)
    worker = net.user("grid_worker_a")
    request = services.request_accept(actor=worker, request=request)
    clock.set_now(at(2026, 10, 8, 10, 0))
    request = services.request_resolve(actor=worker, request=request, resolution="thawed the pipe")
    # 30 Sep 16:00-18:30, then the National Day holiday (1-7 Oct), then 8 Oct 9:30-10:00.
    assert request.resolve_working_hours == 3.0
    stats = login(net.user("dispatch_officer")).get(
        "/api/v1/dispatch/stats", {"node": net.county.code, "from": "2026-09-01", "to": "2026-10-31"}).json()
    assert stats["median_working_hours_to_resolve"] == 3.0
    assert stats["median_hours_to_resolve"] == 186.0  # the calendar's hours count every one of them
    # Reopened, it is no longer resolved: the figure goes until it is resolved again.
    reporter_side = services.request_reopen(actor=net.user("resident_a"), request=request, reason="frozen again")
    assert reporter_side.resolve_working_hours is None


def test_a_regional_holiday_moves_the_deadlines_of_requests_filed_under_its_region(net):
    clock.set_now(at(2026, 3, 2, 16, 0))  # a Monday
    before = file_request(net, category="water")  # 4 working hours: 16:00-18:30, then 09:30-11:00
    assert before.accept_due == at(2026, 3, 3, 11, 0)
    # Elsewhere in the country (Beijing's code) a day off changes nothing in Kangma.
    CalendarDay.objects.create(region="11", date=dt.date(2026, 3, 3), is_working_day=False)
    assert file_request(net, category="water").accept_due == at(2026, 3, 3, 11, 0)
    # A day off for Tibet (54): Kangma's requests skip it, at filing and at acceptance.
    CalendarDay.objects.create(region="54", date=dt.date(2026, 3, 3), is_working_day=False, name="regional day")
    request = file_request(net, category="water")
    assert request.accept_due == at(2026, 3, 4, 11, 0)
    request = services.request_accept(actor=net.user("grid_worker_a"), request=request)
    assert request.resolve_due == at(2026, 3, 6, 18, 30)  # 3 working days: 4, 5 and 6 March
    # Handling time leaves the regional day out too.
    clock.set_now(at(2026, 3, 4, 10, 0))
    request = services.request_resolve(actor=net.user("grid_worker_a"), request=request, resolution="fixed")
    assert request.resolve_working_hours == 3.0  # 16:00-18:30 on the 2nd, 09:30-10:00 on the 4th
