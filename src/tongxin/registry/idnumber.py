"""National ID numbers (居民身份证号码, GB 11643-1999): validation, masking, storage.

The number is never stored in the clear: ``seal`` gives the ciphertext and the keyed
hash used to find a resident by exact value.

Masking must not be undone by what else the same person sees (DESIGN.md, "Masking").
The 18 characters are: 1–6 the place code of the county that first issued the number,
7–14 the birth date, 15–17 a sequence number whose last digit is odd for men and even for
women, 18 a check digit computed from the first 17. Roles without ``resident.view_id`` are
shown, about a resident: the sex, the *year* of birth (never the date; never an age either,
because an age shown day after day changes on the birthday and so gives the date away), the
place of the household (assume its county code is the place code) and this mask, which shows
the last two characters only. What stays unknown is the day of the year (365 or 366) and
sequence digits 15–16 (100); the shown digit 17 repeats the sex, the check digit keeps about
one in 11, so some 365 × 100 / 11 ≈ 3,300 whole numbers fit what such a role sees about
anyone (tests/registry/test_masking.py counts them for every role and requires 1,000). The
old mask (first 6 and last 4) left one candidate beside the birth date, and about 33 beside
the birth year. The place code is hidden as well: for people born elsewhere it says where
they came from, which serving them does not need (principle 1).

Roles with ``resident.view_id`` see the whole number and birth date, and every such view is
audited (registry.selectors).
"""

from __future__ import annotations

import datetime as dt

from django.utils.translation import gettext_lazy as _

from tongxin.core import crypto
from tongxin.core.errors import ValidationFailed

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
_CONTEXT = "resident.id_number"


def check_digit(first17: str) -> str:
    return _CHECK[sum(int(c) * w for c, w in zip(first17, _WEIGHTS)) % 11]


def normalise(value: str) -> str:
    return (value or "").strip().upper()


def problem(value: str) -> str | None:
    """Why ``value`` is not a valid ID number, or None."""
    value = normalise(value)
    if len(value) != 18:
        return str(_("An ID number has 18 characters."))
    # isascii(): "١٢٣" and full-width digits pass isdigit() but would hash as another number.
    if not value.isascii() or not value[:17].isdigit() or not (value[17].isdigit() or value[17] == "X"):
        return str(_("An ID number is 17 digits followed by a digit or X."))
    try:
        dt.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return str(_("The birth date inside the ID number is not a real date."))
    if check_digit(value[:17]) != value[17]:
        return str(_("The check digit of the ID number is wrong; please check the number."))
    return None


def validate(value: str, *, field: str = "id_number") -> str:
    value = normalise(value)
    message = problem(value)
    if message:
        raise ValidationFailed(fields={field: [message]})
    return value


SHOWN_TAIL = 2  # characters shown at the end of a masked number (see the module's docstring)


def mask(value: str) -> str:
    """The last two characters shown, the rest starred (18 characters long)."""
    return f"{'*' * (18 - SHOWN_TAIL)}{value[-SHOWN_TAIL:]}" if len(value) == 18 else "*" * len(value)


def seal(value: str) -> tuple[str, str]:
    """(ciphertext, search hash) of a validated number."""
    return crypto.encrypt(value, context=_CONTEXT), lookup_hash(value)


def lookup_hash(value: str) -> str:
    return crypto.search_hash(normalise(value), context=_CONTEXT)


def unseal(ciphertext: str) -> str:
    return crypto.decrypt(ciphertext, context=_CONTEXT)
