"""Filing a request (群众诉求): by a resident for their household, or by staff where they serve.

A client may send its own id: a retry with it returns the first request and files nothing
twice. The request starts at the level its category names, with its acceptance deadline.
"""

from __future__ import annotations

import io
import uuid

from django.db import IntegrityError, transaction
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from tongxin.core import audit, clock
from tongxin.core.actors import Actor
from tongxin.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from tongxin.core.notify import notify
from tongxin.core.rows import insert
from tongxin.dispatch.models import Attachment, Category, ReporterKind, Request, State, Urgency
from tongxin.dispatch.services.common import (
    HANDLERS_AT,
    accept_due,
    ancestor_or_self_at,
    in_scope,
    link,
    locked,
    number,
)
from tongxin.dispatch.workflow import WORKFLOW
from tongxin.grid.models import Level, Node
from tongxin.people.scope import allows_at, is_resident_only, may
from tongxin.people.selectors import staff_at
from tongxin.registry.models import Household

NUMBER_ATTEMPTS = 5  # draws of a request number's random part before giving up
MAX_PHOTO_BYTES = 5 * 1024 * 1024
PHOTO_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}

def request_file(*, actor: Actor, category: Category, node: Node, description: str, lat: float | None = None,
                 lon: float | None = None, household: Household | None = None,
                 reporter_kind: str = ReporterKind.RESIDENT, urgency: str = Urgency.NORMAL,
                 client_id: uuid.UUID | None = None) -> tuple[Request, bool]:
    """File a request. A retry with the same ``client_id`` returns the first one: (request, created)."""
    if client_id is not None:
        existing = Request.objects.filter(pk=client_id).first()
        if existing is not None:
            if existing.reporter_id != getattr(actor, "pk", None):
                raise Conflict(_("This id is already used by another request."), code="id_taken")
            return existing, False
    if not may(actor, "request.file"):
        raise PermissionDenied()
    if is_resident_only(actor):
        own = Household.objects.filter(pk=actor.household_id).first()
        if own is None:
            raise ValidationFailed(fields={"household": [_("Your account is not linked to a household.")]})
        household = household or own
        if household.pk != own.pk:
            raise NotFound()
        if not own.node_path.startswith(node.path):
            node = own.node  # a resident reports where they live, or somewhere above it
    elif not allows_at(actor, "request.file", node.path):
        raise NotFound()
    if household is not None and not household.node_path.startswith(node.path) and not node.path.startswith(
            household.node_path):
        raise ValidationFailed(fields={"household": [_("The household is not at this place.")]})
    errors = {}
    if not category.active:
        errors["category"] = [_("This category is not in use.")]
    if not (description or "").strip():
        errors["description"] = [_("Please describe the need.")]
    if len(description or "") > 4000:
        errors["description"] = [_("The description is too long (4,000 characters at most).")]
    if reporter_kind not in ReporterKind.values:
        errors["reporter_kind"] = [_("Unknown reporter kind.")]
    if urgency not in Urgency.values:
        errors["urgency"] = [_("Unknown urgency.")]
    if lat is not None and not -90 <= lat <= 90:
        errors["lat"] = [_("Latitude is between -90 and 90.")]
    if lon is not None and not -180 <= lon <= 180:
        errors["lon"] = [_("Longitude is between -180 and 180.")]
    if node.level in (Level.REGION, Level.PREFECTURE):
        errors["node"] = [_("A request belongs to a place in a county.")]
    if errors:
        raise ValidationFailed(fields=errors)
    now = clock.now()
    handler = ancestor_or_self_at(node, category.first_level)
    fields = dict(
        category=category, description=description.strip(), lat=lat, lon=lon,
        household=household, reporter=actor if getattr(actor, "pk", None) else None, reporter_kind=reporter_kind,
        urgency=urgency, node=node, node_path=node.path, handler_node=handler, handler_level=handler.level,
        accept_due=accept_due(category, now, urgency, node.path), state=State.REPORTED)
    if client_id is not None:
        fields["id"] = client_id
    # Read before the transaction, where the staff cache may answer (core/refcache.py).
    staff = staff_at(handler.pk, HANDLERS_AT.get(Level(handler.level), []))
    for attempt in range(1, NUMBER_ATTEMPTS + 1):
        # The number's random part may, rarely, repeat one already given: then draw again.
        fields["number"] = number(node, now)
        try:
            with transaction.atomic():
                request = made = insert(Request(**fields))
                request._prefetched_objects_cache = {"departments": []}
                entry = WORKFLOW.step(request, actor=actor, action="file", from_state="")
                notify(recipients=staff, kind="request.new",
                       subject=lambda made=made: gettext("New request %(number)s: %(category)s") % {
                           "number": made.number, "category": category.name},
                       link=link(request), object_id=str(request.pk))
                # Last write of the transaction: the county's audit chain stays locked only until commit.
                audit.record(action="request.file", actor=actor, obj=request)
                # What the caller shows next is known already: no need to read it back.
                request._prefetched_objects_cache = {"timeline": [entry], "departments": [], "attachments": []}
            break
        except IntegrityError:
            if client_id is not None:  # a concurrent retry won the race
                existing = Request.objects.filter(pk=client_id).first()
                if existing is not None:
                    return existing, False
            if attempt == NUMBER_ATTEMPTS or not Request.objects.filter(number=fields["number"]).exists():
                raise
    return request, True


def request_attach(*, actor: Actor, request: Request | uuid.UUID | str, data: bytes) -> Attachment:
    """Attach a photo: its type is read from its content, and it is re-encoded without metadata
    (so no location leaves the phone through us)."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    in_scope(actor, request)  # out of scope is 404 before anything is read of the photo
    if len(data) > MAX_PHOTO_BYTES:
        raise ValidationFailed(fields={"file": [_("A photo may be 5 MB at most.")]})
    try:
        image = Image.open(io.BytesIO(data))
        image.verify()
        image = Image.open(io.BytesIO(data))
        # MPO is the JPEG of many phone cameras, carrying extra pictures (previews, depth maps).
        fmt = "JPEG" if image.format == "MPO" else image.format
        if fmt in PHOTO_FORMATS:
            image.load()  # an upload cut off by a dropped signal fails here, not with a 500
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError, ValueError):
        raise ValidationFailed(fields={"file": [_("This file is not a JPEG, PNG or WebP photo.")]}) from None
    if fmt not in PHOTO_FORMATS:
        raise ValidationFailed(fields={"file": [_("This file is not a JPEG, PNG or WebP photo.")]})
    image = ImageOps.exif_transpose(image)  # the orientation tag goes with the EXIF: keep the photo upright
    image.info = {}  # EXIF (with GPS), XMP and text chunks are not written back
    out = io.BytesIO()
    image.save(out, format=fmt)
    with transaction.atomic():
        request = locked(actor, request)
        attachment = Attachment.objects.create(request=request, content_type=PHOTO_FORMATS[fmt],
                                               size=out.tell(), data=out.getvalue(),
                                               uploaded_by=actor if getattr(actor, "pk", None) else None)
        WORKFLOW.step(request, actor=actor, action="attach")
        audit.record(action="request.attach", actor=actor, obj=attachment, node_path=request.node_path,
                     after={"size": attachment.size, "content_type": attachment.content_type})
    return attachment
