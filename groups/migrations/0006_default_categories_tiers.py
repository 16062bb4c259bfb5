"""Default categories and tiers (staff edit them afterwards); existing groups join the general category.

Tiers after the WeChat figures in the shared design: above 40 members an invitation needs the invitee's
confirmation; above 100 joiners must be verified and the open link stops; 500 is the cap unless a
category allows more.
"""

from django.db import migrations

ALL_MODES = ["link", "request", "invite"]
CATEGORIES = [
    # code, zh, en, description, min creator level, review, max size, join modes, verified above
    ("social", "兴趣交友", "Interests and friends", "兴趣爱好、同城、校友等", 2, False, 500, ALL_MODES, 100),
    ("study", "学习交流", "Study", "读书、课程、学习互助", 2, False, 500, ALL_MODES, 100),
    ("work", "工作协作", "Work", "团队、项目与工作沟通", 2, False, 500, ["request", "invite"], 100),
    ("trade", "商业交易", "Trade", "买卖、团购、商务合作（创建须经审核）", 3, True, 500, ["request", "invite"], 40),
    ("news", "新闻资讯", "News and information", "时事、资讯转发与讨论（创建须经审核）", 4, True, 500, ["request"], 40),
]
TIERS = [
    # number, zh, en, from members, confirm invitations, joiners verified, open link allowed
    (1, "小群", "Small", 0, False, False, True),
    (2, "中群", "Medium", 41, True, False, True),
    (3, "大群", "Large", 101, True, True, False),
    (4, "超大群", "Very large", 501, True, True, False),
]


def create(apps, schema_editor):
    GroupCategory = apps.get_model("groups", "GroupCategory")
    GroupTier = apps.get_model("groups", "GroupTier")
    ChatGroup = apps.get_model("groups", "ChatGroup")
    for position, (code, name, name_en, description, level, review, size, modes, verified) in enumerate(
        CATEGORIES
    ):
        GroupCategory.objects.update_or_create(
            code=code,
            defaults=dict(
                name=name, name_en=name_en, description=description, min_creator_level=level,
                needs_review=review, max_size=size, join_modes=modes, verified_above=verified,
                position=position,
            ),
        )
    for number, name, name_en, minimum, confirm, verified, link in TIERS:
        GroupTier.objects.update_or_create(
            number=number,
            defaults=dict(
                name=name, name_en=name_en, min_members=minimum, invite_needs_confirmation=confirm,
                joiners_must_be_verified=verified, open_link_allowed=link,
            ),
        )
    social = GroupCategory.objects.get(code="social")
    ChatGroup.objects.filter(category__isnull=True).update(category=social)


class Migration(migrations.Migration):
    dependencies = [("groups", "0005_categories_tiers")]
    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
