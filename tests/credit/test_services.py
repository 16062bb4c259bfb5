"""R7.3, R8.1, R11.2: the ledger, levels from the grid, penalties, staff adjustments, the daily job."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django.utils import timezone

from audit.models import AuditEvent
from common.actors import Actor, Door
from common.policies import PolicyDenied
from credit import selectors, services
from credit.models import AdjustmentStatus, CreditAccount, CreditCap, CreditEvent, CreditLevel
from groups import services as group_services
from tests.conftest import actor_for
from tests.factories import UnverifiedUserFactory, UserFactory

SYSTEM = Actor.system(door=Door.TASK)


def _staff():
    user = UserFactory(is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="adjust_creditaccount"))
    return type(user).objects.get(pk=user.pk)


def _ledger_sum(user) -> int:
    return sum(CreditEvent.objects.filter(account__user=user).values_list("delta", flat=True))


def test_level_r7_3_follows_the_score_through_the_thresholds(db):
    newcomer = UnverifiedUserFactory(credit_score=0)
    assert selectors.capabilities_for(newcomer).level.number == 1
    verified = UserFactory(credit_score="earned")  # only what verification earned
    assert CreditAccount.objects.get(user=verified).score == 10 == _ledger_sum(verified)
    assert selectors.capabilities_for(verified).level.number == 2
    for score, level in [(39, 2), (40, 3), (99, 3), (100, 4), (250, 5)]:
        assert selectors.level_for_score(score, selectors.level_grid()).number == level


def test_verification_r7_3_earns_credit_once(db):
    user = UserFactory(credit_score="earned")
    assert CreditEvent.objects.filter(account__user=user, reason="identity_verified").count() == 1
    assert services.credit_identity_verified(actor=SYSTEM, user=user) is None  # counted already
    assert CreditAccount.objects.get(user=user).score == 10


def test_good_standing_job_r7_3_is_idempotent_and_skips_the_penalised(db):
    good, penalised, unverified = (
        UserFactory(credit_score="earned"),
        UserFactory(credit_score="earned"),
        UnverifiedUserFactory(credit_score="earned"),
    )
    services.credit_penalize(actor=SYSTEM, user=penalised, points=3, reason="sanction", source_ref="case:1")
    day = timezone.localdate()
    assert services.credit_good_standing_run(actor=SYSTEM, day=day) == 1
    assert services.credit_good_standing_run(actor=SYSTEM, day=day) == 0  # twice in a day: nothing
    assert CreditAccount.objects.get(user=good).score == 11 == _ledger_sum(good)
    assert CreditAccount.objects.get(user=penalised).score == 7
    assert not CreditAccount.objects.filter(user=unverified, score__gt=0).exists()
    services.credit_good_standing_run(actor=SYSTEM, day=day + timedelta(days=1))
    assert CreditAccount.objects.get(user=good).score == 12


def test_penalty_r11_2_lowers_capabilities_at_once_and_can_cap_the_level(db, owner):
    assert selectors.capabilities_for(owner).level.number == 4
    services.credit_penalize(
        actor=SYSTEM, user=owner, points=10, reason="complaint_upheld", source_ref="complaint:9", cap_level=2
    )
    caps = selectors.capabilities_for(owner)
    assert caps.level.number == 2 and caps.capped and caps.score == 90 and caps.earned_level == 3
    assert caps.max_groups_owned == CreditLevel.objects.get(number=2).max_groups_owned
    group_services.group_create(actor=actor_for(owner), name="第一个群")
    with pytest.raises(PolicyDenied) as info:  # level 2 owns one group at most
        group_services.group_create(actor=actor_for(owner), name="第二个群")
    assert info.value.code == "owned_cap_reached" and info.value.action_url == "/credit/"
    assert AuditEvent.objects.filter(event_type="credit.penalized", target_id=str(owner.pk)).exists()


def test_penalty_r11_2_with_an_end_lifts_by_itself(db, owner):
    services.credit_penalize(
        actor=SYSTEM,
        user=owner,
        points=0,
        reason="sanction",
        source_ref="s:1",
        drop_levels=2,
        until=timezone.now() + timedelta(days=7),
    )
    assert selectors.capabilities_for(owner).level.number == 2
    CreditCap.objects.filter(account__user=owner).update(until=timezone.now() - timedelta(seconds=1))
    assert selectors.capabilities_for(owner).level.number == 4


def test_caps_r11_2_stack_and_the_lowest_in_force_applies(db, owner):
    year, week = timezone.now() + timedelta(days=365), timezone.now() + timedelta(days=7)
    services.credit_penalize(
        actor=SYSTEM, user=owner, points=0, reason="sanction", source_ref="a", cap_level=3, until=year
    )
    services.credit_penalize(
        actor=SYSTEM, user=owner, points=0, reason="sanction", source_ref="b", cap_level=1, until=week
    )
    caps = selectors.capabilities_for(owner)
    assert caps.level.number == 1 and caps.capped_until == week
    CreditCap.objects.filter(source_ref="b").update(until=timezone.now() - timedelta(seconds=1))
    caps = selectors.capabilities_for(owner)  # the week is over: the year-long cap still holds
    assert caps.level.number == 3 and caps.capped_until == year


def test_adjustments_r7_3_cannot_be_split_to_avoid_the_second_approver(db, member, settings):
    settings.CREDIT_ADJUST_APPROVAL_THRESHOLD = 20
    staff = _staff()
    statuses = [
        services.credit_adjust(actor=actor_for(staff), user=member, delta=10, reason="分批加分").status
        for _n in range(3)
    ]
    assert statuses == ["approved", "approved", "pending"]
    with pytest.raises(PolicyDenied) as info:
        services.credit_adjust(actor=actor_for(staff), user=staff, delta=1, reason="给自己加分")
    assert info.value.code == "own_account"


def test_caps_r8_1_are_read_from_the_grid_not_constants(db, owner, django_capture_on_commit_callbacks):
    level = CreditLevel.objects.get(number=4)
    selectors.capabilities_for(owner)  # the grid is cached now; the change must replace it at once
    with django_capture_on_commit_callbacks(execute=True):
        services.credit_level_save(actor=SYSTEM, level=level, changes={"max_groups_owned": 1}, reason="收紧")
    group_services.group_create(actor=actor_for(owner), name="唯一的群")
    with pytest.raises(PolicyDenied):
        group_services.group_create(actor=actor_for(owner), name="再建一个")
    with django_capture_on_commit_callbacks(execute=True):
        services.credit_level_save(actor=SYSTEM, level=level, changes={"max_groups_owned": 2}, reason="放宽")
    group_services.group_create(actor=actor_for(owner), name="再建一个")  # at once, no restart


def test_grid_changes_r7_3_keep_thresholds_rising_and_history(db):
    level = CreditLevel.objects.get(number=3)
    with pytest.raises(ValidationError):
        services.credit_level_save(actor=SYSTEM, level=level, changes={"min_score": 5}, reason="x")
    services.credit_level_save(actor=SYSTEM, level=level, changes={"min_score": 50}, reason="调整门槛")
    revision = level.__class__.objects.get(number=3)
    assert revision.min_score == 50
    event = AuditEvent.objects.filter(event_type="credit.level_changed").latest("seq")
    assert event.data["before"] == {"min_score": 40} and event.data["after"] == {"min_score": 50}


def test_group_size_r8_1_comes_from_the_creators_level(db, member):
    creator = UserFactory(credit_score="earned")  # level 2: groups of at most 100
    group = group_services.group_create(actor=actor_for(creator), name="小群")
    assert group.member_cap == CreditLevel.objects.get(number=2).max_group_size
    group.member_cap = 1  # as if the grid had said one
    group.save(update_fields=["member_cap"])
    with pytest.raises(PolicyDenied) as info:
        group_services.membership_join(actor=actor_for(member), group=group, invite_token=group.invite_token)
    assert info.value.code == "group_full"


def test_joined_cap_r8_1(db, owner):
    joiner = UserFactory(credit_score="earned")
    CreditLevel.objects.filter(number=2).update(max_groups_joined=1)
    from django.core.cache import cache

    cache.clear()
    first = group_services.group_create(actor=actor_for(owner), name="一")
    second = group_services.group_create(actor=actor_for(owner), name="二")
    group_services.membership_join(actor=actor_for(joiner), group=first, invite_token=first.invite_token)
    with pytest.raises(PolicyDenied) as info:
        group_services.membership_join(
            actor=actor_for(joiner), group=second, invite_token=second.invite_token
        )
    assert info.value.code == "joined_cap_reached"


def test_admin_appointment_r7_3_needs_the_level(db, owner, group, member):
    CreditAccount.objects.filter(user=member).update(score=10)  # level 2: may not be admin
    with pytest.raises(PolicyDenied) as info:
        group_services.membership_appoint_admin(actor=actor_for(owner), group=group, member=member)
    assert info.value.code == "level_cannot_be_admin"


def test_messages_per_minute_r7_3_follow_the_level(db, group, member):
    CreditAccount.objects.filter(user=member).update(score=0)  # level 1: 5 a minute
    for n in range(5):
        group_services.message_send(
            actor=actor_for(member), group=group, body=f"第{n}条", client_msg_id=f"r{n}"
        )
    with pytest.raises(PolicyDenied) as info:
        group_services.message_send(actor=actor_for(member), group=group, body="第六条", client_msg_id="r6")
    assert info.value.code == "rate_limited" and "5" in info.value.message
    _again, created = group_services.message_send(
        actor=actor_for(member), group=group, body="第0条", client_msg_id="r0"
    )
    assert not created  # a retry of a sent message is not a new message and is not refused


def test_adjustment_r7_3_needs_a_reason_and_a_second_approver_above_the_threshold(db, member, settings):
    settings.CREDIT_ADJUST_APPROVAL_THRESHOLD = 20
    first, second = _staff(), _staff()
    with pytest.raises(ValidationError) as info:
        services.credit_adjust(actor=actor_for(first), user=member, delta=5, reason=" ")
    assert info.value.code == "reason_required"
    small = services.credit_adjust(actor=actor_for(first), user=member, delta=5, reason="补录活动积分")
    assert small.status == AdjustmentStatus.APPROVED
    assert CreditAccount.objects.get(user=member).score == 105
    large = services.credit_adjust(actor=actor_for(first), user=member, delta=-50, reason="核实后扣减")
    assert large.status == AdjustmentStatus.PENDING and CreditAccount.objects.get(user=member).score == 105
    with pytest.raises(PolicyDenied) as info:
        services.credit_adjustment_decide(actor=actor_for(first), adjustment=large, approve=True)
    assert info.value.code == "same_person"
    services.credit_adjustment_decide(actor=actor_for(second), adjustment=large, approve=True, note="同意")
    assert CreditAccount.objects.get(user=member).score == 55 == _ledger_sum(member)
    with pytest.raises(PolicyDenied):
        services.credit_adjustment_decide(actor=actor_for(second), adjustment=large, approve=True)
    assert AuditEvent.objects.filter(event_type="credit.adjustment_approved").exists()


def test_members_r7_3_cannot_adjust_credit(db, member, owner):
    with pytest.raises(PolicyDenied):
        services.credit_adjust(actor=actor_for(member), user=owner, delta=1, reason="自己加分")
    with pytest.raises(PolicyDenied):
        services.credit_penalize(
            actor=actor_for(member), user=owner, points=1, reason="sanction", source_ref="x"
        )


def test_the_daily_task_r7_3_runs_the_job(db):
    from credit import tasks

    user = UserFactory(credit_score="earned")
    assert tasks.credit_good_standing() >= 1
    assert CreditAccount.objects.get(user=user).score == 11


def test_staff_r7_3_cannot_approve_a_change_to_their_own_credit(db, settings):
    settings.CREDIT_ADJUST_APPROVAL_THRESHOLD = 20
    asker, subject = _staff(), _staff()
    raise_for_subject = services.credit_adjust(actor=actor_for(asker), user=subject, delta=500, reason="表彰")
    with pytest.raises(PolicyDenied) as info:
        services.credit_adjustment_decide(
            actor=actor_for(subject), adjustment=raise_for_subject, approve=True
        )
    assert info.value.code == "own_account"
