"""R11.4: the compliance roles see the report register; supervisors also redeliver reports."""

from django.db import migrations

ROLES = {
    "reviewer": ["view_regulatorreport"],
    "supervisor": ["view_regulatorreport", "redeliver_regulatorreport"],
}


def grant(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    config = apps.get_app_config("reports")
    config.models_module = True  # a migration state's app config has none; create_permissions needs one
    create_permissions(config, apps=apps, verbosity=0)
    group_model = apps.get_model("auth", "Group")
    permission_model = apps.get_model("auth", "Permission")
    for name, codenames in ROLES.items():
        role, _created = group_model.objects.get_or_create(name=name)
        role.permissions.add(
            *permission_model.objects.filter(content_type__app_label="reports", codename__in=codenames)
        )


def revoke(apps, schema_editor):
    permission_model = apps.get_model("auth", "Permission")
    for role in apps.get_model("auth", "Group").objects.filter(name__in=list(ROLES)):
        role.permissions.remove(*permission_model.objects.filter(content_type__app_label="reports"))


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0001_register"),
        ("moderation", "0003_sanctions"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
