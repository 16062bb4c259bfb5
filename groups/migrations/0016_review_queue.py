"""The review queue (issue 11): the permission to decide held messages, and small partial indexes through
which the queue finds held messages and groups waiting for review."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("groups", "0015_group_sanctions")]

    operations = [
        migrations.AlterModelOptions(
            name="message",
            options={
                "permissions": [
                    ("review_message", "Can release or remove held messages and take down messages")
                ],
                "verbose_name": "message",
                "verbose_name_plural": "messages",
            },
        ),
        migrations.AddIndex(
            model_name="chatgroup",
            index=models.Index(
                condition=models.Q(("status", "pending_review")),
                fields=["created_at"],
                name="groups_pending_review",
            ),
        ),
        migrations.AddIndex(
            model_name="message",
            index=models.Index(
                condition=models.Q(("status", "held")), fields=["created_at"], name="message_held"
            ),
        ),
    ]
