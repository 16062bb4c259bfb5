"""Reading complaints and cases. Fetch and authorise together: a target one may not report is a 404."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.http import Http404

from common.actors import Actor
from common.reasons import ReasonKind
from groups.codes import group_code_is_valid, group_code_normalise
from groups.models import ChatGroup, Membership, Message, MessageStatus
from moderation import policies
from moderation.models import Case, CaseStatus, Complaint, TargetKind


@dataclass(frozen=True)
class ReportTarget:
    """What a complaint is about: a message, a member (of ``group``) or the group itself."""

    kind: str
    group: ChatGroup
    message: Message | None = None
    subject: Any = None  # the member reported, or the message's sender

    @property
    def key(self) -> str:
        if self.kind == TargetKind.MESSAGE:
            return f"message:{self.message.pk}"
        if self.kind == TargetKind.MEMBER:
            return f"member:{self.group.pk}:{self.subject.pk}"
        return f"group:{self.group.pk}"


def report_target_for_actor(
    actor: Actor, code: str, *, message_seq: int | None = None, member_id: int | None = None
) -> ReportTarget:
    """R12.1: the target the actor may report, or 404 for anything else (unknown, not visible to them,
    or not theirs to report), so that codes, sequence numbers and ids cannot be probed."""
    code = group_code_normalise(code) if isinstance(code, str) else ""
    if not group_code_is_valid(code):
        raise Http404
    group = ChatGroup.objects.filter(code=code).first()
    if group is None:
        raise Http404
    if message_seq is not None:
        message = (
            Message.objects.filter(group=group, seq=message_seq, status=MessageStatus.VISIBLE)
            .select_related("sender", "attachment")
            .first()
        )
        if message is None:
            raise Http404
        target = ReportTarget(TargetKind.MESSAGE, group, message, message.sender)
    elif member_id is not None:
        membership = (
            Membership.objects.filter(group=group, user_id=member_id, left_at__isnull=True)
            .select_related("user")
            .first()
        )
        if membership is None:
            raise Http404
        target = ReportTarget(TargetKind.MEMBER, group, None, membership.user)
    else:
        target = ReportTarget(TargetKind.GROUP, group)
    decision = policies.can_report(actor, target)
    if not decision and decision.code in ("not_found", "not_member"):
        raise Http404
    return target


def complaint_list_for_reporter(user, *, limit: int = 200) -> list[Complaint]:
    """R12.1: the person's own reports, newest first, each with its case's status and outcome."""
    if user is None or not user.is_authenticated:
        return []
    return list(
        Complaint.objects.filter(reporter=user)
        .select_related("case", "case__group")
        .order_by("-created_at")[:limit]
    )


def _public_message(snapshot: dict | None) -> dict | None:
    """The frozen message as the group's managers may see it: what was said and by whom, nothing else."""
    if not snapshot:
        return None
    keys = ("seq", "sender_id", "sender_nickname", "sender_role", "text", "created_at", "attachment")
    return {key: snapshot.get(key) for key in keys}


def case_list_for_group_managers(group: ChatGroup, *, limit: int = 200) -> list[dict]:
    """R12.1: the group's conduct cases (messages and members reported for prohibited conduct) as plain
    rows for its owner and admins: target, reason, count, status, outcome and the frozen message or member.
    Nothing about the reporters: not who, not how, not what they wrote."""
    cases = list(
        Case.objects.filter(
            group=group,
            kind__in=[TargetKind.MESSAGE, TargetKind.MEMBER],
            category_kind=ReasonKind.CONDUCT,
        ).order_by("status", "-updated_at", "-pk")[:limit]
    )
    first_evidence = {}
    for case_id, evidence in (
        Complaint.objects.filter(case__in=cases)
        .order_by("case_id", "created_at", "pk")
        .values_list("case_id", "evidence")
    ):
        first_evidence.setdefault(case_id, evidence)
    rows = []
    for case in cases:
        evidence = first_evidence.get(case.pk) or {}
        member = evidence.get("member") or {}
        rows.append(
            {
                "id": case.pk,
                "kind": case.kind,
                "kind_label": case.get_kind_display(),
                "category": case.category,
                "category_label": case.get_category_display(),
                "complaint_count": case.complaint_count,
                "status": case.status,
                "status_label": case.get_status_display(),
                "outcome": case.outcome,
                "created_at": case.created_at,
                "updated_at": case.updated_at,
                "message": _public_message(evidence.get("message")),
                "member": {k: member.get(k) for k in ("user_id", "nickname", "role")} if member else None,
            }
        )
    return rows


def case_list_open(*, limit: int = 200) -> list[Case]:
    """Open cases, highest priority first, then the nearest deadline (for compliance staff)."""
    return list(
        Case.objects.filter(status=CaseStatus.OPEN)
        .select_related("group")
        .order_by("-priority", "deadline", "pk")[:limit]
    )


def case_get_for_staff(actor: Actor, pk: int) -> Case:
    """A case with its group, for compliance staff who may decide it; the caller has checked the policy."""
    policies.require_decide_case(actor.user)
    case = Case.objects.filter(pk=pk).select_related("group", "message", "subject", "decided_by").first()
    if case is None:
        raise Http404
    return case


def case_complaints(case: Case) -> list[Complaint]:
    """Every complaint of a case with its reporter, oldest first (compliance staff only)."""
    return list(case.complaints.select_related("reporter").order_by("created_at", "pk"))


def case_reporters(case: Case) -> list:
    """The signed-in people who reported a case (to be told its outcome)."""
    ids = case.complaints.filter(reporter__isnull=False).values_list("reporter_id", flat=True)
    return list(get_user_model().objects.filter(pk__in=ids))
