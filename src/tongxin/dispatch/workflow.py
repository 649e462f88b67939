"""The request state machine: one transition table and one guard.

Every change of state goes through ``transition()``, which checks the table, moves the
state, and writes the timeline entry and the audit entry in the caller's transaction.
An action the table does not allow from the current state is a 409.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from tongxin.core import audit, clock
from tongxin.core.errors import Conflict
from tongxin.core.i18n import LANGUAGE_CODES, localized
from tongxin.core.rows import insert
from tongxin.dispatch.models import Request, State, TimelineEntry


@dataclass(frozen=True)
class Transition:
    sources: frozenset[str]
    target: str
    label: object  # lazy translatable label shown on the timeline


S = State
TRANSITIONS: dict[str, Transition] = {
    "accept": Transition(frozenset({S.REPORTED, S.ESCALATED, S.REOPENED}), S.ACCEPTED, _("accepted")),
    "start": Transition(frozenset({S.ACCEPTED}), S.IN_PROGRESS, _("work started")),
    "escalate": Transition(frozenset({S.REPORTED, S.ACCEPTED, S.IN_PROGRESS, S.ESCALATED, S.REOPENED}),
                           S.ESCALATED, _("escalated")),
    "auto_escalate": Transition(frozenset({S.REPORTED, S.ACCEPTED, S.IN_PROGRESS, S.ESCALATED, S.REOPENED}),
                                S.ESCALATED, _("escalated automatically: deadline passed")),
    "resolve": Transition(frozenset({S.ACCEPTED, S.IN_PROGRESS}), S.RESOLVED, _("resolved")),
    "reject": Transition(frozenset({S.REPORTED, S.ESCALATED, S.REOPENED}), S.REJECTED, _("rejected")),
    "rate": Transition(frozenset({S.RESOLVED}), S.CLOSED, _("confirmed and rated")),
    "reopen": Transition(frozenset({S.RESOLVED, S.CLOSED}), S.REOPENED, _("reopened")),
    "auto_close": Transition(frozenset({S.RESOLVED}), S.CLOSED, _("closed automatically: not rated in time")),
}
# Steps that do not change the state but belong on the timeline.
NOTES = {"file": _("filed"), "department_accept": _("department reported for duty"),
         "overdue": _("overdue at the top level"), "attach": _("photo attached")}


def allowed_actions(state: str) -> list[str]:
    return [name for name, t in TRANSITIONS.items() if state in t.sources]


def guard(request: Request, action: str) -> Transition:
    """The one guard: the table allows ``action`` from the request's current state, or 409."""
    transition = TRANSITIONS.get(action)
    if transition is None or request.state not in transition.sources:
        raise Conflict(
            _("A request that is “%(state)s” cannot be “%(action)s”.") % {
                "state": State(request.state).label,
                "action": (transition.label if transition else action),
            },
            code="illegal_transition",
        )
    return transition


def timeline_step(request: Request, *, actor, action: str, from_state: str, note: str,
                  handler: dict[str, str]) -> TimelineEntry:
    """Append one step; ``handler`` is who handles the request now, in each language (``names_of``)."""
    return insert(TimelineEntry(
        request=request, at=clock.now(), actor=actor if getattr(actor, "pk", None) else None, action=action,
        from_state=from_state, to_state=request.state, handler=handler.get("zh-hans", ""), handler_names=handler,
        note=note))


def names_of(*holders) -> dict[str, str]:
    """The names of nodes or departments (joined) in every language, Chinese where one is missing:
    what a timeline step keeps of its handler, so a later renaming leaves history as it was."""
    return {language: ", ".join(localized(h, "name", language) for h in holders) for language in LANGUAGE_CODES}


def handler_names(request: Request) -> dict[str, str]:
    """Who handles the request now, in every language: the departments named on it, or its handling node."""
    departments = [d for d in request.departments.all() if d.active]
    if request.state in (State.ESCALATED, State.ACCEPTED, State.IN_PROGRESS) and departments:
        lead = [d for d in departments if d.role == "lead"]
        return names_of(*(d.department for d in (lead or departments)))
    return names_of(request.handler_node)


def transition(request: Request, *, actor, action: str, note: str = "", changes: dict | None = None) -> Request:
    """Move ``request`` (locked by the caller) through ``action``; timeline and audit in the same transaction."""
    t = guard(request, action)
    before = audit.snapshot(request)
    from_state = request.state
    request.state = t.target
    for key, value in (changes or {}).items():
        setattr(request, key, value)
    request.save()
    timeline_step(request, actor=actor, action=action, from_state=from_state, note=note,
                  handler=handler_names(request))
    audit.record(action=f"request.{action}", actor=actor, obj=request, before=before)
    return request


def note(request: Request, *, actor, action: str, note: str = "", audit_it: bool = True) -> TimelineEntry:
    """A timeline step that keeps the state (filing, a department reporting, …)."""
    entry = timeline_step(request, actor=actor, action=action, from_state=request.state, note=note,
                          handler=handler_names(request))
    if audit_it:
        audit.record(action=f"request.{action}", actor=actor, obj=request, after={"note": note[:200]})
    return entry
