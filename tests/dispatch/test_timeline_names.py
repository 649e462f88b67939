"""Who handled each step, in the reader's language, as the names were at that step; and the
assisting departments of a whistle are told, each officer in their own language."""

from __future__ import annotations

import importlib
from types import SimpleNamespace

from django.apps import apps
from django.db import connection
from django.utils import translation
from django.utils.translation import gettext

from tests.dispatch.support import at, count_queries, file_request, login, make_user
from tongxin.core import clock
from tongxin.core.actors import SYSTEM
from tongxin.core.models import Notification
from tongxin.dispatch import services, workflow
from tongxin.dispatch.models import Request, TimelineEntry
from tongxin.grid.models import Department
from tongxin.people import services as people_services
from tongxin.people.roles import Role

WATER = {"zh-hans": "县水利局", "bo": "རྫོང་ཆུ་བཀོད་ཅུས།", "en": "Water Resources Bureau"}


def _escalated(net, *, lead="water", assisting=("housing",)) -> Request:
    clock.set_now(at(2026, 3, 2, 10, 0))
    request = file_request(net)
    return services.request_escalate(actor=net.user("grid_worker_a"), request=request, reason="Main pipe burst.",
                                     departments=[net.departments[lead]],
                                     assisting=[net.departments[code] for code in assisting])


def _steps(request: Request) -> list[TimelineEntry]:
    return list(TimelineEntry.objects.filter(request=request).order_by("id"))


def _read(entry: TimelineEntry, language: str) -> str:
    with translation.override(language):
        return entry.handler_name


def test_a_step_keeps_its_handler_in_every_language(net):
    filed, escalated = _steps(_escalated(net))
    grid = net.grids["a"]  # named in Chinese and English only
    assert filed.handler_names == {"zh-hans": grid.name_zh, "bo": grid.name_zh, "en": grid.name_en}
    assert escalated.handler_names == WATER and escalated.handler == WATER["zh-hans"]
    for language, name in WATER.items():
        assert _read(escalated, language) == name
    assert _read(filed, "bo") == grid.name_zh  # no Tibetan name: the Chinese one
    assert _read(filed, "en") == grid.name_en
    assert _read(escalated, "en-gb") == WATER["en"]  # a regional variant reads its language


def test_a_later_renaming_leaves_the_history_as_it_was(net):
    request = _escalated(net)
    Department.objects.filter(pk=net.departments["water"].pk).update(
        name_zh="县水务局", name_bo="རྫོང་ཆུ་ལས་ཅུས།", name_en="County Water Bureau")
    escalated = _steps(request)[1]
    assert [_read(escalated, language) for language in WATER] == list(WATER.values())


def test_an_old_step_with_only_a_chinese_name_reads_in_chinese(net):
    request = file_request(net)
    old = TimelineEntry.objects.create(request=request, at=clock.now(), action="escalate", from_state="reported",
                                       to_state="escalated", handler="县水利局")
    old = TimelineEntry.objects.get(pk=old.pk)
    assert old.handler_names == {}
    for language in ("zh-hans", "bo", "en"):
        assert _read(old, language) == "县水利局"


def test_the_migration_fills_old_steps_from_the_chinese_name_and_keeps_new_ones(net):
    request = file_request(net)
    [new] = _steps(request)
    before = new.handler_names
    old = TimelineEntry.objects.create(request=request, at=clock.now(), action="escalate", from_state="reported",
                                       to_state="escalated", handler="县水利局")
    migration = importlib.import_module("tongxin.dispatch.migrations.0003_timelineentry_handler_names")
    migration.fill_from_chinese(apps, SimpleNamespace(connection=connection))
    old.refresh_from_db()
    new.refresh_from_db()
    assert old.handler_names == {"zh-hans": "县水利局", "bo": "县水利局", "en": "县水利局"}
    assert new.handler_names == before and before["en"] == net.grids["a"].name_en


def test_the_api_shows_the_handler_in_the_callers_language(net):
    request = _escalated(net)
    url = f"/api/v1/requests/{request.pk}"
    tibetan = login(net.user("dispatch_officer"), "bo").get(url)
    assert tibetan.status_code == 200
    filed, escalated = tibetan.json()["timeline"]
    assert escalated["handler"] == WATER["bo"]
    assert filed["handler"] == net.grids["a"].name_zh  # the grid has no Tibetan name
    english = login(net.user("dispatch_officer"), "en").get(url).json()["timeline"]
    assert [step["handler"] for step in english] == [net.grids["a"].name_en, WATER["en"]]


def test_filing_reads_no_names_it_does_not_have(net):
    """The filing path names its handler from the node it loaded: no query for the names."""
    node = net.grids["a"]
    queries, names = count_queries(lambda: workflow.names_of(node))
    assert queries == 0 and names["en"] == node.name_en


# --- the assisting departments are told -------------------------------------------------


def _inbox(user, kind: str) -> list[Notification]:
    return list(Notification.objects.filter(recipient=user, kind=kind).order_by("id"))


def test_assisting_officers_are_asked_in_their_own_language(net):
    # Housing leads (its officer reads English); water assists (its officer reads Tibetan).
    request = _escalated(net, lead="housing", assisting=("water",))
    water, housing = net.user("water_officer"), net.user("housing_officer")
    [asked] = _inbox(water, "request.assist")
    with translation.override("bo"):
        subject = gettext("Request %(number)s: your department is asked to assist") % {"number": request.number}
    assert (asked.language, asked.subject, asked.body) == ("bo", subject, "Main pipe burst.")
    assert asked.link == f"/dispatch/requests/{request.pk}/" and asked.object_id == str(request.pk)
    assert not _inbox(water, "request.escalated")
    [told] = _inbox(housing, "request.escalated")
    assert told.language == "en" and not _inbox(housing, "request.assist")


def test_an_officer_of_the_lead_and_an_assisting_department_gets_the_lead_s_message_only(net):
    both = make_user("both_officer", Role.DEPARTMENT_OFFICER, net.county, department=net.departments["water"],
                     language="en")
    people_services.role_grant(actor=SYSTEM, user=both, role=Role.DEPARTMENT_OFFICER, node=net.county,
                               department=net.departments["housing"])
    _escalated(net, lead="water", assisting=("housing",))
    assert len(_inbox(both, "request.escalated")) == 1 and not _inbox(both, "request.assist")
    assert len(_inbox(net.user("housing_officer"), "request.assist")) == 1


def test_without_assisting_departments_nobody_is_asked_to_assist(net):
    _escalated(net, assisting=())
    assert not Notification.objects.filter(kind="request.assist").exists()
    # Going up a level (no departments) asks nobody either.
    clock.set_now(at(2026, 3, 2, 10, 0))
    request = file_request(net, household="b1", by="grid_worker_b")
    services.request_escalate(actor=net.user("grid_worker_b"), request=request, reason="Needs the village.")
    assert not Notification.objects.filter(kind="request.assist").exists()
