"""Open311 GeoReport v2 at /open311/v2/ (``dispatch.open311``): the catalogue, filing with an
api_key, the public request feed without personal information, errors in the standard's
format, and a client that speaks only GeoReport v2."""

from __future__ import annotations

import datetime as dt
import json
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tongxin.core import clock
from tongxin.core.actors import SYSTEM
from tongxin.core.models import AuditEntry
from tongxin.dispatch import services
from tongxin.dispatch.catalogue import CATEGORIES
from tongxin.dispatch.models import Category, Request, TimelineEntry
from tongxin.grid import services as grid_services
from tongxin.grid.models import Department, Level, Node
from tongxin.people import services as people_services
from tongxin.people.models import User
from tongxin.people.roles import Role
from tongxin.registry import services as registry_services

BASE = "/open311/v2"
FORM = "application/x-www-form-urlencoded"
COUNTY = "540230"
PUBLIC = [c[0] for c in CATEGORIES if not c[8]]
PRIVATE = [c[0] for c in CATEGORIES if c[8]]
SERVICE_FIELDS = ["service_code", "service_name", "description", "metadata", "type", "keywords", "group"]
REQUEST_FIELDS = ["service_request_id", "status", "status_notes", "service_name", "service_code", "description",
                  "agency_responsible", "service_notice", "requested_datetime", "updated_datetime",
                  "expected_datetime", "address", "address_id", "zipcode", "lat", "long", "media_url"]
# What identifies the resident and their household: none of it may leave through Open311.
RESIDENT_PHONE = "13800138001"
HOUSEHOLD_PHONE = "13900139002"
HOUSEHOLD_NUMBER = "HH-7731"
HOUSEHOLD_ADDRESS = "Lhundrup lane 17"


@dataclass
class Kangma:
    county: Node
    township: Node
    village: Node
    grid: Node
    unit: Node
    village2: Node
    grid2: Node
    department: Department
    dispatch: User
    grid_worker: User
    resident: User
    officer: User
    household: object

    def key(self, user: User) -> str:
        return people_services.token_issue(user=user)


@pytest.fixture
def kangma(db, make) -> Kangma:
    """540230 county > 540230100 township > 540230100001 village > …001 grid > …001 unit, a
    second village with a grid, and one user per kind of key holder (names are synthetic)."""
    make.categories()  # a transactional test elsewhere may have flushed the migration's rows
    county = make.node(code=COUNTY, level=Level.COUNTY, parent=None, name="康马县")
    township = make.node(code="540230100", level=Level.TOWNSHIP, parent=county, name="康马镇")
    village = make.node(code="540230100001", level=Level.VILLAGE, parent=township, name="雪村")
    grid = make.node(code="540230100001001", level=Level.GRID, parent=village, name="雪村第一网格")
    unit = make.node(code="540230100001001001", level=Level.UNIT, parent=grid, name="卓玛联户单元")
    village2 = make.node(code="540230100002", level=Level.VILLAGE, parent=township, name="湖村")
    grid2 = make.node(code="540230100002001", level=Level.GRID, parent=village2, name="湖村第一网格")
    household = make.household(unit, number=HOUSEHOLD_NUMBER, address=HOUSEHOLD_ADDRESS, phone=HOUSEHOLD_PHONE,
                               head_name="Drolma Tsering")
    admin = make.user("o311_system_admin", Role.SYSTEM_ADMIN, county)
    department = grid_services.department_create(actor=admin, node=county, code="water", name_zh="县水利局",
                                                 name_en="Water Resources Bureau")
    resident = make.user("o311_resident_drolma", Role.RESIDENT, unit)
    registry_services.user_household_link(actor=SYSTEM, user=resident, household=household)
    # No service sets these.
    User.objects.filter(pk=resident.pk).update(phone=RESIDENT_PHONE, full_name="Drolma Tsering")
    return Kangma(
        county=county, township=township, village=village, grid=grid, unit=unit, village2=village2, grid2=grid2,
        department=department, household=household,
        dispatch=make.user("o311_dispatch", Role.DISPATCH_OFFICER, county),
        grid_worker=make.user("o311_grid_worker", Role.GRID_WORKER, grid),
        resident=User.objects.get(pk=resident.pk),
        officer=make.user("o311_officer", Role.DEPARTMENT_OFFICER, county, department=department),
    )


@pytest.fixture
def client() -> Client:
    return Client(headers={"Accept-Language": "en"})


def post(client: Client, fmt: str = "json", headers: dict | None = None, **params):
    return client.post(f"{BASE}/requests.{fmt}", urlencode(params), content_type=FORM, headers=headers or {})


def xml_of(response) -> ET.Element:
    assert response["Content-Type"] == "text/xml; charset=utf-8"
    assert response.content.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
    return ET.fromstring(response.content)


def file(kangma: Kangma, code: str = "water", *, actor: User | None = None, node: Node | None = None,
         description: str = "The village tap has been dry since Monday.", publish: bool = True, **kw) -> Request:
    """A request whose reporter chose to publish it (unless ``publish=False``)."""
    req, _created = services.request_file(actor=actor or kangma.grid_worker, category=Category.objects.get(code=code),
                                          node=node or kangma.grid, description=description, publish=publish, **kw)
    return req


def numbers(response) -> set[str]:
    assert response.status_code == 200, response.content
    return {r["service_request_id"] for r in response.json()}


# --- services ---------------------------------------------------------------------------


def test_services_json_lists_the_public_catalogue(kangma, client):
    response = client.get(f"{BASE}/services.json")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json; charset=utf-8"
    services_ = response.json()
    assert [s["service_code"] for s in services_] == PUBLIC
    water = services_[0]
    assert list(water) == SERVICE_FIELDS
    assert water["service_name"] == "Water supply"
    assert water["metadata"] is False and water["type"] == "realtime"
    assert {"供水", "Water supply"} <= set(water["keywords"].split(", "))
    assert water["group"] == "Water Resources Bureau"  # the jurisdiction's department for the category
    heating = next(s for s in services_ if s["service_code"] == "heating")
    assert heating["group"] == "Housing and Construction Bureau"  # no such department here: the catalogue's name
    assert not set(PRIVATE) & {s["service_code"] for s in services_}


def test_services_xml_has_the_standard_elements(kangma, client):
    root = xml_of(client.get(f"{BASE}/services.xml"))
    assert root.tag == "services"
    assert [s.tag for s in root] == ["service"] * len(PUBLIC)
    assert [s.findtext("service_code") for s in root] == PUBLIC
    for service in root:
        assert [e.tag for e in service] == SERVICE_FIELDS
        assert service.findtext("metadata") == "false" and service.findtext("type") == "realtime"


def test_services_are_named_in_the_callers_language(kangma):
    # (Tibetan is chosen from Accept-Language only once its catalogue is compiled: Django
    # accepts a language from the header only when it has a catalogue for it.)
    names = {lang: Client(headers={"Accept-Language": lang}).get(f"{BASE}/services.json").json()[0]["service_name"]
             for lang in ("zh-hans", "en")}
    assert names == {"zh-hans": "供水", "en": "Water supply"}


def test_service_definition_json_and_xml(kangma, client):
    assert client.get(f"{BASE}/services/water.json").json() == {"service_code": "water", "attributes": []}
    root = xml_of(client.get(f"{BASE}/services/water.xml"))
    assert root.tag == "service_definition"
    assert root.findtext("service_code") == "water"
    assert root.find("attributes") is not None and list(root.find("attributes")) == []


@pytest.mark.parametrize("code", [*PRIVATE, "no-such-service"])
def test_private_and_unknown_services_answer_404(kangma, client, code):
    response = client.get(f"{BASE}/services/{code}.json")
    assert response.status_code == 404
    [error] = response.json()
    assert error["code"] == 404 and code in error["description"]
    root = xml_of(client.get(f"{BASE}/services/{code}.xml"))
    assert root.tag == "errors" and root.find("error/code").text == "404"


def test_unknown_format_and_address_answer_a_georeport_404(kangma, client):
    for path in ("services.csv", "services/water.html", "requests.yaml", "nothing-here.json", "services"):
        response = client.get(f"{BASE}/{path}")
        assert response.status_code == 404, path
        assert response.json()[0]["code"] == 404


def test_unknown_jurisdiction_answers_404_and_several_counties_need_one(kangma, client, make):
    for path in ("services.json", "requests.json", "services/water.json"):
        response = client.get(f"{BASE}/{path}", {"jurisdiction_id": "999999"})
        assert response.status_code == 404 and "999999" in response.json()[0]["description"]
    assert client.get(f"{BASE}/services.json", {"jurisdiction_id": COUNTY}).status_code == 200
    make.node(code="540231", level=Level.COUNTY, parent=None, name="邻县 (synthetic)")
    response = client.get(f"{BASE}/requests.json")
    assert response.status_code == 400 and "jurisdiction_id" in response.json()[0]["description"]
    assert client.get(f"{BASE}/requests.json", {"jurisdiction_id": COUNTY}).status_code == 200


def test_discovery_names_the_endpoint(kangma, client):
    body = client.get(f"{BASE}/discovery.json").json()
    [endpoint] = body["endpoints"]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"] == "http://testserver/open311/v2"
    assert endpoint["formats"] == ["text/xml", "application/json"]
    root = xml_of(client.get(f"{BASE}/discovery.xml"))
    assert [f.text for f in root.findall("endpoints/endpoint/formats/format")] == ["text/xml", "application/json"]


def test_wrong_method_is_405_with_allow(kangma, client):
    response = client.delete(f"{BASE}/requests.json")
    assert response.status_code == 405 and "POST" in response["Allow"]
    assert client.post(f"{BASE}/services.json").status_code == 405


# --- filing -----------------------------------------------------------------------------


def test_post_files_one_request_with_one_audit_entry(kangma, audit_entries):
    client = Client(enforce_csrf_checks=True, headers={"Accept-Language": "en"})  # no CSRF token: an API
    response = post(client, api_key=kangma.key(kangma.grid_worker), jurisdiction_id=COUNTY, service_code="water",
                    lat="28.5612", long="89.6821", description="Burst pipe beside the school road.")
    assert response.status_code == 201, response.content
    [answer] = response.json()
    assert list(answer) == ["service_request_id", "service_notice", "account_id"]
    assert answer["account_id"] is None
    assert "4 working hours" in answer["service_notice"] and "3 working days" in answer["service_notice"]
    req = Request.objects.get()
    assert req.number == answer["service_request_id"]
    assert (req.category.code, req.node_id, req.lat, req.lon) == ("water", kangma.grid.pk, 28.5612, 89.6821)
    assert req.reporter_id == kangma.grid_worker.pk and req.household_id is None
    assert audit_entries("request.file") == 1
    assert AuditEntry.objects.get(action="request.file").channel == "open311"


def test_post_answers_xml_and_takes_json_bodies(kangma, client):
    key = kangma.key(kangma.dispatch)
    root = xml_of(post(client, "xml", api_key=key, service_code="roads", address_id=kangma.village2.code,
                       description="Rockfall on the pass road."))
    assert root.tag == "service_requests"
    request_el = root.find("request")
    assert [e.tag for e in request_el] == ["service_request_id", "service_notice", "account_id"]
    assert request_el.findtext("account_id") == ""
    response = client.post(f"{BASE}/requests.json", json.dumps({
        "api_key": key, "jurisdiction_id": int(COUNTY), "service_code": "sanitation", "lat": 28.5, "long": 89.7,
        "description": "Rubbish piling up at the bridge.", "attribute": {"size": "large"}}),
        content_type="application/json")
    assert response.status_code == 201, response.content
    assert Request.objects.count() == 2
    assert set(Request.objects.values_list("node__code", flat=True)) == {kangma.village2.code, COUNTY}


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_invalid_or_missing_api_key_is_403(kangma, client, fmt):
    for key in ("not-a-token", None):
        params = {"service_code": "water", "lat": "28.5", "long": "89.6", "description": "Dry tap."}
        if key:
            params["api_key"] = key
        response = post(client, fmt, **params)
        assert response.status_code == 403
        if fmt == "json":
            [error] = response.json()
            assert error["code"] == 403 and "api_key" in error["description"]
        else:
            root = xml_of(response)
            assert root.tag == "errors"
            assert [e.tag for e in root.find("error")] == ["code", "description"]
            assert root.findtext("error/code") == "403" and "api_key" in root.findtext("error/description")
    assert not Request.objects.exists()


def test_a_key_that_may_not_file_is_403(kangma, client):
    response = post(client, api_key=kangma.key(kangma.officer), service_code="water", lat="28.5", long="89.6",
                    description="Dry tap.")
    assert response.status_code == 403
    assert not Request.objects.exists()


def test_bad_parameters_are_400_and_unknown_ones_404(kangma, client, db_state):
    key = kangma.key(kangma.grid_worker)
    where = {"lat": "28.5", "long": "89.6"}
    before = db_state()
    cases = [
        (400, "service_code", dict(where, description="Dry tap.")),
        (400, "location", dict(service_code="water", description="Dry tap.")),
        (400, "long", dict(service_code="water", lat="28.5", description="Dry tap.")),
        (400, "lat", dict(service_code="water", lat="north", long="89.6", description="Dry tap.")),
        (400, "lat", dict(service_code="water", lat="95", long="89.6", description="Dry tap.")),
        (400, "description", dict(where, service_code="water")),
        (404, "service_code", dict(where, service_code="petition", description="A formal complaint.")),
        (404, "service_code", dict(where, service_code="nope", description="Dry tap.")),
        (404, "jurisdiction_id", dict(where, service_code="water", description="Dry tap.", jurisdiction_id="110101")),
        (404, "address_id", dict(service_code="water", description="Dry tap.", address_id=kangma.grid2.code)),
        (404, "address_id", dict(service_code="water", description="Dry tap.", address_id="540230999999")),
    ]
    for status, word, params in cases:
        response = post(client, api_key=key, **params)
        assert response.status_code == status, (params, response.content)
        assert all(e["code"] == status for e in response.json())
        assert word in " ".join(e["description"] for e in response.json()), (word, response.content)
    assert db_state() == before


def test_a_nul_character_in_a_form_is_400(kangma, client):
    response = post(client, api_key=kangma.key(kangma.grid_worker), service_code="water", lat="28.5",
                    long="89.6", description="Dry\x00tap")
    assert response.status_code == 400
    assert not Request.objects.exists()


def test_where_a_request_is_filed(kangma, client):
    """Resident: their household's unit. Staff: address_id in scope, else their top scope node."""
    resident = post(client, api_key=kangma.key(kangma.resident), service_code="water",
                    address_id=kangma.grid2.code, description="No water at home.")
    staff_there = post(client, api_key=kangma.key(kangma.dispatch), service_code="water",
                       address_id=kangma.grid2.code, description="No water at the lake village.")
    staff_anywhere = post(client, api_key=kangma.key(kangma.grid_worker), service_code="water",
                          address_string="Behind the school", description="Dry tap at the school.")
    placed = {r.number: (r.node.code, r.household_id, r.reporter_kind) for r in Request.objects.all()}
    assert placed[resident.json()[0]["service_request_id"]] == (kangma.unit.code, kangma.household.pk, "resident")
    assert placed[staff_there.json()[0]["service_request_id"]] == (kangma.grid2.code, None, "grid_worker")
    assert placed[staff_anywhere.json()[0]["service_request_id"]] == (kangma.grid.code, None, "grid_worker")


def test_contact_details_are_accepted_and_not_stored(kangma, client):
    response = post(client, api_key=kangma.key(kangma.grid_worker), service_code="water", lat="28.5", long="89.6",
                    description="Dry tap.", email="pema@example.org", first_name="Pema", last_name="Lhamo",
                    phone="13700137003", device_id="dev-42", account_id="acct-9", address_string="House 3",
                    media_url="http://example.org/p.jpg", **{"attribute[WHISPAWN]": "123456"})
    assert response.status_code == 201
    stored = " ".join(str(v) for model in (Request, TimelineEntry, AuditEntry)
                      for row in model.objects.values() for v in row.values())
    for secret in ("pema@example.org", "Lhamo", "13700137003", "dev-42", "acct-9", "House 3", "example.org",
                   "123456"):
        assert secret not in stored


def test_a_retry_with_the_same_idempotency_key_files_once(kangma, client):
    params = dict(api_key=kangma.key(kangma.grid_worker), service_code="water", lat="28.5", long="89.6",
                  description="Dry tap.")
    key = str(uuid.uuid4())
    first = post(client, headers={"Idempotency-Key": key}, **params)
    again = post(client, headers={"Idempotency-Key": key}, **params)
    assert first.status_code == again.status_code == 201
    assert again.json()[0]["service_request_id"] == first.json()[0]["service_request_id"]
    assert again["Idempotent-Replayed"] == "true"
    assert Request.objects.count() == 1
    assert post(client, headers={"Idempotency-Key": str(uuid.uuid4())}, **params).status_code == 201
    assert Request.objects.count() == 2


# --- reading ----------------------------------------------------------------------------


def test_the_public_feed_filters(kangma, client):
    now = clock.now()
    with clock.frozen_at(now - dt.timedelta(days=100)):
        old = file(kangma, "water", description="An old dry tap.")
    with clock.frozen_at(now - dt.timedelta(days=10)):
        water = file(kangma, "water")
    with clock.frozen_at(now - dt.timedelta(days=5)):
        roads = file(kangma, "roads", actor=kangma.dispatch, node=kangma.village, description="Pothole.")
    with clock.frozen_at(now - dt.timedelta(days=4)):
        services.request_accept(actor=kangma.grid_worker, request=water)
        services.request_resolve(actor=kangma.grid_worker, request=water, resolution="Valve replaced.")
    feed = client.get(f"{BASE}/requests.json").json()
    assert [r["service_request_id"] for r in feed] == [roads.number, water.number]  # newest first, 90 days
    assert numbers(client.get(f"{BASE}/requests.json", {"status": "open"})) == {roads.number}
    assert numbers(client.get(f"{BASE}/requests.json", {"status": "closed"})) == {water.number}
    assert numbers(client.get(f"{BASE}/requests.json", {"status": "open,closed"})) == {roads.number, water.number}
    assert numbers(client.get(f"{BASE}/requests.json", {"service_code": "roads"})) == {roads.number}
    assert numbers(client.get(f"{BASE}/requests.json?service_code=roads&service_code=water")) == {
        roads.number, water.number}
    window = {"start_date": (now - dt.timedelta(days=120)).isoformat(),
              "end_date": (now - dt.timedelta(days=50)).isoformat()}
    assert numbers(client.get(f"{BASE}/requests.json", window)) == {old.number}
    start_only = (now - dt.timedelta(days=7)).astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert numbers(client.get(f"{BASE}/requests.json", {"start_date": start_only})) == {roads.number}
    # An unencoded "+" in the offset arrives as a space, and is understood.
    plus = (now - dt.timedelta(days=7)).astimezone(dt.timezone(dt.timedelta(hours=8))).isoformat(timespec="seconds")
    assert numbers(client.get(f"{BASE}/requests.json?start_date={plus}")) == {roads.number}
    ids = f"{old.number},{roads.number},nonexistent"
    assert numbers(client.get(f"{BASE}/requests.json", {"service_request_id": ids, "status": "closed"})) == {
        old.number, roads.number}  # ids override every other filter


@pytest.mark.parametrize("query", [
    {"status": "pending"},
    {"start_date": "yesterday"},
    {"start_date": "2025-13-40T00:00:00Z"},
    {"start_date": "2025-01-01T00:00:00Z", "end_date": "2025-06-01T00:00:00Z"},
    {"start_date": "2025-02-01T00:00:00Z", "end_date": "2025-01-01T00:00:00Z"},
])
def test_bad_filters_are_400(kangma, client, query):
    response = client.get(f"{BASE}/requests.json", query)
    assert response.status_code == 400
    assert response.json()[0]["code"] == 400


def test_private_requests_are_never_public(kangma, client):
    petition = file(kangma, "petition", actor=kangma.dispatch, node=kangma.village, description="A petition.")
    dispute = file(kangma, "dispute", description="Two families argue over a field boundary.")
    public = file(kangma, "water")
    assert numbers(client.get(f"{BASE}/requests.json")) == {public.number}
    assert numbers(client.get(f"{BASE}/requests.json", {
        "service_request_id": f"{petition.number},{dispute.number}"})) == set()
    assert numbers(client.get(f"{BASE}/requests.json", {"service_code": "petition,dispute"})) == set()
    for req in (petition, dispute):
        assert client.get(f"{BASE}/requests/{req.number}.json").status_code == 404
        assert xml_of(client.get(f"{BASE}/requests/{req.number}.xml")).tag == "errors"
    assert client.get(f"{BASE}/requests/540230-000000-NOSUCH.json").status_code == 404


def test_no_personal_information_leaves(kangma, client):
    """The resident's own request, a staff request with a point, and one that went through
    the ladder with notes and a rating: the public answers name none of the people."""
    mine = file(kangma, "water", actor=kangma.resident, node=kangma.unit, lat=28.56123, lon=89.68211,
                description="Our tap is dry.")
    point = file(kangma, "roads", actor=kangma.dispatch, node=kangma.village, lat=28.61234, lon=89.70987,
                 description="Pothole at the bridge.")
    services.request_accept(actor=kangma.grid_worker, request=mine, note=f"Called Drolma on {RESIDENT_PHONE}")
    services.request_resolve(actor=kangma.grid_worker, request=mine, resolution="Valve replaced.")
    # Rated by the resident who filed it (the grid worker who handled it may not rate it).
    services.request_rate(actor=kangma.resident, request=Request.objects.get(pk=mine.pk), rating=5,
                          comment=f"Thanks, call me on {HOUSEHOLD_PHONE}")
    answers = [client.get(f"{BASE}/requests.{fmt}") for fmt in ("json", "xml")] + [
        client.get(f"{BASE}/requests/{r.number}.{fmt}") for r in (mine, point) for fmt in ("json", "xml")]
    text = b" ".join(a.content for a in answers).decode()
    assert all(a.status_code == 200 for a in answers)
    resident = kangma.resident
    for secret in (resident.username, resident.full_name, "Drolma", RESIDENT_PHONE, HOUSEHOLD_PHONE,
                   HOUSEHOLD_NUMBER, HOUSEHOLD_ADDRESS, str(kangma.household.pk), str(resident.pk),
                   kangma.grid_worker.username, kangma.dispatch.username, kangma.unit.code, kangma.unit.name_zh,
                   kangma.grid.name_zh, kangma.village.name_zh, kangma.village.code,
                   str(mine.pk), "28.56123", "89.68211", "28.61234", "89.70987",
                   "Our tap is dry", "Pothole at the bridge", "Valve replaced", "Thanks"):
        assert secret not in text, secret
    by_number = {r["service_request_id"]: r for r in answers[0].json()}
    assert list(by_number[mine.number]) == REQUEST_FIELDS
    own = by_number[mine.number]
    assert (own["lat"], own["long"]) == (None, None)  # tied to a household: no point
    assert (own["address"], own["address_id"]) == ("康马镇, 康马县", kangma.township.code)  # the township at most
    assert own["description"] is None  # no public description approved: never the resident's own words
    assert own["status"] == "closed" and own["status_notes"] == "closed"  # a fixed phrase, no resolution
    assert own["agency_responsible"] == "康马镇"  # handled by the grid: named by its township
    assert (by_number[point.number]["lat"], by_number[point.number]["long"]) == (28.61, 89.71)  # ~1 km


@pytest.mark.parametrize("filed_at", [
    # Office hours on a working day: the deadline is the moment plus 4 working hours, fraction
    # of a second and all (this test failed at that hour when it read the host's clock).
    dt.datetime(2026, 12, 2, 10, 0, 0, 703_600, tzinfo=dt.timezone(dt.timedelta(hours=8))),
    # Night: the deadline counts from the next working morning.
    dt.datetime(2026, 12, 2, 23, 30, 15, 250_000, tzinfo=dt.timezone(dt.timedelta(hours=8))),
], ids=["working-morning", "night"])
def test_one_request_in_json_and_xml(kangma, client, filed_at):
    clock.set_now(filed_at)
    req = file(kangma, "water", actor=kangma.dispatch, node=kangma.grid2, lat=28.5, lon=89.6,
               description="Tap <broken> & leaking\x07.")
    [one] = client.get(f"{BASE}/requests/{req.number}.json").json()
    assert list(one) == REQUEST_FIELDS
    assert one["service_request_id"] == req.number and one["status"] == "open"
    assert one["status_notes"] == "reported" and one["service_name"] == "Water supply"
    assert one["agency_responsible"] == "康马镇"  # the grid handling it, named by its township
    assert one["address"] == "康马镇, 康马县" and one["address_id"] == kangma.township.code
    # Open311 gives times to the second.
    assert dt.datetime.fromisoformat(one["expected_datetime"]) == req.accept_due.replace(microsecond=0)
    assert dt.datetime.fromisoformat(one["requested_datetime"]).utcoffset() is not None
    assert one["zipcode"] is None and one["media_url"] is None
    root = xml_of(client.get(f"{BASE}/requests/{req.number}.xml"))
    assert root.tag == "service_requests"
    [element] = root.findall("request")
    assert [e.tag for e in element] == REQUEST_FIELDS
    assert element.findtext("description") == ""  # the reporter's words never; nothing approved yet
    services.request_publish(actor=kangma.dispatch, request=req, text="Tap <broken> & leaking\x07.")
    root = xml_of(client.get(f"{BASE}/requests/{req.number}.xml"))
    # escaped; XML-illegal control char dropped
    assert root.find("request").findtext("description") == "Tap <broken> & leaking."
    assert element.findtext("lat") == "28.5" and element.findtext("zipcode") == ""


def test_status_follows_the_ladder(kangma, client):
    req = file(kangma, "water")

    def current() -> dict:
        return client.get(f"{BASE}/requests/{req.number}.json").json()[0]

    assert (current()["status"], current()["status_notes"]) == ("open", "reported")
    services.request_accept(actor=kangma.grid_worker, request=req)
    assert (current()["status"], current()["status_notes"]) == ("open", "accepted")
    assert dt.datetime.fromisoformat(current()["expected_datetime"]) == Request.objects.get(
        pk=req.pk).resolve_due.replace(microsecond=0)
    services.request_resolve(actor=kangma.grid_worker, request=req, resolution="Pipe mended.")
    resolved = Request.objects.get(pk=req.pk)
    after = current()
    assert (after["status"], after["status_notes"]) == ("closed", "resolved")  # never the resolution's text
    assert dt.datetime.fromisoformat(after["updated_datetime"]) == resolved.resolved_at.replace(microsecond=0)
    assert after["expected_datetime"] is None
    rejected = file(kangma, "water", description="Duplicate of the other one.")
    services.request_reject(actor=kangma.grid_worker, request=rejected, reason="Duplicate request.")
    assert client.get(f"{BASE}/requests/{rejected.number}.json").json()[0]["status"] == "closed"


def test_status_notes_in_the_callers_language(kangma):
    req = file(kangma, "water")
    services.request_accept(actor=kangma.grid_worker, request=req)
    from django.utils import translation

    from tongxin.dispatch.models import State

    for language in ("zh-hans", "en"):
        with translation.override(language):
            expected = str(State.ACCEPTED.label)
        got = Client(headers={"Accept-Language": language}).get(f"{BASE}/requests/{req.number}.json").json()[0]
        assert got["status_notes"] == expected


def test_agency_is_the_department_after_the_whistle(kangma, client):
    req = file(kangma, "water")
    assert client.get(f"{BASE}/requests/{req.number}.json").json()[0]["agency_responsible"] == "康马镇"
    services.request_escalate(actor=kangma.grid_worker, request=req, departments=[kangma.department],
                              reason=f"Needs the bureau; reporter's phone {RESIDENT_PHONE}")
    [after] = client.get(f"{BASE}/requests/{req.number}.json").json()
    assert after["agency_responsible"] == "Water Resources Bureau"
    assert (after["status"], after["status_notes"]) == ("open", "escalated")
    assert RESIDENT_PHONE not in json.dumps(after)
    zh = Client(headers={"Accept-Language": "zh-hans"}).get(f"{BASE}/requests/{req.number}.json").json()[0]
    assert zh["agency_responsible"] == "县水利局"


def test_the_feed_costs_the_same_queries_for_3_and_10_requests(kangma, client):
    def count() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(f"{BASE}/requests.json")
        assert response.status_code == 200
        return len(response.json()), len(queries)

    for i in range(3):
        file(kangma, "water", description=f"Dry tap {i}.")
    few, few_queries = count()
    escalated = file(kangma, "heating", description="Stove pipe cracked.")
    services.request_escalate(actor=kangma.grid_worker, request=escalated, departments=[kangma.department],
                              reason="Needs the bureau.")
    accepted = file(kangma, "roads", actor=kangma.dispatch, node=kangma.village2, lat=28.5, lon=89.6,
                    description="Pothole.")
    services.request_accept(actor=kangma.dispatch, request=accepted)
    for i in range(5):
        file(kangma, "sanitation", node=kangma.grid, description=f"Rubbish {i}.")
    many, many_queries = count()
    assert (few, many) == (3, 10)
    assert few_queries == many_queries <= 4


# --- a GeoReport v2 client --------------------------------------------------------------


class GeoReportClient:
    """What a third-party app does, knowing only the standard: list services, post a
    request with an api_key, read it back."""

    def __init__(self, http: Client, base: str, jurisdiction_id: str, api_key: str):
        self.http, self.base, self.jurisdiction_id, self.api_key = http, base, jurisdiction_id, api_key

    def services(self) -> list[dict]:
        root = ET.fromstring(self.http.get(f"{self.base}/services.xml",
                                           {"jurisdiction_id": self.jurisdiction_id}).content)
        return [{child.tag: child.text or "" for child in service} for service in root.iter("service")]

    def create(self, service_code: str, **params) -> dict:
        body = urlencode({"api_key": self.api_key, "jurisdiction_id": self.jurisdiction_id,
                          "service_code": service_code, "publish": "true", **params})
        response = self.http.post(f"{self.base}/requests.json", body, content_type=FORM + "; charset=utf-8")
        if response.status_code != 201:
            raise RuntimeError(response.json())
        return response.json()[0]

    def get(self, service_request_id: str) -> dict:
        response = self.http.get(f"{self.base}/requests/{service_request_id}.json",
                                 {"jurisdiction_id": self.jurisdiction_id})
        return response.json()[0]


def test_a_georeport_client_round_trip(kangma):
    http = Client(headers={"Accept-Language": "en"})
    password = "Yak-butter-tea-at-4300m"
    login = http.post("/api/v1/auth/token", {"username": kangma.dispatch.username, "password": password},
                      content_type="application/json")
    assert login.status_code == 200, login.content
    georeport = GeoReportClient(http, BASE, COUNTY, login.json()["token"])
    offered = georeport.services()
    chosen = next(s for s in offered if s["service_name"] == "Roads and bridges")
    assert chosen["metadata"] == "false"  # so no service definition is needed
    created = georeport.create(chosen["service_code"], lat="28.5391", long="89.6612",
                               address_string="Bridge on the Nyang river", description="A plank is missing.")
    assert created["service_request_id"] and created["service_notice"]
    again = georeport.get(created["service_request_id"])
    assert again["service_request_id"] == created["service_request_id"]
    assert (again["service_code"], again["service_name"]) == (chosen["service_code"], "Roads and bridges")
    assert again["description"] is None  # the reporter's words are never published
    assert (again["status"], again["lat"], again["long"]) == ("open", 28.54, 89.66)
    assert again["service_notice"] == created["service_notice"]
    assert dt.datetime.fromisoformat(again["requested_datetime"]) <= clock.now()
    with pytest.raises(RuntimeError):
        GeoReportClient(http, BASE, COUNTY, "stale-key").create("roads", lat="28.5", long="89.6",
                                                                description="x")


# --- what the reporter agreed to publish (issue 8, item 7) ---------------------------------


def test_a_request_is_public_only_when_its_reporter_chose_to_publish_it(kangma, client):
    kept = file(kangma, "water", publish=False, description="Our tap is dry.")
    published = file(kangma, "water", description="Our tap is dry too.")
    assert numbers(client.get(f"{BASE}/requests.json")) == {published.number}
    assert numbers(client.get(f"{BASE}/requests.json", {"service_request_id": kept.number})) == set()
    assert client.get(f"{BASE}/requests/{kept.number}.json").status_code == 404
    # The reporter changes their mind: withdrawn, it leaves the feed at once.
    services.request_publish(actor=kangma.grid_worker, request=published, publish=False)
    assert numbers(client.get(f"{BASE}/requests.json")) == set()


def test_the_public_description_is_a_separate_approved_text(kangma, client, audit_entries):
    req = file(kangma, "water", actor=kangma.resident, node=kangma.unit,
               description=f"Grandma Drolma lives alone, call {RESIDENT_PHONE}, needs 500 yuan.")
    [before] = client.get(f"{BASE}/requests/{req.number}.json").json()
    assert before["description"] is None  # nothing approved: the resident's words never stand in
    services.request_publish(actor=kangma.grid_worker, request=req, text="Water supply fault in the township.")
    [after] = client.get(f"{BASE}/requests/{req.number}.json").json()
    assert after["description"] == "Water supply fault in the township."
    assert audit_entries("request.publish") == 1
    stored = Request.objects.get(pk=req.pk)
    assert stored.public_description_by_id == kangma.grid_worker.pk and stored.public_description_at == clock.now()
    assert stored.description.startswith("Grandma Drolma")  # the resident's own words stay, unpublished
    for answer in (client.get(f"{BASE}/requests.json"), client.get(f"{BASE}/requests.xml")):
        for secret in ("Drolma", RESIDENT_PHONE, "500 yuan"):
            assert secret not in answer.content.decode()


def test_who_may_approve_the_public_text_and_who_may_publish(kangma, make):
    from tongxin.core.errors import PermissionDenied

    req = file(kangma, "water", actor=kangma.resident, node=kangma.unit, publish=False, description="Dry tap.")
    # The county administrator sees the request but neither reported nor handles it; a handler
    # approves a text but cannot publish for the resident.
    admin = make.user("o311_county_admin", Role.COUNTY_ADMIN, kangma.county)
    with pytest.raises(PermissionDenied):
        services.request_publish(actor=admin, request=req, text="Water fault.")
    with pytest.raises(PermissionDenied):
        services.request_publish(actor=kangma.grid_worker, request=req, publish=True)
    services.request_publish(actor=kangma.grid_worker, request=req, text="Water fault.")
    assert not Request.objects.get(pk=req.pk).publish
    services.request_publish(actor=kangma.resident, request=req, publish=True)
    assert Request.objects.get(pk=req.pk).publish


@pytest.mark.parametrize("body", ["[" * 100_000, '{"a": ' * 100_000, '{"api_key": ' + "[" * 50_000],
                         ids=["lists", "objects", "a-value"])
def test_deeply_nested_json_is_a_georeport_400(kangma, client, body):
    response = client.post(f"{BASE}/requests.json", body, content_type="application/json")
    assert response.status_code == 400, response.content[:300]
    [error] = response.json()
    assert error["code"] == 400 and "nested" in error["description"]
    assert not Request.objects.exists()


def test_open311_filing_says_whether_to_publish(kangma, client):
    key = kangma.key(kangma.grid_worker)
    where = {"lat": "28.5", "long": "89.6", "service_code": "water", "description": "Dry tap."}
    unsaid = post(client, api_key=key, **where).json()[0]["service_request_id"]
    said = post(client, api_key=key, publish="true", **where).json()[0]["service_request_id"]
    assert dict(Request.objects.values_list("number", "publish")) == {unsaid: False, said: True}
    assert numbers(client.get(f"{BASE}/requests.json")) == {said}
    response = post(client, api_key=key, publish="perhaps", **where)
    assert response.status_code == 400 and "publish" in response.json()[0]["description"]
