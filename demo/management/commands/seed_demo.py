"""Seed demo data once: members, an owner and an admin, a compliance reviewer, groups with messages."""

import os
from datetime import timedelta
from pathlib import Path

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group as AuthGroup
from django.contrib.auth.models import Permission
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from common.actors import Actor, Door
from credit import services as credit_services
from groups import services as group_services
from groups.models import ChatGroup
from identity import services as identity_services
from identity.idnumber import check_character
from reports import services as report_services
from reports.models import InspectionGrant
from screening import services as screening_services
from screening.models import LexiconTerm

DEMO_PASSWORD = os.environ.get("DEMO_PASSWORD", "Qunzu-demo-2026")

DEMO_LEXICON = Path(__file__).resolve().parents[2] / "data" / "lexicon-demo.csv"
MEMBERS = [
    ("wangfang", "王芳", "owner of both demo groups", "13800000001"),
    ("lilei", "李雷", "admin of 读书会", "13800000002"),
    ("hanmeimei", "韩梅梅", "member", "13800000003"),
    ("zhangwei", "张伟", "member", "13800000004"),
    ("liuyang", "刘洋", "member", "13800000005"),
]
NEWCOMER = ("xinren", "新人", "signed up, not yet verified", "13800000006")


def demo_id_number(n: int) -> str:
    """A well-formed (checksum-valid) identity number for a demo account."""
    body = f"11010519880808{n:03d}"  # a birth date the test factories never use
    return body + check_character(body)


STAFF = [
    ("reviewer", "合规审核员", "compliance reviewer (staff)", False),
    ("supervisor", "合规主管", "compliance supervisor (staff): receives escalations", False),
    ("admin", "平台管理员", "platform administrator (superuser)", True),
]
INSPECTOR = (
    "inspector",
    "检查员",
    "inspector (not staff): read-only access under a supervisor's grant",
    False,
)
GROUPS = [
    (
        "读书会",
        "每月共读一本书，周末线上讨论。",
        ["lilei", "hanmeimei", "zhangwei", "liuyang"],
        [
            ("wangfang", "欢迎大家！本月共读《平凡的世界》。"),
            ("lilei", "已经读到第二部了，孙少平的经历很打动人。"),
            ("hanmeimei", "周六晚上八点讨论可以吗？"),
            ("wangfang", "可以，周六 20:00 见。"),
        ],
    ),
    (
        "小区邻里",
        "邻里互助、通知与闲聊。",
        ["hanmeimei", "zhangwei"],
        [
            ("wangfang", "明天上午九点停水两小时，请提前储水。"),
            ("zhangwei", "收到，谢谢提醒！"),
        ],
    ),
]


class Command(BaseCommand):
    help = "Create demo members, staff and groups with messages (once), and print the logins."

    def handle(self, *args, **options):
        user_model = get_user_model()
        if user_model.objects.filter(username="wangfang").exists():
            self.stdout.write("Demo data already present.")
        else:
            with transaction.atomic():
                self._seed(user_model)
            self.stdout.write(self.style.SUCCESS("Demo data created."))
        self._seed_lexicon()
        self._seed_review_roles(user_model)
        self._seed_inspection(user_model)
        self._print_logins()

    def _seed_lexicon(self):
        """A small demonstration lexicon (fraud, gambling, spam advertising); operators load their own."""
        if LexiconTerm.objects.exists():
            return
        report = screening_services.lexicon_import_csv(
            actor=Actor.system(door=Door.CLI), text=DEMO_LEXICON.read_text(encoding="utf-8"), source="demo"
        )
        for phrase in ("打击网络赌博", "防范刷单返利"):
            screening_services.allow_entry_save(actor=Actor.system(door=Door.CLI), phrase=phrase)
        self.stdout.write(f"Demo screening lexicon: {report.created} terms (try 来玩百家乐 or 賭.博網站).")

    def _seed(self, user_model):
        cli = Actor.system(door=Door.CLI)
        users = {}
        for number, (username, nickname, _, phone) in enumerate([*MEMBERS, NEWCOMER], start=1):
            user = identity_services.user_create(
                actor=cli, username=username, password=DEMO_PASSWORD, nickname=nickname, phone=phone
            )
            users[username] = user
            as_user = Actor.for_user(user, door=Door.CLI)
            if username != NEWCOMER[0]:
                identity_services.agreement_accept(actor=as_user)
                identity_services.verification_submit(
                    actor=as_user, real_name=f"演示{nickname}", id_number=demo_id_number(number), consent=True
                )
        reviewers, _ = AuthGroup.objects.get_or_create(name="Compliance reviewers")
        reviewers.permissions.add(
            *Permission.objects.filter(
                codename__in=[
                    "review_identityverification",
                    "reveal_identityverification",
                    "export_auditevent",
                    "view_lexiconterm",
                    "add_lexiconterm",
                    "change_lexiconterm",
                    "delete_lexiconterm",
                    "view_allowentry",
                    "add_allowentry",
                    "change_allowentry",
                    "view_lexiconversion",
                    "view_screeningevidence",
                    "adjust_creditaccount",
                    "view_creditaccount",
                    "view_creditevent",
                    "view_creditadjustment",
                    "view_creditlevel",
                ]
            )
        )
        for username, nickname, _, superuser in STAFF:
            staff = identity_services.user_create(
                actor=cli,
                username=username,
                password=DEMO_PASSWORD,
                nickname=nickname,
                is_staff=True,
                is_superuser=superuser,
            )
            staff.groups.add(reviewers)
        # Six weeks in good standing for the verified members (credit level 3: they may own groups and be
        # appointed admins); the newcomer stays at level 1.
        today = timezone.localdate()
        for days_ago in range(45, 0, -1):
            credit_services.credit_good_standing_run(actor=cli, day=today - timedelta(days=days_ago))
        owner = users["wangfang"]
        for index, (name, description, joiners, lines) in enumerate(GROUPS):
            as_owner = Actor.for_user(owner, door=Door.CLI)
            group = group_services.group_create(actor=as_owner, name=name, description=description)
            for username in joiners:
                group_services.membership_join(
                    actor=Actor.for_user(users[username], door=Door.CLI),
                    group=group,
                    invite_token=group.invite_token,
                )
            if index == 0:
                group_services.membership_appoint_admin(actor=as_owner, group=group, member=users["lilei"])
            for number, (username, body) in enumerate(lines):
                group.refresh_from_db()
                group_services.message_send(
                    actor=Actor.for_user(users[username], door=Door.CLI),
                    group=group,
                    body=body,
                    client_msg_id=f"seed-{group.code}-{number}",
                )

    def _seed_review_roles(self, user_model):
        """R12.1: the reviewer works the review queue in the "reviewer" role; the supervisor, in the
        "supervisor" role, also receives escalations (both roles come from moderation's migrations). Also
        run on an older demo database that predates the supervisor."""
        roles = {role.name: role for role in AuthGroup.objects.filter(name__in=["reviewer", "supervisor"])}
        reviewers = AuthGroup.objects.filter(name="Compliance reviewers").first()
        for username, nickname, _, _superuser in STAFF:
            if username not in roles:
                continue
            staff = user_model.objects.filter(username=username).first()
            if staff is None:
                staff = identity_services.user_create(
                    actor=Actor.system(door=Door.CLI),
                    username=username,
                    password=DEMO_PASSWORD,
                    nickname=nickname,
                    is_staff=True,
                )
            staff.groups.add(roles[username], *([reviewers] if reviewers else []))

    def _seed_inspection(self, user_model):
        """R13.1: an inspector account (the "inspector" role, not staff) and, once, the supervisor's grant
        to it: the first demo group and the platform statistics, for 30 days."""
        role = AuthGroup.objects.filter(name="inspector").first()
        supervisor = user_model.objects.filter(username="supervisor").first()
        if role is None or supervisor is None:
            return
        inspector = user_model.objects.filter(username=INSPECTOR[0]).first()
        if inspector is None:
            inspector = identity_services.user_create(
                actor=Actor.system(door=Door.CLI),
                username=INSPECTOR[0],
                password=DEMO_PASSWORD,
                nickname=INSPECTOR[1],
            )
        inspector.groups.add(role)
        if InspectionGrant.objects.filter(inspector=inspector).exists():
            return
        first = ChatGroup.objects.filter(name=GROUPS[0][0]).order_by("pk").first()
        now = timezone.now()
        report_services.inspection_grant(
            actor=Actor.for_user(user_model.objects.get(pk=supervisor.pk), door=Door.CLI),
            inspector=user_model.objects.get(pk=inspector.pk),
            authority="市网信办（演示）",
            reference="演示〔2026〕1号",
            purpose="演示：检查读书会的投诉处理与日志留存。",
            starts_at=now,
            ends_at=now + timedelta(days=30),
            groups=[first] if first else [],
            statistics=True,
        )

    def _print_logins(self):
        self.stdout.write(f"\nDemo logins: account name or mobile number, password {DEMO_PASSWORD}")
        for username, nickname, role, phone in [*MEMBERS, NEWCOMER]:
            self.stdout.write(f"  {username:<10} {phone}  {nickname:<4} {role}")
        for username, nickname, role, _ in [*STAFF, INSPECTOR]:
            self.stdout.write(f"  {username:<10} {nickname:<6} {role}")
