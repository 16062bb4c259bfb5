"""R11.1-R11.3: one appeal per measure, filed by the person concerned (or the group's owner) from "My
sanctions", decided by a reviewer other than those who decided the measure; upheld, the effect is reversed
(restrictions lifted, credit restored, a closed group opened, the blacklisting lifted) and the person told."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from common.policies import PolicyDenied
from credit.selectors import capabilities_for
from groups import policies as group_policies
from groups.models import ChatGroup, GroupStatus
from identity import selectors as identity_selectors
from moderation import services
from moderation.models import Appeal, AppealStatus, SanctionStatus
from notifications.models import Notification
from tests.conftest import actor_for


def _issue(reviewer, **fields):
    fields.setdefault("category", "CONDUCT_CYBERVIOLENCE")
    return services.sanction_issue(actor=actor_for(reviewer), **fields)


def test_r11_2_the_person_appeals_from_my_sanctions(client, reviewer, member):
    sanction = _issue(reviewer, kind="user_mute", target_user=member, note="辱骂")
    client.force_login(member)
    page = client.get(reverse("my-sanctions")).content.decode()
    assert "全平台禁言" in page and "辱骂" in page and reverse("sanction-appeal", args=[sanction.pk]) in page
    response = client.post(
        reverse("sanction-appeal", args=[sanction.pk]), {"text": "我没有辱骂任何人"}, follow=True
    )
    assert "申诉已提交" in response.content.decode()
    appeal = Appeal.objects.get(sanction=sanction)
    assert appeal.filed_by == member and appeal.status == AppealStatus.PENDING
    response = client.post(reverse("sanction-appeal", args=[sanction.pk]), {"text": "再来一次"}, follow=True)
    assert "每项处置只能申诉一次" in response.content.decode()
    assert Appeal.objects.count() == 1


def test_r11_2_others_cannot_see_or_appeal_someone_elses_measure(client, reviewer, member, outsider):
    sanction = _issue(reviewer, kind="user_mute", target_user=member)
    client.force_login(outsider)
    assert "全平台禁言" not in client.get(reverse("my-sanctions")).content.decode()
    assert client.post(reverse("sanction-appeal", args=[sanction.pk]), {"text": "x"}).status_code == 404
    with pytest.raises(PolicyDenied) as refused:
        services.appeal_file(actor=actor_for(outsider), sanction=sanction, text="x")
    assert refused.value.code == "not_yours"


def test_r11_1_the_group_owner_appeals_a_measure_on_the_group(client, reviewer, group, owner, member):
    sanction = _issue(reviewer, kind="group_posting", target_group=group, duration_hours=24)
    client.force_login(owner)
    assert group.name in client.get(reverse("my-sanctions")).content.decode()
    services.appeal_file(actor=actor_for(owner), sanction=sanction, text="已整改")
    with pytest.raises(PolicyDenied):
        services.appeal_file(actor=actor_for(member), sanction=sanction, text="我也要申诉")


def test_r11_2_an_appeal_is_decided_by_someone_else_than_who_decided_the_measure(
    reviewer, reviewer2, supervisor, member
):
    sanction = _issue(reviewer, kind="user_suspend", target_user=member, permanent=True)
    sanction = services.sanction_decide(actor=actor_for(supervisor), sanction=sanction, approve=True)
    appeal = services.appeal_file(actor=actor_for(member), sanction=sanction, text="冤枉")
    for who in (reviewer, supervisor):
        with pytest.raises(PolicyDenied) as refused:
            services.appeal_decide(actor=actor_for(who), appeal=appeal, uphold=True)
        assert refused.value.code == "same_person"
    services.appeal_decide(actor=actor_for(reviewer2), appeal=appeal, uphold=True, note="证据不足")
    sanction.refresh_from_db()
    assert sanction.status == SanctionStatus.REVERSED
    assert identity_selectors.restriction_active(member, "suspended") is None


def test_r11_2_upheld_appeal_lifts_a_mute_and_tells_the_person(reviewer, reviewer2, group, member):
    sanction = _issue(reviewer, kind="user_mute", target_user=member, duration_hours=24)
    assert group_policies.can_post(member, group).code == "posting_suspended"
    appeal = services.appeal_file(actor=actor_for(member), sanction=sanction, text="误判")
    services.appeal_decide(actor=actor_for(reviewer2), appeal=appeal, uphold=True)
    assert group_policies.can_post(member, group).allowed
    notice = Notification.objects.get(recipient=member, kind="moderation.appeal_decided")
    assert notice.context["outcome"] == "upheld: the measure is reversed"
    assert services.sanctions_expire(actor=actor_for(reviewer)) == 0  # a reversed measure does not expire


def test_r11_2_upheld_appeal_restores_credit_and_level(reviewer, reviewer2, member):
    before = capabilities_for(member)
    points = _issue(reviewer, kind="user_credit", target_user=member, points=30)
    level = _issue(reviewer, kind="user_level", target_user=member, level=1, duration_hours=72)
    assert capabilities_for(member).score == before.score - 30 and capabilities_for(member).level.number == 1
    for sanction in (points, level):
        appeal = services.appeal_file(actor=actor_for(member), sanction=sanction, text="申诉")
        services.appeal_decide(actor=actor_for(reviewer2), appeal=appeal, uphold=True)
    after = capabilities_for(member)
    assert after.score == before.score and after.level.number == before.level.number


def test_r11_1_upheld_appeal_opens_a_closed_group_and_lifts_a_suspension(
    reviewer, reviewer2, supervisor, group, owner, member
):
    posting = _issue(reviewer, kind="group_posting", target_group=group, duration_hours=48)
    closure = _issue(reviewer, kind="group_closure", target_group=group)
    closure = services.sanction_decide(actor=actor_for(supervisor), sanction=closure, approve=True)
    for sanction in (closure, posting):
        appeal = services.appeal_file(actor=actor_for(owner), sanction=sanction, text="已整改")
        services.appeal_decide(actor=actor_for(reviewer2), appeal=appeal, uphold=True)
    fresh = ChatGroup.objects.get(pk=group.pk)
    assert fresh.status == GroupStatus.ACTIVE and fresh.posting_suspended_until is None
    assert group_policies.can_post(member, fresh).allowed


def test_r11_3_upheld_appeal_lifts_the_blacklisting(reviewer, reviewer2, supervisor, group, member):
    sanction = _issue(reviewer, kind="blacklist", target_user=member, blacklist_role="member")
    sanction = services.sanction_decide(actor=actor_for(supervisor), sanction=sanction, approve=True)
    assert group_policies.can_post(member, group).code == "blacklisted"
    appeal = services.appeal_file(actor=actor_for(member), sanction=sanction, text="认错人了")
    services.appeal_decide(actor=actor_for(reviewer2), appeal=appeal, uphold=True)
    assert group_policies.can_post(member, group).allowed
    assert identity_selectors.blacklist_active(member) is None


def test_r11_2_rejected_appeal_keeps_the_measure_and_needs_a_reason(reviewer, reviewer2, group, member):
    sanction = _issue(reviewer, kind="user_mute", target_user=member, duration_hours=24)
    appeal = services.appeal_file(actor=actor_for(member), sanction=sanction, text="误判")
    with pytest.raises(ValidationError):
        services.appeal_decide(actor=actor_for(reviewer2), appeal=appeal, uphold=False)
    services.appeal_decide(actor=actor_for(reviewer2), appeal=appeal, uphold=False, note="证据确凿")
    sanction.refresh_from_db()
    assert sanction.status == SanctionStatus.ACTIVE
    assert group_policies.can_post(member, group).code == "posting_suspended"
    notice = Notification.objects.get(recipient=member, kind="moderation.appeal_decided")
    assert (
        notice.context["outcome"] == "not upheld: the measure stands" and notice.context["note"] == "证据确凿"
    )


def test_r11_2_an_appeal_is_decided_on_the_sanction_page(client, reviewer, reviewer2, member):
    sanction = _issue(reviewer, kind="user_mute", target_user=member, duration_hours=24)
    services.appeal_file(actor=actor_for(member), sanction=sanction, text="误判了")
    client.force_login(reviewer)  # who decided the measure sees the appeal, without the decision buttons
    page = client.get(reverse("sanction-detail", args=[sanction.pk])).content.decode()
    assert "误判了" in page and 'value="uphold"' not in page
    response = client.post(reverse("sanction-detail", args=[sanction.pk]), {"action": "uphold"}, follow=True)
    assert "申诉须由作出处置决定以外的人员处理" in response.content.decode()
    client.force_login(reviewer2)
    response = client.post(
        reverse("sanction-detail", args=[sanction.pk]), {"action": "uphold", "note": "撤销"}, follow=True
    )
    assert "申诉成立：处置已撤销" in response.content.decode()
    sanction.refresh_from_db()
    assert sanction.status == SanctionStatus.REVERSED


def test_r11_2_an_appeal_is_filed_within_its_window(reviewer, member, later):
    sanction = _issue(reviewer, kind="user_credit", target_user=member)
    later(days=61)
    with pytest.raises(PolicyDenied) as late:
        services.appeal_file(actor=actor_for(member), sanction=sanction, text="晚了")
    assert late.value.code == "appeal_window_passed"


def test_r11_2_an_appeal_waits_in_the_review_queue_and_is_decided_there(reviewer, reviewer2, member):
    from moderation.models import ReviewItem, ReviewStatus

    sanction = _issue(reviewer, kind="user_mute", target_user=member, duration_hours=24)
    appeal = services.appeal_file(actor=actor_for(member), sanction=sanction, text="请复核")
    item = ReviewItem.objects.get(kind="appeal", object_id=appeal.pk)
    assert item.status == ReviewStatus.OPEN and item.subject_id == member.pk
    with pytest.raises(PolicyDenied):  # the queue's door has the same rule: not who decided the measure
        services.review_item_decide(actor=actor_for(reviewer), item=item, decision="uphold")
    services.review_item_decide(actor=actor_for(reviewer2), item=item, decision="uphold")
    appeal.refresh_from_db()
    sanction.refresh_from_db()
    assert appeal.status == AppealStatus.UPHELD and sanction.status == SanctionStatus.REVERSED
    assert not ReviewItem.objects.filter(kind="appeal", status=ReviewStatus.OPEN).exists()


def test_r11_1_a_warnings_recheck_goes_to_the_review_queue(reviewer, group, later):
    from moderation.models import ReviewItem

    _issue(reviewer, kind="group_warning", target_group=group, duration_hours=2)
    later(hours=3)
    assert services.sanction_rechecks_create(actor=actor_for(reviewer)) == 1
    assert ReviewItem.objects.filter(kind="case", group_id=group.pk, status="open").exists()
