"""R12.1: complaints join one case per target, keep frozen evidence, are prioritised, and their reporters
are told; the group's managers see conduct cases without the reporters."""

import json

import pytest
from django.core.exceptions import ValidationError
from django.http import Http404

from audit.models import AuditEvent
from common.policies import PolicyDenied
from groups import services as group_services
from groups.models import ChatGroup
from moderation import rules, selectors, services
from moderation.models import Case, CaseStatus, Complaint
from notifications.models import Notification
from tests.conftest import actor_for
from tests.factories import UserFactory
from tests.moderation.conftest import visitor

CONDUCT = "CONDUCT_FRAUD_SPAM"
ILLEGAL = "ILL_OBSCENE_GAMBLING_VIOLENCE"


def _file(user, group, *, seq=None, member_id=None, category=CONDUCT, description="", actor=None):
    actor = actor or actor_for(user)
    target = selectors.report_target_for_actor(actor, group.code, message_seq=seq, member_id=member_id)
    return services.complaint_file(actor=actor, target=target, category=category, description=description)


def test_complaint_r12_1_opens_a_case_with_frozen_evidence(group, message, reporter, owner):
    complaint = _file(reporter, group, seq=message.seq, description="他在骗钱")
    case = complaint.case
    assert (case.kind, case.status, case.complaint_count, case.category) == ("message", "open", 1, CONDUCT)
    assert case.message_id == message.pk and case.subject_id == message.sender_id
    evidence = complaint.evidence
    assert evidence["message"]["text"] == "你这个骗子，快转账"
    assert evidence["message"]["sender_nickname"] == "成员" and evidence["message"]["sender_role"] == "member"
    assert [m["text"] for m in evidence["before"]] == ["之前0", "之前1"]
    assert [m["text"] for m in evidence["after"]] == ["之后0", "之后1"]
    assert evidence["group"]["name"] == "读书会"
    roles = {m["nickname"]: m["role"] for m in evidence["members"]}
    assert roles["群主"] == "owner" and roles["成员"] == "member"
    assert complaint.reporter == reporter and complaint.description == "他在骗钱"
    event = AuditEvent.objects.get(event_type="moderation.complaint_filed")
    assert event.group_code == group.code and event.data["case"] == case.pk


def test_complaint_r12_1_evidence_stays_after_the_message_is_removed_and_the_group_renamed(
    group, message, reporter, owner
):
    complaint = _file(reporter, group, seq=message.seq)
    group_services.message_remove(actor=actor_for(owner), message=message, reason="违规")
    group_services.group_announcement_set(actor=actor_for(owner), group=group, text="新的公告")
    ChatGroup.objects.filter(pk=group.pk).update(name="改过的名字")
    complaint.refresh_from_db()
    assert complaint.evidence["message"]["text"] == "你这个骗子，快转账"
    assert complaint.evidence["group"]["name"] == "读书会"
    assert complaint.evidence["group"]["announcement"] == ""


def test_complaint_r12_1_evidence_keeps_a_picture_message_file_name(group, member, reporter):
    import io

    from PIL import Image

    data = io.BytesIO()
    Image.linear_gradient("L").resize((32, 24)).save(data, "PNG")
    sent, _ = group_services.message_send_file(
        actor=actor_for(member),
        group=group,
        data=data.getvalue(),
        name="截图.png",
        caption="看",
        client_msg_id="f1",
    )
    complaint = _file(reporter, group, seq=sent.seq)
    assert complaint.evidence["message"]["attachment"]["name"] == "截图.png"


def test_complaint_r12_1_second_reporter_joins_the_case(group, message, reporter, owner):
    first = _file(reporter, group, seq=message.seq)
    second = _file(owner, group, seq=message.seq)
    assert first.case_id == second.case_id
    case = Case.objects.get()
    assert case.complaint_count == 2
    assert case.priority > rules.case_priority(CONDUCT, 1)


def test_complaint_r12_1_same_reporter_twice_is_refused(group, message, reporter):
    _file(reporter, group, seq=message.seq)
    with pytest.raises(PolicyDenied) as refused:
        _file(reporter, group, seq=message.seq, category=ILLEGAL)
    assert refused.value.code == "already_reported"
    assert Case.objects.get().complaint_count == 1 and Complaint.objects.count() == 1


def test_complaint_r12_1_after_the_case_closes_a_new_complaint_opens_a_new_case(
    group, message, reporter, staff
):
    first = _file(reporter, group, seq=message.seq)
    services.case_close(actor=actor_for(staff), case=first.case, outcome="已处理")
    second = _file(reporter, group, seq=message.seq)
    assert second.case_id != first.case_id and second.case.status == CaseStatus.OPEN


def test_priority_r12_1_illegal_is_above_conduct_however_many_report(group, message, reporter, owner, member):
    conduct = _file(reporter, group, member_id=member.pk)
    for _ in range(30):
        user = UserFactory()
        group_services.membership_join(actor=actor_for(user), group=group, invite_token=group.invite_token)
        _file(user, group, member_id=member.pk)
    illegal = _file(reporter, group, seq=message.seq, category=ILLEGAL)
    conduct.case.refresh_from_db()
    assert conduct.case.complaint_count == 31
    assert illegal.case.priority > conduct.case.priority
    assert illegal.case.deadline < conduct.case.deadline
    assert [c.pk for c in selectors.case_list_open()] == [illegal.case_id, conduct.case_id]


def test_priority_r12_1_an_illegal_complaint_raises_a_conduct_case(group, message, reporter, owner):
    conduct = _file(reporter, group, seq=message.seq)
    _file(owner, group, seq=message.seq, category=ILLEGAL)
    case = Case.objects.get(pk=conduct.case_id)
    assert (case.category, case.category_kind) == (ILLEGAL, "illegal")
    assert case.priority == rules.case_priority(ILLEGAL, 2)
    assert case.deadline < conduct.case.deadline


def test_deadline_r12_1_comes_from_the_settings(group, message, reporter, settings):
    settings.MODERATION_DEADLINE_HOURS = {"message:conduct": 2}
    case = _file(reporter, group, seq=message.seq).case
    assert round((case.deadline - case.created_at).total_seconds() / 3600) == 2


def test_report_r12_1_non_member_gets_404_for_a_message_or_member(group, message, outsider, member):
    for kwargs in ({"message_seq": message.seq}, {"member_id": member.pk}, {}):
        with pytest.raises(Http404):
            selectors.report_target_for_actor(actor_for(outsider), group.code, **kwargs)


def test_report_r12_1_unknown_message_or_member_is_404(group, message, reporter, outsider):
    with pytest.raises(Http404):
        selectors.report_target_for_actor(actor_for(reporter), group.code, message_seq=999)
    with pytest.raises(Http404):
        selectors.report_target_for_actor(actor_for(reporter), group.code, member_id=outsider.pk)


def test_report_r12_1_the_service_refuses_a_non_member_whatever_the_door(group, message, reporter, outsider):
    target = selectors.report_target_for_actor(actor_for(reporter), group.code, message_seq=message.seq)
    with pytest.raises(PolicyDenied) as refused:
        services.complaint_file(actor=actor_for(outsider), target=target, category=CONDUCT)
    assert refused.value.code == "not_member"


def test_report_r12_1_nobody_reports_themselves(group, member):
    target = selectors.report_target_for_actor(actor_for(member), group.code, member_id=member.pk)
    with pytest.raises(PolicyDenied) as refused:
        services.complaint_file(actor=actor_for(member), target=target, category=CONDUCT)
    assert refused.value.code == "report_self"


def test_report_r12_1_unknown_category_and_long_description_are_refused(group, message, reporter):
    with pytest.raises(ValidationError):
        _file(reporter, group, seq=message.seq, category="NOPE")
    with pytest.raises(ValidationError):
        _file(reporter, group, seq=message.seq, description="长" * 1001)
    assert not Case.objects.exists()


def test_visitor_r12_1_reports_a_public_group_only(group, settings):
    with pytest.raises(Http404):
        selectors.report_target_for_actor(visitor(), group.code)
    settings.GROUP_INFO_PAGE_THRESHOLD = 2
    complaint = _file(None, group, actor=visitor(), category="ILL_RUMOR")
    assert complaint.reporter is None and complaint.reporter_ip == "203.0.113.7"
    assert complaint.case.kind == "group"


def test_visitor_r12_1_is_rate_limited_per_ip(group, settings):
    settings.GROUP_INFO_PAGE_THRESHOLD = 2
    settings.MODERATION_VISITOR_COMPLAINTS_PER_HOUR = 2
    _file(None, group, actor=visitor("203.0.113.1"))
    with pytest.raises(PolicyDenied) as twice:  # the same address reports the same group once
        _file(None, group, actor=visitor("203.0.113.1"))
    assert twice.value.code == "already_reported"
    with pytest.raises(PolicyDenied) as limited:
        _file(None, group, actor=visitor("203.0.113.1"))
    assert limited.value.code == "rate_limited" and limited.value.retry_after > 0
    _file(None, group, actor=visitor("203.0.113.2"))  # another address is counted apart


def test_member_r12_1_is_rate_limited_per_person(group, message, reporter, member, settings):
    settings.MODERATION_MEMBER_COMPLAINTS_PER_HOUR = 1
    _file(reporter, group, seq=message.seq)
    with pytest.raises(PolicyDenied) as limited:
        _file(reporter, group, member_id=member.pk)
    assert limited.value.code == "rate_limited"


def test_reporter_r12_1_is_told_of_receipt_and_outcome(group, message, reporter, owner, staff):
    complaint = _file(reporter, group, seq=message.seq)
    _file(owner, group, seq=message.seq)
    received = Notification.objects.get(recipient=reporter, kind="moderation.complaint_received")
    assert received.context["group_name"] == "读书会"
    case = services.case_close(
        actor=actor_for(staff), case=complaint.case, outcome="消息已删除，发送者已禁言"
    )
    assert case.status == "closed" and case.decided_by == staff and case.decided_at
    for user in (reporter, owner):
        told = Notification.objects.get(recipient=user, kind="moderation.complaint_decided")
        assert told.context["outcome"] == "消息已删除，发送者已禁言"
    assert AuditEvent.objects.filter(
        event_type="moderation.case_closed", reason="消息已删除，发送者已禁言"
    ).exists()
    mine = selectors.complaint_list_for_reporter(reporter)
    assert [(c.case.status, c.case.outcome) for c in mine] == [("closed", "消息已删除，发送者已禁言")]


def test_case_close_r12_1_is_for_compliance_staff_only_and_once(group, message, reporter, owner, staff):
    case = _file(reporter, group, seq=message.seq).case
    for user in (owner, reporter):
        with pytest.raises(PolicyDenied):
            services.case_close(actor=actor_for(user), case=case, outcome="x")
    with pytest.raises(ValidationError):
        services.case_close(actor=actor_for(staff), case=case, outcome="  ")
    services.case_close(actor=actor_for(staff), case=case, outcome="已处理")
    with pytest.raises(PolicyDenied) as again:
        services.case_close(actor=actor_for(staff), case=case, outcome="再次")
    assert again.value.code == "case_closed"


def test_managers_r12_1_see_conduct_cases_without_the_reporter(group, message, reporter, member):
    _file(reporter, group, seq=message.seq, description="王小明在此作证")
    _file(reporter, group, member_id=member.pk, category="CONDUCT_CYBERVIOLENCE")
    _file(reporter, group, category="HARM_VULGAR")  # about the group: the platform's alone
    rows = selectors.case_list_for_group_managers(group)
    assert {row["kind"] for row in rows} == {"message", "member"}
    text = json.dumps(rows, default=str, ensure_ascii=False)
    for leak in ("王小明", "wangxm", "reporter", "description", "evidence", "ip"):
        assert leak not in text, leak
    people = [row["message"]["sender_id"] for row in rows if row["message"]]
    people += [row["member"]["user_id"] for row in rows if row["member"]]
    assert reporter.pk not in people and set(people) == {member.pk}
    message_row = next(row for row in rows if row["kind"] == "message")
    assert message_row["message"]["text"] == "你这个骗子，快转账"


def test_managers_r12_1_do_not_see_illegal_or_harmful_cases(group, message, reporter):
    _file(reporter, group, seq=message.seq, category=ILLEGAL)
    assert selectors.case_list_for_group_managers(group) == []


def test_retention_r13_2_erases_old_complaint_evidence_of_closed_cases_unless_held(
    group, message, reporter, staff, settings
):
    from datetime import timedelta

    from django.contrib.auth.models import Permission
    from django.utils import timezone

    from audit import services as audit_services
    from common.actors import Actor, Door

    old = _file(reporter, group, seq=message.seq)
    services.case_close(actor=actor_for(staff), case=old.case, outcome="已处理")
    still_open = _file(reporter, group, member_id=message.sender_id)  # its case is not decided yet
    long_ago = timezone.now() - timedelta(days=settings.RETENTION_DAYS["evidence_snapshots"] + 1)
    Complaint.objects.filter(pk__in=[old.pk, still_open.pk]).update(created_at=long_ago)
    system = Actor.system(door=Door.TASK)
    officer = UserFactory(is_staff=True)
    officer.user_permissions.add(Permission.objects.get(codename="export_auditevent"))
    hold = audit_services.legal_hold_set(
        actor=actor_for(officer), target_type="group", target_id=group.code, reason="调查"
    )
    audit_services.retention_purge(actor=system, record_class="evidence_snapshots")
    old.refresh_from_db()
    assert old.evidence != {"purged": True} and old.evidence  # held: kept whole
    audit_services.legal_hold_lift(actor=actor_for(officer), hold=hold, reason="结束")
    audit_services.retention_purge(actor=system, record_class="evidence_snapshots")
    old.refresh_from_db()
    assert old.evidence == {"purged": True} and old.description == "" and old.reporter_ip is None
    assert old.case.status == CaseStatus.CLOSED and old.category  # the record of the complaint stays
    still_open.refresh_from_db()
    assert still_open.evidence != {"purged": True}  # an open case keeps its evidence
