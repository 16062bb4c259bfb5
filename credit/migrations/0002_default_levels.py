"""Five default levels (after Discourse's trust levels: new accounts start low and earn more), and credit
for accounts verified before credit existed. Staff edit the grid in the admin afterwards."""

from django.conf import settings
from django.db import migrations

LEVELS = [
    # number, zh, en, min score, own, join, largest group, categories, msgs/min, may be admin, how (zh, en)
    (1, "新手", "Newcomer", 0, 0, 5, 0, [], 5, False,
     "注册账号即为新手。完成实名认证即可升级。", "Every new account starts here. Complete real-name verification to move up."),
    (2, "普通", "Member", 10, 1, 20, 100, ["*"], 10, False,
     "完成实名认证（+10 分）。", "Complete real-name verification (+10 points)."),
    (3, "活跃", "Regular", 40, 3, 50, 200, ["*"], 20, True,
     "实名认证后保持良好记录约一个月（每天 +1 分）。", "About a month in good standing after verification (+1 point a day)."),
    (4, "资深", "Trusted", 100, 5, 100, 500, ["*"], 30, True,
     "保持良好记录约三个月。", "About three months in good standing."),
    (5, "模范", "Exemplary", 200, 10, 200, 500, ["*"], 60, True,
     "保持良好记录约半年。", "About six months in good standing."),
]


def create_levels(apps, schema_editor):
    CreditLevel = apps.get_model("credit", "CreditLevel")
    for number, name, name_en, min_score, own, join, size, cats, per_minute, admin, how, how_en in LEVELS:
        CreditLevel.objects.update_or_create(
            number=number,
            defaults=dict(
                name=name, name_en=name_en, min_score=min_score, max_groups_owned=own, max_groups_joined=join,
                max_group_size=size, creatable_categories=cats, messages_per_minute=per_minute,
                may_be_admin=admin, how_to_reach=how, how_to_reach_en=how_en,
            ),
        )


def credit_verified_accounts(apps, schema_editor):
    Verification = apps.get_model("identity", "IdentityVerification")
    CreditAccount = apps.get_model("credit", "CreditAccount")
    CreditEvent = apps.get_model("credit", "CreditEvent")
    points = settings.CREDIT_POINTS["identity_verified"]
    for user_id in Verification.objects.filter(status="verified").values_list("user_id", flat=True):
        account, _ = CreditAccount.objects.get_or_create(user_id=user_id, defaults={"score": points})
        CreditEvent.objects.get_or_create(
            account=account, reason="identity_verified", source_ref="identity", defaults={"delta": points}
        )


class Migration(migrations.Migration):
    dependencies = [("credit", "0001_ledger_and_levels"), ("identity", "0005_erased_at")]
    operations = [
        migrations.RunPython(create_levels, migrations.RunPython.noop),
        migrations.RunPython(credit_verified_accounts, migrations.RunPython.noop),
    ]
