"""The audit chain becomes keyed (issue 8, item 3).

Entries written before this migration were chained with plain SHA-256, which anyone who can
write the database can recompute. This migration checks every chain under the old rule
(and stops, naming the chain, if one is already broken: re-keying it would launder the
tampering) and then re-chains every entry, in its order, with the keyed hash (HMAC under the
audit key, ``TONGXIN_AUDIT_KEY`` or derived from ``TONGXIN_ID_KEY``). It also places each
chain's head at its county's path. The rules are copied here as they stand, so that later
changes to ``core.audit`` do not change what this migration did.
"""

import datetime as dt
import hashlib
import json

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def _payload(entry) -> bytes:
    return json.dumps({
        "chain": entry.chain, "seq": entry.seq,
        "created_at": entry.created_at.astimezone(dt.timezone.utc).isoformat(),
        "actor_id": str(entry.actor_id) if entry.actor_id else "", "actor_name": entry.actor_name,
        "action": entry.action, "object_type": entry.object_type, "object_id": entry.object_id,
        "node_path": entry.node_path, "ip": entry.ip, "channel": entry.channel,
        "changes": list(entry.changes or []), "before_digest": entry.before_digest,
        "after_digest": entry.after_digest, "prev_hash": entry.prev_hash,
    }, sort_keys=True, ensure_ascii=False).encode()


def _county_path(node_path: str) -> str:
    codes = []
    for code in node_path.strip("/").split("/"):
        codes.append(code)
        if len(code) == 6 and code.isdigit() and not code.endswith("00"):
            return "/" + "/".join(codes) + "/"
    return ""


def rekey(apps, schema_editor):
    from tongxin.core import crypto

    AuditEntry = apps.get_model("core", "AuditEntry")
    AuditHead = apps.get_model("core", "AuditHead")
    alias = schema_editor.connection.alias
    for head in AuditHead.objects.using(alias).order_by("chain"):
        old_prev, new_prev, seq, changed, path = "", "", 0, [], None
        for entry in AuditEntry.objects.using(alias).filter(chain=head.chain).order_by("seq").iterator(2000):
            seq += 1
            if (entry.seq != seq or entry.prev_hash != old_prev
                    or hashlib.sha256(_payload(entry)).hexdigest() != entry.hash):
                raise RuntimeError(f"audit chain {head.chain} is broken at entry {seq} under the old rule; "
                                   "run `tongxin audit verify` on the previous release and investigate "
                                   "before migrating")
            old_prev = entry.hash
            if path is None:
                path = _county_path(entry.node_path)
            entry.prev_hash = new_prev
            entry.hash = new_prev = crypto.audit_mac(_payload(entry))
            changed.append(entry)
            if len(changed) >= 2000:
                AuditEntry.objects.using(alias).bulk_update(changed, ["prev_hash", "hash"])
                changed = []
        if changed:
            AuditEntry.objects.using(alias).bulk_update(changed, ["prev_hash", "hash"])
        if head.seq != seq or head.hash != old_prev:
            raise RuntimeError(f"audit chain {head.chain}: its head does not match its entries under the old rule")
        AuditHead.objects.using(alias).filter(chain=head.chain).update(hash=new_prev, path=path or "")


class Migration(migrations.Migration):

    dependencies = [
        ('core', '0006_jobrun_lease'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='audithead',
            name='path',
            field=models.CharField(blank=True, default='', max_length=255, verbose_name='node path'),
        ),
        migrations.AlterField(
            model_name='auditentry',
            name='actor',
            field=models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='actor'),
        ),
        migrations.AlterField(
            model_name='auditentry',
            name='prev_hash',
            field=models.CharField(blank=True, default='', max_length=64, verbose_name='previous hash'),
        ),
        migrations.AlterField(
            model_name='auditentry',
            name='seq',
            field=models.BigIntegerField(blank=True, null=True, verbose_name='sequence'),
        ),
        migrations.AddIndex(
            model_name='auditentry',
            index=models.Index(condition=models.Q(('seq__isnull', True)), fields=['chain', 'id'], name='audit_unlinked'),
        ),
        migrations.RunPython(rekey, migrations.RunPython.noop, elidable=False),
    ]
