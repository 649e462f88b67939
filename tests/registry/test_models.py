"""Principle 1: needs and services, not suspicion: no field records ethnicity, religion or politics."""

from __future__ import annotations

import re

import pytest
from django.apps import apps

FORBIDDEN = re.compile(r"ethnic|nation(al)?ity|minzu|religio|faith|zongjiao|politic|party|zhengzhi|caste|tribe",
                       re.IGNORECASE)


@pytest.mark.parametrize("label", ["registry.Household", "registry.Resident", "people.User"])
def test_no_field_records_ethnicity_religion_or_politics(label):
    model = apps.get_model(label)
    names = [f.name for f in model._meta.get_fields()]
    labels = [str(getattr(f, "verbose_name", "")) for f in model._meta.get_fields()]
    assert names  # the model was found
    assert not [n for n in names + labels if FORBIDDEN.search(n)]


def test_preferred_language_is_kept_because_notices_are_sent_in_it():
    for label in ("registry.Household", "registry.Resident"):
        assert apps.get_model(label)._meta.get_field("preferred_language")


def test_the_id_number_has_no_clear_text_column():
    fields = {f.name for f in apps.get_model("registry.Resident")._meta.concrete_fields}
    assert {"id_number_sealed", "id_number_hash", "id_number_masked"} <= fields
    assert "id_number" not in fields
