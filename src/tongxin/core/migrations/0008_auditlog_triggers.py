"""On PostgreSQL the audit tables refuse to be rewritten (issue 8, item 3).

- ``core_auditentry``: no DELETE; no UPDATE but the sequencer's one link of an unchained
  entry (``seq`` from empty to a number, with ``prev_hash`` and ``hash``, every other column
  unchanged).
- ``core_audithead``: no DELETE; an UPDATE only moves a head forward, within its chain.

A superuser can still switch triggers off; what such a person does is found by ``tongxin
audit verify`` (an entry rewritten without the key) and by a checkpoint (a chain cut short
or rewritten with the key). SQLite has no such triggers here: the embedded default is one
file on one machine.
"""

from django.db import migrations

FORWARD = r"""
CREATE OR REPLACE FUNCTION tongxin_audit_entry_guard() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.seq IS NULL AND NEW.seq IS NOT NULL
       AND (to_jsonb(NEW) - 'seq' - 'prev_hash' - 'hash') = (to_jsonb(OLD) - 'seq' - 'prev_hash' - 'hash') THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'the audit log is append-only: % of an audit entry refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER tongxin_audit_entry_append_only
    BEFORE UPDATE OR DELETE ON core_auditentry
    FOR EACH ROW EXECUTE FUNCTION tongxin_audit_entry_guard();

CREATE OR REPLACE FUNCTION tongxin_audit_head_guard() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.chain = OLD.chain AND NEW.seq >= OLD.seq
       AND (NEW.seq > OLD.seq OR NEW.hash = OLD.hash) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'an audit chain head only moves forward: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER tongxin_audit_head_forward_only
    BEFORE UPDATE OR DELETE ON core_audithead
    FOR EACH ROW EXECUTE FUNCTION tongxin_audit_head_guard();
"""

BACKWARD = r"""
DROP TRIGGER IF EXISTS tongxin_audit_entry_append_only ON core_auditentry;
DROP TRIGGER IF EXISTS tongxin_audit_head_forward_only ON core_audithead;
DROP FUNCTION IF EXISTS tongxin_audit_entry_guard();
DROP FUNCTION IF EXISTS tongxin_audit_head_guard();
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD, params=None)


class Migration(migrations.Migration):

    dependencies = [("core", "0007_auditlog_keyed_chain")]

    operations = [migrations.RunPython(forward, backward, elidable=False)]
