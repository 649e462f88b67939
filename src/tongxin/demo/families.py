"""Synthetic households and their members: who lives together, how old, what ID number.

Rules: ages count back from a fixed ``REFERENCE_DATE`` (not the clock), so the same
seed gives the same birth dates on any day; ID numbers are valid GB 11643 numbers
of the county's area code whose sequence digits are 9xx, which no real number of
these people uses, so a demo number is visibly synthetic.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

from tongxin.demo import names
from tongxin.registry import idnumber
from tongxin.registry.models import Relation

REFERENCE_DATE = dt.date(2025, 7, 1)
# Share of households whose preferred language is Tibetan; the rest Chinese.
TIBETAN_SHARE = 0.85


@dataclass
class HouseholdSpec:
    """One household to register: the unit's code, build_household's fields, and its
    members as build_resident's fields."""

    unit_code: str
    fields: dict
    members: list[dict] = field(default_factory=list)


class IdNumbers:
    """Valid, visibly synthetic ID numbers of one area code: sequence 900–999
    (odd for men, even for women, as the standard has it)."""

    def __init__(self, area: str):
        self.area = area
        self._used: dict[tuple[dt.date, str], int] = {}

    def next(self, birth_date: dt.date, sex: str) -> str:
        key = (birth_date, sex)
        k = self._used.get(key, 0)
        if k >= 50:
            raise RuntimeError(f"more than 50 synthetic ID numbers for {birth_date} {sex} in {self.area}")
        self._used[key] = k + 1
        first17 = f"{self.area}{birth_date:%Y%m%d}{900 + 2 * k + (1 if sex == 'M' else 0):03d}"
        return first17 + idnumber.check_digit(first17)


def _birth_date(rng: random.Random, age: int) -> dt.date:
    """A birth date at which someone is ``age`` on the reference date."""
    latest = REFERENCE_DATE.replace(year=REFERENCE_DATE.year - age)
    return latest - dt.timedelta(days=rng.randrange(365))


def _member(rng: random.Random, ids: IdNumbers, *, relation: str, sex: str, age: int, language: str) -> dict:
    zh, bo = names.person_name(rng, sex)
    birth = _birth_date(rng, max(0, min(age, 99)))
    return {"name": names.display_name(zh, bo, language), "sex": sex, "birth_date": birth,
            "id_number": ids.next(birth, sex), "relation": relation, "preferred_language": language}


def members(rng: random.Random, ids: IdNumbers, size: int, language: str) -> list[dict]:
    """A household of ``size`` people: a head, usually a spouse, children (grandchildren
    in older households) and sometimes the head's parents."""
    head_sex = "M" if rng.random() < 0.72 else "F"
    head_age = rng.randint(22, 88) if size == 1 else rng.randint(26, 66)
    people = [_member(rng, ids, relation=Relation.HEAD, sex=head_sex, age=head_age, language=language)]
    slots = size - 1
    youngest_parent_age = head_age
    if slots and rng.random() < 0.88:
        spouse_sex = "F" if head_sex == "M" else "M"
        shift = rng.randint(-6, 3) if head_sex == "M" else rng.randint(-3, 6)
        spouse_age = max(20, head_age + shift)
        youngest_parent_age = min(head_age, spouse_age)
        people.append(_member(rng, ids, relation=Relation.SPOUSE, sex=spouse_sex, age=spouse_age, language=language))
        slots -= 1
    parents = 0
    if slots >= 2 and head_age <= 52 and rng.random() < 0.45:
        parents = 2 if slots >= 4 and rng.random() < 0.4 else 1
    for p in range(parents):
        sex = ("M", "F")[p] if parents == 2 else ("F" if rng.random() < 0.65 else "M")
        people.append(_member(rng, ids, relation=Relation.PARENT, sex=sex,
                              age=min(95, head_age + rng.randint(22, 34)), language=language))
    oldest_child = max(0, min(40, youngest_parent_age - 19))
    for i in range(slots - parents):
        sex = "M" if rng.random() < 0.51 else "F"
        if head_age >= 56 and i >= 2:
            people.append(_member(rng, ids, relation=Relation.GRANDCHILD, sex=sex, age=rng.randint(0, 14),
                                  language=language))
        else:
            people.append(_member(rng, ids, relation=Relation.CHILD, sex=sex, age=rng.randint(0, oldest_child),
                                  language=language))
    return people


def households(rng: random.Random, ids: IdNumbers, *, unit_code: str, count: int, sizes: list[int],
               address_prefix: str, lat: float, lon: float) -> list[HouseholdSpec]:
    """The ``count`` households of one unit, taking their sizes from ``sizes`` in order."""
    made = []
    for k in range(1, count + 1):
        language = "bo" if rng.random() < TIBETAN_SHARE else "zh-hans"
        people = members(rng, ids, sizes[k - 1], language)
        fields = {
            "number": f"{unit_code}{k:02d}",
            "address": f"{address_prefix}{k}号",
            "lat": round(lat + rng.uniform(-0.0008, 0.0008), 6),
            "lon": round(lon + rng.uniform(-0.0009, 0.0009), 6),
            "phone": "",
            "preferred_language": language,
            "head_name": people[0]["name"],
        }
        made.append(HouseholdSpec(unit_code=unit_code, fields=fields, members=people))
    return made
