"""The request lists declared once (core.tables): the queue, a department's inbox, visits and
the statistics. Each page draws these columns and its export writes them.

The statistics' words are here too, each figure with what it counts, so that the headline,
the tables below it and the export say the same thing: "resolved (incl. closed)" is every
request with a resolution in force, which is "waiting for rating" plus "closed".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tongxin.core.tables import Column, Kind, Table
from tongxin.dispatch import rules
from tongxin.dispatch.models import State, Urgency
from tongxin.grid.models import Level

# --- the queue and the inbox -------------------------------------------------------------


def _due(r) -> Any:
    return r.due_at if r.state in rules.OPEN_STATES else None


_NUMBER = Column("number", _("Number"), lambda r: r.number, cell="dispatch/cells/number.html", width=20)
_CATEGORY = Column("category", _("Category"), lambda r: r.category.name, width=18)
# Where, named below the reader's level (``grid.places``): the view sets ``place_text`` on
# each row, for the page and the export alike (``views.common.placed``).
_PLACE = Column("place", _("Place"), lambda r: getattr(r, "place_text", None) or r.node.name,
                cell="dispatch/cells/place.html", width=30)
_STATE = Column("state", _("State"), lambda r: str(State(r.state).label), cell="dispatch/cells/state.html", width=12)

QUEUE = Table(
    name="queue", title=_("Request queue"), place=lambda r: r.node_path,
    columns=(
        _NUMBER, _CATEGORY, _PLACE,
        Column("handler", _("Handled by"), lambda r: rules.handler_name(r), width=22),
        _STATE,
        Column("due", _("Due"), _due, kind=Kind.DATETIME, cell="dispatch/cells/due.html", width=17),
        Column("urgency", _("Urgency"), lambda r: str(Urgency(r.urgency).label), width=10),
    ),
)


def _calls(r) -> str:
    """The inbox's departments of one request (``r.calls``, set by the inbox) as one line each."""
    lines = []
    for c in r.calls:
        done = (f"{_('accepted')} {timezone.localtime(c['accepted_at']):%m-%d %H:%M}" if c["accepted_at"]
                else str(_("waiting to be accepted")))
        lines.append(f"{c['name']} · {c['role']} · {done}")
    return "\n".join(lines)


INBOX = Table(
    name="inbox", title=_("Inbox"), place=lambda r: r.node_path,
    columns=(
        _NUMBER, _CATEGORY, _PLACE, _STATE,
        Column("departments", _("Department"), _calls, cell="dispatch/cells/calls.html", width=40),
        Column("deadline", _("Deadline"), _due, kind=Kind.DATETIME, cell="dispatch/cells/due.html", width=17),
    ),
)

# --- visits ------------------------------------------------------------------------------

VISITS = Table(
    name="visits", title=_("Visits"), place=lambda v: v.node_path,
    columns=(
        Column("visited_on", _("Visited on"), lambda v: v.visited_on, kind=Kind.DATE, width=12),
        Column("household", _("Household number"), lambda v: v.household.number, width=22),
        Column("head", _("Head of household"), lambda v: v.household.head_name, width=18),
        Column("place", _("Place"), lambda v: v.node.name, width=22),
        Column("worker", _("Visited by"),
               lambda v: (v.worker.full_name or v.worker.username) if v.worker else "", width=16),
        Column("findings", _("What was found"), lambda v: v.findings, width=40),
        Column("follow_up", _("Follow-up needed"), lambda v: str(_("yes") if v.follow_up else _("no")), width=10),
        Column("request", _("Request opened"), lambda v: v.request.number if v.request_id else "", width=20),
    ),
)

# --- the statistics ----------------------------------------------------------------------


@dataclass(frozen=True)
class Figure:
    key: str
    label: Any
    explain: Any
    kind: str = Kind.NUMBER


FIGURES = (
    Figure("total", _("Filed"), _("Requests filed in the period, whatever their state now.")),
    Figure("open", _("Open"), _("Filed in the period and still being handled: reported, accepted, in progress, "
                                "escalated or reopened.")),
    Figure("overdue", _("Overdue now"), _("Open requests whose deadline to accept or to resolve has passed.")),
    Figure("resolved", _("Resolved (incl. closed)"),
           _("Requests with a resolution: those waiting for the resident's rating and those closed.")),
    Figure("waiting_rating", _("Waiting for rating"),
           _("Resolved, not yet confirmed and rated by the resident; counted among the resolved.")),
    Figure("closed", _("Closed"), _("Resolved and confirmed: rated by the resident, or closed automatically when "
                                    "not rated in time; counted among the resolved.")),
    Figure("rejected", _("Rejected"), _("Refused with a reason; left out of the completion rate.")),
    Figure("escalations", _("Escalations"), _("Times these requests were escalated, to a higher level or to "
                                              "departments; one request may count several times.")),
    Figure("median_hours_to_resolve", _("Median hours to resolve"),
           _("Half of the resolved requests took less than this, in calendar hours from filing.")),
    Figure("median_working_hours_to_resolve", _("Median working hours to resolve"),
           _("The same, counted in working hours of the official calendar.")),
    Figure("rated", _("Rated"), _("Requests the resident rated, from 1 to 5.")),
)

RATES = (
    Figure("on_time_acceptance_rate", _("Accepted on time"),
           _("Of the requests accepted, the share accepted before their deadline."), Kind.SHARE),
    Figure("on_time_resolution_rate", _("Resolved on time"),
           _("Of the resolved requests (incl. closed), the share resolved before their deadline."), Kind.SHARE),
    Figure("completion_rate", _("Completion rate"),
           _("Resolved requests (incl. closed) out of those filed, rejected ones left out."), Kind.SHARE),
    Figure("satisfaction_rate", _("Satisfaction rate"),
           _("Of the rated requests, the share rated 4 or 5."), Kind.SHARE),
)

# The states as the statistics name them: "resolved" there is the state, which waits for the
# resident's rating; the headline's "resolved (incl. closed)" adds the closed ones.
STATE_WORDS = {
    State.REPORTED: (_("Reported"), _("Waiting to be accepted by whoever handles it first.")),
    State.ACCEPTED: (_("Accepted"), _("Accepted; work not yet started.")),
    State.IN_PROGRESS: (_("In progress"), _("Work has started.")),
    State.ESCALATED: (_("Escalated"), _("Sent to a higher level or to departments, waiting for them to accept.")),
    State.RESOLVED: (_("Waiting for rating"), _("Resolved, not yet confirmed and rated by the resident.")),
    State.CLOSED: (_("Closed"), _("Resolved and confirmed, or closed when not rated in time.")),
    State.REJECTED: (_("Rejected"), _("Refused with a reason.")),
    State.REOPENED: (_("Reopened"), _("The resident said the need was not met; waiting to be accepted again.")),
}

_LABEL = Column("label", _("Figure"), lambda f: str(f["label"]), width=30)
_EXPLAIN = Column("explain", _("What it counts"), lambda f: str(f["explain"]), width=70)

FIGURES_TABLE = Table(name="stats-figures", title=_("Figures"), columns=(
    _LABEL, Column("value", _("Value"), lambda f: f["value"], kind=Kind.NUMBER, width=12), _EXPLAIN))
RATES_TABLE = Table(name="stats-rates", title=_("Rates"), columns=(
    _LABEL, Column("value", _("Value"), lambda f: f["value"], kind=Kind.SHARE, cell="dispatch/cells/share.html",
                   width=12), _EXPLAIN))
STATES_TABLE = Table(name="stats-states", title=_("By state"), columns=(
    Column("label", _("State"), lambda f: str(f["label"]), width=24),
    Column("value", _("Requests"), lambda f: f["value"], kind=Kind.NUMBER, cell="dispatch/cells/bar.html", width=12),
    _EXPLAIN))
CATEGORIES_TABLE = Table(name="stats-categories", title=_("By category"), columns=(
    Column("label", _("Category"), lambda f: str(f["label"]), width=24),
    Column("value", _("Requests"), lambda f: f["value"], kind=Kind.NUMBER, cell="dispatch/cells/bar.html", width=12),
))


def _figure_column(f: Figure, label: Any = None, **kwargs) -> Column:
    return Column(f.key, label or f.label, lambda c: c[f.key], kind=f.kind, explain=f.explain, width=12, **kwargs)


_BY_KEY = {f.key: f for f in (*FIGURES, *RATES)}

CHILDREN_TABLE = Table(name="stats-children", title=_("Below this place"), columns=(
    Column("name", _("Name"), lambda c: c.get("place_text") or c["name"], cell="dispatch/cells/child.html", width=24),
    Column("level", _("Level"), lambda c: str(Level(c["level"]).label), width=10),
    Column("code", _("Place code"), lambda c: c["code"], width=16),
    # The counts with requests behind them link to the queue showing those (``row.links``).
    *(_figure_column(_BY_KEY[k], cell=f"dispatch/cells/child_{k}.html") for k in ("total", "open", "overdue")),
    *(_figure_column(_BY_KEY[k]) for k in ("resolved", "waiting_rating", "closed", "rejected", "escalations")),
    *(_figure_column(_BY_KEY[k], cell="dispatch/cells/share.html")
      for k in ("completion_rate", "on_time_resolution_rate", "satisfaction_rate")),
))


def figure_rows(figures: dict, declared: tuple[Figure, ...]) -> list[dict]:
    return [{"key": f.key, "label": f.label, "explain": f.explain, "value": figures.get(f.key)} for f in declared]


def state_rows(figures: dict) -> list[dict]:
    total = figures["total"] or 0
    return [{"key": s, "label": STATE_WORDS[State(s)][0], "explain": STATE_WORDS[State(s)][1], "value": n,
             "pct": round(100 * n / total) if total else 0} for s, n in figures["by_state"].items()]


def category_rows(figures: dict, names: dict[str, str]) -> list[dict]:
    total = figures["total"] or 0
    return sorted(({"key": c, "label": names.get(c, c), "value": n, "pct": round(100 * n / total) if total else 0}
                   for c, n in figures["by_category"].items()), key=lambda row: (-row["value"], str(row["label"])))
