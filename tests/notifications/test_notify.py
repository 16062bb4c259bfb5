"""Notifications: stored, pushed to every tab of the recipient and no one else's, counted right across
tabs, required kinds not mutable, text messages only for their kinds, within limits and quiet hours."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from channels.db import database_sync_to_async

from common import sms
from common.actors import Actor, Door
from groups import services as group_services
from notifications import selectors, services
from notifications.models import GroupNotice, Notification
from tests.conftest import actor_for
from tests.factories import UserFactory
from tests.groups.test_consumers import open_socket, receive_type

SYSTEM = Actor.system(door=Door.TASK)
SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def daytime(settings, monkeypatch):
    """Outside the quiet hours, whatever the clock says when the suite runs."""
    monkeypatch.setattr(selectors, "in_quiet_hours", lambda moment=None: False)


def test_notice_is_stored_rendered_and_counted(db, member):
    notice = services.notify(
        actor=SYSTEM,
        recipient=member,
        kind="credit.changed",
        context={"delta": "-5", "reason": "投诉成立。", "level": "普通"},
    )
    assert Notification.objects.filter(pk=notice.pk, recipient=member).exists()
    assert selectors.unread_count(member) == 1
    item = selectors.notification_list(member)[0]
    assert "-5" in item["title"] and item["link"] == "/credit/" and item["severity"] == "warning"


def test_unknown_kind_is_refused(db, member):
    with pytest.raises(KeyError):
        services.notify(actor=SYSTEM, recipient=member, kind="no.such.kind", context={})


def test_required_kinds_cannot_be_turned_off_but_others_can(db, member):
    services.notification_preferences_save(
        actor=actor_for(member),
        choices={
            "credit.changed": {"in_app": False, "sms": False},
            "identity.verification_decided": {"in_app": False, "sms": False},
        },
    )
    assert services.notify(actor=SYSTEM, recipient=member, kind="credit.changed", context={}) is not None
    assert (
        services.notify(actor=SYSTEM, recipient=member, kind="identity.verification_decided", context={})
        is None
    )


def test_sms_only_for_sms_kinds_and_at_most_the_daily_limit(db, member, settings, daytime):
    settings.NOTIFY_SMS_PER_DAY = 2
    member.phone = "+8613912345678"
    member.save(update_fields=["phone"])
    sms.outbox.clear()
    services.notify(actor=SYSTEM, recipient=member, kind="credit.changed", context={})  # not an SMS kind
    assert sms.outbox == []
    statuses = []
    for n in range(3):
        notice = services.notify(
            actor=SYSTEM,
            recipient=member,
            kind="account.suspended",
            context={"what": "禁言", "until": "明天", "reason": f"第{n}次"},
        )
        statuses.append(services.notification_sms_deliver(actor=SYSTEM, notification=notice))
    assert statuses == ["sent", "sent", "limited"]
    assert len(sms.outbox) == 2 and sms.outbox[0]["phone"] == "+8613912345678"
    assert services.notification_sms_deliver(actor=SYSTEM, notification=notice) == "limited"


def test_quiet_hours_defer_the_text_until_the_job_after_they_end(db, member, settings, monkeypatch):
    member.phone = "+8613912345679"
    member.save(update_fields=["phone"])
    sms.outbox.clear()
    monkeypatch.setattr(selectors, "in_quiet_hours", lambda moment=None: True)
    notice = services.notify(actor=SYSTEM, recipient=member, kind="account.suspended", context={})
    assert services.notification_sms_deliver(actor=SYSTEM, notification=notice) == "deferred"
    assert services.notification_sms_flush(actor=SYSTEM) == 0 and sms.outbox == []
    monkeypatch.setattr(selectors, "in_quiet_hours", lambda moment=None: False)
    assert services.notification_sms_flush(actor=SYSTEM) == 1 and len(sms.outbox) == 1


@pytest.mark.parametrize(
    ("local", "quiet"),
    [("23:30", True), ("03:00", True), ("07:59", True), ("08:00", False), ("13:00", False)],
)
def test_quiet_hours_cross_midnight(settings, local, quiet):
    settings.NOTIFY_QUIET_HOURS = (22, 8)
    hour, minute = map(int, local.split(":"))
    moment = datetime(2026, 11, 28, hour, minute, tzinfo=SHANGHAI)
    assert selectors.in_quiet_hours(moment) is quiet


def test_group_notice_is_one_row_for_every_member_and_only_for_members(db, group, owner, member, outsider):
    services.notify_group(
        actor=actor_for(owner),
        group_id=group.pk,
        group_key=group.code,
        kind="group.announcement",
        context={"group_name": group.name, "text": "周六活动取消"},
    )
    assert GroupNotice.objects.count() == 1 and Notification.objects.count() == 0
    assert selectors.unread_count(member) == 1 and selectors.unread_count(owner) == 1
    assert selectors.unread_count(outsider) == 0
    late = UserFactory()
    group_services.membership_join(actor=actor_for(late), group=group, invite_token=group.invite_token)
    assert selectors.unread_count(late) == 0  # notices from before they joined are not theirs
    services.notifications_mark_read(actor=actor_for(member))
    assert selectors.unread_count(member) == 0 and selectors.unread_count(owner) == 1


@pytest.mark.django_db(transaction=True)
async def test_push_reaches_every_tab_of_the_recipient_and_no_one_elses(member, owner, group):
    tab1, _, _ = await open_socket(member)
    tab2, _, _ = await open_socket(member)
    other, _, _ = await open_socket(owner)
    for socket in (tab1, tab2, other):
        await receive_type(socket, "hello")
    await database_sync_to_async(services.notify)(
        actor=SYSTEM, recipient=member, kind="credit.changed", context={"delta": "+3", "level": "资深"}
    )
    for tab in (tab1, tab2):
        frame = await receive_type(tab, "notification")
        assert frame["unread"] == 1 and "+3" in frame["notification"]["title"]
        assert "信用" in frame["notification"]["title"]  # rendered in the socket's language
    assert await other.receive_nothing(timeout=0.5)

    await database_sync_to_async(services.notifications_mark_read)(actor=actor_for(member))
    for tab in (tab1, tab2):  # the badge in the other tab follows
        frame = await receive_type(tab, "notification_count")
        assert frame["unread"] == 0
    for socket in (tab1, tab2, other):
        await socket.disconnect()


def test_credit_changes_and_verification_decisions_tell_the_member(db, member):
    from django.contrib.auth.models import Permission
    from django.utils import translation

    from credit import services as credit_services
    from identity import services as identity_services
    from identity.models import IdentityVerification

    credit_services.credit_penalize(actor=SYSTEM, user=member, points=5, reason="sanction", source_ref="t:1")
    with translation.override("zh-hans"):
        item = selectors.notification_list(member)[0]
    assert item["kind"] == "credit.changed" and "-5" in item["title"] and "受到处罚" in item["body"]
    with translation.override("en"):
        assert "A sanction" in selectors.notification_list(member)[0]["body"]

    reviewer = UserFactory(is_staff=True)
    reviewer.user_permissions.add(Permission.objects.get(codename="review_identityverification"))
    reviewer = type(reviewer).objects.get(pk=reviewer.pk)
    pending = UserFactory(verified=False)
    IdentityVerification.objects.create(user=pending, status="pending")
    identity_services.verification_decide(
        actor=actor_for(reviewer), verification=pending.verification, approve=False, note="照片不清晰"
    )
    with translation.override("zh-hans"):
        decided = selectors.notification_list(pending)[0]
    assert decided["kind"] == "identity.verification_decided" and "照片不清晰" in decided["body"]
