"""The audit log cannot be cut short or rewritten (issue 8, item 3): the chain is keyed, signed
checkpoints prove the log still extends them, PostgreSQL refuses UPDATE and DELETE, and the
sequencer chains entries after their write commits, once each."""

from __future__ import annotations

import base64
import hashlib
import json
import threading

import pytest
from django.db import connection, connections, transaction
from django.db.utils import DatabaseError

from tests.core.test_audit import COUNTY_PATH, _write, tampering
from tongxin import cli
from tongxin.core import audit, jobs
from tongxin.core.actors import SYSTEM
from tongxin.core.models import AuditEntry, AuditHead
from tongxin.core.services import audit_checkpoint_take

OTHER_KEY = base64.b64encode(b"k" * 32).decode()


def _rechain_from(entry: AuditEntry, change: dict, *, mac) -> None:
    """Rewrite ``entry`` and recompute the hashes of it and every later entry of its chain
    with ``mac``, then move the head: what an attacker with the database does."""
    later = list(AuditEntry.objects.filter(chain=entry.chain, seq__gte=entry.seq).order_by("seq"))
    prev = entry.prev_hash
    with tampering():
        for e in later:
            if e.pk == entry.pk:
                for field, value in change.items():
                    setattr(e, field, value)
            e.prev_hash = prev
            e.hash = prev = mac(audit._payload(e))
            AuditEntry.objects.filter(pk=e.pk).update(prev_hash=e.prev_hash, hash=e.hash, **(
                change if e.pk == entry.pk else {}))
        AuditHead.objects.filter(chain=entry.chain).update(hash=prev)


def _cut_back(chain: str, keep: int) -> None:
    """Delete the entries after ``keep`` and move the head back onto the last one kept."""
    last = AuditEntry.objects.get(chain=chain, seq=keep)
    with tampering():
        AuditEntry.objects.filter(chain=chain, seq__gt=keep).delete()
        AuditHead.objects.filter(chain=chain).update(seq=keep, hash=last.hash)


@pytest.fixture
def log(db) -> list[AuditEntry]:
    _write(2, node_path="/540231/")
    return _write(6)


# --- the key ----------------------------------------------------------------------------------


def test_rewriting_an_entry_without_the_key_fails(log):
    # The code's own chaining, with the unkeyed hash of before and with another key.
    _rechain_from(log[2], {"action": "test.innocent"}, mac=lambda p: hashlib.sha256(p).hexdigest())
    result = audit.verify()
    assert not result.ok and "chain 540230: entry 3 " in result.problem and "was altered" in result.problem


def test_rewriting_with_another_key_fails(log, settings):
    settings.AUDIT_KEY = OTHER_KEY
    forged_mac = audit.crypto.audit_mac
    _rechain_from(log[2], {"action": "test.innocent"}, mac=forged_mac)
    settings.AUDIT_KEY = ""
    result = audit.verify()
    assert not result.ok and "entry 3 " in result.problem


def test_the_key_is_not_in_the_database(log, settings):
    # The same log under another key no longer verifies: the hashes depend on the key alone.
    assert audit.verify().ok
    settings.AUDIT_KEY = OTHER_KEY
    assert not audit.verify().ok


def test_rewriting_with_the_key_passes_verify_but_not_a_checkpoint(log):
    checkpoint = audit_checkpoint_take(actor=SYSTEM)
    _rechain_from(log[2], {"action": "test.innocent"}, mac=audit.crypto.audit_mac)
    assert audit.verify().ok  # whoever holds the key can rewrite: the checkpoint is what shows it
    result = audit.verify(checkpoint=checkpoint)
    assert not result.ok
    assert "chain 540230" in result.problem and "rewritten" in result.problem


# --- checkpoints -------------------------------------------------------------------------------


def test_truncation_passes_plain_verify_and_fails_the_checkpoint_naming_the_chain(log, tmp_path, capsys):
    out = tmp_path / "checkpoint.json"
    assert cli.main(["audit", "checkpoint", "--out", str(out)]) == 0
    taken = json.loads(out.read_text())
    assert taken["chains"]["540230"]["seq"] == 6 and taken["chains"]["540231"]["seq"] == 2
    _cut_back("540230", keep=4)
    assert audit.verify().ok  # the head moved back with the entries: nothing else shows it
    capsys.readouterr()
    assert cli.main(["audit", "verify", "--checkpoint", str(out)]) == 1
    err = capsys.readouterr().err
    assert "chain 540230" in err and "entries 5 to 6 were cut off" in err


def test_a_whole_chain_removed_fails_the_checkpoint(log):
    checkpoint = audit_checkpoint_take(actor=SYSTEM)
    with tampering():
        AuditEntry.objects.filter(chain="540231").delete()
        AuditHead.objects.filter(chain="540231").delete()
    assert audit.verify().ok
    result = audit.verify(checkpoint=checkpoint)
    assert not result.ok and "chain 540231" in result.problem


def test_a_checkpoint_older_than_the_log_still_verifies(log, tmp_path, capsys):
    out = tmp_path / "old.json"
    assert cli.main(["audit", "checkpoint", "--out", str(out)]) == 0
    _write(3)
    _write(1, node_path="/540232/")  # a chain the checkpoint never saw
    capsys.readouterr()
    assert cli.main(["audit", "verify", "--checkpoint", str(out)]) == 0
    said = capsys.readouterr().out
    assert "audit log intact" in said and "extends the checkpoint" in said


def test_a_forged_checkpoint_is_refused(log, tmp_path, capsys):
    checkpoint = audit_checkpoint_take(actor=SYSTEM)
    _cut_back("540230", keep=4)
    forged = json.loads(json.dumps(checkpoint))
    forged["chains"]["540230"] = {"seq": 4, "hash": AuditHead.objects.get(chain="540230").hash}
    with pytest.raises(audit.CheckpointInvalid):
        audit.verify(checkpoint=forged)
    path = tmp_path / "forged.json"
    path.write_text(json.dumps(forged))
    assert cli.main(["audit", "verify", "--checkpoint", str(path)]) == 1
    assert "refused" in capsys.readouterr().err
    with pytest.raises(audit.CheckpointInvalid):
        audit.verify(checkpoint={"format": "something else"})


def test_checkpoint_file_is_never_overwritten(log, tmp_path):
    out = tmp_path / "kept.json"
    out.write_text("kept")
    with pytest.raises(FileExistsError):
        cli.main(["audit", "checkpoint", "--out", str(out)])
    assert out.read_text() == "kept"


def test_taking_a_checkpoint_chains_everything_and_is_audited(db):
    _write(3, seal=False)
    checkpoint = audit_checkpoint_take(actor=SYSTEM)
    assert checkpoint["chains"]["540230"]["seq"] == 3
    assert AuditEntry.objects.filter(action="audit.checkpoint").count() == 1
    assert audit.verify(checkpoint=checkpoint).ok


# --- PostgreSQL refuses rewriting --------------------------------------------------------------


def _on_postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("the audit tables' triggers exist on PostgreSQL only (set TONGXIN_TEST_DATABASE_URL)")


@pytest.mark.parametrize("statement", [
    "UPDATE core_auditentry SET action = 'test.innocent' WHERE id = %s",
    "UPDATE core_auditentry SET hash = 'x' WHERE id = %s",
    "DELETE FROM core_auditentry WHERE id = %s",
])
def test_postgresql_refuses_rewriting_an_audit_entry(log, statement):
    _on_postgresql()
    with pytest.raises(DatabaseError, match="append-only"):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement, [log[-1].pk])
    assert audit.verify().ok


def test_postgresql_refuses_an_unchained_entry_rewritten_while_linked(db):
    _on_postgresql()
    entry = _write(1, seal=False)[0]
    with pytest.raises(DatabaseError, match="append-only"):
        with transaction.atomic():
            AuditEntry.objects.filter(pk=entry.pk).update(seq=1, prev_hash="", hash="x", action="test.innocent")
    assert audit.seal() == 1  # the sequencer's own link is allowed


@pytest.mark.parametrize("statement", [
    "UPDATE core_audithead SET seq = seq - 1 WHERE chain = '540230'",
    "UPDATE core_audithead SET hash = 'x' WHERE chain = '540230'",
    "DELETE FROM core_audithead WHERE chain = '540230'",
])
def test_postgresql_refuses_moving_a_head_back(log, statement):
    _on_postgresql()
    with pytest.raises(DatabaseError, match="only moves forward"):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement)


# --- the sequencer -----------------------------------------------------------------------------


def test_entries_wait_unchained_until_the_sequencer_and_verify_counts_them(db):
    entries = _write(3, seal=False)
    assert [e.seq for e in entries] == [None, None, None] and all(e.hash and not e.prev_hash for e in entries)
    result = audit.verify()
    assert result.ok and result.unlinked == 3 and result.checked == 3
    assert audit.seal() == 3
    result = audit.verify()
    assert result.ok and result.unlinked == 0
    assert list(AuditEntry.objects.order_by("id").values_list("seq", flat=True)) == [1, 2, 3]


def test_an_unchained_entry_rewritten_is_found(db):
    entry = _write(2, seal=False)[1]
    with tampering():
        AuditEntry.objects.filter(pk=entry.pk).update(object_id="999")
    result = audit.verify()
    assert not result.ok and f"id {entry.id})" in result.problem and "not yet chained" in result.problem


def test_sealing_twice_chains_nothing_twice_and_keeps_the_order(db):
    first = _write(3)
    assert audit.seal() == 0
    later = _write(2, seal=False)
    assert audit.seal() == 2 and audit.seal() == 0
    chained = list(AuditEntry.objects.filter(chain="540230").order_by("seq"))
    assert [e.pk for e in chained] == [e.pk for e in first + later]
    assert chained[3].prev_hash == chained[2].hash
    assert audit.verify().ok


def test_the_sequencer_runs_after_the_commit(db, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with transaction.atomic():
            audit.record(action="test.one", node_path=COUNTY_PATH)
            audit.record(action="test.two", node_path=COUNTY_PATH)
    assert len(callbacks) == 1  # one run per transaction, however many entries
    assert list(AuditEntry.objects.order_by("id").values_list("seq", flat=True)) == [1, 2]


def test_a_rolled_back_write_leaves_no_entry_and_no_link(db, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with transaction.atomic():
            audit.record(action="test.kept", node_path=COUNTY_PATH)
            with pytest.raises(ValueError), transaction.atomic():
                audit.record(action="test.gone", node_path=COUNTY_PATH)
                raise ValueError
    assert len(callbacks) == 1
    assert list(AuditEntry.objects.values_list("action", "seq")) == [("test.kept", 1)]


def test_the_periodic_job_chains_what_is_left(db):
    _write(2, seal=False)
    job = jobs.get("audit.seal")
    assert "2 audit entries chained" in job.run(None)
    assert "0 audit entries chained" in job.run(None)


def test_the_bulk_path_links_at_once(db):
    with transaction.atomic():
        audit.record_many([audit.Change(action="test.bulk", node_path=COUNTY_PATH) for _ in range(3)], link=True)
    assert list(AuditEntry.objects.order_by("id").values_list("seq", flat=True)) == [1, 2, 3]
    _write(1, seal=False)
    assert audit.seal() == 1 and audit.verify().ok


def test_two_sequencers_racing_chain_each_entry_once(transactional_db, monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("needs two real database connections: the SQLite test database is in memory")
    with monkeypatch.context() as m:
        m.setattr(audit, "_seal_after_commit", lambda connection: None)  # leave them all waiting
        for i in range(60):
            with transaction.atomic():
                audit.record(action=f"test.race{i}", node_path=COUNTY_PATH if i % 2 else "/540231/")
    assert AuditEntry.objects.filter(seq__isnull=True).count() == 60
    barrier, counts, errors = threading.Barrier(2), [], []

    def run():
        try:
            barrier.wait(timeout=10)
            counts.append(audit.seal(batch=7))
        except Exception as exc:  # shown by the assertion below
            errors.append(repr(exc))
        finally:
            connections["default"].close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and sum(counts) == 60
    assert AuditEntry.objects.filter(seq__isnull=True).count() == 0
    assert audit.verify().ok


def test_the_sequencer_thread_chains_a_burst_after_its_commits(transactional_db, settings):
    if connection.vendor != "postgresql":
        pytest.skip("the sequencer thread needs its own database connection: the SQLite test database is in memory")
    settings.AUDIT_SEAL_DELAY = 0.05  # as served: commits wake this process's sequencer thread
    for i in range(5):
        with transaction.atomic():
            audit.record(action=f"test.burst{i}", node_path=COUNTY_PATH)
    done = threading.Event()
    for _ in range(200):  # the thread seals within moments; each wait is a pause, not a reading of the clock
        if not AuditEntry.objects.filter(seq__isnull=True).exists():
            done.set()
            break
        done.wait(0.05)
    assert done.is_set()
    assert list(AuditEntry.objects.order_by("id").values_list("seq", flat=True)) == [1, 2, 3, 4, 5]
    assert audit.verify().ok
