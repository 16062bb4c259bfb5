"""The ways around a sanction that a security review found, each closed (R11.1-R11.3, R5.1): publishing to
the group by its managers during a suspension, management powers of a suspended account, entering a
group by invitation, releasing a held message of someone who may no longer post, and approving a group
during a freeze of group creation."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone

from common.policies import PolicyDenied
from groups import services as gs
from groups.models import EmergencyKind, GroupStatus, GroupTier, Invitation, Membership, MessageStatus
from moderation import services as ms
from tests.conftest import actor_for
from tests.factories import UserFactory


def _sanction(reviewer, user, kind, **fields):
    return ms.sanction_issue(
        actor=actor_for(reviewer), kind=kind, category="CONDUCT_CYBERVIOLENCE", target_user=user, **fields
    )


def _staff_with(username, *codenames):
    user = UserFactory(username=username, is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    return type(user).objects.get(pk=user.pk)


def test_r11_2_a_suspended_account_loses_every_management_power(reviewer, group, owner, member, outsider):
    _sanction(reviewer, owner, "user_suspend", duration_hours=24)
    as_owner = actor_for(owner)
    for attempt in (
        lambda: gs.group_announcement_set(actor=as_owner, group=group, text="封号了还发公告"),
        lambda: gs.group_settings_update(actor=as_owner, group=group, name="改个名字"),
        lambda: gs.membership_mute(actor=as_owner, group=group, member=member, minutes=10),
        lambda: gs.invitation_create(actor=as_owner, group=group, invitee=outsider),
    ):
        with pytest.raises(PolicyDenied):
            attempt()
    group.refresh_from_db()
    assert group.announcement == "" and group.name != "改个名字"


def test_r11_2_a_suspended_member_cannot_be_appointed_admin(reviewer, group, owner, member):
    _sanction(reviewer, member, "user_suspend", duration_hours=24)
    with pytest.raises(PolicyDenied):
        gs.membership_appoint_admin(actor=actor_for(owner), group=group, member=member)


def test_r11_2_a_platform_muted_owner_cannot_publish_the_announcement_or_rename(reviewer, group, owner):
    _sanction(reviewer, owner, "user_mute", duration_hours=24)
    with pytest.raises(PolicyDenied):
        gs.group_announcement_set(actor=actor_for(owner), group=group, text="禁言中发公告")
    with pytest.raises(PolicyDenied):
        gs.group_settings_update(actor=actor_for(owner), group=group, description="禁言中改简介")
    gs.group_settings_update(actor=actor_for(owner), group=group, slow_mode_seconds=10)  # not publishing


def test_r11_1_a_posting_suspension_stops_the_announcement_and_pinning(reviewer, group, owner, member):
    message, _ = gs.message_send(actor=actor_for(member), group=group, body="hello", client_msg_id="p1")
    ms.sanction_issue(
        actor=actor_for(reviewer),
        kind="group_posting",
        category="CONDUCT_CYBERVIOLENCE",
        target_group=group,
        duration_hours=24,
    )
    group.refresh_from_db()
    with pytest.raises(PolicyDenied) as info:
        gs.group_announcement_set(actor=actor_for(owner), group=group, text="停言期间的公告")
    assert info.value.code == "group_posting_suspended"
    with pytest.raises(PolicyDenied):
        gs.message_pin(actor=actor_for(owner), message=message, group=group)
    gs.group_announcement_set(actor=actor_for(owner), group=group, text="")  # clearing is allowed


def test_r11_2_a_suspended_account_cannot_enter_by_invitation(reviewer, group, owner, outsider):
    _sanction(reviewer, outsider, "user_suspend", duration_hours=24)
    with pytest.raises(PolicyDenied) as info:
        gs.invitation_create(actor=actor_for(owner), group=group, invitee=outsider)
    assert info.value.code == "invitee_blacklisted"  # "this person cannot join groups at present"
    assert not Membership.objects.filter(group=group, user=outsider).exists()


def test_r11_2_an_invitation_accepted_after_a_suspension_is_refused(reviewer, group, owner):
    GroupTier.objects.filter(number=2).update(min_members=2)  # the group is tier 2: the invitee confirms
    invitee = UserFactory(username="invitee")
    invitation = gs.invitation_create(actor=actor_for(owner), group=group, invitee=invitee)
    assert isinstance(invitation, Invitation)
    _sanction(reviewer, invitee, "user_suspend", duration_hours=24)
    with pytest.raises(PolicyDenied):
        gs.invitation_respond(actor=actor_for(invitee), invitation=invitation, accept=True)
    assert not Membership.objects.filter(group=group, user=invitee, left_at__isnull=True).exists()


def test_r11_3_a_blacklisted_member_invites_nobody(reviewer, supervisor, group, member, outsider):
    listing = ms.sanction_issue(
        actor=actor_for(reviewer),
        kind="blacklist",
        category="CONDUCT_FRAUD_SPAM",
        target_user=member,
        blacklist_role="member",
    )
    ms.sanction_decide(actor=actor_for(supervisor), sanction=listing, approve=True)
    with pytest.raises(PolicyDenied) as info:
        gs.invitation_create(actor=actor_for(member), group=group, invitee=outsider)
    assert info.value.code == "blacklisted"


def test_r11_a_held_message_of_a_sender_who_may_no_longer_post_can_only_be_removed(
    reviewer, supervisor, group, member
):
    boss = _staff_with("boss", "declare_emergency", "review_message")
    gs.emergency_measure_declare(
        actor=actor_for(boss),
        kind=EmergencyKind.HOLD_MESSAGES,
        reason="演练",
        ends_at=timezone.now() + timedelta(hours=2),
    )
    message, _ = gs.message_send(actor=actor_for(member), group=group, body="等待审核", client_msg_id="h1")
    assert message.status == MessageStatus.HELD
    ms.sanction_issue(
        actor=actor_for(reviewer),
        kind="group_posting",
        category="CONDUCT_CYBERVIOLENCE",
        target_group=group,
        duration_hours=24,
    )
    with pytest.raises(PolicyDenied) as info:
        gs.message_review_decide(actor=actor_for(boss), message=message, release=True)
    assert info.value.code == "sender_cannot_post"
    removed = gs.message_review_decide(
        actor=actor_for(boss), message=message, release=False, reason="事件期间"
    )
    assert removed.status != MessageStatus.VISIBLE


def test_r5_1_no_group_request_is_approved_during_a_freeze_of_group_creation(db, owner):
    boss = _staff_with("boss2", "declare_emergency", "review_chatgroup")
    waiting = gs.group_create(actor=actor_for(owner), name="团购群", category="trade")
    assert waiting.status == GroupStatus.PENDING_REVIEW
    measure = gs.emergency_measure_declare(
        actor=actor_for(boss),
        kind=EmergencyKind.FREEZE_CREATION,
        reason="演练",
        ends_at=timezone.now() + timedelta(hours=2),
    )
    with pytest.raises(PolicyDenied) as info:
        gs.group_creation_decide(actor=actor_for(boss), group=waiting, approve=True)
    assert info.value.code == "group_creation_frozen"
    gs.emergency_measure_end(actor=actor_for(boss), measure=measure, reason="结束")
    assert gs.group_creation_decide(actor=actor_for(boss), group=waiting, approve=True).status == "active"


def test_r11_1_a_supervisor_who_runs_the_group_neither_approves_nor_refuses_its_closure(reviewer, supervisor):
    owned = gs.group_create(actor=actor_for(supervisor), name="主管的群")
    closure = ms.sanction_issue(
        actor=actor_for(reviewer), kind="group_closure", category="CONDUCT_FRAUD_SPAM", target_group=owned
    )
    for approve in (True, False):
        with pytest.raises(PolicyDenied) as info:
            ms.sanction_decide(actor=actor_for(supervisor), sanction=closure, approve=approve, note="没问题")
        assert info.value.code == "own_matter"
    with pytest.raises(PolicyDenied) as info:  # nor decides a measure on it
        ms.sanction_issue(
            actor=actor_for(supervisor),
            kind="group_warning",
            category="CONDUCT_FRAUD_SPAM",
            target_group=owned,
        )
    assert info.value.code == "own_matter"


def test_r12_1_a_reported_member_of_staff_neither_sees_nor_closes_their_own_case(client, group, reporter):
    from django.urls import reverse

    from moderation.models import Case, CaseStatus, TargetKind
    from moderation.selectors import ReportTarget
    from tests.moderation.conftest import queue_staff

    staff = queue_staff("qrev", "审核员", "reviewer")
    gs.membership_join(actor=actor_for(staff), group=group, invite_token=group.invite_token)
    message, _ = gs.message_send(actor=actor_for(staff), group=group, body="骂人的话", client_msg_id="x1")
    ms.complaint_file(
        actor=actor_for(reporter),
        target=ReportTarget(TargetKind.MESSAGE, group, message, staff),
        category="CONDUCT_CYBERVIOLENCE",
        description="他骂人",
    )
    case = Case.objects.get()
    client.force_login(staff)
    assert client.get(reverse("case-detail", args=[case.pk])).status_code == 404
    assert client.post(reverse("case-detail", args=[case.pk]), {"outcome": "没有违规"}).status_code == 404
    case.refresh_from_db()
    assert case.status == CaseStatus.OPEN


def test_r8_4_nobody_approves_their_own_group_request(db):
    staff = _staff_with("selfapprover", "review_chatgroup")
    waiting = gs.group_create(actor=actor_for(staff), name="团购群", category="trade")
    with pytest.raises(PolicyDenied) as info:
        gs.group_creation_decide(actor=actor_for(staff), group=waiting, approve=True)
    assert info.value.code == "own_matter"
