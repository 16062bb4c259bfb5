"""On PostgreSQL the chain is computed by the database itself, in one statement per append.

A BEFORE INSERT trigger takes the chain's advisory lock, reads the head (a fresh snapshot, after the
lock), sets ``seq`` and ``prev_hash`` and computes ``hash`` = SHA-256 of the row's canonical text
(``audit.chain.sql_event_digest``: PostgreSQL's text form of a record of the fields). Verification uses the same SQL function, so it runs
at database speed. (SQLite, the embedded default, keeps the Python implementation in ``audit.chain``.)
"""

from django.db import migrations

from audit.chain import sql_event_digest

FUNCTIONS = f"""
CREATE OR REPLACE FUNCTION audit_chain_append() RETURNS trigger AS $$
DECLARE
    last_seq bigint;
    last_hash text;
BEGIN
    PERFORM pg_advisory_xact_lock(1369442829);
    SELECT seq, hash INTO last_seq, last_hash FROM audit_auditevent WHERE seq IS NOT NULL
        ORDER BY seq DESC LIMIT 1;
    NEW.seq := coalesce(last_seq, 0) + 1;
    NEW.prev_hash := coalesce(last_hash, '');
    NEW.hash := {sql_event_digest("NEW")};
    RETURN NEW;
END;
$$ LANGUAGE plpgsql VOLATILE;

DROP TRIGGER IF EXISTS audit_event_chain ON audit_auditevent;
CREATE TRIGGER audit_event_chain BEFORE INSERT ON audit_auditevent
    FOR EACH ROW EXECUTE FUNCTION audit_chain_append();
"""

RECHAIN = f"""
DO $$
DECLARE
    r audit_auditevent;
    prev text := '';
BEGIN
    PERFORM set_config('qunzu.retention', 'on', true);
    FOR r IN SELECT * FROM audit_auditevent ORDER BY seq LOOP
        r.prev_hash := prev;
        prev := {sql_event_digest("r")};
        UPDATE audit_auditevent SET prev_hash = r.prev_hash, hash = prev WHERE id = r.id;
    END LOOP;
END $$;
"""

DROP = """
DROP TRIGGER IF EXISTS audit_event_chain ON audit_auditevent;
DROP FUNCTION IF EXISTS audit_chain_append();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FUNCTIONS)
        schema_editor.execute(RECHAIN)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("audit", "0005_chain_check")]
    operations = [migrations.RunPython(forwards, backwards)]
