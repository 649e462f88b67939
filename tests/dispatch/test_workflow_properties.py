"""Property-based test of the request state machine: random sequences of actions by the right
and the wrong people, with the clock moving and the periodic jobs running, and after every
step the invariants of ``dispatch.workflow`` hold.

Each example files a fresh request inside a savepoint and rolls it back at the end, so the
examples do not see each other (the jobs look at every request in the database)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from tests.dispatch.support import at, file_request
from tongxin.core import clock, jobs
from tongxin.core.errors import ApplicationError
from tongxin.core.models import AuditEntry
from tongxin.dispatch import rules, services, workflow
from tongxin.dispatch.models import OPEN_STATES, DepartmentRole, Request, RequestDepartment, State
from tongxin.dispatch.workflow import NOTES, WORKFLOW
from tongxin.dispatch.workflow import TRANSITION_TABLE as TRANSITIONS

HANDLER_AT_LEVEL = {"grid": "grid_worker_a", "village": "village1_staff", "township": "township1_staff",
                    "county": "dispatch_officer"}
OFFICER_OF = {"water": "water_officer", "housing": "housing_officer"}
OUTSIDERS = ("grid_worker_b", "grid_worker_a2")  # another township; the next grid in the same village
WAITING = {State.REPORTED, State.ESCALATED, State.REOPENED}
WORKING = {State.ACCEPTED, State.IN_PROGRESS}


def make_machine(net, calls):
    class RequestLife(RuleBasedStateMachine):
        """One request's life; ``calls`` records every ``workflow.transition`` made."""

        @initialize(category=st.sampled_from(["water", "heating", "housing_safety"]))
        def file(self, category):
            self.savepoint = transaction.savepoint()
            self.now = at(2026, 3, 2, 10, 0)
            clock.set_now(self.now)
            self.request = file_request(net, category=category, household="a1")
            self.transitions_done = 0
            self.final = None

        def teardown(self):
            if getattr(self, "savepoint", None):
                transaction.savepoint_rollback(self.savepoint)
            clock.set_now(None)

        # --- observing -------------------------------------------------------------------

        def load(self) -> Request:
            return Request.objects.select_related("handler_node").get(pk=self.request.pk)

        def observe(self) -> dict:
            request = self.load()
            return {
                "row": {f.attname: getattr(request, f.attname) for f in Request._meta.concrete_fields},
                "timeline": list(request.timeline.order_by("id").values_list("action", "from_state", "to_state")),
                "audit": AuditEntry.objects.filter(object_id=str(request.pk)).count(),
                "departments": list(RequestDepartment.objects.filter(request=request).order_by("created_at", "id")
                                    .values_list("department__code", "role", "active", "accepted_at")),
            }

        def handler(self) -> str:
            """Who should be able to act now: the lead department's officer while departments
            hold the request, else the staff at its handling level."""
            request = self.load()
            lead = RequestDepartment.objects.filter(request=request, active=True, role=DepartmentRole.LEAD).first()
            if lead and request.state in (State.ESCALATED, State.ACCEPTED, State.IN_PROGRESS):
                return OFFICER_OF[lead.department.code]
            return HANDLER_AT_LEVEL[request.handler_level]

        def attempt(self, action: str | None, who: str, fn) -> ApplicationError | None:
            """Run one action; if it failed, it changed nothing; if it moved the state, it did so
            through the table."""
            before = self.observe()
            calls.clear()
            try:
                fn(net.user(who))
                error = None
            except ApplicationError as exc:
                error = exc
            after = self.observe()
            if error is not None:
                assert after == before, f"{action} by {who} failed ({error.code}) but changed the request"
                assert not calls
                return error
            new_steps = after["timeline"][len(before["timeline"]):]
            assert after["audit"] - before["audit"] == len(new_steps) >= 1  # one audit entry per step
            if action in TRANSITIONS:
                assert [c[1] for c in calls] == [action]
            assert len(calls) <= 1
            for _pk, done in calls:
                assert before["row"]["state"] in TRANSITIONS[done].sources
                # A step without a target (an assisting department reporting for duty) keeps the state.
                assert after["row"]["state"] == (TRANSITIONS[done].target or before["row"]["state"])
            if not calls:  # a note: the state stays
                assert after["row"]["state"] == before["row"]["state"]
                assert all(step[0] in NOTES and step[1] == step[2] for step in new_steps)
            self.transitions_done += len(calls)
            return None

        def expect(self, action: str, who: str, fn, *, legal_but=None):
            """The handler attempting ``action``: done when the table allows it from the current
            state, else a 409 ``illegal_transition`` (``legal_but`` names a 409 the rules allow
            even when the table does)."""
            state = self.load().state
            error = self.attempt(action, who, fn)
            if state not in TRANSITIONS[action].sources:
                assert error is not None and error.status == 409 and error.code == "illegal_transition", error
            elif error is not None:
                assert error.status == 409 and error.code in (legal_but or ()), (action, state, error.code)

        # --- the handler's actions ---------------------------------------------------------

        @rule(choices=st.lists(st.booleans(), min_size=1, max_size=4))
        def move_forward(self, choices):
            """A few next steps of a request handled well (so that the deep states are reached
            often), with the invariants checked after each."""
            for choice in choices:
                state = self.load().state
                if state in WAITING or state == State.REJECTED:
                    self.accept()
                elif state == State.ACCEPTED and choice:
                    self.start()
                elif state in WORKING:
                    self.resolve()
                elif state == State.RESOLVED and choice:
                    self.rate(rating=4)
                else:
                    self.reopen()
                self.check_all()

        def check_all(self):
            self.rejected_is_final()
            self.state_is_known_and_explained()
            self.moments_fit_the_state()

        @rule()
        def accept(self):
            self.expect("accept", self.handler(), lambda u: services.request_accept(actor=u, request=self.request))

        @rule()
        def start(self):
            self.expect("start", self.handler(), lambda u: services.request_start(actor=u, request=self.request))

        @rule(really=st.integers(0, 1))
        def escalate_next(self, really):
            if not really:  # tried half as often as the steps forward
                return
            self.expect("escalate", self.handler(), lambda u: services.request_escalate(
                actor=u, request=self.request, reason="beyond us"), legal_but={"top_of_ladder"})

        @rule(lead=st.sampled_from(["water", "housing"]), assist=st.booleans(), really=st.integers(0, 1))
        def escalate_departments(self, lead, assist, really):
            if not really:
                return
            other = "housing" if lead == "water" else "water"
            self.expect("escalate", self.handler(), lambda u: services.request_escalate(
                actor=u, request=self.request, reason="whistle", departments=[net.departments[lead]],
                assisting=[net.departments[other]] if assist else []))

        @rule()
        def resolve(self):
            self.expect("resolve", self.handler(), lambda u: services.request_resolve(
                actor=u, request=self.request, resolution="done"))

        @rule(really=st.integers(0, 2))
        def reject(self, really):
            if really:  # a rejection ends the story: tried a third as often as the other steps
                return
            self.expect("reject", self.handler(), lambda u: services.request_reject(
                actor=u, request=self.request, reason="not ours"))

        # --- the reporter's side (household a1's account; whoever handled it may not) ----------

        @rule(rating=st.integers(1, 5))
        def rate(self, rating):
            self.expect("rate", "resident_a", lambda u: services.request_rate(
                actor=u, request=self.request, rating=rating))

        @rule()
        def reopen(self):
            self.expect("reopen", "resident_a", lambda u: services.request_reopen(
                actor=u, request=self.request, reason="still broken"), legal_but={"reopen_window_passed"})

        @rule()
        def a_handler_tries_to_close_the_loop(self):
            """Whoever took a handling step may neither rate nor reopen the request: 403 in any state."""
            tries = {"rate": lambda u: services.request_rate(actor=u, request=self.request, rating=5),
                     "reopen": lambda u: services.request_reopen(actor=u, request=self.request, reason="x")}
            handlers = (self.load().timeline.filter(action__in=rules.HANDLING_STEPS, actor__isnull=False)
                        .values_list("actor__username", flat=True).distinct())
            for who in sorted(handlers):
                for action, fn in tries.items():
                    error = self.attempt(action, who, fn)
                    assert error is not None and error.status == 403, (action, who, error)

        # --- others ----------------------------------------------------------------------------

        @rule()
        def assisting_department_reports(self):
            # Whatever happens, the invariants hold; when it is a note, it keeps the state.
            # (When housing leads, this is its acceptance: a transition like any other.)
            self.attempt(None, "housing_officer", lambda u: services.request_accept(actor=u, request=self.request))

        @rule(who=st.sampled_from(OUTSIDERS), action=st.sampled_from(["accept", "start", "escalate", "resolve",
                                                                       "reject", "rate", "reopen"]))
        def outsider_tries(self, who, action):
            functions = {
                "accept": lambda u: services.request_accept(actor=u, request=self.request),
                "start": lambda u: services.request_start(actor=u, request=self.request),
                "escalate": lambda u: services.request_escalate(actor=u, request=self.request, reason="x"),
                "resolve": lambda u: services.request_resolve(actor=u, request=self.request, resolution="x"),
                "reject": lambda u: services.request_reject(actor=u, request=self.request, reason="x"),
                "rate": lambda u: services.request_rate(actor=u, request=self.request, rating=5),
                "reopen": lambda u: services.request_reopen(actor=u, request=self.request, reason="x"),
            }
            error = self.attempt(action, who, functions[action])
            assert error is not None and error.status == 404, error

        @rule(hours=st.sampled_from([1, 5, 30, 80, 200]))
        def time_passes_and_jobs_run(self, hours):
            before = self.observe()
            old = self.load()
            flagged = old.due is not None and old.timeline.filter(action="overdue", at__gte=old.due).exists()
            self.now += dt.timedelta(hours=hours)
            clock.set_now(self.now)
            calls.clear()
            jobs.run_due(self.now, force=True)
            request = self.load()
            after = self.observe()
            new_steps = after["timeline"][len(before["timeline"]):]
            assert after["audit"] - before["audit"] == len(new_steps)
            assert {step[0] for step in new_steps} <= {"auto_escalate", "auto_close", "overdue"}
            assert len(calls) <= 1
            if old.state == State.RESOLVED and old.reopen_until < self.now:
                assert request.state == State.CLOSED and new_steps == [("auto_close", "resolved", "closed")]
                assert request.rating is None
            elif old.due is not None and old.due < self.now and flagged:
                assert after == before  # at the top, the overdue flag is raised once per deadline
            elif old.due is not None and old.due < self.now:
                assert len(new_steps) == 1 and new_steps[0][0] in ("auto_escalate", "overdue")
                if new_steps[0][0] == "auto_escalate":
                    assert request.state == State.ESCALATED and request.escalations == old.escalations + 1
                    assert request.due > self.now  # a new deadline, in the future
                else:
                    assert request.state == old.state and request.handler_level == "county"
            else:
                assert after == before
            self.transitions_done += len(calls)

        # --- invariants after every step --------------------------------------------------------

        @invariant()
        def rejected_is_final(self):
            """Once rejected, nothing about the request changes again, whoever tries what."""
            if not hasattr(self, "request"):
                return
            snapshot = self.observe()
            if snapshot["row"]["state"] == State.REJECTED:
                if getattr(self, "final", None) is None:
                    self.final = snapshot
                assert snapshot == self.final

        @invariant()
        def state_is_known_and_explained(self):
            request = self.load()
            assert request.state in State.values
            timeline = list(request.timeline.order_by("id"))
            assert timeline[0].action == "file" and (timeline[0].from_state, timeline[0].to_state) == ("", "reported")
            assert timeline[-1].to_state == request.state
            for previous, entry in zip(timeline, timeline[1:]):
                assert entry.from_state == previous.to_state, (previous.action, entry.action)
                if entry.action in TRANSITIONS:
                    assert entry.from_state in TRANSITIONS[entry.action].sources
                    assert entry.to_state == (TRANSITIONS[entry.action].target or entry.from_state)
                else:
                    assert entry.action in NOTES and entry.to_state == entry.from_state
            # Every state change on the timeline is a transition of the table made by workflow.transition.
            assert sum(1 for e in timeline if e.action in TRANSITIONS) == self.transitions_done
            assert AuditEntry.objects.filter(object_id=str(request.pk)).count() == len(timeline)
            assert request.escalations == sum(1 for e in timeline if e.action in ("escalate", "auto_escalate"))

        @invariant()
        def moments_fit_the_state(self):
            r = self.load()
            s = r.state
            if s == State.REPORTED:
                assert r.accepted_at is None and r.resolved_at is None and r.closed_at is None
            if s in WORKING:
                assert r.accepted_at is not None and r.resolve_due is not None
            if s in WAITING:
                assert r.accept_due is not None and r.resolve_due is None
            if s in OPEN_STATES:
                assert r.resolved_at is None and r.closed_at is None and r.rating is None
            if s == State.RESOLVED:
                assert r.accepted_at <= r.resolved_at and r.closed_at is None and r.reopen_until is not None
            if s == State.CLOSED:
                assert r.resolved_at is not None and r.closed_at >= r.resolved_at
            if s == State.REJECTED:
                assert r.closed_at is not None and r.resolved_at is None
            if r.rating is not None:
                assert s == State.CLOSED and 1 <= r.rating <= 5
                assert not r.rating_by_handlers  # only ever rated here by the reporter's household
            else:
                assert not r.rating_by_handlers
            active = RequestDepartment.objects.filter(request=r, active=True)
            assert active.filter(role=DepartmentRole.LEAD).count() <= 1
            if s in (State.REPORTED, State.REOPENED):
                assert not active.exists()

    return RequestLife


@pytest.mark.django_db
def test_random_lives_of_a_request_keep_the_workflow_invariants(net, monkeypatch):
    calls = []
    take = WORKFLOW.take

    def recording_take(request, *, actor, name, **kwargs):
        result = take(request, actor=actor, name=name, **kwargs)
        calls.append((request.pk, name))
        return result

    monkeypatch.setattr(WORKFLOW, "take", recording_take)
    machine = make_machine(net, calls)
    run_state_machine_as_test(machine, settings=settings(
        max_examples=30, stateful_step_count=15, deadline=None, derandomize=True, database=None,
        # No shrinking: every step writes to the database, shrinking a failure took minutes, and
        # an unshrunk failure of at most 15 steps reads well enough.
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]))


def test_every_state_has_a_way_forward_and_only_the_table_names_targets():
    """Static checks of the table itself: every state is reachable from reported, every open
    state has a way out, and the terminal states only reopen."""
    reachable, frontier = {State.REPORTED.value}, [State.REPORTED.value]
    while frontier:
        state = frontier.pop()
        for t in TRANSITIONS.values():
            if state in t.sources and t.target and t.target not in reachable:
                reachable.add(t.target)
                frontier.append(t.target)
    assert reachable == set(State.values)
    for state in OPEN_STATES:
        assert any(state in t.sources and t.target not in (None, state) for t in TRANSITIONS.values()), state
    assert workflow.allowed_actions(State.REJECTED) == []
    assert set(workflow.allowed_actions(State.CLOSED)) == {"reopen"}
    assert not set(TRANSITIONS) & set(NOTES)
    assert WORKFLOW.reachable(State.REPORTED) == set(State.values)
