"""R11.1-R11.3: durations escalate with the last six months, within limits a reviewer may change; four
eyes for closures, blacklisting and permanent measures; expiry; the audit trail and the report data."""

import pytest
from django.core.exceptions import ValidationError

from audit.models import AuditEvent
from common.policies import PolicyDenied
from identity import selectors as identity_selectors
from moderation import ladder, selectors, services
from moderation.models import Sanction, SanctionStatus
from tests.conftest import actor_for


def _mute(reviewer, user, **fields):
    return services.sanction_issue(
        actor=actor_for(reviewer), kind="user_mute", category="CONDUCT_FRAUD_SPAM", target_user=user, **fields
    )


def test_r11_2_default_durations_escalate_with_the_last_six_months(reviewer, member, later):
    first = _mute(reviewer, member)
    second = _mute(reviewer, member)
    third = _mute(reviewer, member)
    fourth = _mute(reviewer, member)
    fifth = _mute(reviewer, member)
    steps = [s.duration_hours for s in (first, second, third, fourth, fifth)]
    assert steps == [24, 72, 168, 720, 720]  # past the ladder's end its last step repeats
    later(days=183)  # older than six months no longer counts
    assert _mute(reviewer, member).duration_hours == 24


def test_r11_1_escalation_counts_any_measure_on_the_same_target_but_not_reversed_or_refused(
    reviewer, supervisor, group
):
    services.sanction_issue(
        actor=actor_for(reviewer), kind="group_warning", category="HARM_VULGAR", target_group=group
    )
    refused = services.sanction_issue(
        actor=actor_for(reviewer), kind="group_closure", category="HARM_VULGAR", target_group=group
    )
    services.sanction_decide(actor=actor_for(supervisor), sanction=refused, approve=False, note="不必")
    assert selectors.sanction_prior_count(target_group=group) == 1
    posting = services.sanction_issue(
        actor=actor_for(reviewer), kind="group_posting", category="HARM_VULGAR", target_group=group
    )
    assert posting.duration_hours == 72  # the second step


def test_r11_2_the_ladder_is_configurable_in_settings(reviewer, member, settings):
    settings.MODERATION_SANCTION_LADDER = {"user_mute": [5, 10]}
    settings.MODERATION_SANCTION_CREDIT_POINTS = [7]
    assert _mute(reviewer, member).duration_hours == 5
    assert _mute(reviewer, member).duration_hours == 10
    assert ladder.default_hours("group_posting", 0) == 24  # other kinds keep their defaults
    credit = services.sanction_issue(
        actor=actor_for(reviewer), kind="user_credit", category="ILL_OTHER", target_user=member
    )
    assert credit.points == 7


def test_r11_2_a_reviewer_overrides_within_the_limits_only(reviewer, member):
    assert _mute(reviewer, member, duration_hours=5).duration_hours == 5
    for hours in (0, 91 * 24, "12"):
        with pytest.raises(ValidationError) as refused:
            _mute(reviewer, member, duration_hours=hours)
        assert refused.value.code == "duration_invalid"
    with pytest.raises(ValidationError) as permanent_mute:
        _mute(reviewer, member, permanent=True)  # a mute cannot be permanent
    assert permanent_mute.value.code == "duration_invalid"
    with pytest.raises(ValidationError) as points:
        services.sanction_issue(
            actor=actor_for(reviewer),
            kind="user_credit",
            category="ILL_OTHER",
            target_user=member,
            points=10_000,
        )
    assert points.value.code == "points_invalid"
    assert Sanction.objects.count() == 1


def test_r11_2_a_permanent_measure_waits_for_a_different_supervisor(reviewer, supervisor, member):
    sanction = services.sanction_issue(
        actor=actor_for(supervisor),
        kind="user_create",
        category="CONDUCT_FRAUD_SPAM",
        target_user=member,
        permanent=True,
    )
    assert sanction.status == SanctionStatus.PENDING and sanction.duration_hours is None
    assert identity_selectors.restriction_active(member, "create_group") is None  # nothing yet
    with pytest.raises(PolicyDenied) as same:
        services.sanction_decide(actor=actor_for(supervisor), sanction=sanction, approve=True)
    assert same.value.code == "same_person"
    assert AuditEvent.objects.filter(event_type="moderation.sanction_approval_denied").count() == 1
    with pytest.raises(PolicyDenied) as reviewer_only:
        services.sanction_decide(actor=actor_for(reviewer), sanction=sanction, approve=True)
    assert reviewer_only.value.code == "not_supervisor"
    assert identity_selectors.restriction_active(member, "create_group") is None


def test_r11_2_the_approval_starts_the_measure_and_counts_its_end_from_then(
    reviewer, supervisor, member, later
):
    sanction = services.sanction_issue(
        actor=actor_for(reviewer),
        kind="user_suspend",
        category="ILL_OTHER",
        target_user=member,
        permanent=True,
    )
    moved = later(hours=5)
    services.sanction_decide(actor=actor_for(supervisor), sanction=sanction, approve=True)
    sanction.refresh_from_db()
    assert sanction.starts_at == moved and sanction.until is None
    assert identity_selectors.restriction_active(member, "suspended").until is None


def test_r11_2_refusing_needs_a_note(reviewer, supervisor, member):
    sanction = services.sanction_issue(
        actor=actor_for(reviewer),
        kind="user_suspend",
        category="ILL_OTHER",
        target_user=member,
        permanent=True,
    )
    with pytest.raises(ValidationError) as refused:
        services.sanction_decide(actor=actor_for(supervisor), sanction=sanction, approve=False)
    assert refused.value.code == "note_empty"


def test_r11_2_a_supervisor_cannot_approve_a_measure_on_themselves(reviewer, supervisor):
    sanction = services.sanction_issue(
        actor=actor_for(reviewer),
        kind="user_suspend",
        category="ILL_OTHER",
        target_user=supervisor,
        permanent=True,
    )
    with pytest.raises(PolicyDenied) as own:
        services.sanction_decide(actor=actor_for(supervisor), sanction=sanction, approve=True)
    assert own.value.code == "own_sanction"


def test_r11_1_every_decision_and_its_effect_are_audited(reviewer, supervisor, group, member):
    sanction = services.sanction_issue(
        actor=actor_for(reviewer), kind="group_closure", category="ILL_OTHER", target_group=group
    )
    services.sanction_decide(actor=actor_for(supervisor), sanction=sanction, approve=True)
    issued = AuditEvent.objects.get(event_type="moderation.sanction_issued")
    assert issued.actor_id == reviewer.pk and issued.data["needs_approval"] is True
    approved = AuditEvent.objects.get(event_type="moderation.sanction_approved")
    assert approved.actor_id == supervisor.pk and approved.data["decided_by"] == reviewer.pk
    effect = AuditEvent.objects.get(event_type="groups.restriction_added")
    assert effect.actor_kind == "system" and effect.data["reason_ref"] == f"sanction:{sanction.pk}"


def test_r11_2_expiry_job_is_idempotent_and_tells_the_person(reviewer, member, later):
    from notifications.models import Notification

    mute = _mute(reviewer, member, duration_hours=1)
    credit = services.sanction_issue(
        actor=actor_for(reviewer), kind="user_credit", category="ILL_OTHER", target_user=member
    )
    later(hours=2)
    assert services.sanctions_expire(actor=actor_for(reviewer)) == 1
    assert services.sanctions_expire(actor=actor_for(reviewer)) == 0
    mute.refresh_from_db()
    credit.refresh_from_db()
    assert mute.status == SanctionStatus.EXPIRED and credit.status == SanctionStatus.ACTIVE  # untimed
    assert Notification.objects.filter(recipient=member, kind="moderation.sanction_ended").count() == 1


def test_r11_2_the_expiry_task_runs_as_the_system(reviewer, member, later):
    from moderation import tasks

    _mute(reviewer, member, duration_hours=1)
    later(hours=2)
    assert tasks.sanctions_expire.delay().get() == 1
    assert AuditEvent.objects.get(event_type="moderation.sanctions_expired").actor_kind == "system"


def test_r11_1_every_measure_is_reportable_with_its_data(reviewer, group, member, message):
    from moderation.models import Case

    case = Case.objects.create(
        kind="message",
        target_key="message:x",
        group=group,
        message=message,
        subject=member,
        category="CONDUCT_FRAUD_SPAM",
        category_kind="conduct",
        complaint_count=3,
        deadline=message.created_at,
    )
    sanction = _mute(reviewer, member, case=case, note="刷单")
    data = sanction.report_data
    assert sanction.reportable
    assert (
        data["article"] == "11(2)"
        and data["measure"] == "user_mute"
        and data["category"] == "CONDUCT_FRAUD_SPAM"
    )
    assert data["case"] == case.pk and data["complaints"] == 3 and data["explanation"] == "刷单"
    assert data["starts_at"] and data["until"] and data["permanent"] is False
    assert data["decided_by"] == reviewer.pk and data["approved_by"] is None
    assert sanction.evidence["case"]["id"] == case.pk
    assert sanction.evidence["group"]["recent_messages"][-1]["text"] == "之后1"
    assert sanction.evidence["person"]["user_id"] == member.pk
