"""Dispatch's part of a resident's rights (registry.rights): the requests filed by them or about
their household and the visits to their household in their copy of their data, and the
household's requests cleared when it leaves the county. Registered from ``DispatchConfig.ready()``."""

from __future__ import annotations

from django.db.models import Count, Q
from django.utils.translation import gettext_lazy as _

from tongxin.dispatch.models import Request, Visit
from tongxin.dispatch.services.retention import household_requests_anonymise
from tongxin.dispatch.workflow import label
from tongxin.registry import rights
from tongxin.registry.rights import moment

REQUEST_FIELDS = (
    ("number", _("Number")), ("category", _("Category")), ("state", _("State")), ("filed_at", _("Filed at")),
    ("description", _("Description")), ("resolution", _("What was done")), ("rating", _("Rating")),
    ("rating_comment", _("Rating comment")), ("closed_at", _("Closed at")), ("photos", _("Photos")),
    ("timeline", _("Timeline")),
)
VISIT_FIELDS = (
    ("visited_on", _("Visited on")), ("visited_by", _("Visited by")), ("findings", _("What was found")),
    ("follow_up", _("Follow-up needed")),
)


def resident_requests(resident) -> list[dict]:
    """Requests about the resident's household, and those filed by an account of that household."""
    household = resident.household_id
    qs = (Request.objects.filter(Q(household_id=household) | Q(reporter__household_id=household))
          .select_related("category").annotate(photos=Count("attachments")).prefetch_related("timeline")
          .order_by("created_at", "id"))
    return [{
        "number": r.number, "category": r.category.name, "state": r.get_state_display(),
        "filed_at": moment(r.created_at), "description": r.description, "resolution": r.resolution,
        "rating": r.rating, "rating_comment": r.rating_comment, "closed_at": moment(r.closed_at),
        "photos": r.photos,
        "timeline": [{"at": moment(s.at), "step": str(label(s.action)), "note": s.note} for s in r.timeline.all()],
    } for r in qs]


def resident_visits(resident) -> list[dict]:
    qs = Visit.objects.filter(household_id=resident.household_id).select_related("worker").order_by("visited_on", "id")
    return [{
        "visited_on": v.visited_on.isoformat(),
        "visited_by": (v.worker.full_name or v.worker.username) if v.worker_id else "",
        "findings": v.findings, "follow_up": str(_("yes") if v.follow_up else _("no")),
    } for v in qs]


def register() -> None:
    rights.add_export_section(name="requests", label=_("Requests"), fields=REQUEST_FIELDS,
                              collect=resident_requests, order=10)
    rights.add_export_section(name="visits", label=_("Visits to the household"), fields=VISIT_FIELDS,
                              collect=resident_visits, order=20)
    rights.add_household_anonymiser(name="requests", anonymise=household_requests_anonymise)
