"""The review queue (issue 11): a partial index through which it finds verifications waiting for a person."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("identity", "0006_blacklist")]

    operations = [
        migrations.AddIndex(
            model_name="identityverification",
            index=models.Index(
                condition=models.Q(("status", "pending")),
                fields=["submitted_at"],
                name="identity_verification_pending",
            ),
        ),
    ]
