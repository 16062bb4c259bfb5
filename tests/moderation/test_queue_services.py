"""R12.1: the review queue: one place for everything waiting for a person, ordered by priority then
deadline, claimed by one reviewer at a time, escalated when overdue, and decided through the owning app."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import ValidationError
from django.utils import timezone

from audit.models import AuditEvent
from common.actors import Actor
from common.policies import PolicyDenied
from groups import services as group_services
from groups.models import ChatGroup, Message
from identity import services as identity_services
from identity.models import VerificationStatus
from moderation import rules, selectors, services, tasks
from moderation.models import Case, ReviewItem, ReviewKind, ReviewStatus
from notifications.models import Notification
from tests.conftest import actor_for
from tests.factories import UnverifiedUserFactory, UserFactory, valid_id_number

CONDUCT = "CONDUCT_FRAUD_SPAM"
ILLEGAL = "ILL_OBSCENE_GAMBLING_VIOLENCE"
SYSTEM = Actor.system()


def _file(user, group, *, seq=None, member_id=None, category=CONDUCT):
    actor = actor_for(user)
    target = selectors.report_target_for_actor(actor, group.code, message_seq=seq, member_id=member_id)
    return services.complaint_file(actor=actor, target=target, category=category)


def _joined(group, **fields):
    user = UserFactory(**fields)
    group_services.membership_join(actor=actor_for(user), group=group, invite_token=group.invite_token)
    return user


def _item(kind, object_id) -> ReviewItem:
    return ReviewItem.objects.get(kind=kind, object_id=object_id)


def _sync():
    return services.review_queue_sync(actor=SYSTEM)


def _pending_verification(settings):
    settings.IDENTITY_VERIFIER = "staff"
    user = UnverifiedUserFactory(nickname="待审核")
    identity_services.agreement_accept(actor=actor_for(user))
    return identity_services.verification_submit(
        actor=actor_for(user), real_name="王五", id_number=valid_id_number(), consent=True
    )


# --- roles ---------------------------------------------------------------------------------------------


def test_r12_1_roles_reviewer_and_supervisor_come_with_their_permissions(db):
    reviewer = {
        f"{p.content_type.app_label}.{p.codename}"
        for p in Group.objects.get(name="reviewer").permissions.all()
    }
    supervisor = {
        f"{p.content_type.app_label}.{p.codename}"
        for p in Group.objects.get(name="supervisor").permissions.all()
    }
    decide = {
        "moderation.change_case",
        "groups.review_message",
        "groups.review_chatgroup",
        "identity.review_identityverification",
    }
    assert decide <= reviewer and "moderation.receive_escalations" not in reviewer
    assert reviewer | {"moderation.receive_escalations"} <= supervisor


# --- feeding the queue ---------------------------------------------------------------------------------


def test_r12_1_a_complaint_opens_its_case_item_and_more_reporters_raise_it(group, message, reporter, owner):
    case = _file(reporter, group, seq=message.seq).case
    item = _item(ReviewKind.CASE, case.pk)
    assert (item.status, item.reporters, item.group_id, item.subject_id) == (
        "open",
        1,
        group.pk,
        message.sender_id,
    )
    assert item.title == "你这个骗子，快转账" and item.deadline == case.deadline and item.group_size == 3
    first = item.priority
    _file(owner, group, seq=message.seq)
    item.refresh_from_db()
    assert item.reporters == 2 and item.priority == first + rules.QUEUE_PRIORITY_WEIGHTS["per_reporter"]
    assert ReviewItem.objects.filter(kind=ReviewKind.CASE, object_id=case.pk).count() == 1


def test_r12_1_sync_queues_held_messages_group_requests_and_identity_reviews(
    group, held, owner, settings, queue_reviewer
):
    pending_group = group_services.group_create(actor=actor_for(owner), name="团购群", category="trade")
    verification = _pending_verification(settings)
    result = _sync()
    assert result["opened"] == {"held_message": 1, "group_request": 1, "identity_review": 1}
    message_item = _item(ReviewKind.HELD_MESSAGE, held.pk)
    assert message_item.category == CONDUCT and message_item.subject_id == held.sender_id
    assert message_item.title == "周末一起刷单赚钱" and message_item.group_size == 2
    assert _item(ReviewKind.GROUP_REQUEST, pending_group.pk).subject_id == owner.pk
    assert _item(ReviewKind.IDENTITY_REVIEW, verification.pk).subject_id == verification.user_id
    assert _sync() == {"opened": {}, "settled": {}}  # nothing new: nothing done twice
    assert AuditEvent.objects.filter(event_type="moderation.review_queue_synced").count() == 1


def test_r12_1_sync_settles_items_decided_elsewhere(group, owner, settings, queue_reviewer):
    pending_group = group_services.group_create(actor=actor_for(owner), name="团购群", category="trade")
    _sync()
    # decided through the older group-requests page, not the queue
    group_services.group_creation_decide(actor=actor_for(queue_reviewer), group=pending_group, approve=True)
    assert _sync()["settled"] == {"group_request": 1}
    assert _item(ReviewKind.GROUP_REQUEST, pending_group.pk).status == ReviewStatus.SETTLED


def test_r12_1_quick_sync_runs_at_most_once_in_its_window(group, held, queue_reviewer, settings):
    settings.MODERATION_QUEUE_SYNC_SECONDS = 60
    actor = actor_for(queue_reviewer)
    assert services.review_queue_sync(actor=actor, quick=True)["opened"] == {"held_message": 1}
    assert services.review_queue_sync(actor=actor, quick=True) == {}


def test_r12_1_sync_and_jobs_are_refused_to_members(member):
    with pytest.raises(PolicyDenied):
        services.review_queue_sync(actor=actor_for(member))
    with pytest.raises(PolicyDenied):
        services.review_queue_escalate(actor=actor_for(member))


# --- priority and deadlines ----------------------------------------------------------------------------


def test_r12_1_priority_illegal_first_then_reporters_group_size_and_accuracy():
    conduct_crowd = rules.queue_priority(
        kind="case", category=CONDUCT, reporters=500, group_size=500, accuracy=1.0, escalated=True
    )
    illegal_alone = rules.queue_priority(
        kind="case", category=ILLEGAL, reporters=1, group_size=1, accuracy=0.0
    )
    assert illegal_alone > conduct_crowd  # no bonus lifts an item into the next band
    base = {"kind": "held_message", "category": CONDUCT}
    assert rules.queue_priority(**base, reporters=3) > rules.queue_priority(**base, reporters=1)
    assert rules.queue_priority(**base, group_size=400) > rules.queue_priority(**base, group_size=3)
    assert rules.queue_priority(**base, accuracy=0.9) > rules.queue_priority(**base, accuracy=0.2)
    assert rules.queue_priority(kind="group_request") == 1500 + 100  # its kind's band, accuracy unknown


def test_r12_1_priority_weights_and_bands_come_from_the_settings(settings):
    settings.MODERATION_QUEUE_PRIORITY_BASE = {"group_request": 5000}
    settings.MODERATION_QUEUE_PRIORITY_WEIGHTS = {"accuracy": 0}
    assert rules.queue_priority(kind="group_request") == 5000
    assert rules.queue_priority(kind="case", category=ILLEGAL) == 4000


def test_r12_1_reporters_past_accuracy_raises_their_reports(
    group, message, reporter, owner, member, queue_reviewer
):
    reliable, unreliable = _joined(group), _joined(group)
    for n in range(3):  # the reliable reporter's earlier reports were upheld, the other's dismissed
        for who, resolution in ((reliable, "upheld"), (unreliable, "dismissed")):
            sent, _ = group_services.message_send(
                actor=actor_for(member),
                group=group,
                body=f"广告{n}{resolution}",
                client_msg_id=f"ad{n}{resolution}",
            )
            case = _file(who, group, seq=sent.seq).case
            services.case_close(
                actor=actor_for(queue_reviewer), case=case, outcome="处理", resolution=resolution
            )
    first, _ = group_services.message_send(
        actor=actor_for(member), group=group, body="甲", client_msg_id="x1"
    )
    second, _ = group_services.message_send(
        actor=actor_for(member), group=group, body="乙", client_msg_id="x2"
    )
    by_reliable = _item(ReviewKind.CASE, _file(reliable, group, seq=first.seq).case_id)
    by_unreliable = _item(ReviewKind.CASE, _file(unreliable, group, seq=second.seq).case_id)
    assert by_reliable.reporter_accuracy > 0.5 > by_unreliable.reporter_accuracy
    assert by_reliable.priority > by_unreliable.priority


def test_r12_1_the_queue_is_ordered_by_priority_then_deadline(
    group, message, reporter, member, held, queue_reviewer
):
    conduct = _item(ReviewKind.CASE, _file(reporter, group, member_id=member.pk).case_id)
    illegal = _item(ReviewKind.CASE, _file(reporter, group, seq=message.seq, category=ILLEGAL).case_id)
    _sync()
    held_item = _item(ReviewKind.HELD_MESSAGE, held.pk)
    twin = ReviewItem.objects.create(
        kind=ReviewKind.APPEAL,
        object_id=1,
        priority=held_item.priority,
        deadline=held_item.deadline - timedelta(hours=1),
    )
    kinds = ["case", "held_message", "group_request", "identity_review"]
    order = [i.pk for i in selectors.queue_list(queue_reviewer, [*kinds, "appeal"], selectors.QueueFilters())]
    assert order[0] == illegal.pk
    assert order.index(twin.pk) < order.index(held_item.pk)  # same priority: the nearer deadline first
    assert order.index(held_item.pk) < order.index(conduct.pk) or held_item.priority < conduct.priority


def test_r12_1_deadlines_by_kind_and_category_come_from_the_settings(group, held, settings, member):
    _sync()
    item = _item(ReviewKind.HELD_MESSAGE, held.pk)
    assert (
        round((item.deadline - item.created_at).total_seconds() / 3600)
        == rules.QUEUE_DEADLINE_HOURS["held_message"]
    )
    settings.MODERATION_QUEUE_DEADLINE_HOURS = {"held_message:CONDUCT_FRAUD_SPAM": 1}
    assert rules.queue_deadline_hours("held_message", CONDUCT) == 1
    assert rules.queue_deadline_hours("held_message", ILLEGAL) == 2  # the default for illegal held messages
    assert rules.queue_deadline_hours("group_request") == 72


# --- claims --------------------------------------------------------------------------------------------


def test_r12_1_claim_next_hands_out_the_most_urgent_free_item(
    group, message, reporter, member, queue_reviewer, queue_reviewer2
):
    conduct = _file(reporter, group, member_id=member.pk).case
    illegal = _file(reporter, group, seq=message.seq, category=ILLEGAL).case
    first = services.review_claim_next(actor=actor_for(queue_reviewer))
    second = services.review_claim_next(actor=actor_for(queue_reviewer2))
    assert (first.object_id, second.object_id) == (illegal.pk, conduct.pk)
    assert first.claimed_by == queue_reviewer and first.claimed_until > timezone.now()
    assert services.review_claim_next(actor=actor_for(queue_reviewer2)) is None
    assert AuditEvent.objects.filter(event_type="moderation.review_item_claimed").count() == 2


def test_r12_1_claim_next_never_hands_out_an_item_about_oneself(group, message, reporter, member):
    _file(reporter, group, seq=message.seq)  # about the member's message
    from tests.moderation.conftest import queue_role

    member.is_staff = True
    member.save()
    member.groups.add(queue_role("reviewer"))
    member = type(member).objects.get(pk=member.pk)
    assert services.review_claim_next(actor=actor_for(member)) is None


def test_r12_1_claim_next_only_offers_kinds_the_reviewer_decides(group, held, message, reporter):
    _file(reporter, group, seq=message.seq)
    _sync()
    screener = UserFactory(is_staff=True)
    screener.user_permissions.add(Permission.objects.get(codename="review_message"))
    screener = type(screener).objects.get(pk=screener.pk)
    assert services.review_claim_next(actor=actor_for(screener)).kind == ReviewKind.HELD_MESSAGE
    assert services.review_claim_next(actor=actor_for(screener)) is None  # the case is not theirs


def test_r12_1_a_claim_expires_and_the_item_comes_back(
    group, message, reporter, queue_reviewer, queue_reviewer2, later, settings
):
    settings.MODERATION_QUEUE_CLAIM_MINUTES = 20
    _file(reporter, group, seq=message.seq)
    item = services.review_claim_next(actor=actor_for(queue_reviewer))
    assert services.review_claim_next(actor=actor_for(queue_reviewer2)) is None
    with pytest.raises(PolicyDenied) as taken:
        services.review_claim(actor=actor_for(queue_reviewer2), item=item)
    assert taken.value.code == "claimed_by_other" and "审核员一" in taken.value.message
    later(minutes=21)
    again = services.review_claim_next(actor=actor_for(queue_reviewer2))
    assert again.pk == item.pk and again.claimed_by == queue_reviewer2


def test_r12_1_release_own_claim_and_a_supervisor_frees_anyones(
    group, message, reporter, queue_reviewer, queue_reviewer2, queue_supervisor
):
    _file(reporter, group, seq=message.seq)
    item = services.review_claim_next(actor=actor_for(queue_reviewer))
    with pytest.raises(PolicyDenied) as refused:
        services.review_claim_release(actor=actor_for(queue_reviewer2), item=item)
    assert refused.value.code == "not_yours"
    services.review_claim_release(actor=actor_for(queue_supervisor), item=item)
    item.refresh_from_db()
    assert item.claimed_by is None
    assert services.review_claim_next(actor=actor_for(queue_reviewer2)).pk == item.pk
    services.review_claim_release(actor=actor_for(queue_reviewer2), item=item)
    assert AuditEvent.objects.filter(event_type="moderation.review_item_released").count() == 2


# --- decisions -----------------------------------------------------------------------------------------


def test_r12_1_decide_a_case_upheld_tells_the_reporters(group, message, reporter, queue_reviewer):
    case = _file(reporter, group, seq=message.seq).case
    item = _item(ReviewKind.CASE, case.pk)
    services.review_item_decide(actor=actor_for(queue_reviewer), item=item, decision="uphold", note="已警告")
    case.refresh_from_db()
    item.refresh_from_db()
    assert (case.status, case.resolution, case.outcome) == ("closed", "upheld", "已警告")
    assert (item.status, item.decision, item.decided_by) == ("decided", "uphold", queue_reviewer)
    told = Notification.objects.get(recipient=reporter, kind="moderation.complaint_decided")
    assert told.context["outcome"] == "已警告"
    event = AuditEvent.objects.get(event_type="moderation.review_item_decided")
    assert event.data["decision"] == "uphold" and event.group_code == group.code


def test_r12_1_decide_a_case_remove_takes_the_message_down(group, message, reporter, queue_reviewer):
    case = _file(reporter, group, seq=message.seq).case
    item = _item(ReviewKind.CASE, case.pk)
    services.review_item_decide(actor=actor_for(queue_reviewer), item=item, decision="remove", note="广告")
    message.refresh_from_db()
    case.refresh_from_db()
    assert message.status == "removed" and message.removed_by == queue_reviewer
    assert case.resolution == "upheld"


def test_r12_1_decide_a_case_dismissed_needs_its_outcome(group, message, reporter, queue_reviewer):
    case = _file(reporter, group, seq=message.seq).case
    item = _item(ReviewKind.CASE, case.pk)
    with pytest.raises(ValidationError):
        services.review_item_decide(actor=actor_for(queue_reviewer), item=item, decision="dismiss", note=" ")
    with pytest.raises(ValidationError):
        services.review_item_decide(actor=actor_for(queue_reviewer), item=item, decision="explode", note="x")
    services.review_item_decide(
        actor=actor_for(queue_reviewer), item=item, decision="dismiss", note="未见违规"
    )
    case.refresh_from_db()
    message.refresh_from_db()
    assert (case.resolution, message.status) == ("dismissed", "visible")


def test_r12_1_decide_a_held_message_released_through_groups(group, held, queue_reviewer):
    _sync()
    item = _item(ReviewKind.HELD_MESSAGE, held.pk)
    services.review_item_decide(actor=actor_for(queue_reviewer), item=item, decision="release")
    held.refresh_from_db()
    group.refresh_from_db()
    assert held.status == "visible" and held.seq == group.last_seq
    assert AuditEvent.objects.filter(event_type="groups.held_message_released").exists()


def test_r12_1_decide_a_group_request_and_an_identity_review(owner, settings, queue_reviewer):
    pending_group = group_services.group_create(actor=actor_for(owner), name="团购群", category="trade")
    verification = _pending_verification(settings)
    _sync()
    request_item = _item(ReviewKind.GROUP_REQUEST, pending_group.pk)
    with pytest.raises(ValidationError):  # a refusal says why
        services.review_item_decide(
            actor=actor_for(queue_reviewer), item=request_item, decision="refuse", note=""
        )
    services.review_item_decide(
        actor=actor_for(queue_reviewer), item=request_item, decision="refuse", note="资质不符"
    )
    pending_group.refresh_from_db()
    assert pending_group.status == "rejected" and pending_group.review_note == "资质不符"
    identity_item = _item(ReviewKind.IDENTITY_REVIEW, verification.pk)
    services.review_item_decide(actor=actor_for(queue_reviewer), item=identity_item, decision="approve")
    verification.refresh_from_db()
    assert verification.status == VerificationStatus.VERIFIED and verification.decided_by == queue_reviewer


def test_r12_1_an_item_held_by_another_reviewer_cannot_be_decided(
    group, message, reporter, queue_reviewer, queue_reviewer2
):
    _file(reporter, group, seq=message.seq)
    item = services.review_claim_next(actor=actor_for(queue_reviewer))
    with pytest.raises(PolicyDenied) as refused:
        services.review_item_decide(
            actor=actor_for(queue_reviewer2), item=item, decision="dismiss", note="无"
        )
    assert refused.value.code == "claimed_by_other"
    assert Case.objects.get(pk=item.object_id).status == "open"


def test_r12_1_members_and_owners_decide_nothing(group, message, reporter, owner):
    case = _file(reporter, group, seq=message.seq).case
    item = _item(ReviewKind.CASE, case.pk)
    for user in (owner, reporter):
        with pytest.raises(PolicyDenied):
            services.review_item_decide(actor=actor_for(user), item=item, decision="dismiss", note="x")
        with pytest.raises(PolicyDenied):
            services.review_claim_next(actor=actor_for(user))


def test_r12_1_something_decided_elsewhere_leaves_the_queue(group, message, reporter, queue_reviewer, staff):
    case = _file(reporter, group, seq=message.seq).case
    item = _item(ReviewKind.CASE, case.pk)
    services.case_close(actor=actor_for(staff), case=case, outcome="已处理")  # the older case page
    item.refresh_from_db()
    assert item.status == ReviewStatus.SETTLED


def test_r12_1_a_held_message_decided_between_syncs_is_settled_when_decided(group, held, queue_reviewer):
    _sync()
    item = _item(ReviewKind.HELD_MESSAGE, held.pk)
    Message.objects.filter(pk=held.pk).update(status="removed")  # decided by some other door
    with pytest.raises(PolicyDenied) as stale:
        services.review_item_decide(actor=actor_for(queue_reviewer), item=item, decision="remove")
    assert stale.value.code == "already_decided"
    item.refresh_from_db()
    assert item.status == ReviewStatus.SETTLED


# --- escalation ----------------------------------------------------------------------------------------


def test_r12_1_overdue_items_are_escalated_once_and_supervisors_told(
    group, message, reporter, held, queue_reviewer, queue_supervisor, later
):
    case = _file(reporter, group, seq=message.seq).case
    _sync()
    held_item = _item(ReviewKind.HELD_MESSAGE, held.pk)
    before = {i.pk: i.priority for i in ReviewItem.objects.all()}
    later(hours=5)  # past the held message's 4 hours, not the case's 48
    assert tasks.review_queue_escalate.delay().get() == 1
    held_item.refresh_from_db()
    assert held_item.escalated_at is not None
    assert held_item.priority == before[held_item.pk] + rules.QUEUE_PRIORITY_WEIGHTS["escalation"]
    assert _item(ReviewKind.CASE, case.pk).escalated_at is None
    notice = Notification.objects.get(recipient=queue_supervisor, kind="moderation.review_escalated")
    assert notice.context["count"] == 1 and notice.context["first"] == "周末一起刷单赚钱"
    assert not Notification.objects.filter(
        recipient=queue_reviewer, kind="moderation.review_escalated"
    ).exists()
    assert tasks.review_queue_escalate.delay().get() == 0  # idempotent: escalated once
    held_item.refresh_from_db()
    assert held_item.priority == before[held_item.pk] + rules.QUEUE_PRIORITY_WEIGHTS["escalation"]
    assert Notification.objects.filter(kind="moderation.review_escalated").count() == 1
    assert AuditEvent.objects.filter(event_type="moderation.review_items_escalated").count() == 1


def test_r12_1_an_escalated_case_keeps_its_escalation_when_more_report(
    group, message, reporter, owner, queue_supervisor, later
):
    case = _file(reporter, group, seq=message.seq).case
    later(hours=49)
    services.review_queue_escalate(actor=SYSTEM)
    escalated = _item(ReviewKind.CASE, case.pk).priority
    _file(owner, group, seq=message.seq)
    assert (
        _item(ReviewKind.CASE, case.pk).priority == escalated + rules.QUEUE_PRIORITY_WEIGHTS["per_reporter"]
    )


def test_r12_1_sync_task_is_registered_and_runs(group, held):
    from django.conf import settings as django_settings

    tasks_scheduled = {entry["task"] for entry in django_settings.CELERY_BEAT_SCHEDULE.values()}
    assert {"moderation.review_queue_sync", "moderation.review_queue_escalate"} <= tasks_scheduled
    assert tasks.review_queue_sync.delay().get()["opened"] == {"held_message": 1}
    assert ChatGroup.objects.filter(pk=group.pk).exists()


def test_r12_1_quick_sync_looks_only_at_rows_that_arrived_since_its_last_run(
    group, member, lexicon, queue_reviewer
):
    actor = actor_for(queue_reviewer)
    assert services.review_queue_sync(actor=actor, quick=True) == {"opened": {}, "settled": {}}  # first run
    old, _ = group_services.message_send(
        actor=actor_for(member), group=group, body="刷单一", client_msg_id="o1"
    )
    Message.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=1))
    new, _ = group_services.message_send(
        actor=actor_for(member), group=group, body="刷单二", client_msg_id="n1"
    )
    from django.core.cache import cache

    cache.delete(services.QUEUE_SYNC_KEY)  # the window is over
    assert services.review_queue_sync(actor=actor, quick=True)["opened"] == {"held_message": 1}
    assert set(ReviewItem.objects.values_list("object_id", flat=True)) == {new.pk}
    assert _sync()["opened"] == {"held_message": 1}  # the periodic run finds the older one


def test_r12_1_claim_next_skips_what_was_decided_elsewhere(group, held, queue_reviewer):
    _sync()
    item = _item(ReviewKind.HELD_MESSAGE, held.pk)
    Message.objects.filter(pk=held.pk).update(status="removed")  # decided through another door
    assert services.review_claim_next(actor=actor_for(queue_reviewer)) is None
    item.refresh_from_db()
    assert item.status == ReviewStatus.SETTLED and item.claimed_by is None
