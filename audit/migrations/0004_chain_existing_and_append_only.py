"""Chain any events written before the chain existed, then make the audit trail append-only on PostgreSQL.

The trigger refuses UPDATE, DELETE and TRUNCATE unless the transaction has set ``qunzu.retention`` to
``on``, which only the retention job does (``audit.services.retention_purge``).
"""

from django.db import migrations

from audit.chain import event_hash

TRIGGER = """
CREATE OR REPLACE FUNCTION audit_append_only() RETURNS trigger AS $$
BEGIN
    IF coalesce(current_setting('qunzu.retention', true), '') <> 'on' THEN
        RAISE EXCEPTION USING MESSAGE = 'audit trail is append-only: ' || TG_OP || ' refused';
    END IF;
    IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS audit_event_append_only ON audit_auditevent;
CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON audit_auditevent
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
DROP TRIGGER IF EXISTS audit_event_no_truncate ON audit_auditevent;
CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_auditevent
    FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
"""
UNTRIGGER = """
DROP TRIGGER IF EXISTS audit_event_append_only ON audit_auditevent;
DROP TRIGGER IF EXISTS audit_event_no_truncate ON audit_auditevent;
DROP FUNCTION IF EXISTS audit_append_only();
"""


def chain_existing(apps, schema_editor):
    AuditEvent = apps.get_model("audit", "AuditEvent")
    prev = ""
    for seq, event in enumerate(AuditEvent.objects.order_by("pk").iterator(), start=1):
        row = {field: getattr(event, field) for field in (
            "occurred_at", "event_type", "actor_id", "actor_kind", "door", "ip", "port", "target_type",
            "target_id", "group_code", "reason", "data")}
        row.update(seq=seq, prev_hash=prev)
        event.seq, event.prev_hash, event.hash = seq, prev, event_hash(row)
        event.save(update_fields=["seq", "prev_hash", "hash"])
        prev = event.hash


def install_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(TRIGGER)


def remove_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(UNTRIGGER)


class Migration(migrations.Migration):
    dependencies = [("audit", "0003_chain_network_logs_holds")]
    operations = [
        migrations.RunPython(chain_existing, migrations.RunPython.noop),
        migrations.RunPython(install_trigger, remove_trigger),
    ]
