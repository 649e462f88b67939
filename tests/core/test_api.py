"""Bad input through the API: a 4xx with the error body, in the caller's language, and nothing
changed. No input gives a 500 (the test client re-raises any server error)."""

from __future__ import annotations

import json
import re
import uuid

import pytest
from django.conf import settings
from django.utils import translation
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

SHAPE = {"code", "message", "fields"}


def _error(response) -> dict:
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == SHAPE, body
    return body["error"]


@pytest.fixture
def staff(network, api):
    return api(network.user("township1_staff"), language="en")


def _cases(network):
    h, r = network.a.household.pk, network.a.resident.pk
    return [
        # malformed JSON
        ("POST", "/api/v1/households", "{not json", 400, None),
        ("PATCH", f"/api/v1/households/{h}", '{"address": ', 400, None),
        ("POST", "/api/v1/residents/search", "[1, 2", 400, None),
        # wrong types
        ("POST", "/api/v1/households", {"node": network.a.unit.code, "number": 7, "address": "x"}, 422, "number"),
        ("PATCH", f"/api/v1/households/{h}", {"lat": "north"}, 422, "lat"),
        ("POST", "/api/v1/residents", {"household": "zz", "name": "x", "sex": "F", "birth_date": "1990-01-01",
                                       "id_number": "x"}, 422, "household"),
        ("PATCH", f"/api/v1/residents/{r}", {"birth_date": "yesterday"}, 422, "birth_date"),
        ("POST", "/api/v1/households", [], 422, "body"),
        ("GET", "/api/v1/households?limit=many", None, 422, "limit"),
        # unknown fields
        ("PATCH", f"/api/v1/households/{h}", {"address": "x", "ethnicity": "y"}, 422, "ethnicity"),
        ("PATCH", f"/api/v1/residents/{r}", {"religion": "y"}, 422, "religion"),
        # null for a field that must have a value
        ("PATCH", f"/api/v1/residents/{r}", {"phone": None}, 422, "phone"),
        ("PATCH", f"/api/v1/households/{h}", {"head_name": None}, 422, "head_name"),
        # invalid codes, ids that are not UUIDs, unknown UUIDs
        ("GET", "/api/v1/nodes/not-a-code", None, 404, None),
        ("GET", "/api/v1/nodes/" + "9" * 300, None, 404, None),
        ("GET", "/api/v1/nodes/540230999/rollup", None, 404, None),
        ("GET", "/api/v1/households?node=540230999", None, 404, None),
        ("GET", "/api/v1/households/not-a-uuid", None, 404, None),
        ("GET", "/api/v1/residents/12", None, 404, None),
        ("GET", f"/api/v1/households/{uuid.uuid4()}", None, 404, None),
        ("GET", f"/api/v1/residents/{uuid.uuid4()}", None, 404, None),
        ("PATCH", f"/api/v1/residents/{uuid.uuid4()}", {"phone": "1"}, 404, None),
        ("POST", "/api/v1/residents", {"household": str(uuid.uuid4()), "name": "x", "sex": "F",
                                       "birth_date": "1990-01-01", "id_number": "54023019900101123X"}, 404, None),
        ("GET", "/api/v1/no-such-thing", None, 404, None),
        # NUL characters fit no column (PostgreSQL refuses them)
        ("POST", "/api/v1/households", {"node": network.a.unit.code, "number": "H\u0000", "address": "x"}, 400,
         None),
        ("GET", "/api/v1/nodes/%00", None, 400, None),
        ("GET", "/api/v1/households?node=%00", None, 400, None),
        # a method the address does not take
        ("DELETE", f"/api/v1/households/{h}", None, 405, None),
        # paging far past the end is an empty page, not a database error
        ("GET", f"/api/v1/households?offset={10**30}", None, 200, None),
    ]


def test_bad_input_answers_4xx_with_the_error_body_and_changes_nothing(network, staff, db_state):
    for method, path, body, status, field in _cases(network):
        before = db_state()
        response = staff.request(method, path, body) if method != "GET" else staff.get(path)
        assert response.status_code == status, (method, path, response.content)
        assert db_state() == before, (method, path)
        if status == 200:
            assert response.json()["items"] == []
            continue
        error = _error(response)
        if field:
            assert field in error["fields"], (method, path, error)


def test_an_oversized_body_is_refused_before_it_is_read(network, staff, db_state):
    before = db_state()
    body = json.dumps({"node": network.a.unit.code, "number": "H1", "address": "x" * settings.MAX_BODY_BYTES})
    response = staff.post("/api/v1/households", body)
    assert response.status_code == 413 and _error(response)["code"] == "too_large"
    assert db_state() == before


def test_an_escaped_backslash_before_u0000_is_not_a_nul(network, staff):
    response = staff.post("/api/v1/households", {"node": network.a.unit.code, "number": "H\\u0000",
                                                 "address": "Back\\slash Road"})
    assert response.status_code == 201 and response.json()["number"] == "H\\u0000"


def test_no_token_is_401_with_the_error_body(network, api):
    response = api(None, language="en").get("/api/v1/households")
    assert response.status_code == 401 and _error(response)["code"] == "not_authenticated"


@pytest.mark.parametrize("language", ["en", "zh-hans", "bo"])
def test_errors_come_in_the_callers_language(network, api, language):
    client = api(network.user("township1_staff"), language=language)
    error = _error(client.patch(f"/api/v1/households/{network.a.household.pk}", {"lat": "north"}))
    with translation.override(language):
        # Holds now (catalogues may still be empty) and keeps holding once they are filled.
        assert error["message"] == translation.gettext("Some fields are not valid.")
        assert error["fields"]["lat"] == [translation.gettext("Expected a number.")]
    if language == "en":
        assert error["message"] == "Some fields are not valid."
    else:  # the catalogues carry these strings: the answer is not the English text
        assert error["message"] != "Some fields are not valid."
        script = r"[\u4e00-\u9fff]" if language == "zh-hans" else r"[\u0f00-\u0fff]"
        assert re.search(script, error["message"]) and re.search(script, error["fields"]["lat"][0])


def test_without_accept_language_the_users_language_is_used(network, api):
    from tongxin.people.models import User

    User.objects.filter(username="township1_staff").update(preferred_language="en")
    error = _error(api(network.user("township1_staff")).get("/api/v1/nodes/nonsense"))
    assert error["message"] == "Not found."


# --- property: no JSON body ever gives a 500, and refused bodies change nothing --------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**20, 10**20) | st.floats(allow_nan=False)
    | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3),
    max_leaves=8)


@hypothesis_settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(target=st.sampled_from(["POST households", "PATCH household", "POST residents", "PATCH resident",
                               "POST search"]),
       field=st.sampled_from(["node", "number", "address", "lat", "household", "name", "sex", "birth_date",
                              "id_number", "phone", "preferred_language", "relation", "extra"]),
       value=json_values)
def test_no_body_gives_a_500(network, staff, db_state, target, field, value):
    method, what = target.split()
    path = {"households": "/api/v1/households", "household": f"/api/v1/households/{network.a.household.pk}",
            "residents": "/api/v1/residents", "resident": f"/api/v1/residents/{network.a.resident.pk}",
            "search": "/api/v1/residents/search"}[what]
    base = {"households": {"node": network.a.unit.code, "number": "HX", "address": "x"},
            "residents": {"household": str(network.a.household.pk), "name": "x", "sex": "F",
                          "birth_date": "1990-01-01", "id_number": "x"},
            "search": {"id_number": "x"}}.get(what, {})
    before = db_state()
    response = staff.request(method, path, {**base, field: value})
    assert response.status_code < 500
    if response.status_code >= 400:
        _error(response)
        assert db_state() == before


def test_the_openapi_document_is_served(db):
    # README: the API is "described at /api/v1/openapi.json".
    from django.test import Client

    response = Client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert "/api/v1/households/{household_id}" in response.json()["paths"]


def test_answers_are_utf8_json_written_as_django_writes_times_and_lazy_strings():
    import datetime as dt
    import decimal
    from zoneinfo import ZoneInfo

    from django.core.serializers.json import DjangoJSONEncoder
    from django.utils.translation import gettext_lazy

    from tongxin.core.api import JSONRenderer

    moment = dt.datetime(2026, 3, 2, 10, 0, 0, 123456, tzinfo=ZoneInfo("Asia/Shanghai"))
    data = {"name": "ཁང་མར་རྫོང་། 康马县", "due": moment, "day": moment.date(), "id": uuid.UUID(int=7),
            "label": gettext_lazy("Not found."), "amount": decimal.Decimal("1.50"), 3: "int key"}
    with translation.override("bo"):
        body = JSONRenderer().render(None, data, response_status=200)
        expected = json.loads(json.dumps(data, cls=DjangoJSONEncoder))
    assert "ཁང་མར་རྫོང་། 康马县".encode() in body  # UTF-8, not \u escapes: half the bytes for Tibetan
    assert json.loads(body) == expected
    assert json.loads(body)["due"] == "2026-03-02T10:00:00.123+08:00"  # Django's millisecond form
