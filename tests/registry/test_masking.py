"""Masking that cannot be undone (issue 8, item 1): for every role that sees residents, count
the whole ID numbers consistent with everything the role is shown about one resident — through
the API and on the pages — and require at least 1,000 for the roles without
``resident.view_id``.

The attacker is assumed to know more than is shown: the resident's sex, and that the place
code (characters 1–6) is the county's own code. From what is shown, the test reads every
birth date (YYYY-MM-DD), every year and every ID number, masked or whole, and keeps only the
numbers (GB 11643: place, birth date, three sequence digits whose last is odd for men, check
digit) that fit all of them.
"""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest

from tests.factories import COUNTY
from tongxin.people.models import RoleAssignment
from tongxin.people.roles import PERMISSIONS
from tongxin.registry.idnumber import check_digit

MIN_CANDIDATES = 1000
ROLES_SEEING_RESIDENTS = sorted(role for role, actions in PERMISSIONS.items() if "resident.view" in actions)

_ID = re.compile(r"(?<![0-9X*])[0-9X*]{18}(?![0-9X*])")
_DATE = re.compile(r"(?<!\d)(\d{4})-(\d{2})-(\d{2})(?!\d)")
_YEAR = re.compile(r"(?<![\d-])((?:19|20)\d{2})(?![\d-])")


class Shown:
    """What one role was shown about one resident: ID forms, birth dates, years."""

    def __init__(self) -> None:
        self.ids: set[str] = set()
        self.dates: set[dt.date] = set()
        self.years: set[int] = set()

    def add_api(self, item: dict) -> None:
        for key, value in item.items():
            if value is None:
                continue
            if key == "id_number":
                self.ids.add(value)
            elif key in ("birth_date",):
                self.dates.add(dt.date.fromisoformat(value))
            elif key == "birth_year":
                self.years.add(int(value))
            elif key not in ("id", "household", "node", "updated_at"):  # ids and places, not the person
                self.add_text(str(value))

    def add_page(self, html: str) -> None:
        self.add_text(re.sub(r"<[^>]*>", " ", html))  # the text, not the links and attributes

    def add_text(self, text: str) -> None:
        """Anything else shown beside the resident, read as an attacker would."""
        self.ids.update(_ID.findall(text))
        for y, m, d in _DATE.findall(text):
            try:
                self.dates.add(dt.date(int(y), int(m), int(d)))
            except ValueError:
                pass
        self.years.update(int(y) for y in _YEAR.findall(_DATE.sub(" ", text)))


def _fits(number: str, forms: set[str]) -> bool:
    return all(f == "*" or f == c for form in forms for f, c in zip(form, number))


def candidates(shown: Shown, *, sex: str, place: str = COUNTY, limit: int | None = None) -> int:
    """How many whole ID numbers fit everything in ``shown`` (up to ``limit``)."""
    years = shown.years | {d.year for d in shown.dates}
    assert len(years) <= 1, f"contradictory years shown: {years}"
    if shown.dates:
        days = sorted(shown.dates)
    else:
        assert years, "no birth year shown at all: count over what, then?"
        year = years.pop()
        start = dt.date(year, 1, 1)
        days = [start + dt.timedelta(days=n) for n in range((dt.date(year + 1, 1, 1) - start).days)]
    forms = {f for f in shown.ids if len(f) == 18}
    count = 0
    for day in days:
        for serial in range(1 if sex == "M" else 0, 1000, 2):
            first17 = f"{place}{day:%Y%m%d}{serial:03d}"
            if _fits(first17 + check_digit(first17), forms):
                count += 1
                if limit and count >= limit:
                    return count
    return count


def _row_of(html: str, resident_pk) -> str:
    """The table row (household page) that links to the resident."""
    rows = [row for row in re.split(r"<tr[ >]", html) if f"/residents/{resident_pk}/" in row]
    assert len(rows) == 1, "the household page lists the resident once"
    return rows[0].split("</tr>")[0]


def _facts(html: str) -> str:
    """The resident page's facts (the rest is the menu and the trail)."""
    found = re.search(r'<dl class="facts">(.*?)</dl>', html, re.S)
    assert found, "the resident page shows its facts in a list"
    return found.group(1)


def _user_for(network, role: str):
    """A user of the network holding ``role`` whose scope covers grid A's first resident."""
    names = {u.pk: name for name, u in network.users.items()}
    for assignment in RoleAssignment.objects.filter(role=role, user_id__in=names).order_by("user__username"):
        user = network.user(names[assignment.user_id])
        if network.a.resident.node_path.startswith(assignment.node_path):
            return user
    pytest.fail(f"the test network has no {role} who sees grid A's residents: add one to tests/factories.py")


def shown_to(network, user, api, page_client) -> tuple[Shown, bool]:
    """Everything ``user`` is shown about grid A's first resident; and whether a whole number
    was among it."""
    resident = network.a.resident
    household = network.a.household
    shown = Shown()
    client = api(user)
    detail = client.get(f"/api/v1/residents/{resident.pk}")
    assert detail.status_code == 200, detail.content
    shown.add_api(detail.json())
    members = client.get(f"/api/v1/households/{household.pk}")
    assert members.status_code == 200, members.content
    shown.add_api(next(m for m in members.json()["members"] if m["id"] == str(resident.pk)))
    listed = client.get("/api/v1/residents", {"limit": 500})
    assert listed.status_code == 200, listed.content
    for item in listed.json()["items"]:
        if item["id"] == str(resident.pk):
            shown.add_api(item)
    pages = page_client(user)
    page = pages.get(f"/households/{household.pk}/")
    assert page.status_code == 200
    shown.add_page(_row_of(page.content.decode(), resident.pk))
    page = pages.get(f"/residents/{resident.pk}/")
    assert page.status_code == 200
    shown.add_page(_facts(page.content.decode()))
    whole = network.id_numbers[str(resident.pk)] in shown.ids
    return shown, whole


def test_every_role_that_sees_residents_is_walked():
    # The roles are read from the permission table, so a new role that sees residents is walked too.
    assert {"grid_worker", "grid_leader", "unit_head", "village_staff", "township_staff", "county_admin",
            "dispatch_officer", "resident"} <= set(ROLES_SEEING_RESIDENTS)


@pytest.mark.parametrize("role", ROLES_SEEING_RESIDENTS)
def test_masked_numbers_cannot_be_rebuilt_from_what_a_role_sees(network, api, page_client, role):
    user = _user_for(network, role)
    resident = network.a.resident
    shown, whole = shown_to(network, user, api, page_client)
    if "resident.view_id" in PERMISSIONS[role]:
        # These roles need the whole number (and see it, audited); nothing to count.
        assert whole and shown.dates == {resident.birth_date}
        return
    assert not whole, f"{role} is shown the whole ID number"
    count = candidates(shown, sex=resident.sex)
    assert count >= MIN_CANDIDATES, (
        f"{role}: only {count} whole ID numbers fit what it is shown "
        f"(IDs {sorted(shown.ids)}, dates {sorted(shown.dates)}, years {sorted(shown.years)})")


def test_the_count_is_not_fooled():
    # The counter itself: a full birth date beside the old mask (first 6 and last 4) is one number.
    first17 = "54023019560107001"
    number = first17 + check_digit(first17)
    old = Shown()
    old.add_text(json.dumps({"birth_date": "1956-01-07", "id_number": number[:6] + "*" * 8 + number[-4:]}))
    assert candidates(old, sex="M") == 1
    year_only = Shown()
    year_only.add_api({"birth_year": 1956, "birth_date": None, "id_number": "*" * 16 + number[-2:]})
    assert 2000 < candidates(year_only, sex="M") < 5000  # about 366 × 100 / 11
    nothing = Shown()
    nothing.add_api({"birth_year": 1957, "id_number": "*" * 18})
    assert candidates(nothing, sex="F") == 365 * 500
