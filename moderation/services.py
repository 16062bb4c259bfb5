"""Moderation services: the one door for filing complaints and deciding cases (R12.1).

Order inside each: policy → write → audit in the same transaction → notices after commit (``notify``).
"""

from __future__ import annotations

from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from audit.services import audit_record
from common.actors import Actor
from common.policies import PolicyDenied
from common.reasons import Reason, reason_kind
from groups.models import Membership, Message, MessageStatus
from moderation import policies, selectors
from moderation.models import Case, CaseStatus, Complaint, TargetKind
from moderation.rules import case_deadline_hours, case_priority, stronger
from moderation.selectors import ReportTarget
from notifications.services import notify

DESCRIPTION_MAX = 1000
OUTCOME_MAX = 1000
CONTROL_OK = "\n\t"

# Messages frozen on each side of a reported one, and members' roles kept at most (a group's cap is 500).
CONTEXT_MESSAGES = 5
EVIDENCE_MEMBERS_MAX = 2000

# How a notice names the target (message ids, translated when shown).
TARGET_LABELS = {
    TargetKind.MESSAGE: gettext_noop("a message"),
    TargetKind.MEMBER: gettext_noop("a member"),
    TargetKind.GROUP: gettext_noop("the group"),
}


def _clean(value, *, field: str, label: str, max_length: int, required: bool) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if required and not text:
        raise ValidationError(_("%(field)s cannot be empty.") % {"field": label}, code=f"{field}_empty")
    if len(text) > max_length:
        raise ValidationError(
            _("%(field)s is too long: at most %(max)d characters.") % {"field": label, "max": max_length},
            code=f"{field}_too_long",
        )
    if any((ord(ch) < 32 and ch not in CONTROL_OK) or 0xD800 <= ord(ch) <= 0xDFFF for ch in text):
        raise ValidationError(
            _("%(field)s contains characters that cannot be shown.") % {"field": label},
            code=f"{field}_invalid",
        )
    return text


def _clean_category(category) -> str:
    if not isinstance(category, str) or category not in Reason.values:
        raise ValidationError(_("Choose a reason for the report."), code="category_invalid")
    return category


# --- evidence ------------------------------------------------------------------------------------------


def _message_snapshot(message: Message, roles: dict[int, str]) -> dict:
    shown = message.status == MessageStatus.VISIBLE
    attachment = None
    if message.attachment_id is not None:
        a = message.attachment
        attachment = {"kind": a.kind, "name": a.name, "size": a.size, "sha256": a.sha256}
    return {
        "id": message.pk,
        "seq": message.seq,
        "sender_id": message.sender_id,
        "sender_nickname": message.sender.display_name,
        "sender_role": roles.get(message.sender_id, "former member"),
        "status": message.status,
        # What members saw: a removed or recalled neighbour is kept as a place, not its text.
        "text": message.body if shown else "",
        "created_at": message.created_at.isoformat(),
        "attachment": attachment if shown else None,
    }


def _freeze(target: ReportTarget) -> dict:
    """House rule 8: the evidence as it is now, kept with the complaint whatever happens later."""
    group = target.group
    memberships = list(
        Membership.objects.filter(group=group, left_at__isnull=True)
        .select_related("user")
        .order_by("joined_at", "pk")[:EVIDENCE_MEMBERS_MAX]
    )
    roles = {m.user_id: m.role for m in memberships}
    evidence = {
        "frozen_at": timezone.now().isoformat(),
        "target": target.kind,
        "group": {
            "id": group.pk,
            "code": group.code,
            "name": group.name,
            "status": group.status,
            "announcement": group.announcement,
            "description": group.description,
        },
        "members": [
            {"user_id": m.user_id, "nickname": m.user.display_name, "role": m.role} for m in memberships
        ],
        "message": None,
        "before": [],
        "after": [],
        "member": None,
    }
    if target.message is not None:
        message = target.message
        evidence["message"] = _message_snapshot(message, roles)
        nearby = Message.objects.filter(group=group, seq__isnull=False).select_related("sender", "attachment")
        before = nearby.filter(seq__lt=message.seq).order_by("-seq")[:CONTEXT_MESSAGES]
        after = nearby.filter(seq__gt=message.seq).order_by("seq")[:CONTEXT_MESSAGES]
        evidence["before"] = [_message_snapshot(m, roles) for m in reversed(list(before))]
        evidence["after"] = [_message_snapshot(m, roles) for m in after]
    if target.kind == TargetKind.MEMBER:
        subject = target.subject
        membership = next((m for m in memberships if m.user_id == subject.pk), None)
        evidence["member"] = {
            "user_id": subject.pk,
            "nickname": subject.display_name,
            "role": membership.role if membership else "",
            "joined_at": membership.joined_at.isoformat() if membership else None,
        }
    return evidence


# --- complaints ----------------------------------------------------------------------------------------


def _open_case(target: ReportTarget, category: str) -> tuple[Case, bool]:
    """The target's open case, locked, or a new one (two first complaints at once make one case)."""
    case = Case.objects.select_for_update().filter(target_key=target.key, status=CaseStatus.OPEN).first()
    if case is not None:
        return case, False
    now = timezone.now()
    try:
        with transaction.atomic():
            case = Case.objects.create(
                kind=target.kind,
                target_key=target.key,
                group=target.group,
                message=target.message,
                subject=target.subject,
                category=category,
                category_kind=reason_kind(category).value,
                priority=case_priority(category, 1),
                complaint_count=0,
                deadline=now + timedelta(hours=case_deadline_hours(target.kind, category)),
            )
    except IntegrityError:  # another first complaint made it a moment ago
        return Case.objects.select_for_update().get(target_key=target.key, status=CaseStatus.OPEN), False
    return case, True


def _already_reported(actor: Actor, case: Case) -> bool:
    mine = (
        Q(reporter_id=actor.user_id)
        if actor.is_authenticated
        else Q(reporter__isnull=True, reporter_ip=actor.ip)
    )
    return case.complaints.filter(mine).exists()


def complaint_file(*, actor: Actor, target: ReportTarget, category: str, description: str = "") -> Complaint:
    """R12.1: file a complaint about a message, a member or a group. It joins the target's open case (one
    case per target, counting its complaints; the strongest reason and the number of reporters set its
    priority and deadline) and keeps the evidence frozen now. A person reports a target once per open
    case (a logged-out visitor once per address); a second time is refused with ``already_reported``.
    A signed-in reporter is told it was received and, later, the outcome."""
    policies.require_report(actor, target)
    policies.require_within_report_rate(actor)
    category = _clean_category(category)
    description = _clean(
        description, field="description", label=_("What happened"), max_length=DESCRIPTION_MAX, required=False
    )
    with transaction.atomic():
        case, _created = _open_case(target, category)
        if _already_reported(actor, case):
            raise PolicyDenied(
                "already_reported",
                _("You have already reported this. We will tell you the outcome when it has been handled."),
            )
        complaint = Complaint.objects.create(
            case=case,
            reporter=actor.user if actor.is_authenticated else None,
            reporter_ip=actor.ip,
            category=category,
            description=description,
            evidence=_freeze(target),
        )
        case.complaint_count += 1
        if stronger(category, case.category):
            case.category, case.category_kind = category, reason_kind(category).value
        case.priority = case_priority(case.category, case.complaint_count)
        deadline = case.created_at + timedelta(hours=case_deadline_hours(case.kind, case.category))
        case.deadline = min(case.deadline, deadline)
        case.save(
            update_fields=[
                "complaint_count",
                "category",
                "category_kind",
                "priority",
                "deadline",
                "updated_at",
            ]
        )
        audit_record(
            actor=actor,
            event_type="moderation.complaint_filed",
            target=case,
            data={
                "code": target.group.code,
                "case": case.pk,
                "complaint": complaint.pk,
                "kind": case.kind,
                "category": category,
                "message_id": target.message.pk if target.message is not None else None,
                "subject_id": target.subject.pk if target.subject is not None else None,
                "count": case.complaint_count,
                "priority": case.priority,
            },
        )
        if actor.is_authenticated:
            notify(
                actor=actor,
                recipient=actor.user,
                kind="moderation.complaint_received",
                context=_notice_context(case),
            )
    return complaint


def _notice_context(case: Case) -> dict:
    return {
        "case": case.pk,
        "group": case.group.code,
        "group_name": case.group.name,
        "target": TARGET_LABELS[TargetKind(case.kind)],
    }


# --- cases ---------------------------------------------------------------------------------------------


def case_close(*, actor: Actor, case: Case, outcome: str) -> Case:
    """R12.1: compliance staff close a case with its outcome, and every signed-in reporter of it is told.
    A minimal decision: the review queue (claims, measures, escalation) builds on it."""
    policies.require_decide_case(actor.user)
    outcome = _clean(outcome, field="outcome", label=_("Outcome"), max_length=OUTCOME_MAX, required=True)
    with transaction.atomic():
        case = Case.objects.select_for_update().select_related("group").get(pk=case.pk)
        policies.require_close_case(actor.user, case)
        case.status, case.outcome = CaseStatus.CLOSED, outcome
        case.decided_at, case.decided_by = timezone.now(), actor.user
        case.save(update_fields=["status", "outcome", "decided_at", "decided_by", "updated_at"])
        reporters = selectors.case_reporters(case)
        audit_record(
            actor=actor,
            event_type="moderation.case_closed",
            target=case,
            reason=outcome,
            data={
                "code": case.group.code,
                "case": case.pk,
                "kind": case.kind,
                "category": case.category,
                "count": case.complaint_count,
                "told": len(reporters),
            },
        )
        for reporter in reporters:
            notify(
                actor=actor,
                recipient=reporter,
                kind="moderation.complaint_decided",
                context={**_notice_context(case), "outcome": outcome[:500]},
            )
    return case


def complaints_purge_expired(
    *, actor: Actor, cutoff, held_users, held_groups, batch_size=5_000, progress=None
) -> int:
    """R13.2: complaints of closed cases filed before their retention period (``evidence_snapshots``) lose
    their frozen evidence, description and the reporter's address; the complaint, its category and its case
    stay. A legal hold on the reporter, the reported member or the group keeps them whole. Registered with
    the audit app's retention job."""
    expired = (
        Complaint.objects.filter(created_at__lt=cutoff, case__status=CaseStatus.CLOSED)
        .exclude(evidence={"purged": True})
        .exclude(reporter_id__in=held_users)
        .exclude(case__subject_id__in=held_users)
        .exclude(case__group__code__in=held_groups)
    )
    removed = 0
    while ids := list(expired.order_by("pk").values_list("pk", flat=True)[:batch_size]):
        with transaction.atomic():
            Complaint.objects.filter(pk__in=ids).update(
                evidence={"purged": True}, description="", reporter_ip=None
            )
            audit_record(
                actor=actor,
                event_type="moderation.complaints_purged",
                data={
                    "count": len(ids),
                    "first_id": ids[0],
                    "last_id": ids[-1],
                    "cutoff": cutoff.isoformat(),
                },
            )
        removed += len(ids)
        if progress:
            progress(removed)
    return removed
