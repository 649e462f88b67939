"""National ID numbers (居民身份证号码, GB 11643-1999): validation, masking, storage.

The number is never stored in the clear: ``seal`` gives the ciphertext and the keyed
hash used to find a resident by exact value.
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


def mask(value: str) -> str:
    """First 6 and last 4 characters shown."""
    return f"{value[:6]}{'*' * 8}{value[-4:]}" if len(value) == 18 else "*" * len(value)


def seal(value: str) -> tuple[str, str]:
    """(ciphertext, search hash) of a validated number."""
    return crypto.encrypt(value, context=_CONTEXT), lookup_hash(value)


def lookup_hash(value: str) -> str:
    return crypto.search_hash(normalise(value), context=_CONTEXT)


def unseal(ciphertext: str) -> str:
    return crypto.decrypt(ciphertext, context=_CONTEXT)
