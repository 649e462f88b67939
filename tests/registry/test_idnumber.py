"""National ID numbers (GB 11643-1999): check digit, validation, masking, sealing."""

from __future__ import annotations

import datetime as dt
import importlib

import pytest
from django.apps import apps
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st

from tests.factories import id_number
from tongxin.core.errors import ValidationFailed
from tongxin.registry import idnumber
from tongxin.registry.models import Resident


def test_a_published_example_checks():
    # The standard's worked example: 11010519491231002X.
    assert idnumber.check_digit("11010519491231002") == "X"
    assert idnumber.problem("11010519491231002X") is None
    assert idnumber.problem("11010519491231002x") is None  # normalised to upper case


@pytest.mark.parametrize("value, why", [
    ("", "18 characters"),
    ("54023019900517123", "18 characters"),
    ("5402301990051712345", "18 characters"),
    ("54023019900517A23X", "17 digits"),
    ("540230199002301234", "not a real date"),
])
def test_problems(value, why):
    with translation.override("en"):
        assert why in idnumber.problem(value)
    with pytest.raises(ValidationFailed) as exc:
        idnumber.validate(value)
    assert exc.value.fields["id_number"]


@given(birth=st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2030, 12, 31)), serial=st.integers(0, 999))
def test_valid_numbers_pass_and_any_other_check_digit_fails(birth, serial):
    number = id_number(birth, serial)
    assert idnumber.problem(number) is None
    for wrong in set("0123456789X") - {number[-1]}:
        with translation.override("en"):
            assert "check digit" in idnumber.problem(number[:17] + wrong)


def test_mask_shows_the_last_two_only():
    number = id_number(dt.date(1990, 5, 17), 123)
    assert idnumber.mask(number) == "*" * 16 + number[-2:]
    assert len(idnumber.mask(number)) == 18


def test_seal_encrypts_and_hashes():
    number = id_number(dt.date(1990, 5, 17), 123)
    sealed, lookup = idnumber.seal(number)
    assert number not in sealed and number not in lookup
    assert idnumber.unseal(sealed) == number
    assert idnumber.seal(number)[0] != sealed  # a fresh nonce every time
    assert idnumber.lookup_hash(number.lower()) == lookup  # the search hash is of the normalised number


def test_only_ascii_digits_make_an_id_number():
    number = id_number(dt.date(1990, 5, 17), 123)
    arabic_indic = "".join(chr(0x660 + int(c)) for c in number[:17]) + number[17]
    assert idnumber.problem(arabic_indic) is not None


def test_stored_masks_of_the_old_form_are_rewritten(network):
    migration = importlib.import_module("tongxin.registry.migrations.0002_mask_last_two")
    resident = network.a.resident
    number = network.id_numbers[str(resident.pk)]
    Resident.objects.filter(pk=resident.pk).update(id_number_masked=number[:6] + "*" * 8 + number[-4:])
    migration.remask(apps, None)
    assert Resident.objects.get(pk=resident.pk).id_number_masked == idnumber.mask(number) == "*" * 16 + number[-2:]
