"""The kernel's rows in the scope walk (see tests/walk.py)."""

from __future__ import annotations

import datetime as dt

from tongxin.core import clock


def _notification(net, grid_side, filer, side) -> None:
    """A notification for the staff of the side's township, opening the side's grid: its
    recipient's alone (anyone else, however near, gets 404)."""
    from django.urls import reverse

    from tongxin.core.models import Notification

    staff = net.user("township1_staff" if grid_side.township.code.endswith("100") else "township2_staff")
    side.notification = Notification.objects.create(
        recipient=staff, kind="walk", language="zh-hans", subject="Walk",
        link=reverse("grid:node", args=[grid_side.grid.code]))


def contribute(rows) -> None:
    rows.path_params["notification_id"] = lambda s: str(s.notification.pk)
    rows.side_builders.append(_notification)
    rows.query_plain.update({
        "limit": None, "offset": None,
        "from": lambda: (clock.today() - dt.timedelta(days=30)).isoformat(),
        "to": lambda: clock.today().isoformat(),
    })
    rows.unscoped.update({
        "GET /api/v1/calendar/{year}": "the official calendar is national, the same for everyone",
        "PUT /api/v1/calendar/{year}": "the official calendar sits at no node; only calendar.change may enter it "
                                       "(tested in tests/core/test_routes.py)",
        "GET /api/v1/notifications": "answers about the caller's own inbox only",
        "POST /api/v1/audit/checkpoint": "names no object: signs the heads of the audit chains in the caller's "
                                         "audit.view scope only (tests/core/test_audit_visibility.py)",
        "POST /api/v1/notifications/{notification_id}/read": "a recipient's own inbox, not a node's: another "
                                                             "user's notification is 404 (tests/core/test_routes.py)",
    })
