"""Moderation services: the one door for filing complaints and deciding cases (R12.1).

Order inside each: policy → write → audit in the same transaction → notices after commit (``notify``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Exists, F, OuterRef, Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from audit.services import audit_record
from common.actors import Actor, ActorKind
from common.policies import PolicyDenied
from common.reasons import Reason, reason_kind
from credit import selectors as credit_selectors
from credit import services as credit_services
from credit.models import CreditReason
from groups import selectors as group_selectors
from groups import services as group_services
from groups.models import (
    ChatGroup,
    GroupRestriction,
    GroupRestrictionKind,
    GroupStatus,
    Membership,
    Message,
    MessageStatus,
)
from identity import selectors as identity_selectors
from identity import services as identity_services
from identity.models import AccountRestriction, BlacklistEntry, RestrictionKind
from moderation import ladder, policies, queue, rules, selectors
from moderation.models import (
    GROUP_SANCTIONS,
    Appeal,
    AppealStatus,
    BlacklistTarget,
    Case,
    CaseResolution,
    CaseStatus,
    Complaint,
    ReviewItem,
    ReviewKind,
    ReviewStatus,
    Sanction,
    SanctionKind,
    SanctionStatus,
    TargetKind,
)
from moderation.rules import case_deadline_hours, case_priority, stronger
from moderation.selectors import ReportTarget
from notifications.services import notify, notify_group

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
        _review_item_put(ReviewKind.CASE, case)  # R12.1: the case waits in the review queue
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


def case_close(
    *, actor: Actor, case: Case, outcome: str, resolution: str = "", remove_message: bool = False
) -> Case:
    """R12.1: compliance staff close a case with its outcome, and every signed-in reporter of it is told.
    ``resolution`` says whether it was upheld or dismissed (the reporters' accuracy counts it); with
    ``remove_message`` a reported message still shown is taken down first (groups.services), in the same
    transaction. The case's review item leaves the queue."""
    policies.require_decide_case(actor.user)
    outcome = _clean(outcome, field="outcome", label=_("Outcome"), max_length=OUTCOME_MAX, required=True)
    if resolution not in ("", *CaseResolution.values):
        raise ValidationError(
            _("Choose whether the report is upheld or dismissed."), code="resolution_invalid"
        )
    with transaction.atomic():
        case = (
            Case.objects.select_for_update(of=("self", "group"))
            .select_related("group", "message")
            .get(pk=case.pk)
        )
        policies.require_close_case(actor.user, case)
        removed = False
        if remove_message and case.message is not None and case.message.status == MessageStatus.VISIBLE:
            group_services.message_takedown(actor=actor, message=case.message, reason=outcome[:200])
            removed = True
        case.status, case.outcome, case.resolution = CaseStatus.CLOSED, outcome, resolution
        case.decided_at, case.decided_by = timezone.now(), actor.user
        case.takedown_at = case.decided_at if removed else None  # R11.4 reports the takedown from it
        case.save(
            update_fields=[
                "status",
                "outcome",
                "resolution",
                "decided_at",
                "decided_by",
                "takedown_at",
                "updated_at",
            ]
        )
        _review_item_close(ReviewKind.CASE, case.pk)
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
                "resolution": resolution,
                "message_removed": removed,
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


# --- sanctions, the blacklist and appeals (R11.1-R11.3) -----------------------------------------------

SANCTION_NOTE_MAX = 1000
APPEAL_MAX = 1000
APPROVAL_NOTE_MAX = 300
RECENT_MESSAGES = 20  # the group's latest shown messages frozen with a sanction on it
PERSON_GROUPS_MAX = 50

ARTICLE_GROUP, ARTICLE_USER, ARTICLE_BLACKLIST = ("11(1)", "R11.1"), ("11(2)", "R11.2"), ("11(3)", "R11.3")
ACCOUNT_RESTRICTIONS = {
    SanctionKind.USER_MANAGE: RestrictionKind.MANAGE,
    SanctionKind.USER_CREATE: RestrictionKind.CREATE_GROUP,
    SanctionKind.USER_MUTE: RestrictionKind.POST,
    SanctionKind.USER_SUSPEND: RestrictionKind.SUSPENDED,
}
GROUP_RESTRICTIONS = {
    SanctionKind.GROUP_WARNING: GroupRestrictionKind.WARNING,
    SanctionKind.GROUP_POSTING: GroupRestrictionKind.POST,
    SanctionKind.GROUP_CLOSURE: GroupRestrictionKind.CLOSED,
}
# Members are told of the measures that change what they can do in the group.
MEMBERS_TOLD = (SanctionKind.GROUP_POSTING, SanctionKind.GROUP_CLOSURE)
NO_END = gettext_noop("no end date")
APPEAL_OUTCOMES = {
    True: gettext_noop("upheld: the measure is reversed"),
    False: gettext_noop("not upheld: the measure stands"),
}


def _message_id(label) -> str:
    """The untranslated text of a lazy label, stored so each reader sees it in their own language."""
    with translation.override(None):
        return str(label)


def _local(moment) -> str:
    return f"{timezone.localtime(moment):%Y-%m-%d %H:%M}"


def _article(kind: str) -> tuple[str, str]:
    if kind == SanctionKind.BLACKLIST:
        return ARTICLE_BLACKLIST
    return ARTICLE_GROUP if kind in GROUP_SANCTIONS else ARTICLE_USER


def _effect_actor(actor: Actor) -> Actor:
    """The owning app applies a decided measure as the platform: moderation's policy decided who may
    decide it and its audit record names the person; the owning app's record names the sanction."""
    return Actor(user=None, kind=ActorKind.SYSTEM, door=actor.door, ip=actor.ip, port=actor.port)


def _check_target(kind: str, *, target_group, target_user, blacklist_role: str) -> tuple:
    """The target a kind needs: a group for the group measures and a group's blacklisting, a person for
    the others. Returns (group, user)."""
    if kind not in SanctionKind.values:
        raise ValidationError(_("Choose one of the measures offered."), code="kind_invalid")
    if kind == SanctionKind.BLACKLIST:
        if blacklist_role not in BlacklistTarget.values:
            raise ValidationError(
                _("Say whether a group, a creator, an admin or a member is blacklisted."), code="role_invalid"
            )
        on_group = blacklist_role == BlacklistTarget.GROUP
    else:
        blacklist_role = ""
        on_group = kind in GROUP_SANCTIONS
    if on_group and target_group is None:
        raise ValidationError(_("This measure is taken on a group: choose the group."), code="target_invalid")
    if not on_group and target_user is None:
        raise ValidationError(
            _("This measure is taken on a person: choose the person."), code="target_invalid"
        )
    return (target_group, None, blacklist_role) if on_group else (None, target_user, blacklist_role)


def _duration(kind: str, default_hours, duration_hours, permanent: bool) -> int | None:
    """The measure's duration in hours (None: permanent or untimed): the ladder's default, or what the
    reviewer chose within the limits."""
    if kind in ladder.UNTIMED_KINDS or kind == SanctionKind.GROUP_CLOSURE:
        return None
    if permanent:
        if not ladder.may_be_permanent(kind):
            raise ValidationError(_("This measure cannot be permanent."), code="duration_invalid")
        return None
    if duration_hours in (None, ""):
        return default_hours
    bounds = ladder.limits(kind) or (1, 24 * 365)
    if isinstance(duration_hours, bool) or not isinstance(duration_hours, int):
        raise ValidationError(_("Give the duration in whole hours."), code="duration_invalid")
    if not bounds[0] <= duration_hours <= bounds[1]:
        raise ValidationError(
            _("For this measure choose from %(min)d to %(max)d hours.")
            % {"min": bounds[0], "max": bounds[1]},
            code="duration_invalid",
        )
    return duration_hours


def _credit_terms(kind: str, user, defaults, points, level) -> tuple[int | None, int | None]:
    if kind == SanctionKind.USER_CREDIT:
        points = defaults.points if points in (None, "") else points
        if isinstance(points, bool) or not isinstance(points, int) or not 1 <= points <= ladder.points_max():
            raise ValidationError(
                _("Take from 1 to %(max)d credit points.") % {"max": ladder.points_max()},
                code="points_invalid",
            )
        return points, None
    if kind == SanctionKind.USER_LEVEL:
        current = credit_selectors.capabilities_for(user).level.number
        if current <= 1:
            raise ValidationError(
                _("This person is already at the lowest credit level."), code="level_invalid"
            )
        level = current - 1 if level in (None, "") else level
        if isinstance(level, bool) or not isinstance(level, int) or not 1 <= level < current:
            raise ValidationError(
                _("Choose a credit level from 1 to %(max)d (below the current one).") % {"max": current - 1},
                code="level_invalid",
            )
        return None, level
    return None, None


def _sanction_evidence(*, case: Case | None, target_group, target_user) -> dict:
    """House rule 8: the case, the group and the person as they are now, kept with the measure."""
    evidence = {"frozen_at": timezone.now().isoformat(), "case": None, "group": None, "person": None}
    if case is not None:
        first = case.complaints.order_by("created_at", "pk").first()
        evidence["case"] = {
            "id": case.pk,
            "kind": case.kind,
            "category": case.category,
            "complaint_count": case.complaint_count,
            "first_complaint": first.evidence if first is not None else None,
        }
    group = target_group if target_group is not None else (case.group if case is not None else None)
    if group is not None:
        managers = list(
            Membership.objects.filter(group=group, left_at__isnull=True, role__in=["owner", "admin"])
            .select_related("user")
            .order_by("joined_at", "pk")
        )
        roles = {m.user_id: m.role for m in managers}
        recent = (
            Message.objects.filter(group=group, status=MessageStatus.VISIBLE, seq__isnull=False)
            .select_related("sender", "attachment")
            .order_by("-seq")[:RECENT_MESSAGES]
        )
        evidence["group"] = {
            "id": group.pk,
            "code": group.code,
            "name": group.name,
            "status": group.status,
            "announcement": group.announcement,
            "description": group.description,
            "member_count": Membership.objects.filter(group=group, left_at__isnull=True).count(),
            "managers": [
                {"user_id": m.user_id, "nickname": m.user.display_name, "role": m.role} for m in managers
            ],
            "recent_messages": [_message_snapshot(m, roles) for m in reversed(list(recent))],
        }
    if target_user is not None:
        memberships = (
            Membership.objects.filter(user=target_user, left_at__isnull=True)
            .select_related("group")
            .order_by("joined_at", "pk")[:PERSON_GROUPS_MAX]
        )
        evidence["person"] = {
            "user_id": target_user.pk,
            "username": target_user.username,
            "nickname": target_user.display_name,
            "groups": [{"code": m.group.code, "name": m.group.name, "role": m.role} for m in memberships],
            "restrictions": sorted(identity_selectors.restrictions_active_by_kind(target_user)),
        }
    return evidence


def sanction_issue(
    *,
    actor: Actor,
    kind: str,
    category: str,
    target_group=None,
    target_user=None,
    blacklist_role: str = "",
    note: str = "",
    duration_hours: int | None = None,
    permanent: bool = False,
    points: int | None = None,
    level: int | None = None,
    case: Case | None = None,
) -> Sanction:
    """R11.1-R11.3: decide a measure on a group (warning with a rectification deadline, posting
    suspension, closure) or a person (credit or level lowered, management powers suspended, eligibility to
    create groups revoked, platform-wide mute, account suspension), or a blacklisting (a group, or a
    person as creator, admin or member). The evidence is frozen now; the duration defaults to the
    escalation ladder's step for the target's last six months (``moderation.ladder``) and may be changed
    within its limits. Closures, blacklisting and permanent measures wait for a supervisor (four eyes) and
    do nothing until approved; the others take effect at once through the owning app, and those affected
    are told what, why, until when and how to appeal."""
    policies.require_issue_sanction(actor.user)
    category = _clean_category(category)
    target_group, target_user, blacklist_role = _check_target(
        kind, target_group=target_group, target_user=target_user, blacklist_role=blacklist_role
    )
    policies.can_sanction_target(actor.user, target_user=target_user, target_group=target_group).require()
    note = _clean(note, field="note", label=_("Explanation"), max_length=SANCTION_NOTE_MAX, required=False)
    defaults = selectors.sanction_defaults(kind, target_group=target_group, target_user=target_user)
    hours = _duration(kind, defaults.hours, duration_hours, permanent)
    points, level = _credit_terms(kind, target_user, defaults, points, level)
    timed = kind not in ladder.UNTIMED_KINDS
    needs_approval = kind in (SanctionKind.GROUP_CLOSURE, SanctionKind.BLACKLIST) or (timed and hours is None)
    article, _requirement = _article(kind)
    with transaction.atomic():
        sanction = Sanction.objects.create(
            kind=kind,
            target_group=target_group,
            target_user=target_user,
            blacklist_role=blacklist_role,
            category=category,
            category_kind=reason_kind(category).value,
            article=article,
            note=note,
            evidence=_sanction_evidence(case=case, target_group=target_group, target_user=target_user),
            case=case,
            duration_hours=hours,
            points=points,
            level=level,
            needs_approval=needs_approval,
            status=SanctionStatus.PENDING,
            decided_by=actor.user,
        )
        if not needs_approval:
            _take_effect(actor, sanction)
        audit_record(
            actor=actor,
            event_type="moderation.sanction_issued",
            target=sanction,
            reason=note,
            data={
                **_audit_facts(sanction),
                "prior": defaults.prior,
                "default_hours": defaults.hours,
                "needs_approval": needs_approval,
            },
        )
        if needs_approval:
            _tell_approvers(actor, sanction)
    return sanction


def _tell_approvers(actor: Actor, sanction: Sanction) -> None:
    """Four eyes: the supervisors who may approve or refuse a pending measure (never the one who decided
    it, nor anyone it concerns) are told that it waits for them."""
    if sanction.target_user_id is not None:
        on = sanction.target_user.display_name
    else:
        on = f"{sanction.target_group.name} · {sanction.target_group.code}"
    context = {
        "sanction": sanction.pk,
        "what": _message_id(SanctionKind(sanction.kind).label),
        "reason": _message_id(Reason(sanction.category).label),
        "on": on[:100],
        "decider": actor.user.display_name if actor.user is not None else "",
    }
    for supervisor in selectors.sanction_approvers(sanction):
        notify(actor=actor, recipient=supervisor, kind="moderation.sanction_pending", context=context)


def _audit_facts(sanction: Sanction) -> dict:
    return {
        "sanction": sanction.pk,
        "kind": sanction.kind,
        "status": sanction.status,
        "code": sanction.target_group.code if sanction.target_group_id else "",
        "user_id": sanction.target_user_id,
        "blacklist_role": sanction.blacklist_role,
        "category": sanction.category,
        "article": sanction.article,
        "duration_hours": sanction.duration_hours,
        "points": sanction.points,
        "level": sanction.level,
        "until": sanction.until.isoformat() if sanction.until else None,
        "case": sanction.case_id,
    }


def _shown_reason(sanction: Sanction) -> str:
    """What the group's members read on its banner: the reason, and the explanation if any."""
    label = str(Reason(sanction.category).label)
    return f"{label} — {sanction.note}"[:300] if sanction.note else label[:300]


def _take_effect(actor: Actor, sanction: Sanction) -> None:
    """Apply a decided (and, where needed, approved) measure through the owning app, now; inside the
    caller's transaction. The measure's end is counted from now."""
    now = timezone.now()
    sanction.starts_at = now
    sanction.until = now + timedelta(hours=sanction.duration_hours) if sanction.duration_hours else None
    ref = f"sanction:{sanction.pk}"
    system = _effect_actor(actor)
    kind = sanction.kind
    effect = {}
    group_kind = GROUP_RESTRICTIONS.get(kind)
    if kind == SanctionKind.BLACKLIST and sanction.blacklist_role == BlacklistTarget.GROUP:
        group_kind = GroupRestrictionKind.CLOSED
    if group_kind == GroupRestrictionKind.CLOSED:
        # What the closure found (active, or still waiting for its creation review): a reversal restores it.
        effect["group_status_before"] = _group_status(sanction.target_group)
    if group_kind is not None:
        restriction = group_services.group_restriction_add(
            actor=system,
            group=sanction.target_group,
            kind=group_kind,
            until=sanction.until,
            reason=_shown_reason(sanction),
            reason_ref=ref,
        )
        effect["group_restriction"] = restriction.pk
    elif kind == SanctionKind.BLACKLIST:
        entry = identity_services.blacklist_add(
            actor=system,
            user=sanction.target_user,
            role=sanction.blacklist_role,
            until=sanction.until,
            reason_ref=ref,
        )
        effect["blacklist_entry"] = entry.pk
    elif kind in ACCOUNT_RESTRICTIONS:
        restriction = identity_services.account_restriction_add(
            actor=system,
            user=sanction.target_user,
            kind=ACCOUNT_RESTRICTIONS[kind],
            until=sanction.until,
            reason_ref=ref,
        )
        effect["account_restriction"] = restriction.pk
    elif kind in (SanctionKind.USER_CREDIT, SanctionKind.USER_LEVEL):
        credit_services.credit_penalize(
            actor=system,
            user=sanction.target_user,
            points=sanction.points or 0,
            reason=CreditReason.SANCTION,
            source_ref=ref,
            note=sanction.note[:300],
            cap_level=sanction.level,
            until=sanction.until,
        )
        effect["credit_source"] = ref
    sanction.effect = effect
    sanction.status = SanctionStatus.ACTIVE
    sanction.report_data = _report_data(sanction)
    sanction.save(update_fields=["starts_at", "until", "effect", "status", "report_data"])
    _tell_affected(actor, sanction)


def _report_data(sanction: Sanction) -> dict:
    """R11.4: what a regulator report of the measure needs, built when it takes effect."""
    article, requirement = _article(sanction.kind)
    if sanction.target_user_id is not None:
        user = sanction.target_user
        verification = identity_selectors.verification_get(user)
        target = {
            "type": "person",
            "user_id": user.pk,
            "nickname": user.display_name,
            "verified": bool(verification and verification.status == "verified"),
            "id_number_masked": verification.id_number_masked if verification else "",
        }
    else:
        group = sanction.target_group
        owner = Membership.objects.filter(group=group, role="owner", left_at__isnull=True).first()
        target = {
            "type": "group",
            "group_code": group.code,
            "group_name": group.name,
            "owner_id": owner.user_id if owner else None,
        }
    timed = sanction.kind not in ladder.UNTIMED_KINDS
    return {
        "sanction": sanction.pk,
        "requirement": requirement,
        "article": article,
        "measure": sanction.kind,
        "measure_label": _message_id(SanctionKind(sanction.kind).label),
        "blacklist_role": sanction.blacklist_role or None,
        "target": target,
        "category": sanction.category,
        "category_kind": sanction.category_kind,
        "category_label": _message_id(Reason(sanction.category).label),
        "explanation": sanction.note,
        "starts_at": sanction.starts_at.isoformat(),
        "until": sanction.until.isoformat() if sanction.until else None,
        "permanent": timed and sanction.until is None,
        "duration_hours": sanction.duration_hours,
        "points": sanction.points,
        "level": sanction.level,
        "decided_by": sanction.decided_by_id,
        "decided_at": sanction.created_at.isoformat(),
        "approved_by": sanction.approved_by_id,
        "approved_at": sanction.approved_at.isoformat() if sanction.approved_at else None,
        "case": sanction.case_id,
        "complaints": sanction.case.complaint_count if sanction.case_id else 0,
        "evidence_frozen_at": (sanction.evidence or {}).get("frozen_at"),
    }


def _notice_facts(sanction: Sanction) -> dict:
    return {
        "sanction": sanction.pk,
        "what": _message_id(SanctionKind(sanction.kind).label),
        "until": _local(sanction.until) if sanction.until else NO_END,
        "reason": _message_id(Reason(sanction.category).label),
        "note": sanction.note[:300],
    }


def _tell_affected(actor: Actor, sanction: Sanction) -> None:
    """What, why, until when and how to appeal: the person (also by text message), or the group's owner
    and admins, and its members where the measure changes what they can do."""
    facts = _notice_facts(sanction)
    if sanction.target_user_id is not None:
        notify(actor=actor, recipient=sanction.target_user, kind="moderation.sanction_user", context=facts)
        return
    group = sanction.target_group
    context = {**facts, "group": group.code, "group_name": group.name}
    for manager in group_selectors.group_managers(group):
        notify(actor=actor, recipient=manager, kind="moderation.sanction_group", context=context)
    if sanction.kind in MEMBERS_TOLD or sanction.kind == SanctionKind.BLACKLIST:
        notify_group(
            actor=actor,
            group_id=group.pk,
            group_key=group.code,
            kind="moderation.group_measure",
            context={k: v for k, v in context.items() if k != "note"},
        )


def sanction_decide(*, actor: Actor, sanction: Sanction, approve: bool, note: str = "") -> Sanction:
    """R11.1-R11.3, four eyes: a supervisor other than the one who decided a closure, a blacklisting or a
    permanent measure approves it (it takes effect now, and those affected are told) or refuses it
    (nothing happens). A refused attempt (the same person, no permission) is audited too."""
    decision = policies.can_approve_sanction(actor.user, sanction)
    if not decision:
        audit_record(
            actor=actor,
            event_type="moderation.sanction_approval_denied",
            target=sanction,
            data={"sanction": sanction.pk, "code": decision.code},
        )
        decision.require()
    note = _clean(note, field="note", label=_("Note"), max_length=APPROVAL_NOTE_MAX, required=not approve)
    with transaction.atomic():
        sanction = (
            Sanction.objects.select_for_update(of=("self",))
            .select_related("target_group", "target_user", "case")
            .get(pk=sanction.pk)
        )
        policies.require_approve_sanction(actor.user, sanction)  # again, under the lock: one decision
        sanction.approved_by, sanction.approved_at, sanction.approval_note = actor.user, timezone.now(), note
        sanction.save(update_fields=["approved_by", "approved_at", "approval_note"])
        if approve:
            _take_effect(actor, sanction)
        else:
            sanction.status, sanction.ended_at = SanctionStatus.REFUSED, timezone.now()
            sanction.save(update_fields=["status", "ended_at"])
        audit_record(
            actor=actor,
            event_type="moderation.sanction_approved" if approve else "moderation.sanction_refused",
            target=sanction,
            reason=note,
            data={**_audit_facts(sanction), "decided_by": sanction.decided_by_id},
        )
    return sanction


def sanctions_expire(*, actor: Actor, batch_size: int = 500) -> int:
    """R11.1-R11.3, house rule 9: mark the measures whose end has passed as ended and tell those concerned
    (the periodic job; policies already compare the ends with now, so this only tidies). Idempotent."""
    ended = 0
    while True:
        with transaction.atomic():
            batch = list(
                Sanction.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(status=SanctionStatus.ACTIVE, until__isnull=False, until__lte=timezone.now())
                .select_related("target_user", "target_group")
                .order_by("until", "pk")[:batch_size]
            )
            if not batch:
                break
            for sanction in batch:
                sanction.status, sanction.ended_at = SanctionStatus.EXPIRED, sanction.until
                sanction.save(update_fields=["status", "ended_at"])
                context = {
                    "sanction": sanction.pk,
                    "what": _message_id(SanctionKind(sanction.kind).label),
                    "ended": _local(sanction.until),
                }
                recipients = (
                    [sanction.target_user]
                    if sanction.target_user_id is not None
                    else group_selectors.group_managers(sanction.target_group)
                )
                for recipient in recipients:
                    notify(
                        actor=actor, recipient=recipient, kind="moderation.sanction_ended", context=context
                    )
            audit_record(
                actor=actor,
                event_type="moderation.sanctions_expired",
                data={"count": len(batch), "sanctions": [s.pk for s in batch]},
            )
        ended += len(batch)
    return ended


def sanction_rechecks_create(*, actor: Actor) -> int:
    """R11.1: when a warning's rectification deadline has passed, the group is checked again: its open
    case (or a new one) goes back to the reviewers with the warning's reason. Once per warning."""
    created = 0
    due = Sanction.objects.filter(
        kind=SanctionKind.GROUP_WARNING,
        status__in=[SanctionStatus.ACTIVE, SanctionStatus.EXPIRED],
        until__lte=timezone.now(),
        recheck_case__isnull=True,
    ).values_list("pk", flat=True)
    for pk in list(due[:500]):
        with transaction.atomic():
            sanction = (
                Sanction.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(pk=pk, recheck_case__isnull=True)
                .select_related("target_group")
                .first()
            )
            if sanction is None:
                continue
            case = _recheck_case(sanction)
            review_item_open(actor=actor, kind=ReviewKind.CASE, obj=case)  # back to the review queue
            sanction.recheck_case = case
            sanction.save(update_fields=["recheck_case"])
            audit_record(
                actor=actor,
                event_type="moderation.sanction_recheck_created",
                target=sanction,
                data={"sanction": sanction.pk, "case": case.pk, "code": sanction.target_group.code},
            )
            created += 1
    return created


def _recheck_case(sanction: Sanction) -> Case:
    """The group's open case, or a new one for the re-check (no complaint: the warning is its cause)."""
    group = sanction.target_group
    key = f"group:{group.pk}"
    case = Case.objects.select_for_update().filter(target_key=key, status=CaseStatus.OPEN).first()
    if case is not None:
        return case
    now = timezone.now()
    return Case.objects.create(
        kind=TargetKind.GROUP,
        target_key=key,
        group=group,
        category=sanction.category,
        category_kind=sanction.category_kind,
        priority=case_priority(sanction.category, 1),
        complaint_count=0,
        deadline=now + timedelta(hours=case_deadline_hours(TargetKind.GROUP, sanction.category)),
    )


# --- appeals -------------------------------------------------------------------------------------------


def appeal_file(*, actor: Actor, sanction: Sanction, text: str) -> Appeal:
    """R11.1-R11.3: the person a measure concerns (or the owner of the group it is on) appeals it, once,
    with their grounds; a reviewer other than those who decided it will decide."""
    policies.require_appeal(actor.user, sanction)
    text = _clean(text, field="appeal", label=_("Grounds"), max_length=APPEAL_MAX, required=True)
    with transaction.atomic():
        sanction = Sanction.objects.select_for_update().get(pk=sanction.pk)
        policies.require_appeal(actor.user, sanction)
        appeal = Appeal.objects.create(sanction=sanction, filed_by=actor.user, text=text)
        review_item_open(actor=actor, kind=ReviewKind.APPEAL, obj=appeal)  # into the review queue (R12.1)
        audit_record(
            actor=actor,
            event_type="moderation.appeal_filed",
            target=sanction,
            data={"sanction": sanction.pk, "appeal": appeal.pk, "kind": sanction.kind},
        )
    return appeal


def _reverse(actor: Actor, sanction: Sanction, note: str) -> None:
    """Undo a measure's effect through the owning apps (inside the caller's transaction)."""
    system = _effect_actor(actor)
    effect = sanction.effect or {}
    if "account_restriction" in effect:
        restriction = AccountRestriction.objects.filter(pk=effect["account_restriction"]).first()
        if restriction is not None:
            identity_services.account_restriction_lift(actor=system, restriction=restriction, reason=note)
    if "blacklist_entry" in effect:
        entry = BlacklistEntry.objects.filter(pk=effect["blacklist_entry"]).first()
        if entry is not None:
            identity_services.blacklist_lift(actor=system, entry=entry, reason=note)
    if "group_restriction" in effect:
        restriction = GroupRestriction.objects.filter(pk=effect["group_restriction"]).first()
        if restriction is not None:
            reopen_as = _status_before_closure(sanction)
            group_services.group_restriction_lift(
                actor=system, restriction=restriction, reason=note, reopen_as=reopen_as
            )
            group = sanction.target_group
            if reopen_as == GroupStatus.PENDING_REVIEW and _group_status(group) == reopen_as:
                # R8.4: reopened still waiting for its creation review: back in the review queue at once.
                review_item_open(actor=actor, kind=ReviewKind.GROUP_REQUEST, obj=group)
    if "credit_source" in effect:
        credit_services.credit_penalty_reverse(
            actor=system, user=sanction.target_user, source_ref=effect["credit_source"], note=note[:300]
        )
    now = timezone.now()
    sanction.status, sanction.ended_at = SanctionStatus.REVERSED, now
    sanction.report_data = {**(sanction.report_data or {}), "reversed_at": now.isoformat()}
    sanction.save(update_fields=["status", "ended_at", "report_data"])


def _group_status(group) -> str:
    """The group's status as it is now in the database (the object at hand may be older)."""
    return ChatGroup.objects.filter(pk=group.pk).values_list("status", flat=True).first() or ""


def _status_before_closure(sanction: Sanction) -> str:
    """The status a group closed by this measure goes back to when it is reversed: what the closure found
    (recorded when it took effect), or, when another measure had closed the group already, what that one
    found. Active when nothing was recorded (measures taken before it was)."""
    reopenable = (GroupStatus.ACTIVE, GroupStatus.PENDING_REVIEW)
    found = (sanction.effect or {}).get("group_status_before")
    if found in reopenable or sanction.target_group_id is None:
        return found or GroupStatus.ACTIVE
    if found == GroupStatus.CLOSED:
        earlier = (
            Sanction.objects.filter(
                target_group_id=sanction.target_group_id, starts_at__lte=sanction.starts_at
            )
            .exclude(pk=sanction.pk)
            .order_by("-starts_at", "-pk")
            .values_list("effect", flat=True)
        )
        for effect in earlier:
            before = (effect or {}).get("group_status_before")
            if before in reopenable:
                return before
    return GroupStatus.ACTIVE


def appeal_decide(*, actor: Actor, appeal: Appeal, uphold: bool, note: str = "") -> Appeal:
    """R11.1-R11.3: a reviewer other than those who decided the measure decides the appeal. Upheld, the
    measure is reversed at once (restrictions lifted, a closed group opened, the blacklisting lifted, the
    credit given back); either way the appellant is told."""
    policies.require_decide_appeal(actor.user, appeal)
    note = _clean(note, field="note", label=_("Decision"), max_length=APPEAL_MAX, required=not uphold)
    with transaction.atomic():
        appeal = Appeal.objects.select_for_update().get(pk=appeal.pk)
        sanction = (
            Sanction.objects.select_for_update(of=("self",))
            .select_related("target_user", "target_group")
            .get(pk=appeal.sanction_id)
        )
        appeal.sanction = sanction
        policies.require_decide_appeal(actor.user, appeal)
        if uphold:
            _reverse(actor, sanction, note)
        appeal.status = AppealStatus.UPHELD if uphold else AppealStatus.REJECTED
        appeal.decided_by, appeal.decided_at, appeal.decision_note = actor.user, timezone.now(), note
        appeal.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
        review_item_settle(actor=actor, kind=ReviewKind.APPEAL, object_id=appeal.pk)
        audit_record(
            actor=actor,
            event_type="moderation.appeal_upheld" if uphold else "moderation.appeal_rejected",
            target=sanction,
            reason=note,
            data={"sanction": sanction.pk, "appeal": appeal.pk, "kind": sanction.kind},
        )
        notify(
            actor=actor,
            recipient=appeal.filed_by,
            kind="moderation.appeal_decided",
            context={
                "sanction": sanction.pk,
                "outcome": APPEAL_OUTCOMES[bool(uphold)],
                "what": _message_id(SanctionKind(sanction.kind).label),
                "note": note[:500],
            },
        )
    return appeal


# --- the review queue (R12.1) --------------------------------------------------------------------------
# One queue for everything waiting for a person (moderation.queue: the sources and how they feed it).

# How a notice names an item's kind (message ids of ReviewKind's labels, translated when shown).
KIND_LABELS = {
    ReviewKind.CASE: gettext_noop("report"),
    ReviewKind.HELD_MESSAGE: gettext_noop("held message"),
    ReviewKind.GROUP_REQUEST: gettext_noop("new group"),
    ReviewKind.IDENTITY_REVIEW: gettext_noop("real-name check"),
    ReviewKind.APPEAL: gettext_noop("appeal"),
}
QUEUE_SYNC_BATCH = 500  # new items opened per source and sync run (the next run takes the rest)
QUEUE_ESCALATE_BATCH = 500
QUEUE_CLAIM_TRIES = 20  # items found decided elsewhere that one "claim next" skips before giving up
QUEUE_SYNC_KEY = "moderation:queue:synced"
QUEUE_SYNC_AT_KEY = "moderation:queue:synced-at"
# A quick sync looks this far behind its previous run for rows that arrived (a row's transaction may
# commit a little after its timestamp); the periodic full run catches anything older.
QUEUE_QUICK_LOOKBACK = timedelta(minutes=10)
NOTE_MAX = 1000


def _accuracies(entries) -> list[float | None]:
    """R12.1: each entry's reporters' past accuracy (rules.reporter_accuracy), in one query for all."""
    ids = {rid for entry in entries for rid in entry.reporter_ids}
    records = dict.fromkeys(ids, (0, 0))
    if ids:
        rows = (
            Complaint.objects.filter(reporter_id__in=ids, case__status=CaseStatus.CLOSED)
            .exclude(case__resolution="")
            .values("reporter_id")
            .annotate(
                closed=Count("pk"), upheld=Count("pk", filter=Q(case__resolution=CaseResolution.UPHELD))
            )
            .values_list("reporter_id", "closed", "upheld")
        )
        for reporter_id, closed, upheld in rows:
            records[reporter_id] = (closed, upheld)
    return [rules.reporter_accuracy([records[rid] for rid in set(entry.reporter_ids)]) for entry in entries]


def _item_fields(kind: str, entries, now) -> list[dict]:
    """What a source's rows put into their items: copied facts, priority and deadline."""
    sizes = queue.group_sizes(entry.group_id for entry in entries)
    fields = []
    for entry, accuracy in zip(entries, _accuracies(entries), strict=True):
        size = sizes.get(entry.group_id, 0)
        hours = rules.queue_deadline_hours(kind, entry.category)
        fields.append(
            {
                "title": entry.title[:200],
                "group_id": entry.group_id,
                "subject_id": entry.subject_id,
                "category": entry.category,
                "category_kind": reason_kind(entry.category).value if entry.category else "",
                "reporters": entry.reporters,
                "group_size": size,
                "reporter_accuracy": accuracy,
                "deadline": entry.deadline or now + timedelta(hours=hours),
                "priority": rules.queue_priority(
                    kind=kind,
                    category=entry.category,
                    reporters=entry.reporters,
                    group_size=size,
                    accuracy=accuracy,
                ),
            }
        )
    return fields


def _review_item_put(kind: str, obj) -> ReviewItem:
    """Open the row's item, or bring an open one up to date (more reporters, a stronger reason), in the
    caller's transaction. An escalated item keeps its escalation."""
    source = queue.get(kind)
    now = timezone.now()
    (fields,) = _item_fields(kind, source.describe([obj]), now)
    item = ReviewItem.objects.select_for_update().filter(
        kind=kind, object_id=obj.pk, status=ReviewStatus.OPEN
    )
    item = item.first()
    if item is None:
        try:
            with transaction.atomic():
                return ReviewItem.objects.create(kind=kind, object_id=obj.pk, **fields)
        except IntegrityError:  # the sync opened it a moment ago
            item = ReviewItem.objects.select_for_update().get(
                kind=kind, object_id=obj.pk, status=ReviewStatus.OPEN
            )
    if item.escalated_at is not None:
        fields["priority"] += int(
            rules._setting("MODERATION_QUEUE_PRIORITY_WEIGHTS", rules.QUEUE_PRIORITY_WEIGHTS)["escalation"]
        )
    for name, value in fields.items():
        setattr(item, name, value)
    item.save(update_fields=[*fields, "updated_at"])
    return item


def _review_item_close(kind: str, object_id: int) -> int:
    """The row no longer waits (decided by its own service): its open item leaves the queue."""
    now = timezone.now()
    return ReviewItem.objects.filter(kind=kind, object_id=object_id, status=ReviewStatus.OPEN).update(
        status=ReviewStatus.SETTLED, decided_at=now, updated_at=now
    )


def review_item_open(*, actor: Actor, kind: str, obj) -> ReviewItem:
    """R12.1: a moderation service that creates something waiting for a person (an appeal) puts it in the
    queue, in its own transaction (audited by that service). ``kind`` must be registered in
    ``moderation.queue``."""
    if queue.get(kind) is None:
        raise ValueError(f"no review source registered for {kind!r}")
    return _review_item_put(kind, obj)


def review_item_settle(*, actor: Actor, kind: str, object_id: int) -> int:
    """R12.1: the service that decided a row outside the queue takes its item out (audited by that
    service). Returns how many items left the queue (0 or 1)."""
    return _review_item_close(kind, object_id)


def review_queue_sync(*, actor: Actor, quick: bool = False) -> dict:
    """R12.1: reconcile the queue with the rows waiting in its sources (see ``moderation.queue``): open an
    item for each waiting row without one, settle the open items whose row stopped waiting. The periodic
    job runs it whole. ``quick`` (the queue page, "claim next", at most once per
    ``MODERATION_QUEUE_SYNC_SECONDS``) only opens items for the lower apps' rows that arrived since the last
    quick run (with ``QUEUE_QUICK_LOOKBACK`` to spare), so it costs what arrived, not what waits; items
    decided elsewhere are settled by the periodic run, or when claimed or decided. Returns the counts per
    kind; audited when it changed anything."""
    policies.require_run_queue_jobs(actor)
    now = timezone.now()
    since = None
    if quick:
        if not cache.add(QUEUE_SYNC_KEY, 1, timeout=max(rules.queue_sync_seconds(), 1)):
            return {}
        last = cache.get(QUEUE_SYNC_AT_KEY)
        cache.set(QUEUE_SYNC_AT_KEY, now.timestamp(), timeout=None)
        if isinstance(last, float):
            since = datetime.fromtimestamp(last, tz=UTC) - QUEUE_QUICK_LOOKBACK
    opened, settled = {}, {}
    for source in queue.SOURCES.values():
        if source.pending is None or (quick and source.own_services):
            continue
        waiting = source.pending()
        open_items = ReviewItem.objects.filter(kind=source.kind, status=ReviewStatus.OPEN)
        if not quick:
            gone = open_items.filter(~Exists(waiting.filter(pk=OuterRef("object_id"))))
            count = gone.update(status=ReviewStatus.SETTLED, decided_at=now, updated_at=now)
            if count:
                settled[source.kind] = count
        if since is not None and source.arrival_field:
            waiting = waiting.filter(**{f"{source.arrival_field}__gte": since})
        new_ids = list(
            waiting.filter(~Exists(open_items.filter(object_id=OuterRef("pk"))))
            .order_by("pk")
            .values_list("pk", flat=True)[:QUEUE_SYNC_BATCH]
        )
        if not new_ids:
            continue
        rows = source.load(new_ids)
        found = [rows[pk] for pk in new_ids if pk in rows]
        fields = _item_fields(source.kind, source.describe(found), now)
        ReviewItem.objects.bulk_create(
            [
                ReviewItem(kind=source.kind, object_id=obj.pk, **f)
                for obj, f in zip(found, fields, strict=True)
            ],
            ignore_conflicts=True,  # a complaint or another sync opened it meanwhile
        )
        opened[source.kind] = len(found)
    if opened or settled:
        audit_record(
            actor=actor,
            event_type="moderation.review_queue_synced",
            data={"opened": opened, "settled": settled, "quick": quick},
        )
    return {"opened": opened, "settled": settled}


def _claim_fields(actor: Actor, now) -> dict:
    until = now + timedelta(minutes=rules.queue_claim_minutes())
    return {"claimed_by": actor.user, "claimed_at": now, "claimed_until": until, "updated_at": now}


def _claim_free(queryset, now):
    return queryset.filter(Q(claimed_by__isnull=True) | Q(claimed_until__lte=now))


def review_claim_next(*, actor: Actor, kinds: list[str] | None = None) -> ReviewItem | None:
    """R12.1: hand the reviewer the most urgent open item they may decide (highest priority, then the
    nearest deadline) that nobody holds, never one about themselves or a group they run, and hold it for
    them for ``MODERATION_QUEUE_CLAIM_MINUTES``. Two reviewers at once never get the same item: on
    PostgreSQL the candidate row is locked with ``SKIP LOCKED`` (a concurrent claimer takes the next one
    instead of waiting); elsewhere a conditional update claims it only if it is still free, and the next
    candidate is tried otherwise. None when nothing is left."""
    policies.require_work_queue(actor.user)
    allowed = policies.queue_kinds_for(actor.user)
    kinds = [kind for kind in (kinds or allowed) if kind in allowed]
    if not kinds:
        return None
    now = timezone.now()
    candidates = (
        _claim_free(ReviewItem.objects.filter(status=ReviewStatus.OPEN, kind__in=kinds), now)
        .exclude(selectors.matters_about(actor.user))
        .order_by("-priority", "deadline", "pk")
    )
    fields = _claim_fields(actor, now)
    with transaction.atomic():
        for _attempt in range(QUEUE_CLAIM_TRIES):
            item = _claim_one(candidates, fields)
            if item is None or _still_waiting(item):
                break
            # Decided elsewhere since the last sync (a lower app's row): out of the queue, and the next one.
            ReviewItem.objects.filter(pk=item.pk).update(
                status=ReviewStatus.SETTLED,
                decided_at=now,
                updated_at=now,
                claimed_by=None,
                claimed_until=None,
            )
            item = None
        if item is None:
            return None
        for name, value in fields.items():
            setattr(item, name, value)
        audit_record(
            actor=actor,
            event_type="moderation.review_item_claimed",
            target=item,
            data=_item_data(item, until=item.claimed_until.isoformat()),
        )
    return item


def _claim_one(candidates, fields: dict) -> ReviewItem | None:
    """Claim the first free candidate, in the caller's transaction."""
    if connection.features.has_select_for_update_skip_locked:
        item = candidates.select_for_update(skip_locked=True).first()
        if item is not None:
            ReviewItem.objects.filter(pk=item.pk).update(**fields)
        return item
    for _attempt in range(5):
        ids = list(candidates.values_list("pk", flat=True)[:10])
        if not ids:
            return None
        # Claimed only if still free when the update runs: a concurrent claimer wins or loses whole.
        won = next((pk for pk in ids if candidates.filter(pk=pk).update(**fields)), None)
        if won is not None:
            return ReviewItem.objects.get(pk=won)
    return None


def _still_waiting(item: ReviewItem) -> bool:
    """Whether a lower app's row still waits (one query); moderation's own sources keep their items exact
    in their own transactions, so they are not read again."""
    source = queue.get(item.kind)
    if source is None or source.own_services:
        return source is not None
    row = source.load([item.object_id]).get(item.object_id)
    return row is not None and source.is_pending(row)


def _item_data(item: ReviewItem, **extra) -> dict:
    data = {"item": item.pk, "kind": item.kind, "object_id": item.object_id, "priority": item.priority}
    if item.group_id:
        data["code"] = item.group.code  # so a legal hold on the group covers it
    return {**data, **extra}


def review_claim(*, actor: Actor, item: ReviewItem) -> ReviewItem:
    """R12.1: the reviewer takes an item they opened from the list (or renews their own claim); refused
    while another reviewer's claim runs."""
    policies.require_claim(actor.user, item)
    now = timezone.now()
    fields = _claim_fields(actor, now)
    with transaction.atomic():
        mine_or_free = Q(claimed_by__isnull=True) | Q(claimed_until__lte=now) | Q(claimed_by=actor.user)
        if not ReviewItem.objects.filter(mine_or_free, pk=item.pk, status=ReviewStatus.OPEN).update(**fields):
            item.refresh_from_db()
            policies.require_claim(actor.user, item)  # says why (decided meanwhile, claimed by someone)
            raise PolicyDenied("not_claimable", _("This item cannot be claimed now."))
        for name, value in fields.items():
            setattr(item, name, value)
        audit_record(
            actor=actor,
            event_type="moderation.review_item_claimed",
            target=item,
            data=_item_data(item, until=item.claimed_until.isoformat()),
        )
    return item


def review_claim_release(*, actor: Actor, item: ReviewItem) -> ReviewItem:
    """R12.1: give an item back to the queue: a reviewer their own, a supervisor anyone's."""
    policies.require_work_queue(actor.user)
    with transaction.atomic():
        item = ReviewItem.objects.select_for_update(of=("self",)).select_related("group").get(pk=item.pk)
        policies.require_release_claim(actor.user, item)  # on the item as it is now
        holder = item.claimed_by_id
        ReviewItem.objects.filter(pk=item.pk, claimed_by_id=holder).update(
            claimed_by=None, claimed_at=None, claimed_until=None, updated_at=timezone.now()
        )
        item.claimed_by, item.claimed_at, item.claimed_until = None, None, None
        audit_record(
            actor=actor,
            event_type="moderation.review_item_released",
            target=item,
            data=_item_data(item, holder=holder),
        )
    return item


def review_item_decide(*, actor: Actor, item: ReviewItem, decision: str, note: str = "") -> ReviewItem:
    """R12.1: decide a queue item through the service of the app that owns it (a case: ``case_close``; a
    held message: ``groups.services.message_review_decide``; a group request:
    ``groups.services.group_creation_decide``; a real-name review: ``identity.services.verification_decide``),
    and take it out of the queue, in one transaction. The item must be open, of a kind the reviewer decides,
    not about themselves, and not held by another reviewer. Something already decided elsewhere leaves the
    queue with ``already_decided``."""
    policies.require_work_queue(actor.user)
    source = queue.get(item.kind)
    policies.require_decide_kind(actor.user, item.kind)
    choice = source.choice(decision) if isinstance(decision, str) else None
    if choice is None:
        raise ValidationError(
            _("Choose one of the decisions offered for this item."), code="decision_invalid"
        )
    if choice.note == "none":
        note = ""
    label = str(choice.note_label or _("Note"))
    note = _clean(note, field="note", label=label, max_length=NOTE_MAX, required=choice.note == "required")
    stale = False
    with transaction.atomic():
        item = ReviewItem.objects.select_for_update(of=("self",)).select_related("group").get(pk=item.pk)
        policies.require_decide_item(actor.user, item)
        obj = source.load([item.object_id]).get(item.object_id)
        if obj is None or not source.is_pending(obj):
            stale = True
        else:
            if not choice.applies_to(obj):
                raise PolicyDenied("decision_not_applicable", _("This decision does not apply to this item."))
            source.decide(actor, obj, choice.code, note)
            now = timezone.now()
            ReviewItem.objects.filter(pk=item.pk).update(
                status=ReviewStatus.DECIDED,
                decision=choice.code,
                note=note,
                decided_at=now,
                decided_by=actor.user,
                updated_at=now,
            )
            item.status, item.decision, item.note = ReviewStatus.DECIDED, choice.code, note
            item.decided_at, item.decided_by = now, actor.user
            audit_record(
                actor=actor,
                event_type="moderation.review_item_decided",
                target=item,
                reason=note,
                data=_item_data(item, decision=choice.code, overdue=now > item.deadline),
            )
    if stale:
        _review_item_close(item.kind, item.object_id)
        raise PolicyDenied("already_decided", _("This was already decided elsewhere; it has left the queue."))
    return item


def review_queue_escalate(*, actor: Actor) -> int:
    """R12.1: items past their deadline are escalated once: marked, raised in the queue (the
    ``escalation`` weight) and reported to the supervisors (the "supervisor" role: one notice each per run,
    with the count and the most urgent). Safe to run again: an escalated item is never counted twice.
    Returns how many items were escalated."""
    policies.require_run_queue_jobs(actor)
    now = timezone.now()
    weights = rules._setting("MODERATION_QUEUE_PRIORITY_WEIGHTS", rules.QUEUE_PRIORITY_WEIGHTS)
    bonus = int(weights["escalation"])
    total, most_urgent = 0, None
    while True:
        with transaction.atomic():
            due = list(
                ReviewItem.objects.select_for_update(skip_locked=True)
                .filter(status=ReviewStatus.OPEN, escalated_at__isnull=True, deadline__lt=now)
                .order_by("deadline", "pk")[:QUEUE_ESCALATE_BATCH]
            )
            if not due:
                break
            ids = [item.pk for item in due]
            count = ReviewItem.objects.filter(pk__in=ids, escalated_at__isnull=True).update(
                escalated_at=now, priority=F("priority") + bonus, updated_at=now
            )
            if not count:
                break
            most_urgent = most_urgent or due[0]
            total += count
            audit_record(
                actor=actor,
                event_type="moderation.review_items_escalated",
                data={"count": count, "items": ids[:100], "bonus": bonus},
            )
    if total:
        context = {"count": total, "kind": KIND_LABELS.get(most_urgent.kind, ""), "first": most_urgent.title}
        with transaction.atomic():
            for supervisor in selectors.queue_supervisors():
                notify(actor=actor, recipient=supervisor, kind="moderation.review_escalated", context=context)
    return total
