"""Web pages of requests (群众诉求), one module per page: the dispatch centre's ``queue`` and
map, one request in ``detail`` (its timeline, and the buttons of
``workflow.available_actions``), a department's ``inbox``, ``stats``, residents' own
requests in ``mine``, a grid worker's ``today`` and the door-knocking ``visits``; their
forms in ``forms``, shared helpers in ``common``.

Views are thin: they parse, call a dispatch selector or service, and render. An error a
service raises re-renders the page with its message and status (POST-redirect-GET on
success)."""

from tongxin.dispatch.views.common import due_info
from tongxin.dispatch.views.detail import request_act, request_detail, request_photo
from tongxin.dispatch.views.inbox import inbox, inbox_export
from tongxin.dispatch.views.mine import my_requests, request_new, to_confirm
from tongxin.dispatch.views.queue import queue, queue_export, request_map
from tongxin.dispatch.views.stats import stats, stats_export
from tongxin.dispatch.views.today import today
from tongxin.dispatch.views.visits import (
    visit_coverage,
    visit_new,
    visit_round,
    visit_round_plan,
    visits_export,
    visits_home,
)

__all__ = ["due_info", "inbox", "inbox_export", "my_requests", "queue", "queue_export", "request_act",
           "request_detail", "request_map", "request_new", "request_photo", "stats", "stats_export", "to_confirm",
           "today", "visit_coverage", "visit_new", "visit_round", "visit_round_plan", "visits_export", "visits_home"]
