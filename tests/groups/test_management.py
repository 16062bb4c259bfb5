"""R8.5, R8.6, R9.1, R9.2: the owner's and admins' powers, each one service, audited, with its limits."""

from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from django.core.exceptions import ValidationError
from django.utils import timezone

from audit.models import AuditEvent
from common.policies import PolicyDenied
from groups import selectors, services
from groups.models import ChatGroup, GroupBan, JoinRequest, Membership, Message
from groups.selectors import message_event
from notifications.models import GroupNotice, Notification
from tests.conftest import actor_for
from tests.factories import UserFactory
from tests.groups.test_consumers import open_socket, receive_type


@pytest.fixture
def admin(db, owner, group):
    user = UserFactory(nickname="管理员")
    services.membership_join(actor=actor_for(user), group=group, invite_token=group.invite_token)
    services.membership_appoint_admin(actor=actor_for(owner), group=group, member=user)
    return user


def _send(user, group, body, cmid):
    return services.message_send(actor=actor_for(user), group=group, body=body, client_msg_id=cmid)


def test_mute_r9_2_refuses_posting_until_it_ends_and_tells_the_member(db, owner, group, member):
    services.membership_mute(actor=actor_for(owner), group=group, member=member, minutes=10, reason="刷屏")
    with pytest.raises(PolicyDenied) as info:
        _send(member, group, "还能说话吗", "m1")
    assert info.value.code == "muted"
    assert Notification.objects.filter(recipient=member, kind="group.muted").exists()
    assert AuditEvent.objects.filter(event_type="groups.member_muted").exists()
    Membership.objects.filter(group=group, user=member).update(
        muted_until=timezone.now() - timedelta(seconds=1)
    )
    _send(member, group, "又能说话了", "m2")  # expired: no job needed


def test_mute_length_and_ranks_r9_2(db, owner, group, member, admin):
    with pytest.raises(ValidationError):
        services.membership_mute(actor=actor_for(owner), group=group, member=member, minutes=0)
    with pytest.raises(PolicyDenied) as info:  # an admin does not mute the owner
        services.membership_mute(actor=actor_for(admin), group=group, member=owner, minutes=5)
    assert info.value.code == "outranked"
    with pytest.raises(PolicyDenied):  # a member mutes nobody
        services.membership_mute(actor=actor_for(member), group=group, member=admin, minutes=5)
    services.membership_mute(actor=actor_for(admin), group=group, member=member, minutes=5)


def test_unmute_r9_2_tells_the_member_once(db, owner, group, member):
    services.membership_mute(actor=actor_for(owner), group=group, member=member, minutes=30)
    services.membership_unmute(actor=actor_for(owner), group=group, member=member)
    services.membership_unmute(actor=actor_for(owner), group=group, member=member)  # nothing left to lift
    assert Notification.objects.filter(recipient=member, kind="group.unmuted").count() == 1
    assert AuditEvent.objects.filter(event_type="groups.member_unmuted").count() == 1
    _send(member, group, "谢谢群主", "u1")


def test_admin_powers_r9_2_end_the_moment_they_are_dismissed(db, owner, group, member, admin):
    services.membership_mute(actor=actor_for(admin), group=group, member=member, minutes=5)
    services.membership_dismiss_admin(actor=actor_for(owner), group=group, member=admin)
    admin = type(admin).objects.get(pk=admin.pk)  # a fresh object: no cached permissions
    with pytest.raises(PolicyDenied) as info:
        services.membership_unmute(actor=actor_for(admin), group=group, member=member)
    assert info.value.code == "not_manager"


def test_remove_with_bar_r9_2_keeps_them_out(db, owner, group, member):
    services.membership_remove(actor=actor_for(owner), group=group, member=member, reason="广告", bar=True)
    assert not Membership.objects.filter(group=group, user=member, left_at__isnull=True).exists()
    assert GroupBan.objects.filter(group=group, user=member).exists()
    with pytest.raises(PolicyDenied) as info:
        services.membership_join(actor=actor_for(member), group=group, invite_token=group.invite_token)
    assert info.value.code == "barred"


def test_announcement_only_and_slow_mode_r9_2(db, owner, group, member):
    group = services.group_settings_update(actor=actor_for(owner), group=group, announcement_only=True)
    with pytest.raises(PolicyDenied) as info:
        _send(member, group, "我可以说吗", "a1")
    assert info.value.code == "announcement_only"
    _send(owner, group, "只有管理员发言", "a2")
    services.group_settings_update(
        actor=actor_for(owner), group=group, announcement_only=False, slow_mode_seconds=30
    )
    group.refresh_from_db()
    _send(member, group, "第一条", "s1")
    with pytest.raises(PolicyDenied) as info:
        _send(member, group, "第二条", "s2")
    assert (info.value.code == "slow_mode" and "30" in info.value.message) or "秒" in info.value.message
    _send(owner, group, "群主不受慢速限制", "s3")
    _send(owner, group, "再一条", "s4")


def test_settings_and_announcement_r9_2_are_screened_and_told_once_per_group(
    db, owner, group, member, lexicon
):
    with pytest.raises(PolicyDenied):
        services.group_settings_update(actor=actor_for(owner), group=group, name="賭博群")
    with pytest.raises(PolicyDenied):
        services.group_announcement_set(actor=actor_for(owner), group=group, text="一起 赌 博")
    services.group_announcement_set(actor=actor_for(owner), group=group, text="周六八点线上讨论")
    assert GroupNotice.objects.filter(group_key=group.code, kind="group.announcement").count() == 1
    from notifications import selectors as notification_selectors

    assert notification_selectors.unread_count(member) == 1
    services.group_announcement_set(actor=actor_for(owner), group=group, text="周六八点线上讨论")
    assert (
        GroupNotice.objects.filter(group_key=group.code, kind="group.announcement").count() == 1
    )  # same text
    with pytest.raises(ValidationError):  # join modes follow the category
        services.group_settings_update(actor=actor_for(owner), group=group, join_mode="nonsense")


def test_message_removal_r9_2_leaves_a_tombstone_and_keeps_the_evidence(db, owner, group, member):
    message, _created = _send(member, group, "这条会被删除", "r1")
    _send(member, group, "这条留着", "r2")
    services.message_remove(actor=actor_for(owner), message=message, reason="不当言论")
    stored = Message.objects.get(pk=message.pk)
    assert stored.status == "removed" and stored.body == "这条会被删除" and stored.removed_by == owner
    payloads = [selectors.message_payload(m) for m in selectors.message_list(group, after=0)]
    assert [p["seq"] for p in payloads] == [1, 2]  # no gap for clients
    assert payloads[0]["status"] == "removed" and payloads[0]["body"] == ""
    assert AuditEvent.objects.filter(event_type="groups.message_removed").exists()


def test_join_request_r8_5_is_decided_by_a_manager_with_caps_rechecked(db, owner, group, admin):
    group = services.group_settings_update(
        actor=actor_for(owner), group=group, rules_text="友善交流，禁止广告。", join_mode="request"
    )
    joiner = UserFactory()
    with pytest.raises(ValidationError):  # the rules first (R9.1)
        services.join_request_create(actor=actor_for(joiner), group=group)
    request = services.join_request_create(
        actor=actor_for(joiner), group=group, accept_rules=True, message="你好"
    )
    assert Notification.objects.filter(kind="group.join_requested", recipient__in=[owner, admin]).count() == 2
    again = services.join_request_create(actor=actor_for(joiner), group=group, accept_rules=True)
    assert again.pk == request.pk  # one pending request per person
    with pytest.raises(PolicyDenied):
        services.join_request_decide(actor=actor_for(joiner), join_request=request, approve=True)
    ChatGroup.objects.filter(pk=group.pk).update(member_cap=3)  # owner, member, admin: full
    with pytest.raises(PolicyDenied) as info:
        services.join_request_decide(actor=actor_for(admin), join_request=request, approve=True)
    assert info.value.code == "group_full"
    ChatGroup.objects.filter(pk=group.pk).update(member_cap=0)
    services.join_request_decide(actor=actor_for(admin), join_request=request, approve=True)
    membership = Membership.objects.get(group=group, user=joiner)
    assert membership.left_at is None and membership.rules_accepted_at is not None
    assert JoinRequest.objects.get(pk=request.pk).status == "approved"
    assert Notification.objects.filter(recipient=joiner, kind="group.join_decided").exists()


def test_transfer_and_dissolve_r8_6(db, owner, group, member):
    with pytest.raises(PolicyDenied):
        services.group_transfer_ownership(actor=actor_for(member), group=group, member=owner)
    services.group_transfer_ownership(actor=actor_for(owner), group=group, member=member)
    roles = dict(Membership.objects.filter(group=group).values_list("user_id", "role"))
    assert roles[member.pk] == "owner" and roles[owner.pk] == "admin"
    told = dict(Notification.objects.filter(kind="group.role_changed").values_list("recipient_id", "context"))
    assert told[member.pk]["role"] == "Owner" and told[owner.pk]["role"] == "Admin"
    with pytest.raises(PolicyDenied):  # the former owner cannot transfer again
        services.group_transfer_ownership(actor=actor_for(owner), group=group, member=member)
    services.group_dissolve(actor=actor_for(member), group=group, reason="活动结束")
    group.refresh_from_db()
    assert group.status == "dissolved"
    with pytest.raises(PolicyDenied):
        _send(member, group, "还在吗", "d1")


@pytest.mark.django_db(transaction=True)
async def test_muted_member_r9_2_socket_send_is_refused_with_muted(owner, member, group):
    socket, _, _ = await open_socket(member)
    await receive_type(socket, "hello")
    await database_sync_to_async(services.membership_mute)(
        actor=actor_for(owner), group=group, member=member, minutes=5, reason="冷静一下"
    )
    await socket.send_json_to({"type": "send", "group": group.code, "body": "喂", "client_msg_id": "w1"})
    error = await receive_type(socket, "error")
    assert error["code"] == "muted" and error["client_msg_id"] == "w1"
    await database_sync_to_async(Membership.objects.filter(group=group, user=member).update)(
        muted_until=timezone.now() - timedelta(seconds=1)
    )  # the mute has run out
    await socket.send_json_to({"type": "send", "group": group.code, "body": "喂", "client_msg_id": "w1"})
    ack = await receive_type(socket, "ack")
    assert ack["message"]["client_msg_id"] == "w1"
    await socket.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_removed_member_r9_2_socket_leaves_the_group_at_once(owner, member, group):
    socket, _, _ = await open_socket(member)
    await receive_type(socket, "hello")
    await database_sync_to_async(services.membership_remove)(
        actor=actor_for(owner), group=group, member=member
    )
    frame = await receive_type(socket, "group_left")
    assert frame["group"] == group.code
    await socket.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_socket_r8_6_drops_a_group_on_its_own_leave_even_if_the_personal_wake_up_is_lost(member, group):
    from common.realtime import group_channel, publish

    socket, _, _ = await open_socket(member)
    await receive_type(socket, "hello")
    # Only the group-channel event arrives (the personal "membership.left" was dropped by the layer).
    await publish(
        group_channel(group.pk),
        {
            "type": "chat.member",
            "event": "left",
            "group": group.code,
            "user": {"id": member.pk, "nickname": "x"},
        },
    )
    frame = await receive_type(socket, "group_left")
    assert frame["group"] == group.code
    await publish(
        group_channel(group.pk),
        message_event({"group": group.code, "seq": 9, "body": "x"}),
    )
    assert await socket.receive_nothing(timeout=0.5)
    await socket.disconnect()


def test_pin_r9_2_and_the_admin_cap_r8_6(db, owner, group, member, settings):
    message, _created = _send(member, group, "重要通知：周六活动", "pin1")
    group = services.message_pin(actor=actor_for(owner), message=message, group=group)
    assert group.pinned_message_id == message.pk
    with pytest.raises(PolicyDenied):
        services.message_pin(actor=actor_for(member), message=message, group=group)
    assert services.message_pin(actor=actor_for(owner), message=None, group=group).pinned_message_id is None
    settings.GROUP_MAX_ADMINS = 0
    with pytest.raises(PolicyDenied) as info:
        services.membership_appoint_admin(actor=actor_for(owner), group=group, member=member)
    assert info.value.code == "admins_cap"


def test_message_removal_r9_2_follows_rank(db, owner, group, member, admin):
    owners, _ = _send(owner, group, "群主的话", "rk1")
    admins, _ = _send(admin, group, "管理员的话", "rk2")
    members, _ = _send(member, group, "成员的话", "rk3")
    with pytest.raises(PolicyDenied) as info:
        services.message_remove(actor=actor_for(admin), message=owners)
    assert info.value.code == "outranked"
    with pytest.raises(PolicyDenied):
        services.message_remove(actor=actor_for(member), message=members)  # members remove nothing
    services.message_remove(actor=actor_for(admin), message=admins)  # their own
    services.message_remove(actor=actor_for(admin), message=members)
    services.message_remove(actor=actor_for(owner), message=owners)
    assert set(Message.objects.filter(group=group).values_list("status", flat=True)) == {"removed"}
