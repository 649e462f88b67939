"""The request state machine (群众诉求), declared on the core workflow kernel.

One table says, for each step, from which states, to which state, who may take it and when.
``WORKFLOW.available_actions(actor, request)`` is what the API's detail returns and what
the pages draw buttons for; the services take every step through ``WORKFLOW.take`` on a
row they have locked, so a step the table refuses is refused everywhere alike.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from tongxin.core.i18n import LANGUAGE_CODES, localized
from tongxin.core.workflow import Condition, Transition, Workflow
from tongxin.dispatch import rules
from tongxin.dispatch.models import Request, State, TimelineEntry

S = State
OPEN_FOR_ESCALATION = frozenset({S.REPORTED, S.ACCEPTED, S.IN_PROGRESS, S.ESCALATED, S.REOPENED})
HANDLED_ELSEWHERE = _("This request is handled by someone else now.")


def _handles(actor, request: Request) -> bool:
    return rules.may_handle(actor, request)


def _handles_not_only_assisting(actor, request: Request) -> bool:
    return rules.may_handle(actor, request) and not rules.assists_only(actor, request)


REOPEN_WINDOW = Condition(
    lambda actor, request: rules.may_still_reopen(request), "reopen_window_passed",
    _("The time to reopen this request has passed; please file a new one."))
NOT_YET_REPORTED = Condition(
    lambda actor, request: rules.assisting_waits(actor, request), "already_accepted",
    _("Your department has already accepted this request."))


def _reporter_side_only(others, handlers):
    """The 403's message of a step for the reporter's side: ``handlers`` to whoever handled the
    request (they are staff who could otherwise record it), ``others`` to everyone else."""
    return lambda actor, request: handlers if rules.handled_by(actor, request) else others


RATE_DENIED = _reporter_side_only(
    _("Only the person who reported it can rate this request."),
    _("You took part in handling this request, so you cannot rate it: its reporter's side rates it."))
REOPEN_DENIED = _reporter_side_only(
    _("Only the person who reported it can reopen this request."),
    _("You took part in handling this request, so you cannot reopen it: only its reporter's side can."))

TRANSITIONS = [
    Transition("accept", frozenset({S.REPORTED, S.ESCALATED, S.REOPENED}), S.ACCEPTED, _("accepted"),
               who=_handles_not_only_assisting, denied=HANDLED_ELSEWHERE),
    # 连心共治: an assisting department reports for duty while departments hold the request.
    Transition("department_accept", frozenset({S.ESCALATED, S.ACCEPTED, S.IN_PROGRESS}), None,
               _("department reported for duty"), who=rules.assists_only, when=(NOT_YET_REPORTED,),
               verb="accept", denied=HANDLED_ELSEWHERE),
    Transition("start", frozenset({S.ACCEPTED}), S.IN_PROGRESS, _("work started"), who=_handles,
               denied=HANDLED_ELSEWHERE),
    Transition("escalate", OPEN_FOR_ESCALATION, S.ESCALATED, _("escalated"), who=_handles,
               denied=HANDLED_ELSEWHERE),
    Transition("auto_escalate", OPEN_FOR_ESCALATION, S.ESCALATED, _("escalated automatically: deadline passed"),
               system=True),
    Transition("resolve", frozenset({S.ACCEPTED, S.IN_PROGRESS}), S.RESOLVED, _("resolved"), who=_handles,
               denied=HANDLED_ELSEWHERE),
    Transition("reject", frozenset({S.REPORTED, S.ESCALATED, S.REOPENED}), S.REJECTED, _("rejected"),
               who=_handles, denied=HANDLED_ELSEWHERE),
    # Closing the loop is the reporter's side's, never the handlers' (rules.is_reporter_side).
    Transition("rate", frozenset({S.RESOLVED}), S.CLOSED, _("confirmed and rated"), who=rules.is_reporter_side,
               denied=RATE_DENIED),
    Transition("reopen", frozenset({S.RESOLVED, S.CLOSED}), S.REOPENED, _("reopened"), who=rules.is_reporter_side,
               when=(REOPEN_WINDOW,), denied=REOPEN_DENIED),
    Transition("auto_close", frozenset({S.RESOLVED}), S.CLOSED, _("closed automatically: not rated in time"),
               system=True),
]
# Steps that do not change the state but belong on the timeline.
NOTES = {"file": _("filed"), "overdue": _("overdue at the top level"), "attach": _("photo attached")}


def names_of(*holders) -> dict[str, str]:
    """The names of nodes or departments (joined) in every language, Chinese where one is missing:
    what a timeline step keeps of its handler, so a later renaming leaves history as it was."""
    return {language: ", ".join(localized(h, "name", language) for h in holders) for language in LANGUAGE_CODES}


def handler_names(request: Request) -> dict[str, str]:
    """Who handles the request now (``rules.current_handlers``), in every language."""
    return names_of(*rules.current_handlers(request))


def _step_fields(request: Request) -> dict:
    names = handler_names(request)
    return {"handler": names.get("zh-hans", ""), "handler_names": names}


WORKFLOW = Workflow(
    model=Request, states=State, transitions=TRANSITIONS, timeline=TimelineEntry, timeline_fk="request",
    audit_prefix="request", notes=NOTES, step_fields=_step_fields,
    illegal=_("A request that is “%(state)s” cannot be “%(action)s”."))

# The table by name (tests and Open311 read labels from it).
TRANSITION_TABLE = WORKFLOW.table


def available_actions(actor, request: Request) -> list[str]:
    return WORKFLOW.available_actions(actor, request)


def allowed_actions(state: str) -> list[str]:
    return WORKFLOW.allowed_from(state)


def label(action: str):
    return WORKFLOW.label(action)
