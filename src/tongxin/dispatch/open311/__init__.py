"""Open311 GeoReport v2 (http://wiki.open311.org/GeoReport_v2) at ``/open311/v2/``.

Third-party apps list the request categories, file requests and follow them through the
open standard, in XML (``.xml``) and JSON (``.json``)::

    GET  discovery.{fmt}                      the Service Discovery document
    GET  services.{fmt}                       the public categories (services)
    GET  services/{service_code}.{fmt}        one service definition (no attributes)
    POST requests.{fmt}                       file a request (needs an api_key)
    GET  requests.{fmt}                       public list of requests
    GET  requests/{service_request_id}.{fmt}  one request (a list of one, as the standard has it)

Rules:

- **Public reads carry nothing personal** (DESIGN.md, "Public outputs"). ``GET requests``
  needs no key, so it lists a request only when its category is public (petitions and
  dispute mediation never are: they answer 404, like their service codes) *and* its
  reporter chose to publish it (``publish``, off by default, asked on every filing form).
  Even then it shows only public fields: the category; ``description`` is the request's
  *public description*, a separate text the reporter or a handler approved
  (``request_publish``), never the reporter's own words (empty until one is approved);
  ``status_notes`` is a fixed phrase per state, never a note or a resolution;
  ``agency_responsible`` is a department or a township (a handling village, grid or unit is
  named by its township); the place is named down to its township; the point (lat/long),
  only for a request not tied to a household, is rounded to two decimal places (about
  1 km). Reporter, phone, household, timeline notes and ratings never leave. This public
  feed is the one read that does not start from the scope function: nobody is signed in,
  and what it shows is public by construction (the fields above, one county).
- **Jurisdiction** is a county: ``jurisdiction_id`` is the county's division code (e.g.
  540230). It may be left out while the deployment has a single county; with several it
  is required (400). An unknown code, or a county the api_key holder may not file in, is 404.
- **Where a filed request belongs** (POST): a resident's key files at their household's unit
  (the household is attached; ``address_id`` is ignored, as the filing service does);
  any other key files at ``address_id`` when given — a node code inside the jurisdiction
  and inside the key holder's scope, else 404 — otherwise at the holder's top scope node
  in the jurisdiction (the first by code when there are several; the county when the
  holder's scope is above it). ``lat``/``long`` are kept as the request's point;
  ``address_string`` counts as the location the standard requires but is not stored (it
  is often a home address, and descriptions are public); ``email``, ``first_name``,
  ``last_name``, ``phone``, ``device_id``, ``account_id``, ``media_url`` and
  ``attribute[…]`` are accepted and not stored (no service definition has attributes).
  ``publish=true`` (an extension of the standard) says the reporter agrees to publication;
  without it the request is filed but never listed. POST takes form-encoded bodies (the
  standard) or a flat JSON object (one nested too deeply to parse is a 400).
  ``Idempotency-Key`` retries are replayed by the core middleware.
- **Limits:** ``GET requests`` answers the newest 1,000 requests (``MAX_RESULTS``) filed in
  the date range, which defaults to the last 90 days and may not span more than 90 days
  (the standard's numbers); ``service_request_id`` overrides every other filter.
- **Errors** are GeoReport error lists (``[{"code", "description"}]`` or ``<errors>``) with
  404 for anything unknown, 403 for a missing, invalid or unentitled api_key, 400 for
  everything else; the description is in the caller's language.
"""

from tongxin.dispatch.open311.views import (
    discovery,
    request_detail,
    service_definition,
    service_list,
    service_requests,
    unknown,
)

__all__ = ["discovery", "request_detail", "service_definition", "service_list", "service_requests", "unknown"]
