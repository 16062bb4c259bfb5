"""Digests remember whether they reached the signed export, and the append-only trigger gets stricter.

UPDATE is refused always. DELETE needs the retention switch (``SET LOCAL qunzu.retention = 'on'``)
*and* a row older than the 184-day floor, so a session that sets the switch still cannot remove
anything recent. TRUNCATE is refused always (the test database disables that one trigger for its
teardown).
"""

from django.db import migrations, models

TRIGGER = """
CREATE OR REPLACE FUNCTION audit_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE'
       AND coalesce(current_setting('qunzu.retention', true), '') = 'on'
       -- the floor of audit.services.RETENTION_FLOOR_DAYS, frozen here as the migration that set it
       AND OLD.occurred_at < now() - interval '184 days' THEN
        RETURN OLD;
    END IF;
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION USING MESSAGE =
            'audit trail is append-only: DELETE refused (only the retention job, only past the floor)';
    END IF;
    RAISE EXCEPTION USING MESSAGE = 'audit trail is append-only: ' || TG_OP || ' refused';
END;
$$ LANGUAGE plpgsql;
"""
PREVIOUS = """
CREATE OR REPLACE FUNCTION audit_append_only() RETURNS trigger AS $$
BEGIN
    IF coalesce(current_setting('qunzu.retention', true), '') <> 'on' THEN
        RAISE EXCEPTION USING MESSAGE = 'audit trail is append-only: ' || TG_OP || ' refused';
    END IF;
    IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
"""


def install(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(TRIGGER)


def restore(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PREVIOUS)


def mark_exported(apps, schema_editor):
    """Digests sealed before this migration were exported when their transaction committed."""
    apps.get_model("audit", "LogDigest").objects.update(exported_at=models.F("created_at"))


class Migration(migrations.Migration):
    dependencies = [("audit", "0006_chain_in_postgres")]
    operations = [
        migrations.AddField(
            model_name="logdigest",
            name="exported_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(mark_exported, migrations.RunPython.noop),
        migrations.RunPython(install, restore),
    ]
