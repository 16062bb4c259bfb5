"""The GIN index over message lexemes, built without blocking sends (PostgreSQL only; the embedded SQLite
default searches by substring)."""

from django.db import migrations

SEARCH_INDEX = "groups_message_search_gin"


def create_search_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {SEARCH_INDEX} "
            "ON groups_message USING gin ((search_text::tsvector))"
        )


def drop_search_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {SEARCH_INDEX}")


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run inside a transaction

    dependencies = [("groups", "0011_chat_recall_mentions_search_unread")]
    operations = [migrations.RunPython(create_search_index, drop_search_index)]
