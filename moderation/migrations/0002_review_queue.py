"""The review queue (issue 11): how a case ended (for reporters' accuracy), the queue's items, and the
staff roles "reviewer" and "supervisor" (Django auth groups) with their permissions.

reviewer: decides cases, held messages, group creation requests and real-name reviews.
supervisor: everything a reviewer has, and receives the escalations of overdue items. (The sanctions
migration adds the approval of sanctions to "supervisor".)
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

REVIEWER = [
    ("moderation", "change_case"),
    ("moderation", "view_case"),
    ("moderation", "view_reviewitem"),
    ("groups", "review_message"),
    ("groups", "review_chatgroup"),
    ("identity", "review_identityverification"),
]
ROLES = {"reviewer": REVIEWER, "supervisor": [*REVIEWER, ("moderation", "receive_escalations")]}


def create_roles(apps, schema_editor):
    """The roles and their permissions (permissions are created here: on a fresh database they would
    otherwise only appear after the last migration)."""
    from django.contrib.auth.management import create_permissions

    for label in ("moderation", "groups", "identity"):
        config = apps.get_app_config(label)
        config.models_module = True  # a migration state's app config has none; create_permissions needs one
        create_permissions(config, apps=apps, verbosity=0)
    group_model = apps.get_model("auth", "Group")
    permission_model = apps.get_model("auth", "Permission")
    for name, wanted in ROLES.items():
        role, _created = group_model.objects.get_or_create(name=name)
        for app_label, codename in wanted:
            role.permissions.add(
                permission_model.objects.get(content_type__app_label=app_label, codename=codename)
            )


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=list(ROLES)).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("moderation", "0001_initial"),
        ("groups", "0016_review_queue"),
        ("identity", "0007_review_queue"),
        ("auth", "0012_alter_user_first_name_max_length"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="case",
            name="resolution",
            field=models.CharField(
                blank=True,
                choices=[("upheld", "upheld"), ("dismissed", "dismissed")],
                default="",
                max_length=10,
                verbose_name="resolution",
            ),
        ),
        migrations.CreateModel(
            name="ReviewItem",
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
                            ("case", "report"),
                            ("held_message", "held message"),
                            ("group_request", "new group"),
                            ("identity_review", "real-name check"),
                            ("appeal", "appeal"),
                        ],
                        max_length=16,
                        verbose_name="kind",
                    ),
                ),
                ("object_id", models.BigIntegerField(verbose_name="source id")),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("open", "waiting"),
                            ("decided", "decided"),
                            ("settled", "settled elsewhere"),
                        ],
                        default="open",
                        max_length=8,
                        verbose_name="status",
                    ),
                ),
                ("title", models.CharField(blank=True, max_length=200, verbose_name="summary")),
                (
                    "category",
                    models.CharField(
                        blank=True,
                        choices=[
                            ("ILL_CONSTITUTION", "Opposing the basic principles of the Constitution"),
                            ("ILL_NATSEC", "Endangering national security or unity, leaking state secrets"),
                            ("ILL_STATE_HONOR", "Harming the honour and interests of the state"),
                            ("ILL_HEROES", "Distorting or defaming heroes and martyrs"),
                            ("ILL_TERROR", "Promoting terrorism or extremism"),
                            ("ILL_ETHNIC", "Inciting ethnic hatred or discrimination"),
                            ("ILL_RELIGION", "Undermining religious policy, promoting cults or superstition"),
                            ("ILL_RUMOR", "Spreading rumours that disturb economic or social order"),
                            (
                                "ILL_OBSCENE_GAMBLING_VIOLENCE",
                                "Obscenity, pornography, gambling, violence, murder, terror or abetting crime",
                            ),
                            (
                                "ILL_DEFAMATION_PRIVACY",
                                "Insulting or defaming others, infringing their reputation or privacy",
                            ),
                            ("ILL_OTHER", "Other content prohibited by laws and regulations"),
                            ("HARM_CLICKBAIT", "Exaggerated headlines that misrepresent the content"),
                            ("HARM_GOSSIP", "Hyping gossip, scandals or misdeeds"),
                            ("HARM_DISASTER", "Improper comment on natural disasters or major accidents"),
                            ("HARM_SEXUAL", "Sexual innuendo or provocation"),
                            ("HARM_GORE", "Gory, horrifying or cruel content"),
                            ("HARM_DISCRIMINATION", "Inciting discrimination against groups or regions"),
                            ("HARM_VULGAR", "Vulgar or kitsch content"),
                            ("HARM_MINORS", "Leading minors into bad behaviour"),
                            ("HARM_OTHER", "Other content harmful to the online ecosystem"),
                            ("CONDUCT_CYBERVIOLENCE", "Cyber-violence"),
                            ("CONDUCT_DOXXING", "Doxxing"),
                            ("CONDUCT_DEEPFAKE", "Deep fakes"),
                            ("CONDUCT_FRAUD_SPAM", "Fraud, spam advertising, fake traffic"),
                            ("ACCT_IMPERSONATION", "Impersonating another person or organisation"),
                            ("ACCT_CONTACT_EMBED", "Embedded QR codes, links or contact details"),
                        ],
                        max_length=32,
                        verbose_name="reason",
                    ),
                ),
                (
                    "category_kind",
                    models.CharField(
                        blank=True,
                        choices=[
                            ("illegal", "illegal"),
                            ("harmful", "harmful"),
                            ("conduct", "prohibited conduct"),
                            ("account", "account information"),
                        ],
                        max_length=8,
                        verbose_name="kind of reason",
                    ),
                ),
                ("reporters", models.PositiveIntegerField(default=0, verbose_name="reporters")),
                ("group_size", models.PositiveIntegerField(default=0, verbose_name="group size")),
                (
                    "reporter_accuracy",
                    models.FloatField(blank=True, null=True, verbose_name="reporters' accuracy"),
                ),
                ("priority", models.PositiveIntegerField(default=0, verbose_name="priority")),
                ("deadline", models.DateTimeField(verbose_name="handle by")),
                ("created_at", models.DateTimeField(auto_now_add=True, verbose_name="queued at")),
                ("updated_at", models.DateTimeField(auto_now=True, verbose_name="updated at")),
                ("claimed_at", models.DateTimeField(blank=True, null=True, verbose_name="claimed at")),
                ("claimed_until", models.DateTimeField(blank=True, null=True, verbose_name="claimed until")),
                ("escalated_at", models.DateTimeField(blank=True, null=True, verbose_name="escalated at")),
                ("decision", models.CharField(blank=True, max_length=16, verbose_name="decision")),
                ("note", models.TextField(blank=True, max_length=1000, verbose_name="note")),
                ("decided_at", models.DateTimeField(blank=True, null=True, verbose_name="decided at")),
                (
                    "claimed_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="claimed by",
                    ),
                ),
                (
                    "decided_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="decided by",
                    ),
                ),
                (
                    "group",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="groups.chatgroup",
                        verbose_name="group",
                    ),
                ),
                (
                    "subject",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="member concerned",
                    ),
                ),
            ],
            options={
                "verbose_name": "review item",
                "verbose_name_plural": "review items",
                "permissions": [("receive_escalations", "Receives escalations of overdue review items")],
                "indexes": [
                    models.Index(
                        condition=models.Q(("status", "open")),
                        fields=["-priority", "deadline", "id"],
                        name="moderation_review_queue",
                    ),
                    models.Index(
                        condition=models.Q(("status", "open")),
                        fields=["kind", "-priority", "deadline", "id"],
                        name="moderation_review_kind",
                    ),
                    models.Index(
                        condition=models.Q(("status", "open")),
                        fields=["deadline"],
                        name="moderation_review_due",
                    ),
                ],
                "constraints": [
                    models.UniqueConstraint(
                        condition=models.Q(("status", "open")),
                        fields=("kind", "object_id"),
                        name="moderation_one_open_review_item",
                    )
                ],
            },
        ),
        migrations.RunPython(create_roles, remove_roles),
    ]
