"""Every write about requests and visits, one module per use: ``filing`` (a request, a
photo), ``handling`` (the ladder and the whistle, resolving, rating, reopening), ``visits``
and ``jobs`` (periodic work as the system actor). Import from here."""

from tongxin.dispatch.services.common import HANDLERS_AT, working_hours
from tongxin.dispatch.services.filing import (
    MAX_PHOTO_BYTES,
    NUMBER_ATTEMPTS,
    PHOTO_FORMATS,
    request_attach,
    request_file,
    request_publish,
)
from tongxin.dispatch.services.handling import (
    request_accept,
    request_escalate,
    request_rate,
    request_reject,
    request_reopen,
    request_resolve,
    request_start,
)
from tongxin.dispatch.services.jobs import close_unrated, escalate_overdue
from tongxin.dispatch.services.retention import household_requests_anonymise, requests_anonymise_expired
from tongxin.dispatch.services.visits import visit_record, visit_round_plan

__all__ = [
    "HANDLERS_AT", "MAX_PHOTO_BYTES", "NUMBER_ATTEMPTS", "PHOTO_FORMATS", "close_unrated", "escalate_overdue",
    "request_accept", "request_attach", "request_escalate", "request_file", "request_publish", "request_rate",
    "request_reject", "request_reopen", "request_resolve", "request_start", "visit_record", "visit_round_plan",
    "working_hours", "household_requests_anonymise", "requests_anonymise_expired",
]
