"""The keyed, hash-chained audit log: an intact log verifies, and any single tamper is found.

Tampering is done as an attacker with the database's superuser would: on PostgreSQL with the
audit tables' triggers switched off for the session (``tampering``)."""

from __future__ import annotations

import contextlib
import datetime as dt
import string
import uuid
from zoneinfo import ZoneInfo

import pytest
from django.db import connections, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tongxin import cli
from tongxin.core import audit, clock
from tongxin.core.models import AuditEntry, AuditHead

COUNTY_PATH = "/540230/540230100/"


def _write(n: int, node_path: str = COUNTY_PATH, *, seal: bool = True) -> list[AuditEntry]:
    """``n`` audited writes, then the sequencer (the tests' transaction never commits, so its
    commit-time run does not happen by itself); the entries as stored."""
    ids = []
    for i in range(n):
        with transaction.atomic():
            ids.append(audit.record(action=f"test.write{i}", node_path=node_path, object_type="test.thing",
                                    object_id=str(i), after={"n": i}).pk)
    if seal:
        audit.seal()
    return list(AuditEntry.objects.filter(pk__in=ids).order_by("id"))


@contextlib.contextmanager
def tampering():
    """Write the audit tables as the database's superuser can: PostgreSQL's triggers off."""
    connection = connections["default"]
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET session_replication_role = origin")


def _mentions(problem: str, entry: AuditEntry) -> bool:
    """Whether verify's problem names the tampered entry (by id, or by its place in its chain)."""
    return (f"id {entry.id})" in problem or f"entry {entry.seq} " in problem
            or f"entries after {entry.seq - 1} were deleted" in problem)


@pytest.fixture
def network(db):
    # Not the module's shared network: these tests count the whole log from empty.
    from tests.factories import Factory, build_network

    return build_network(Factory())


@pytest.fixture
def chain(db) -> list[AuditEntry]:
    return _write(5)


def test_intact_log_verifies(chain):
    _write(3, node_path="/540231/")
    _write(2, node_path="")
    result = audit.verify()
    assert result.ok, result.problem
    assert result.checked == AuditEntry.objects.count() == 10


def test_entries_are_chained_per_county(chain):
    other = _write(2, node_path="/540231/540231100/")
    global_entries = _write(1, node_path="")
    assert {e.chain for e in chain} == {"540230"}
    assert [e.seq for e in chain] == [1, 2, 3, 4, 5]
    assert [e.seq for e in other] == [1, 2] and other[0].chain == "540231"
    assert global_entries[0].chain == audit.GLOBAL_CHAIN
    assert chain[1].prev_hash == chain[0].hash and chain[0].prev_hash == ""
    assert AuditHead.objects.get(chain="540230").hash == chain[-1].hash


def test_record_outside_a_transaction_is_refused(db, monkeypatch):
    # The test itself runs in a transaction: make the connection look as if it did not.
    monkeypatch.setattr(connections["default"], "in_atomic_block", False)
    with pytest.raises(RuntimeError):
        audit.record(action="test.loose")
    monkeypatch.undo()
    assert AuditEntry.objects.count() == 0


@pytest.mark.parametrize("zone", ["UTC", "Asia/Shanghai", "America/La_Paz"])
def test_entries_written_under_a_moved_clock_verify(db, zone):
    # `tongxin jobs run --now …` moves the clock in local time; the chain must not break.
    with clock.frozen_at(dt.datetime(2026, 3, 1, 9, 30, 15, 123456, tzinfo=ZoneInfo(zone))):
        _write(2)
    result = audit.verify()
    assert result.ok, result.problem


TAMPERS = {
    "chain": lambda e: "999999",
    "seq": lambda e: e.seq + 1000,
    "created_at": lambda e: e.created_at + dt.timedelta(seconds=1),
    "actor_id": lambda e: uuid.uuid4(),
    "actor_name": lambda e: "someone else",
    "action": lambda e: "test.innocent",
    "object_type": lambda e: "test.other",
    "object_id": lambda e: "999",
    "node_path": lambda e: "/540230/540230200/",
    "ip": lambda e: "10.0.0.66",
    "channel": lambda e: "web",
    "changes": lambda e: ["address"],
    "before_digest": lambda e: "0" * 64,
    "after_digest": lambda e: "f" * 64,
    "prev_hash": lambda e: "a" * 64,
    "hash": lambda e: "b" * 64,
}


def test_every_hashed_field_has_a_tamper_case():
    hashed = {f.attname for f in AuditEntry._meta.concrete_fields} - {"id"}
    assert hashed == set(TAMPERS)


@pytest.mark.parametrize("field", sorted(TAMPERS))
def test_altering_any_field_of_one_entry_is_detected(chain, field):
    target = chain[2]
    with tampering():
        AuditEntry.objects.filter(pk=target.pk).update(**{field: TAMPERS[field](target)})
    result = audit.verify()
    assert not result.ok
    assert _mentions(result.problem, target), result.problem


def test_deleting_a_middle_entry_is_detected(chain):
    with tampering():
        AuditEntry.objects.filter(pk=chain[2].pk).delete()
    result = audit.verify()
    assert not result.ok
    assert "entry 3 is missing" in result.problem
    assert result.checked == 2


def test_deleting_the_last_entry_is_detected(chain):
    with tampering():
        AuditEntry.objects.filter(pk=chain[-1].pk).delete()
    result = audit.verify()
    assert not result.ok
    assert "entries after 4 were deleted" in result.problem


def test_deleting_a_whole_chain_is_detected(chain):
    with tampering():
        AuditEntry.objects.filter(chain="540230").delete()
    assert not audit.verify().ok


def test_an_inserted_entry_is_detected(chain):
    last = chain[-1]
    forged = AuditEntry(chain=last.chain, seq=last.seq + 1, created_at=last.created_at, action="test.forged",
                        prev_hash=last.hash, hash="")
    forged.hash = audit._entry_hash(forged)
    forged.save()
    result = audit.verify()
    assert not result.ok
    assert "head is at 5" in result.problem


def test_cli_audit_verify(chain, capsys):
    assert cli.main(["audit", "verify"]) == 0
    assert "5 entries verified" in capsys.readouterr().out
    with tampering():
        AuditEntry.objects.filter(pk=chain[1].pk).update(action="test.rewritten")
    assert cli.main(["audit", "verify"]) != 0
    assert "entry 2 " in capsys.readouterr().err


def test_a_service_write_records_who_what_and_which_fields(network):
    from tongxin.registry import services

    actor = network.user("township1_staff")
    household = network.a.household
    services.household_update(actor=actor, household=household, address="新地址 1 号")
    audit.seal()
    entry = AuditEntry.objects.filter(action="household.update").get()
    assert entry.actor_id == actor.pk and entry.actor_name == "township1_staff"
    assert entry.object_id == str(household.pk) and entry.object_type == "registry.household"
    assert entry.node_path == household.node_path and entry.chain == "540230"
    assert entry.changes == ["address"]
    assert entry.before_digest and entry.after_digest and entry.before_digest != entry.after_digest


# --- property: any single tamper is found, and an untouched log is never a false alarm ---

PATHS = ["/540230/540230100/", "/540230/540230200/540230200201/", "/540231/", ""]
TEXT = st.text(alphabet=string.ascii_letters + string.digits + "/._-", min_size=1, max_size=12)
writes = st.lists(st.tuples(st.sampled_from(PATHS), TEXT, TEXT), min_size=1, max_size=12)


def _different(current, draw_value):
    return draw_value if draw_value != current else f"{draw_value}x"


def _tamper_value(data, entry: AuditEntry, field: str):
    if field == "chain":
        return "999999"
    if field == "seq":
        return entry.seq + data.draw(st.integers(1000, 10**6))
    if field == "created_at":
        return entry.created_at + dt.timedelta(microseconds=data.draw(st.integers(1, 10**10)))
    if field == "actor_id":
        return uuid.UUID(int=data.draw(st.integers(1, 2**128 - 1)))
    if field == "changes":
        return _different(entry.changes, data.draw(st.lists(TEXT, min_size=1, max_size=3)))
    if field in ("before_digest", "after_digest", "prev_hash", "hash"):
        return _different(getattr(entry, field), data.draw(st.text(alphabet="0123456789abcdef", min_size=64,
                                                                    max_size=64)))
    return _different(getattr(entry, field), data.draw(TEXT))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(writes=writes, tamper=st.sampled_from(["none", "delete", *sorted(TAMPERS)]), data=st.data())
def test_any_single_tamper_is_detected_and_none_is_no_false_alarm(db, writes, tamper, data):
    # Each example runs in a savepoint that is rolled back, so examples never see each other.
    with transaction.atomic():
        for path, action, object_id in writes:
            with transaction.atomic():
                audit.record(action=action, node_path=path, object_id=object_id, after={"v": object_id})
        audit.seal()
        entries = list(AuditEntry.objects.order_by("id"))
        if tamper == "none":
            result = audit.verify()
            assert result.ok, result.problem
            assert result.checked == len(writes)
        else:
            target = data.draw(st.sampled_from(entries))
            with tampering():
                if tamper == "delete":
                    AuditEntry.objects.filter(pk=target.pk).delete()
                else:
                    AuditEntry.objects.filter(pk=target.pk).update(**{tamper: _tamper_value(data, target, tamper)})
            result = audit.verify()
            assert not result.ok, f"{tamper} of entry {target.chain}/{target.seq} went unnoticed"
            assert _mentions(result.problem, target), result.problem
        transaction.set_rollback(True)
