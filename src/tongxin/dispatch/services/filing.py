"""Filing a request (群众诉求): by a resident for their household, or by staff where they serve;
attaching a photo; approving the text the public feed may show.

A client may send its own id: a retry with it returns the first request and files nothing
twice. The request starts at the level its category names, with its acceptance deadline.
A request is published only when its reporter chose to (``publish``, off by default), and
the public feed shows only ``public_description``, which someone approved.
"""

from __future__ import annotations

import io
import uuid
import warnings

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from tongxin.core import audit, clock, rows
from tongxin.core.actors import Actor
from tongxin.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from tongxin.core.notify import notify
from tongxin.core.rows import insert
from tongxin.dispatch import rules
from tongxin.dispatch.models import Attachment, Category, ReporterKind, Request, RequestDepartment, State, Urgency
from tongxin.dispatch.services.common import (
    HANDLERS_AT,
    accept_due,
    ancestor_or_self_at,
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
PUBLIC_DESCRIPTION_MAX = 500

def request_file(*, actor: Actor, category: Category, node: Node, description: str, lat: float | None = None,
                 lon: float | None = None, household: Household | None = None,
                 reporter_kind: str = ReporterKind.RESIDENT, urgency: str = Urgency.NORMAL,
                 client_id: uuid.UUID | None = None, publish: bool = False) -> tuple[Request, bool]:
    """File a request. A retry with the same ``client_id`` returns the first one: (request, created).
    ``publish``: the reporter agrees that the request appears in the public feed (without
    their words: only a public description someone approves later)."""
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
        category=category, description=description.strip(), lat=lat, lon=lon, publish=bool(publish),
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
            # The request, its first step, the handlers' inbox messages and the audit entry
            # go to the database together (one round trip on PostgreSQL).
            with transaction.atomic(), rows.batch():
                request = made = insert(Request(**fields))
                request._prefetched_objects_cache = {"departments": []}
                entry = WORKFLOW.step(request, actor=actor, action="file", from_state="")
                notify(recipients=staff, kind="request.new",
                       subject=lambda made=made: gettext("New request %(number)s: %(category)s") % {
                           "number": made.number, "category": category.name},
                       link=link(request), object_id=str(request.pk))
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


def _photo_too_large(width: int, height: int) -> ValidationFailed:
    return ValidationFailed(fields={"file": [_(
        "This photo has too many pixels (%(width)d × %(height)d): at most %(megapixels)s megapixels, "
        "please send a smaller one.") % {"width": width, "height": height,
                                          "megapixels": f"{settings.MAX_PHOTO_PIXELS / 1_000_000:g}"}]})


def _attachable(actor: Actor, request: Request | uuid.UUID | str) -> Request:
    """The request read through the actor's scope (404), which the actor may attach to (403),
    and which is not finished (409)."""
    from django.db.models import Prefetch

    pk = getattr(request, "pk", request)
    loaded = (Request.objects.visible_to(actor, "request.view").select_related("handler_node")
              .defer("handler_node__boundary")
              .prefetch_related(Prefetch("departments", queryset=RequestDepartment.objects.order_by("created_at")))
              .filter(pk=pk).first())
    if loaded is None:
        raise NotFound()
    _check_attachable(actor, loaded)
    return loaded


def _check_attachable(actor: Actor, request: Request) -> None:
    if not rules.may_attach(actor, request):
        raise PermissionDenied(_("Only those who file or handle this request may attach photos to it."))
    if request.state in rules.FINISHED:
        raise Conflict(_("This request is closed: it takes no more photos."), code="request_closed")


def request_attach(*, actor: Actor, request: Request | uuid.UUID | str, data: bytes) -> Attachment:
    """Attach a photo: its type is read from its content, and it is re-encoded without metadata
    (so no location leaves the phone through us). Who may attach, and to a request still open
    or resolved, is checked before anything is read of the photo; a picture of more pixels than
    ``MAX_PHOTO_PIXELS`` is refused from its header, before it is decoded."""
    from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

    _attachable(actor, request)  # out of scope is 404 before anything is read of the photo
    if len(data) > MAX_PHOTO_BYTES:
        raise ValidationFailed(fields={"file": [_("A photo may be 5 MB at most.")]})
    limit = settings.MAX_PHOTO_PIXELS
    # A photo cut short is refused, whatever another library switched on for the process.
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    # Pillow's own limit (process-wide, left as it is) warns, then refuses above twice it; ours is
    # the check of the header below, and a refusal of Pillow's is answered the same way.
    try:
        with warnings.catch_warnings():  # Pillow's warning above its own limit: ours decides
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))  # lazy: reads the header only
        width, height = image.size
        if width * height > limit:
            raise _photo_too_large(width, height)
        image.verify()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
        if image.size != (width, height) or width * height > limit:
            raise _photo_too_large(*image.size)
        # MPO is the JPEG of many phone cameras, carrying extra pictures (previews, depth maps).
        fmt = "JPEG" if image.format == "MPO" else image.format
        if fmt in PHOTO_FORMATS:
            image.load()  # an upload cut off by a dropped signal fails here, not with a 500
    except Image.DecompressionBombError:
        raise ValidationFailed(fields={"file": [_(
            "This photo has too many pixels: at most %(megapixels)s megapixels, please send a smaller one.") % {
                "megapixels": f"{limit / 1_000_000:g}"}]}) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise ValidationFailed(fields={"file": [_("This file is not a JPEG, PNG or WebP photo.")]}) from None
    if fmt not in PHOTO_FORMATS:
        raise ValidationFailed(fields={"file": [_("This file is not a JPEG, PNG or WebP photo.")]})
    image = ImageOps.exif_transpose(image)  # the orientation tag goes with the EXIF: keep the photo upright
    image.info = {}  # EXIF (with GPS), XMP and text chunks are not written back
    out = io.BytesIO()
    image.save(out, format=fmt)
    with transaction.atomic():
        request = locked(actor, request)
        _check_attachable(actor, request)  # again under the lock: it may have closed meanwhile
        attachment = Attachment.objects.create(request=request, content_type=PHOTO_FORMATS[fmt],
                                               size=out.tell(), data=out.getvalue(),
                                               uploaded_by=actor if getattr(actor, "pk", None) else None)
        WORKFLOW.step(request, actor=actor, action="attach")
        audit.record(action="request.attach", actor=actor, obj=attachment, node_path=request.node_path,
                     after={"size": attachment.size, "content_type": attachment.content_type})
    return attachment


def request_publish(*, actor: Actor, request: Request | uuid.UUID | str, text: str | None = None,
                    publish: bool | None = None) -> Request:
    """Approve the text the public feed shows for this request (``text``; empty withdraws it),
    and, for the reporter's side only, give or withdraw their consent to publish it
    (``publish``). Not a step of the workflow: the state stays as it is; audited.

    The public description is a separate text, written for the public: it is never filled
    from the reporter's own description."""
    if text is None and publish is None:
        raise ValidationFailed(fields={"text": [_("Send a public description, or whether to publish.")]})
    text = (text or "").strip() if text is not None else None
    if text is not None and len(text) > PUBLIC_DESCRIPTION_MAX:
        raise ValidationFailed(fields={"text": [_("A public description is 500 characters at most.")]})
    with transaction.atomic():
        request = locked(actor, request)
        if not rules.may_publish(actor, request):
            raise PermissionDenied(_("Only the reporter or whoever handles this request may approve its "
                                     "public description."))
        if publish is not None and bool(publish) != request.publish and not rules.speaks_for_reporter(
                actor, request):
            raise PermissionDenied(_("Only the reporter may choose whether their request is published."))
        before = {"publish": request.publish, "public_description": request.public_description}
        changed = []
        if publish is not None:
            request.publish = bool(publish)
            changed.append("publish")
        if text is not None:
            request.public_description = text
            request.public_description_by = actor if (text and getattr(actor, "pk", None)) else None
            request.public_description_at = clock.now() if text else None
            changed += ["public_description", "public_description_by", "public_description_at"]
        request.save(update_fields=changed)
        audit.record(action="request.publish", actor=actor, obj=request, before=before,
                     after={"publish": request.publish, "public_description": request.public_description})
    return request
