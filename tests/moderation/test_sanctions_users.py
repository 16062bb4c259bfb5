"""R11.2: sanctions on owners, admins and other users (credit or level lowered, management powers
suspended, eligibility to create groups revoked, platform-wide mute, account suspension), each enforced
through every door and ending by itself; the person is told, also by text message."""

import pytest
from channels.db import database_sync_to_async
from django.urls import reverse

from common.policies import PolicyDenied
from credit.selectors import capabilities_for
from groups import policies as group_policies
from groups import services as group_services
from groups.models import ChatGroup, Message
from identity import policies as identity_policies
from identity.middleware import CLOSE_SUSPENDED
from identity.models import AccountRestriction
from moderation import services
from moderation.models import SanctionStatus
from notifications.models import Notification
from tests.conftest import actor_for
from tests.factories import UserFactory
from tests.groups.test_consumers import open_socket, receive_type


def _sanction(reviewer, user, kind, **fields):
    return services.sanction_issue(
        actor=actor_for(reviewer), kind=kind, category="CONDUCT_CYBERVIOLENCE", target_user=user, **fields
    )


def test_r11_2_credit_is_lowered_through_the_credit_service(reviewer, member):
    before = capabilities_for(member).score
    sanction = _sanction(reviewer, member, "user_credit")
    assert sanction.status == SanctionStatus.ACTIVE and sanction.points == 10  # the ladder's first step
    assert capabilities_for(member).score == before - 10
    assert sanction.article == "11(2)" and sanction.report_data["requirement"] == "R11.2"
    assert sanction.report_data["target"]["type"] == "person"
    assert sanction.report_data["target"]["id_number_masked"].startswith("1101")


def test_r11_2_level_is_capped_until_a_time(reviewer, member, later):
    assert capabilities_for(member).level.number == 4
    sanction = _sanction(reviewer, member, "user_level", level=2, duration_hours=48)
    caps = capabilities_for(member)
    assert caps.level.number == 2 and caps.capped_until == sanction.until
    later(hours=49)
    assert capabilities_for(member).level.number == 4


def test_r11_2_the_person_is_told_what_why_until_when_and_by_text_message(reviewer, member):
    sanction = _sanction(reviewer, member, "user_mute", duration_hours=24, note="辱骂他人")
    notice = Notification.objects.get(recipient=member, kind="moderation.sanction_user")
    assert notice.context["what"] == "Muted on the whole platform"
    assert notice.context["reason"] == "Cyber-violence" and notice.context["note"] == "辱骂他人"
    assert notice.context["until"] and notice.context["sanction"] == sanction.pk
    assert notice.sms_status in ("pending", "sent", "deferred")  # a kind marked sms
    from notifications.kinds import get

    rendered = get("moderation.sanction_user").render(notice.context)
    assert "全平台禁言" in rendered["title"] and "网络暴力" in rendered["body"] and "申诉" in rendered["body"]


def test_r11_2_platform_mute_refuses_posting_on_the_page_and_the_api_then_ends(
    client, reviewer, group, member, later
):
    _sanction(reviewer, member, "user_mute", duration_hours=3)
    client.force_login(member)
    response = client.post(
        reverse("group-chat", args=[group.code]), {"body": "你好", "client_msg_id": "m1"}, follow=True
    )
    assert "该账号暂停发布" in response.content.decode()
    response = client.post(
        reverse("api-messages", args=[group.code]),
        {"body": "你好", "client_msg_id": "m2"},
        content_type="application/json",
    )
    assert response.status_code == 403 and response.json()["code"] == "posting_suspended"
    assert not Message.objects.exists()
    later(hours=3, minutes=1)
    response = client.post(
        reverse("api-messages", args=[group.code]),
        {"body": "你好", "client_msg_id": "m3"},
        content_type="application/json",
    )
    assert response.status_code == 201


@pytest.mark.django_db(transaction=True)
async def test_r11_2_platform_mute_refuses_posting_through_the_socket():
    from django.contrib.auth.models import Permission

    owner = await database_sync_to_async(UserFactory)(username="mute-owner")
    member = await database_sync_to_async(UserFactory)(username="mute-member")
    reviewer = await database_sync_to_async(UserFactory)(username="mute-reviewer", is_staff=True)
    await database_sync_to_async(
        lambda: reviewer.user_permissions.add(Permission.objects.get(codename="add_sanction"))
    )()
    group = await database_sync_to_async(group_services.group_create)(actor=actor_for(owner), name="禁言")
    await database_sync_to_async(group_services.membership_join)(
        actor=actor_for(member), group=group, invite_token=group.invite_token
    )
    socket, connected, _ = await open_socket(member)
    assert connected
    await receive_type(socket, "hello")
    await database_sync_to_async(_sanction)(reviewer, member, "user_mute", duration_hours=5)
    await socket.send_json_to({"type": "send", "group": group.code, "body": "试试", "client_msg_id": "s1"})
    frame = await receive_type(socket, "error")
    assert frame["code"] == "posting_suspended"
    await database_sync_to_async(_sanction)(reviewer, owner, "user_suspend", duration_hours=5)
    _owner_socket, connected, code = await open_socket(owner)  # a suspended account opens no socket
    assert not connected and code == CLOSE_SUSPENDED
    await socket.disconnect()


def test_r11_2_account_suspension_refuses_posting_joining_and_creating(
    reviewer, member, outsider, group, later
):
    _sanction(reviewer, outsider, "user_suspend", duration_hours=24)
    assert identity_policies.can_use_account(outsider).code == "account_suspended"
    assert group_policies.can_join(outsider, group, group.invite_token).code == "account_suspended"
    assert group_policies.can_create_group(outsider).code == "account_suspended"
    later(hours=25)
    assert group_policies.can_join(outsider, group, group.invite_token).allowed


def test_r11_2_suspending_management_powers_stops_owner_and_admin_through_page_and_api(
    client, reviewer, group, owner, admin, member, later
):
    _sanction(reviewer, admin, "user_manage", duration_hours=72)
    assert group_policies.can_manage(admin, group).code == "manage_suspended"
    client.force_login(admin)
    assert client.get(reverse("group-manage", args=[group.code])).status_code == 403
    response = client.post(
        reverse("api-member-mute", args=[group.code, member.pk]),
        {"minutes": 10, "reason": "测试"},
        content_type="application/json",
    )
    assert response.status_code == 403 and response.json()["code"] == "manage_suspended"
    assert "该账号的群管理权限已被暂停" in response.json()["detail"]
    _sanction(reviewer, member, "user_manage", duration_hours=24)  # nobody suspended is appointed admin
    with pytest.raises(PolicyDenied) as refused:
        group_services.membership_appoint_admin(actor=actor_for(owner), group=group, member=member)
    assert refused.value.code == "cannot_be_admin"
    later(hours=73)
    assert group_policies.can_manage(admin, ChatGroup.objects.get(pk=group.pk)).allowed


def test_r11_2_an_owner_whose_powers_are_suspended_cannot_act_as_owner(reviewer, group, owner, member):
    _sanction(reviewer, owner, "user_manage", duration_hours=24)
    for decision in (
        group_policies.can_manage(owner, group),
        group_policies.can_own_action(owner, group),
        group_policies.can_manage_invite(owner, group),
        group_policies.can_appoint_admin(owner, group, member),
    ):
        assert decision.code == "manage_suspended"
    assert group_policies.can_post(owner, group).allowed  # posting is not management


def test_r11_2_revoking_eligibility_to_create_groups_through_the_page(client, reviewer, member, later):
    sanction = _sanction(reviewer, member, "user_create")
    assert sanction.duration_hours == 30 * 24 and sanction.status == SanctionStatus.ACTIVE
    client.force_login(member)
    response = client.post(reverse("group-create"), {"name": "新群", "description": ""})
    assert response.status_code == 200 and "该账号目前不能创建群组" in response.content.decode()
    assert not ChatGroup.objects.filter(name="新群").exists()
    later(days=31)
    assert group_policies.can_create_group(member).allowed


def test_r11_2_restrictions_are_recorded_by_identity_with_the_sanction_reference(reviewer, member):
    sanction = _sanction(reviewer, member, "user_create", duration_hours=48)
    restriction = AccountRestriction.objects.get(pk=sanction.effect["account_restriction"])
    assert restriction.kind == "create_group" and restriction.until == sanction.until
    assert restriction.reason_ref == f"sanction:{sanction.pk}"


def test_r11_2_nobody_sanctions_themselves_and_members_cannot_sanction(reviewer, member):
    with pytest.raises(PolicyDenied) as own:
        _sanction(reviewer, reviewer, "user_mute")
    assert own.value.code == "own_sanction"
    with pytest.raises(PolicyDenied) as member_refused:
        _sanction(member, reviewer, "user_mute")
    assert member_refused.value.code == "not_allowed"
