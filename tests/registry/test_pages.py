"""The registry's pages name residents: each one writes an audit entry, like the API, and shows
the birth date only to the roles that see whole ID numbers."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tongxin.core.models import AuditEntry


def _entries(action: str) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action=action).order_by("id"))


def test_the_household_page_is_an_audited_view(network, page_client):
    worker = network.user("grid_worker_a")
    response = page_client(worker).get(reverse("registry:household", args=[network.a.household.pk]))
    assert response.status_code == 200
    [entry] = _entries("household.view")
    assert (entry.actor_id, entry.object_id, entry.node_path) == (
        worker.pk, str(network.a.household.pk), network.a.household.node_path)
    assert entry.channel == "web"


def test_a_household_page_out_of_scope_audits_nothing(network, page_client):
    response = page_client(network.user("grid_worker_a")).get(
        reverse("registry:household", args=[network.b.household.pk]))
    assert response.status_code == 404
    assert _entries("household.view") == []


def test_the_resident_page_is_an_audited_view(network, page_client):
    worker = network.user("grid_worker_a")
    resident = network.a.resident
    assert page_client(worker).get(reverse("registry:resident", args=[resident.pk])).status_code == 200
    [entry] = _entries("resident.view")
    assert (entry.actor_id, entry.object_id) == (worker.pk, str(resident.pk))


def test_each_page_of_the_household_list_is_audited(network, page_client):
    client = page_client(network.user("township1_staff"))
    assert client.get(reverse("registry:household_list")).status_code == 200
    [entry] = _entries("household.list")
    assert entry.node_path == network.a.village.path  # township 1's two households, both in village 1
    # A search that finds nobody shows no one: nothing to audit.
    assert client.get(reverse("registry:household_list"), {"q": "nobody-is-called-this"}).status_code == 200
    assert len(_entries("household.list")) == 1


def test_a_unit_page_listing_its_households_is_audited(network, page_client):
    response = page_client(network.user("grid_worker_a")).get(reverse("grid:node", args=[network.a.unit.code]))
    assert response.status_code == 200 and network.a.household.number in response.content.decode()
    [entry] = _entries("household.list")
    assert entry.node_path == network.a.unit.path


@pytest.mark.parametrize("name, whole", [("grid_worker_a", False), ("unit_head_a", False), ("resident_a", False),
                                         ("county_admin", False), ("village1_staff", True)])
def test_pages_show_the_birth_date_only_with_the_whole_number(network, page_client, name, whole):
    client = page_client(network.user(name))
    resident = network.a.resident
    date = resident.birth_date.strftime("%Y-%m-%d")
    household = client.get(reverse("registry:household", args=[network.a.household.pk])).content.decode()
    detail = client.get(reverse("registry:resident", args=[resident.pk])).content.decode()
    for html in (household, detail):
        assert (date in html) == whole
        assert str(resident.birth_date.year) in html
    assert resident.id_number_masked in household and resident.id_number not in household
    assert (resident.id_number in detail) == whole
