"""R11.1: sanctions on groups (warning with a rectification deadline, posting suspension, closure), each
enforced through every door (page, API, socket) and ending by itself."""

import pytest
from channels.db import database_sync_to_async
from django.urls import reverse
from django.utils import timezone

from common.policies import PolicyDenied
from groups import policies as group_policies
from groups import selectors as group_selectors
from groups import services as group_services
from groups.models import ChatGroup, GroupRestriction, GroupStatus, Message
from moderation import services
from moderation.models import Case, CaseStatus, Sanction, SanctionStatus
from notifications.models import GroupNotice, Notification
from tests.conftest import actor_for
from tests.factories import UserFactory
from tests.groups.test_consumers import open_socket, receive_type


def _suspend_posting(reviewer, group, hours=24, **fields):
    return services.sanction_issue(
        actor=actor_for(reviewer),
        kind="group_posting",
        category="CONDUCT_FRAUD_SPAM",
        target_group=group,
        duration_hours=hours,
        note="群内大量刷单广告",
        **fields,
    )


def test_r11_1_posting_suspension_takes_effect_at_once_and_is_recorded(reviewer, group, owner):
    sanction = _suspend_posting(reviewer, group)
    assert sanction.status == SanctionStatus.ACTIVE and not sanction.needs_approval
    assert sanction.article == "11(1)" and sanction.category_kind == "conduct"
    assert sanction.decided_by == reviewer and sanction.starts_at is not None
    assert abs((sanction.until - sanction.starts_at).total_seconds() - 24 * 3600) < 1
    restriction = GroupRestriction.objects.get(pk=sanction.effect["group_restriction"])
    assert restriction.kind == "post" and restriction.reason_ref == f"sanction:{sanction.pk}"
    group.refresh_from_db()
    assert group.posting_suspended_until == sanction.until
    assert sanction.evidence["group"]["code"] == group.code
    assert sanction.reportable and sanction.report_data["requirement"] == "R11.1"
    assert sanction.report_data["target"] == {
        "type": "group",
        "group_code": group.code,
        "group_name": group.name,
        "owner_id": owner.pk,
    }


def test_r11_1_posting_suspension_refused_on_the_page_and_the_api(client, reviewer, group, member, owner):
    sanction = _suspend_posting(reviewer, group)
    until = f"{timezone.localtime(sanction.until):%Y-%m-%d %H:%M}"
    client.force_login(member)
    response = client.post(
        reverse("group-chat", args=[group.code]), {"body": "还能说话吗", "client_msg_id": "p1"}, follow=True
    )
    assert "本群已被平台暂停发言" in response.content.decode() and until in response.content.decode()
    response = client.post(
        reverse("api-messages", args=[group.code]),
        {"body": "还能说话吗", "client_msg_id": "p2"},
        content_type="application/json",
    )
    assert response.status_code == 403 and response.json()["code"] == "group_posting_suspended"
    assert until in response.json()["detail"]
    client.force_login(owner)  # the owner and admins too: the measure is on the whole group
    page = client.get(reverse("group-chat", args=[group.code])).content.decode()
    assert 'data-restriction="post"' in page and "群内大量刷单广告" in page
    assert not Message.objects.filter(group=group).exists()


@pytest.mark.django_db(transaction=True)
async def test_r11_1_posting_suspension_refused_through_the_socket():
    owner = await database_sync_to_async(UserFactory)(username="sock-owner")
    member = await database_sync_to_async(UserFactory)(username="sock-member")
    reviewer = await database_sync_to_async(_reviewer)()
    group = await database_sync_to_async(group_services.group_create)(actor=actor_for(owner), name="套接字")
    await database_sync_to_async(group_services.membership_join)(
        actor=actor_for(member), group=group, invite_token=group.invite_token
    )
    socket, connected, _ = await open_socket(member)
    assert connected
    await receive_type(socket, "hello")
    await database_sync_to_async(_suspend_posting)(reviewer, group)
    await socket.send_json_to({"type": "send", "group": group.code, "body": "试试", "client_msg_id": "s1"})
    frame = await receive_type(socket, "error")
    assert frame["code"] == "group_posting_suspended" and frame["client_msg_id"] == "s1"
    await socket.disconnect()


def _reviewer():
    from django.contrib.auth.models import Permission

    user = UserFactory(username="sock-reviewer", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="add_sanction"))
    return user


def test_r11_1_posting_suspension_ends_by_itself_and_the_job_marks_it(reviewer, group, member, later):
    sanction = _suspend_posting(reviewer, group, hours=2)
    assert (
        group_policies.can_post(member, ChatGroup.objects.get(pk=group.pk)).code == "group_posting_suspended"
    )
    later(hours=2, minutes=1)
    fresh = ChatGroup.objects.get(pk=group.pk)
    assert group_policies.can_post(member, fresh).allowed  # no job needed (house rule 9)
    group_services.message_send(actor=actor_for(member), group=fresh, body="又能说话了", client_msg_id="x1")
    assert services.sanctions_expire(actor=actor_for(reviewer)) == 1
    assert services.sanctions_expire(actor=actor_for(reviewer)) == 0  # idempotent
    sanction.refresh_from_db()
    assert sanction.status == SanctionStatus.EXPIRED and sanction.ended_at == sanction.until


def test_r11_1_owner_and_admins_are_told_and_members_get_a_group_notice(reviewer, group, owner, member):
    sanction = _suspend_posting(reviewer, group)
    told = Notification.objects.get(recipient=owner, kind="moderation.sanction_group")
    assert told.context["sanction"] == sanction.pk and told.context["until"]
    assert told.context["what"] == "Posting suspended in the group"
    assert told.sms_status == ""  # a measure on the group: no text message to its owner
    assert not Notification.objects.filter(recipient=member, kind="moderation.sanction_group").exists()
    notice = GroupNotice.objects.get(group_key=group.code, kind="moderation.group_measure")
    assert notice.context["reason"] and "note" not in notice.context


def test_r11_1_admins_are_told_too(reviewer, group, admin):
    _suspend_posting(reviewer, group)
    assert Notification.objects.filter(recipient=admin, kind="moderation.sanction_group").exists()


def test_r11_1_warning_shows_a_banner_until_its_deadline_then_a_recheck(
    client, reviewer, group, owner, member, later
):
    sanction = services.sanction_issue(
        actor=actor_for(reviewer),
        kind="group_warning",
        category="HARM_VULGAR",
        target_group=group,
        note="请整改群公告",
    )
    assert (
        sanction.status == SanctionStatus.ACTIVE and sanction.duration_hours == 72
    )  # the ladder's first step
    assert group_policies.can_post(
        member, ChatGroup.objects.get(pk=group.pk)
    ).allowed  # a warning bars nothing
    client.force_login(owner)
    for url in (reverse("group-chat", args=[group.code]), reverse("group-manage", args=[group.code])):
        page = client.get(url).content.decode()
        assert 'data-restriction="warning"' in page and "请整改群公告" in page
    assert services.sanction_rechecks_create(actor=actor_for(reviewer)) == 0  # not due yet
    later(hours=73)
    assert (
        'data-restriction="warning"'
        not in client.get(reverse("group-chat", args=[group.code])).content.decode()
    )
    assert services.sanction_rechecks_create(actor=actor_for(reviewer)) == 1
    assert services.sanction_rechecks_create(actor=actor_for(reviewer)) == 0  # once per warning
    sanction.refresh_from_db()
    case = sanction.recheck_case
    assert case.group == group and case.kind == "group" and case.status == CaseStatus.OPEN
    assert case.category == "HARM_VULGAR" and Case.objects.filter(group=group).count() == 1


def test_r11_1_closure_waits_for_a_supervisor_and_does_nothing_before(reviewer, supervisor, group, member):
    sanction = services.sanction_issue(
        actor=actor_for(reviewer),
        kind="group_closure",
        category="ILL_OBSCENE_GAMBLING_VIOLENCE",
        target_group=group,
        note="赌博群",
    )
    assert sanction.status == SanctionStatus.PENDING and sanction.needs_approval
    group.refresh_from_db()
    assert group.status == GroupStatus.ACTIVE and not GroupRestriction.objects.exists()
    # Nobody concerned is told yet; only the supervisor, that it waits for approval.
    told = Notification.objects.filter(kind__startswith="moderation.sanction")
    assert [(n.kind, n.recipient) for n in told] == [("moderation.sanction_pending", supervisor)]
    with pytest.raises(PolicyDenied) as refused:  # four eyes: not the one who decided it
        services.sanction_decide(actor=actor_for(reviewer), sanction=sanction, approve=True)
    assert refused.value.code == "not_supervisor"
    services.sanction_decide(actor=actor_for(supervisor), sanction=sanction, approve=True, note="同意")
    sanction.refresh_from_db()
    assert sanction.status == SanctionStatus.ACTIVE and sanction.approved_by == supervisor
    assert sanction.until is None and sanction.report_data["approved_by"] == supervisor.pk
    group.refresh_from_db()
    assert group.status == GroupStatus.CLOSED and group.closed_at is not None


def test_r11_1_a_closed_group_is_read_only_hidden_and_closed_to_joins(
    client, reviewer, supervisor, group, member, outsider
):
    sanction = services.sanction_issue(
        actor=actor_for(reviewer), kind="group_closure", category="ILL_OTHER", target_group=group
    )
    services.sanction_decide(actor=actor_for(supervisor), sanction=sanction, approve=True)
    group.refresh_from_db()
    assert group_policies.can_post(member, group).code == "group_closed"
    assert group_policies.can_join(outsider, group, group.invite_token).code == "group_closed"
    assert group not in list(group_selectors.group_list_for_user(member))
    client.force_login(member)
    page = client.get(reverse("group-chat", args=[group.code]))  # the history stays readable
    assert page.status_code == 200 and 'data-restriction="closed"' in page.content.decode()
    assert "本群已被平台关闭" in page.content.decode()
    response = client.post(
        reverse("api-messages", args=[group.code]),
        {"body": "喂", "client_msg_id": "c1"},
        content_type="application/json",
    )
    assert response.status_code == 403 and response.json()["code"] == "group_closed"
    assert client.get(reverse("api-groups")).json() == []
    client.force_login(outsider)
    response = client.post(
        reverse("group-join", args=[group.invite_token]), {"accept_rules": "on"}, follow=True
    )
    assert not group.memberships.filter(user=outsider).exists()


def test_r11_1_a_refused_closure_never_takes_effect(reviewer, supervisor, group):
    sanction = services.sanction_issue(
        actor=actor_for(reviewer), kind="group_closure", category="ILL_OTHER", target_group=group
    )
    services.sanction_decide(actor=actor_for(supervisor), sanction=sanction, approve=False, note="证据不足")
    sanction.refresh_from_db()
    assert sanction.status == SanctionStatus.REFUSED and sanction.approval_note == "证据不足"
    group.refresh_from_db()
    assert group.status == GroupStatus.ACTIVE and not GroupRestriction.objects.exists()
    with pytest.raises(PolicyDenied) as again:
        services.sanction_decide(actor=actor_for(supervisor), sanction=sanction, approve=True)
    assert again.value.code == "not_pending"


def test_r11_1_group_measures_need_a_group_target(reviewer, member):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as refused:
        services.sanction_issue(
            actor=actor_for(reviewer), kind="group_posting", category="ILL_OTHER", target_user=member
        )
    assert refused.value.code == "target_invalid"
    assert not Sanction.objects.exists()
