"""``core.rows.insert`` writes a row exactly as ``Model.save`` would, with one statement."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.forms.models import model_to_dict
from django.test.utils import CaptureQueriesContext

from tests.dispatch.support import build_net, file_request
from tongxin.core import audit, clock
from tongxin.core.models import AuditEntry, Notification
from tongxin.core.rows import insert
from tongxin.dispatch.models import Request, TimelineEntry


def _stored(obj):
    """The row as the database gives it back, every concrete field."""
    fresh = type(obj)._default_manager.get(pk=obj.pk)
    return {f.attname: getattr(fresh, f.attname) for f in type(obj)._meta.concrete_fields}


@pytest.mark.django_db
def test_an_auto_id_row_reads_back_as_save_writes_it():
    net = build_net()
    user = net.user("grid_worker_a")
    moment = dt.datetime(2026, 11, 29, 3, 0, tzinfo=dt.timezone.utc)
    fields = dict(recipient=user, kind="request.new", language="bo", subject="ཆུ་", body="水管冻了 🧊",
                  link="/x/", object_id="42", created_at=moment)
    by_save = Notification(**fields)
    by_save.save()
    with CaptureQueriesContext(connection) as ctx:
        by_insert = insert(Notification(**fields))
    assert len(ctx.captured_queries) == 1
    assert by_insert.pk is not None and by_insert.pk != by_save.pk
    assert not by_insert._state.adding
    a, b = _stored(by_save), _stored(by_insert)
    assert a.pop("id") != b.pop("id")
    assert a == b


@pytest.mark.django_db
def test_a_request_and_its_timeline_step_read_back_as_the_orm_writes_them():
    net = build_net()
    filed = file_request(net)  # written through insert() by the service
    copy = Request.objects.get(pk=filed.pk)
    copy.pk = None
    copy.id = Request._meta.pk.get_default()
    copy.number = filed.number + "X"
    Request.objects.bulk_create([copy])  # the ORM's own INSERT
    a, b = _stored(filed), _stored(copy)
    for key in ("id", "number"):
        a.pop(key), b.pop(key)
    assert a == b
    step = TimelineEntry.objects.get(request=filed)
    assert (step.action, step.from_state, step.to_state) == ("file", "", "reported")
    assert model_to_dict(step)["actor"] == net.users["grid_worker_a"].pk


@pytest.mark.django_db
def test_a_json_field_and_the_audit_chain_survive_the_plain_insert():
    from django.db import transaction

    net = build_net()
    household = net.households["a1"]
    with transaction.atomic():
        entry = audit.record(action="household.change", actor=net.user("grid_worker_a"), obj=household,
                             before={"address": "old", "number": "A1"}, after={"address": "new", "number": "A1"})
    stored = AuditEntry.objects.get(pk=entry.pk)
    assert stored.changes == ["address"]
    assert stored.hash == entry.hash and stored.seq == entry.seq
    assert audit.verify().ok
    assert clock.now()  # the clock was not disturbed


def _rows_of(model, **filters):
    return sorted(({f.attname: getattr(row, f.attname) for f in model._meta.concrete_fields if f.attname != "id"}
                   for row in model._default_manager.filter(**filters)), key=repr)


@pytest.mark.django_db
def test_a_batch_writes_its_rows_as_single_inserts_would_in_one_statement_on_postgresql():
    from django.db import transaction

    from tongxin.core import rows

    net = build_net()
    user = net.user("grid_worker_a")
    # Text that a hand-made literal could get wrong: quotes, backslashes, a placeholder, Tibetan, emoji.
    subjects = ["it's \\ 100% %s done", "ཆུ་མེད། 水管冻了 🧊", "E'\\x00' --"]
    with transaction.atomic():
        for subject in subjects:
            insert(Notification(recipient=user, kind="one.by.one", language="bo", subject=subject, link="/x/"))
    with transaction.atomic(), CaptureQueriesContext(connection) as ctx:
        with rows.batch():
            made = [insert(Notification(recipient=user, kind="batched", language="bo", subject=s, link="/x/"))
                    for s in subjects]
            assert all(n.pk is None for n in made)  # written when the block ends, not before
            entry = audit.record(action="household.change", actor=user, obj=net.households["a1"])
        writes = [q["sql"] for q in ctx.captured_queries if "INSERT" in q["sql"]]
    assert len(writes) == (1 if connection.vendor == "postgresql" else 4)
    assert all(n.pk is not None and not n._state.adding for n in made) and entry.pk is not None
    assert len({n.pk for n in made}) == 3
    one_by_one = [{**r, "kind": "x"} for r in _rows_of(Notification, kind="one.by.one")]
    batched = [{**r, "kind": "x"} for r in _rows_of(Notification, kind="batched")]
    assert batched == one_by_one
    assert AuditEntry.objects.get(pk=entry.pk).hash == entry.hash
    assert audit.verify().ok


@pytest.mark.django_db
def test_a_batch_that_raises_writes_nothing():
    from django.db import transaction

    from tongxin.core import rows

    net = build_net()
    user = net.user("grid_worker_a")
    with pytest.raises(ZeroDivisionError), transaction.atomic(), rows.batch():
        insert(Notification(recipient=user, kind="never", language="zh-hans", subject="x"))
        1 / 0  # noqa: B018
    assert not Notification.objects.filter(kind="never").exists()
    # and the next insert outside a batch is written at once again
    with transaction.atomic():
        assert insert(Notification(recipient=user, kind="after", language="zh-hans", subject="y")).pk is not None
