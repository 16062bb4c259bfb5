"""Sanctions, the blacklist and appeals (issue 11, R11.1-R11.3): the Sanction and Appeal models, and
their permissions for the staff roles the review-queue migration (0002) creates:

reviewer: issues sanctions (moderation.add_sanction), sees them, decides appeals.
supervisor: the same, and approves closures, blacklisting and permanent measures (four eyes:
moderation.approve_sanction).
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

SANCTION_REVIEWER = [
    ("moderation", "add_sanction"),
    ("moderation", "view_sanction"),
    ("moderation", "view_appeal"),
    ("moderation", "decide_appeal"),
]
SANCTION_ROLES = {
    "reviewer": SANCTION_REVIEWER,
    "supervisor": [*SANCTION_REVIEWER, ("moderation", "approve_sanction")],
}


def grant_roles(apps, schema_editor):
    """Permissions are created here (on a fresh database they would otherwise only appear after the last
    migration); the roles are made if the queue migration has not made them."""
    from django.contrib.auth.management import create_permissions

    config = apps.get_app_config("moderation")
    config.models_module = True  # a migration state's app config has none; create_permissions needs one
    create_permissions(config, apps=apps, verbosity=0)
    group_model = apps.get_model("auth", "Group")
    permission_model = apps.get_model("auth", "Permission")
    for name, wanted in SANCTION_ROLES.items():
        role, _created = group_model.objects.get_or_create(name=name)
        for app_label, codename in wanted:
            role.permissions.add(
                permission_model.objects.get(content_type__app_label=app_label, codename=codename)
            )


class Migration(migrations.Migration):
    dependencies = [
        ("moderation", "0002_review_queue"),
        ("auth", "0012_alter_user_first_name_max_length"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='Sanction',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(choices=[('group_warning', 'Warning with a rectification deadline'), ('group_posting', 'Posting suspended in the group'), ('group_closure', 'Group closed'), ('user_credit', 'Credit lowered'), ('user_level', 'Credit level lowered'), ('user_manage', 'Group management powers suspended'), ('user_create', 'Eligibility to create groups revoked'), ('user_mute', 'Muted on the whole platform'), ('user_suspend', 'Account suspended'), ('blacklist', 'Put on the blacklist')], max_length=16, verbose_name='measure')),
                ('blacklist_role', models.CharField(blank=True, choices=[('group', 'group'), ('creator', 'group creator'), ('admin', 'group admin'), ('member', 'group member')], max_length=8, verbose_name='blacklisted as')),
                ('category', models.CharField(choices=[('ILL_CONSTITUTION', 'Opposing the basic principles of the Constitution'), ('ILL_NATSEC', 'Endangering national security or unity, leaking state secrets'), ('ILL_STATE_HONOR', 'Harming the honour and interests of the state'), ('ILL_HEROES', 'Distorting or defaming heroes and martyrs'), ('ILL_TERROR', 'Promoting terrorism or extremism'), ('ILL_ETHNIC', 'Inciting ethnic hatred or discrimination'), ('ILL_RELIGION', 'Undermining religious policy, promoting cults or superstition'), ('ILL_RUMOR', 'Spreading rumours that disturb economic or social order'), ('ILL_OBSCENE_GAMBLING_VIOLENCE', 'Obscenity, pornography, gambling, violence, murder, terror or abetting crime'), ('ILL_DEFAMATION_PRIVACY', 'Insulting or defaming others, infringing their reputation or privacy'), ('ILL_OTHER', 'Other content prohibited by laws and regulations'), ('HARM_CLICKBAIT', 'Exaggerated headlines that misrepresent the content'), ('HARM_GOSSIP', 'Hyping gossip, scandals or misdeeds'), ('HARM_DISASTER', 'Improper comment on natural disasters or major accidents'), ('HARM_SEXUAL', 'Sexual innuendo or provocation'), ('HARM_GORE', 'Gory, horrifying or cruel content'), ('HARM_DISCRIMINATION', 'Inciting discrimination against groups or regions'), ('HARM_VULGAR', 'Vulgar or kitsch content'), ('HARM_MINORS', 'Leading minors into bad behaviour'), ('HARM_OTHER', 'Other content harmful to the online ecosystem'), ('CONDUCT_CYBERVIOLENCE', 'Cyber-violence'), ('CONDUCT_DOXXING', 'Doxxing'), ('CONDUCT_DEEPFAKE', 'Deep fakes'), ('CONDUCT_FRAUD_SPAM', 'Fraud, spam advertising, fake traffic'), ('ACCT_IMPERSONATION', 'Impersonating another person or organisation'), ('ACCT_CONTACT_EMBED', 'Embedded QR codes, links or contact details')], max_length=32, verbose_name='reason')),
                ('category_kind', models.CharField(choices=[('illegal', 'illegal'), ('harmful', 'harmful'), ('conduct', 'prohibited conduct'), ('account', 'account information')], max_length=8, verbose_name='kind of reason')),
                ('article', models.CharField(max_length=8, verbose_name='article')),
                ('note', models.TextField(blank=True, max_length=1000, verbose_name='explanation')),
                ('evidence', models.JSONField(default=dict, verbose_name='evidence')),
                ('duration_hours', models.PositiveIntegerField(blank=True, help_text='Empty: permanent, or not timed', null=True, verbose_name='duration (hours)')),
                ('points', models.PositiveIntegerField(blank=True, null=True, verbose_name='credit points taken')),
                ('level', models.PositiveSmallIntegerField(blank=True, null=True, verbose_name='credit level at most')),
                ('needs_approval', models.BooleanField(default=False, verbose_name="needs a supervisor's approval")),
                ('status', models.CharField(choices=[('pending', "waiting for a supervisor's approval"), ('refused', 'refused by a supervisor'), ('active', 'in force'), ('expired', 'ended'), ('reversed', 'reversed on appeal')], default='pending', max_length=8, verbose_name='status')),
                ('created_at', models.DateTimeField(auto_now_add=True, db_index=True, verbose_name='decided at')),
                ('approved_at', models.DateTimeField(blank=True, null=True, verbose_name='approved at')),
                ('approval_note', models.CharField(blank=True, max_length=300, verbose_name="supervisor's note")),
                ('starts_at', models.DateTimeField(blank=True, null=True, verbose_name='in force from')),
                ('until', models.DateTimeField(blank=True, null=True, verbose_name='until')),
                ('ended_at', models.DateTimeField(blank=True, null=True, verbose_name='ended at')),
                ('effect', models.JSONField(blank=True, default=dict, verbose_name='effect')),
                ('reportable', models.BooleanField(default=True, verbose_name='to be reported')),
                ('report_data', models.JSONField(blank=True, default=dict, verbose_name='report data')),
                ('approved_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='approved by')),
                ('case', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='sanctions', to='moderation.case', verbose_name='case')),
                ('decided_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='decided by')),
                ('recheck_case', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='moderation.case', verbose_name='re-check')),
                ('target_group', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='groups.chatgroup', verbose_name='group')),
                ('target_user', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='sanctions', to=settings.AUTH_USER_MODEL, verbose_name='person')),
            ],
            options={
                'verbose_name': 'sanction',
                'verbose_name_plural': 'sanctions',
                'ordering': ['-created_at', '-pk'],
                'permissions': [('approve_sanction', 'Can approve closures, blacklisting and permanent measures (four eyes)')],
            },
        ),
        migrations.CreateModel(
            name='Appeal',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('text', models.TextField(max_length=1000, verbose_name='grounds')),
                ('filed_at', models.DateTimeField(auto_now_add=True, verbose_name='filed at')),
                ('status', models.CharField(choices=[('pending', 'waiting for a decision'), ('upheld', 'upheld: the measure is reversed'), ('rejected', 'not upheld: the measure stands')], default='pending', max_length=8, verbose_name='status')),
                ('decided_at', models.DateTimeField(blank=True, null=True, verbose_name='decided at')),
                ('decision_note', models.TextField(blank=True, max_length=1000, verbose_name='decision')),
                ('decided_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='decided by')),
                ('filed_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='filed by')),
                ('sanction', models.OneToOneField(on_delete=django.db.models.deletion.PROTECT, related_name='appeal', to='moderation.sanction')),
            ],
            options={
                'verbose_name': 'appeal',
                'verbose_name_plural': 'appeals',
                'ordering': ['-filed_at', '-pk'],
                'permissions': [('decide_appeal', 'Can decide appeals against sanctions')],
            },
        ),
        migrations.AddIndex(
            model_name='sanction',
            index=models.Index(fields=['status', 'kind'], name='moderation_sanction_status'),
        ),
        migrations.AddIndex(
            model_name='sanction',
            index=models.Index(fields=['status', 'until'], name='moderation_sanction_expiry'),
        ),
        migrations.AddIndex(
            model_name='sanction',
            index=models.Index(fields=['target_user', 'starts_at'], name='moderation_sanction_user'),
        ),
        migrations.AddIndex(
            model_name='sanction',
            index=models.Index(fields=['target_group', 'starts_at'], name='moderation_sanction_group'),
        ),
        migrations.AddConstraint(
            model_name='sanction',
            constraint=models.CheckConstraint(condition=models.Q(('target_group__isnull', False), ('target_user__isnull', False), _connector='OR'), name='moderation_sanction_has_target'),
        ),
        migrations.RunPython(grant_roles, migrations.RunPython.noop),
    ]
