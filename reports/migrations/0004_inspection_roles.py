"""R13.1: supervisors grant and revoke inspector access; inspector accounts (the "inspector" role, given
by a platform administrator) inspect under a grant."""

from django.db import migrations

ROLES = {
    "supervisor": ["grant_inspection", "view_inspectiongrant"],
    "inspector": ["inspect"],
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
    for name, codenames in ROLES.items():
        for role in apps.get_model("auth", "Group").objects.filter(name=name):
            role.permissions.remove(
                *permission_model.objects.filter(content_type__app_label="reports", codename__in=codenames)
            )


class Migration(migrations.Migration):
    dependencies = [("reports", "0003_inspection")]

    operations = [migrations.RunPython(grant, revoke)]
