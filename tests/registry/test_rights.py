"""The rights of the people in the registry (PIPL Art. 44–47): a resident's copy of their data
through staff, as JSON and PDF, audited; a household that left the county anonymised with its
counts and the audit chain intact."""

from __future__ import annotations

import subprocess

import pytest

from tests.factories import audit_count
from tongxin.core import audit
from tongxin.core.errors import Conflict, NotFound
from tongxin.dispatch import services as dispatch_services
from tongxin.dispatch.models import Request
from tongxin.dispatch.selectors import category_get
from tongxin.registry import rights
from tongxin.registry.models import Household, Resident


def _request_about(network, text="No water since Monday; call Dorje on 13900000000."):
    request, _ = dispatch_services.request_file(actor=network.user("grid_worker_a"), category=category_get("water"),
                                                node=network.a.grid, household=network.a.household,
                                                description=text)
    return request


def test_staff_who_see_whole_id_numbers_get_the_copy_as_json_and_it_is_audited(network, api):
    resident = network.a.resident
    request = _request_about(network)
    api(network.user("township1_staff")).get(f"/api/v1/residents/{resident.pk}")  # a view to be listed
    client = api(network.user("village1_staff"))
    before = audit_count("resident.export", object_id=str(resident.pk))
    response = client.get(f"/api/v1/residents/{resident.pk}/export.json")
    assert response.status_code == 200, response.content
    data = response.json()
    assert audit_count("resident.export", object_id=str(resident.pk)) == before + 1
    assert data["resident"]["name"] == "Dorje"
    assert data["resident"]["id_number"] == network.id_numbers[str(resident.pk)]  # their own whole number
    assert data["household"]["number"] == network.a.household.number
    assert [r["number"] for r in data["requests"]] == [request.number]
    assert data["requests"][0]["description"].startswith("No water")
    assert data["requests"][0]["timeline"][0]["step"]
    views = data["record_views"]
    assert {"by": "township1_staff", "action": "resident.view"} in [
        {"by": v["by"], "action": v["action"]} for v in views]
    assert views[-1]["by"] == "village1_staff" and views[-1]["action"] == "resident.export"


@pytest.mark.parametrize("name", ["grid_worker_a", "unit_head_a", "county_admin", "resident_a", "township2_staff",
                                  "audit_admin"])
def test_nobody_else_gets_a_copy(network, api, name):
    response = api(network.user(name)).get(f"/api/v1/residents/{network.a.resident.pk}/export.json")
    assert response.status_code == 404
    assert audit_count("resident.export") == 0


def test_the_copy_as_pdf_shows_chinese_and_tibetan(network, api, tmp_path):
    resident = network.a.resident
    _request_about(network, text="ཆུ་མེད། 没有水")
    response = api(network.user("township1_staff"), language="bo").get(f"/api/v1/residents/{resident.pk}/export.pdf")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    pdf = response.content
    assert pdf.startswith(b"%PDF")
    assert audit_count("resident.export", object_id=str(resident.pk)) == 1
    # The fonts named in the template are embedded (Pango shaped the Tibetan with them), and
    # the text reads back (poppler-utils, installed by .ci/run, as the page tests' fonts are).
    (tmp_path / "copy.pdf").write_bytes(pdf)
    fonts = subprocess.run(["pdffonts", str(tmp_path / "copy.pdf")], capture_output=True, text=True).stdout
    assert "Noto-Sans-CJK-SC" in fonts and ("Noto-Serif-Tibetan" in fonts or "Tibetan-Machine-Uni" in fonts)
    text = subprocess.run(["pdftotext", str(tmp_path / "copy.pdf"), "-"], capture_output=True, text=True).stdout
    assert "没有水" in text and "Dorje" in text


def test_the_resident_page_offers_the_copy_to_staff_who_may_make_it(network, page_client):
    resident = network.a.resident
    page = page_client(network.user("township1_staff")).get(f"/residents/{resident.pk}/").content.decode()
    assert f"/residents/{resident.pk}/export.pdf" in page and f"/residents/{resident.pk}/export.json" in page
    page = page_client(network.user("grid_worker_a")).get(f"/residents/{resident.pk}/").content.decode()
    assert "export.pdf" not in page
    response = page_client(network.user("township1_staff")).get(f"/residents/{resident.pk}/export.json")
    assert response.status_code == 200 and response["Content-Disposition"].startswith("attachment")
    assert response.json()["resident"]["id"] == str(resident.pk)


# --- a household that left the county --------------------------------------------------------


def test_anonymising_a_household_keeps_counts_and_the_audit_chain(network, api):
    household = network.a.household
    request = _request_about(network)
    staff = network.user("township1_staff")
    dispatch_services.request_reject(actor=staff, request=request, reason="Dorje moved to Lhasa.")
    residents_here = Resident.objects.filter(node_path__startswith=network.a.township.path).count()
    entries = list(audit_entries_snapshot())
    response = api(staff).post(f"/api/v1/households/{household.pk}/anonymise", {"reason": "Moved to Lhasa."})
    assert response.status_code == 200, response.content
    assert response.json()["head_name"] == "" and response.json()["address"] == ""

    assert Resident.objects.filter(node_path__startswith=network.a.township.path).count() == residents_here
    for resident in Resident.objects.filter(household=household):
        assert resident.name == "" and resident.phone == "" and resident.id_number == ""
        assert resident.id_number_masked == "" and resident.anonymised_at is not None
        assert (resident.birth_date.month, resident.birth_date.day) == (1, 1)
    household.refresh_from_db()
    assert household.address == "" and household.anonymised_reason == "Moved to Lhasa."
    request.refresh_from_db()
    assert request.description == "" and request.resolution == "" and request.anonymised_at is not None
    assert not request.timeline.exclude(note="").exists()
    # The audit log was only added to: every earlier entry is as it was, and the chain verifies.
    assert set(entries) <= set(audit_entries_snapshot())
    assert audit_count("household.anonymise", object_id=str(household.pk)) == 1
    assert audit.verify().ok
    # Twice is a conflict, and the ID number can be registered again elsewhere.
    again = api(staff).post(f"/api/v1/households/{household.pk}/anonymise", {"reason": "again"})
    assert again.status_code == 409


def audit_entries_snapshot():
    from tongxin.core.models import AuditEntry

    return AuditEntry.objects.order_by("chain", "seq").values_list("chain", "seq", "hash")


def test_a_household_with_open_requests_is_refused_and_nothing_changes(network):
    _request_about(network)
    with pytest.raises(Conflict):
        rights.household_anonymise(actor=network.user("township1_staff"), household=network.a.household,
                                   reason="Moved away.")
    assert Resident.objects.filter(household=network.a.household, anonymised_at__isnull=False).count() == 0
    assert Request.objects.filter(household=network.a.household, anonymised_at__isnull=False).count() == 0


@pytest.mark.parametrize("name", ["grid_worker_a", "village1_staff", "township2_staff", "county_admin"])
def test_only_township_staff_of_the_place_anonymise(network, name):
    with pytest.raises(NotFound):
        rights.household_anonymise(actor=network.user(name), household=network.a.household, reason="Moved away.")
    assert Household.objects.get(pk=network.a.household.pk).anonymised_at is None


def test_a_reason_is_required(network, api):
    response = api(network.user("township1_staff")).post(
        f"/api/v1/households/{network.a.household.pk}/anonymise", {"reason": "  "})
    assert response.status_code == 422
    assert Household.objects.get(pk=network.a.household.pk).anonymised_at is None


def test_the_household_page_offers_anonymising_to_township_staff(network, page_client):
    household = network.a.household
    page = page_client(network.user("village1_staff")).get(f"/households/{household.pk}/").content.decode()
    assert "/anonymise/" not in page
    client = page_client(network.user("township1_staff"))
    assert f"/households/{household.pk}/anonymise/" in client.get(f"/households/{household.pk}/").content.decode()
    response = client.post(f"/households/{household.pk}/anonymise/", {"reason": "Moved to Shigatse."}, follow=True)
    assert response.status_code == 200
    assert Household.objects.get(pk=household.pk).anonymised_at is not None
    assert "/anonymise/" not in response.content.decode()
