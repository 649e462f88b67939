"""The workflow kernel: one transition table per workflow model, one guard, and one answer
to "what may this person do with this object now".

A workflow app declares a ``Workflow`` over its model: the states, and for each transition
its sources and target, *who* may take it (a predicate over the actor and the object,
built on the scope function) and *when* (conditions over the data). Rules:

- ``take()`` runs on a row the service has locked (``lock()``: SELECT … FOR UPDATE through
  the caller's scoped queryset), so two overlapping runs can never take the same step twice:
  the second one sees the state the first one left and gets a 409.
- Every step writes a timeline entry (``core.models.TimelineStep``, with the actor's name in
  every language as it was) and an audit entry in the same transaction; only the fields the
  step changed are written.
- ``available_actions(actor, obj)`` is the one answer that services enforce (through
  ``check``), the API returns in each object's detail, and pages use to draw their buttons.

The order of the checks is fixed: who (403 when the actor may see the object but not take
the step), then the state (409 ``illegal_transition``), then the conditions (409 with the
condition's own code).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import models
from django.utils.text import capfirst, format_lazy
from django.utils.translation import gettext_lazy as _

from tongxin.core import audit, clock
from tongxin.core.actors import SYSTEM, Actor, is_system
from tongxin.core.errors import Conflict, NotFound, PermissionDenied
from tongxin.core.i18n import LANGUAGE_CODES, in_every_language
from tongxin.core.rows import insert


def anyone(actor: Actor, obj: Any) -> bool:
    return True


@dataclass(frozen=True)
class Condition:
    """A precondition over the data: ``test(actor, obj)`` true, or a 409 with ``code`` and ``message``."""

    test: Callable[[Actor, Any], bool]
    code: str
    message: Any


@dataclass(frozen=True)
class Transition:
    """One step of the table.

    ``target`` None keeps the state (a step that belongs on the timeline, such as an
    assisting department reporting for duty). ``verb`` is the action people take — the
    button and the endpoint — when several steps answer to one (``accept`` by the handler,
    or by an assisting department); it defaults to ``name``. ``system`` steps are taken only
    by the system actor (jobs), and never offered to a person."""

    name: str
    sources: frozenset[str]
    target: str | None
    label: Any
    who: Callable[[Actor, Any], bool] = anyone
    when: tuple[Condition, ...] = ()
    verb: str = ""
    system: bool = False
    # The 403's message when ``who`` says no; or a function of the actor and the object that
    # gives it, when why they may not decides what to tell them.
    denied: Any = None

    @property
    def action(self) -> str:
        return self.verb or self.name


@dataclass
class Workflow:
    """The transition table of one workflow model, and its timeline.

    ``timeline`` is the model of its timeline entries (a ``TimelineStep``), ``timeline_fk``
    the name of their foreign key to the object; ``step_fields(obj)`` adds the workflow's own
    columns to each entry (for requests: who handles it now, in every language).
    ``audit_prefix`` names the audit actions (``request.accept``)."""

    model: type[models.Model]
    states: type[models.TextChoices]
    transitions: Sequence[Transition]
    timeline: type[models.Model]
    timeline_fk: str
    audit_prefix: str
    notes: dict[str, Any] = field(default_factory=dict)
    step_fields: Callable[[Any], dict[str, Any]] = lambda obj: {}
    state_field: str = "state"
    illegal: Any = _("Something that is “%(state)s” cannot be “%(action)s”.")

    def __post_init__(self) -> None:
        self.table: dict[str, Transition] = {}
        for t in self.transitions:
            if t.name in self.table:
                raise ValueError(f"transition {t.name} declared twice")
            unknown = (set(t.sources) | ({t.target} if t.target else set())) - set(self.states.values)
            if unknown:
                raise ValueError(f"transition {t.name}: unknown states {sorted(unknown)}")
            self.table[t.name] = t
        # The audit log names each step in the reader's language ("Request: accepted").
        noun = self.model._meta.verbose_name
        audit.add_action_labels({f"{self.audit_prefix}.{name}": format_lazy("{}: {}", capfirst(noun), label)
                                 for name, label in [*((t.name, t.label) for t in self.transitions),
                                                     *self.notes.items()]})

    # --- reading the table -------------------------------------------------------------

    def state_of(self, obj: Any) -> str:
        return getattr(obj, self.state_field)

    def label(self, action: str) -> Any:
        """The timeline's label of a step (a transition or a note)."""
        if action in self.table:
            return self.table[action].label
        return self.notes.get(action, action)

    def allowed_from(self, state: str) -> list[str]:
        """The steps the table allows from ``state``, whoever asks."""
        return [t.name for t in self.transitions if state in t.sources]

    def _refusal(self, actor: Actor, obj: Any, t: Transition) -> Exception | None:
        if t.system and not is_system(actor):
            return PermissionDenied(t.denied)
        if not is_system(actor) and not t.who(actor, obj):
            return PermissionDenied(t.denied(actor, obj) if callable(t.denied) else t.denied)
        if self.state_of(obj) not in t.sources:
            return self._illegal(obj, t.label)
        for condition in t.when:
            if not condition.test(actor, obj):
                return Conflict(condition.message, code=condition.code)
        return None

    def _illegal(self, obj: Any, label: Any) -> Conflict:
        return Conflict(self.illegal % {"state": self.states(self.state_of(obj)).label, "action": label},
                        code="illegal_transition")

    def allows(self, actor: Actor, obj: Any, name: str) -> bool:
        t = self.table.get(name)
        return t is not None and self.state_of(obj) in t.sources and self._refusal(actor, obj, t) is None

    def available_actions(self, actor: Actor, obj: Any) -> list[str]:
        """What ``actor`` may do with ``obj`` now: the verbs of every step that ``check`` would
        let through, in the table's order, each once. Never a system-only step."""
        verbs: list[str] = []
        state = self.state_of(obj)
        for t in self.transitions:
            # A step the state does not allow is not asked who may take it (a rule of who may
            # cost a query: a list asks every row).
            if t.system or t.action in verbs or state not in t.sources:
                continue
            if self._refusal(actor, obj, t) is None:
                verbs.append(t.action)
        return verbs

    def check(self, actor: Actor, obj: Any, name: str) -> Transition:
        """The one guard: the step ``name`` may be taken by ``actor`` on ``obj`` now, or the error."""
        t = self.table.get(name)
        if t is None:
            raise self._illegal(obj, name)
        refusal = self._refusal(actor, obj, t)
        if refusal is not None:
            raise refusal
        return t

    # --- taking a step -----------------------------------------------------------------

    @staticmethod
    def lock(queryset: models.QuerySet, pk: Any) -> Any:
        """The row ``pk`` of ``queryset`` (the caller's scoped one), locked until commit; 404 when
        it is missing or out of scope. Only the object's own row is locked."""
        obj = queryset.select_for_update(of=("self",)).filter(pk=pk).first()
        if obj is None:
            raise NotFound()
        return obj

    def take(self, obj: Any, *, actor: Actor, name: str, note: str = "", changes: dict[str, Any] | None = None,
             checked: bool = False) -> Any:
        """Take the step ``name`` on ``obj`` (locked by the caller, inside its transaction): check
        it, move the state, apply ``changes``, save only what changed, then the timeline entry
        and the audit entry. ``checked`` when the caller has just called ``check`` itself."""
        t = self.table[name] if checked else self.check(actor, obj, name)
        before = audit.snapshot(obj)
        from_state = self.state_of(obj)
        changed = set()
        if t.target is not None:
            setattr(obj, self.state_field, t.target)
            changed.add(self.state_field)
        for key, value in (changes or {}).items():
            setattr(obj, key, value)
            model_field = obj._meta.get_field(key)
            changed.add(model_field.name)
        if changed:
            obj.save(update_fields=sorted(changed))
        self.step(obj, actor=actor, action=name, from_state=from_state, note=note)
        audit.record(action=f"{self.audit_prefix}.{name}", actor=actor, obj=obj, before=before)
        return obj

    def step(self, obj: Any, *, actor: Actor, action: str, from_state: str | None = None, note: str = "",
             audited: bool = False) -> models.Model:
        """A timeline entry for ``obj`` (a transition's, or a note that keeps the state)."""
        state = self.state_of(obj)
        entry = insert(self.timeline(**{
            self.timeline_fk: obj, "at": clock.now(), "actor": actor if getattr(actor, "pk", None) else None,
            "actor_names": actor_names(actor), "action": action,
            "from_state": state if from_state is None else from_state, "to_state": state, "note": note,
            **self.step_fields(obj)}))
        if audited:
            audit.record(action=f"{self.audit_prefix}.{action}", actor=actor, obj=obj, after={"note": note[:200]})
        return entry

    def reachable(self, start: str) -> set[str]:
        """Every state reachable from ``start`` through the table (a check for new tables)."""
        seen, frontier = {start}, [start]
        while frontier:
            state = frontier.pop()
            for t in self.transitions:
                if state in t.sources and t.target and t.target not in seen:
                    seen.add(t.target)
                    frontier.append(t.target)
        return seen


def actor_names(actor: Actor) -> dict[str, str]:
    """The actor's name in every language, as it is now (kept on each timeline step)."""
    if actor is None or is_system(actor):
        return in_every_language(lambda: SYSTEM.display_name)
    name = getattr(actor, "full_name", "") or getattr(actor, "username", "")
    return dict.fromkeys(LANGUAGE_CODES, name)


def verbs(transitions: Iterable[Transition]) -> list[str]:
    """The distinct verbs of some transitions, in order (what a page may draw buttons for)."""
    out: list[str] = []
    for t in transitions:
        if not t.system and t.action not in out:
            out.append(t.action)
    return out
