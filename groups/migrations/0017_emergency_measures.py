"""R5.1: emergency measures; staff role "reviewer" sees them, "supervisor" also declares and ends them."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def grant_to_supervisors(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    config = apps.get_app_config("groups")
    config.models_module = True  # a migration state's app config has none; create_permissions needs one
    create_permissions(config, apps=apps, verbosity=0)
    permission = apps.get_model("auth", "Permission").objects
    roles = apps.get_model("auth", "Group").objects
    view = permission.get(content_type__app_label="groups", codename="view_emergencymeasure")
    declare = permission.get(content_type__app_label="groups", codename="declare_emergency")
    roles.get_or_create(name="reviewer")[0].permissions.add(view)
    roles.get_or_create(name="supervisor")[0].permissions.add(view, declare)


class Migration(migrations.Migration):
    dependencies = [
        ("groups", "0016_review_queue"),
        ("auth", "0012_alter_user_first_name_max_length"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="EmergencyMeasure",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("freeze_creation", "Freeze group creation"),
                            ("hold_messages", "Hold new messages for review"),
                            ("suspend_posting", "Suspend posting"),
                            ("notice", "Broadcast a system notice"),
                        ],
                        max_length=16,
                        verbose_name="measure",
                    ),
                ),
                ("reason", models.TextField(max_length=500, verbose_name="reason")),
                (
                    "notice",
                    models.TextField(blank=True, max_length=500, verbose_name="notice shown to everyone"),
                ),
                ("starts_at", models.DateTimeField(verbose_name="in force from")),
                ("ends_at", models.DateTimeField(verbose_name="in force until")),
                ("ended_at", models.DateTimeField(blank=True, null=True, verbose_name="ended early at")),
                (
                    "end_reason",
                    models.TextField(blank=True, max_length=500, verbose_name="why it ended early"),
                ),
                (
                    "categories",
                    models.ManyToManyField(
                        blank=True,
                        related_name="+",
                        to="groups.groupcategory",
                        verbose_name="categories of groups",
                    ),
                ),
                (
                    "created_by",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="declared by",
                    ),
                ),
                (
                    "ended_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "verbose_name": "emergency measure",
                "verbose_name_plural": "emergency measures",
                "ordering": ["-starts_at", "-pk"],
                "permissions": [("declare_emergency", "Can declare and end emergency measures")],
                "indexes": [models.Index(fields=["ends_at"], name="groups_emergency_ends")],
            },
        ),
        migrations.RunPython(grant_to_supervisors, migrations.RunPython.noop),
    ]
