"""Who may report what, who sees which cases, and who decides them (R12.1).

Each ``can_*`` returns a Decision; ``require_*`` raises PolicyDenied. Fetching a target and authorising it
happen together in ``moderation.selectors.report_target_for_actor`` (404: no probing); these rules are the
ones the service checks again, whatever the door.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from common import ratelimit
from common.actors import Actor
from common.policies import ALLOW, Decision, PolicyDenied, deny
from common.reasons import ReasonKind
from groups import policies as group_policies
from groups.models import ChatGroup, GroupStatus, Membership
from moderation import ladder
from moderation.models import Case, CaseStatus, TargetKind

# Complaints a logged-out visitor may file per hour from one IP address, and a signed-in person per hour.
VISITOR_COMPLAINTS_PER_HOUR = 5
MEMBER_COMPLAINTS_PER_HOUR = 30


def group_is_public(group: ChatGroup) -> bool:
    """R8.3: an active group of at least ``GROUP_INFO_PAGE_THRESHOLD`` active members has a public info
    page (the same rule as ``groups.views_info``)."""
    if group.status != GroupStatus.ACTIVE:
        return False
    count = Membership.objects.filter(group=group, left_at__isnull=True).count()
    return count >= settings.GROUP_INFO_PAGE_THRESHOLD


def _is_member(user, group: ChatGroup) -> bool:
    return bool(user is not None and user.is_authenticated and group_policies.can_view(user, group))


def can_report(actor: Actor, target) -> Decision:
    """R12.1: a member reports the messages and members of their own groups, and their groups; anyone,
    signed in or not, reports a group that has a public info page (R8.3). Nobody reports themselves."""
    group = target.group
    if target.kind == TargetKind.GROUP:
        if _is_member(actor.user, group) or group_is_public(group):
            return ALLOW
        return deny("not_found", _("This group cannot be reported here."))
    if not _is_member(actor.user, group):
        return deny("not_member", _("You are not a member of this group."))
    if target.subject is not None and target.subject.pk == actor.user_id:
        return deny("report_self", _("You cannot report yourself."))
    return ALLOW


def require_report(actor: Actor, target) -> None:
    can_report(actor, target).require()


def require_within_report_rate(actor: Actor) -> None:
    """R12.1: complaints are rate-limited, per IP address for logged-out visitors
    (``MODERATION_VISITOR_COMPLAINTS_PER_HOUR``) and per person for members
    (``MODERATION_MEMBER_COMPLAINTS_PER_HOUR``); the refusal says how long to wait."""
    if actor.is_authenticated:
        key = f"moderation:complaints:user:{actor.user_id}"
        limit = getattr(settings, "MODERATION_MEMBER_COMPLAINTS_PER_HOUR", MEMBER_COMPLAINTS_PER_HOUR)
    else:
        key = f"moderation:complaints:ip:{actor.ip or 'unknown'}"
        limit = getattr(settings, "MODERATION_VISITOR_COMPLAINTS_PER_HOUR", VISITOR_COMPLAINTS_PER_HOUR)
    wait = ratelimit.consume(key, limit=int(limit), window=3600)
    if wait:
        minutes = max(1, -(-wait // 60))
        raise PolicyDenied(
            "rate_limited",
            _("You have sent many reports in a short time. Please try again in %(minutes)d minutes.")
            % {"minutes": minutes},
            retry_after=wait,
        )


def can_view_group_cases(user, group: ChatGroup) -> Decision:
    """R12.1, R9.2: the owner and admins see their group's conduct cases (messages and members reported
    for prohibited conduct), for their own measures; never who reported them."""
    return group_policies.can_manage(user, group)


def require_view_group_cases(user, group: ChatGroup) -> None:
    can_view_group_cases(user, group).require()


def case_is_conduct(case: Case) -> bool:
    """The cases an owner and admins see: in-group (a message or a member) and for prohibited conduct."""
    return case.kind in (TargetKind.MESSAGE, TargetKind.MEMBER) and case.category_kind == ReasonKind.CONDUCT


def can_decide_case(user) -> Decision:
    """R12.1: compliance staff with ``moderation.change_case`` decide cases, and the reporters are told."""
    if (
        user is not None
        and user.is_authenticated
        and user.is_staff
        and user.has_perm("moderation.change_case")
    ):
        return ALLOW
    return deny("not_allowed", _("Only compliance staff may handle reports."))


def require_decide_case(user) -> None:
    can_decide_case(user).require()


def concerns(user, *, target_user=None, target_group=None) -> bool:
    """Whether a case or measure is about this person: they are its target, or an active owner or admin
    of its group. Such a person never decides it (R11, R12.1)."""
    if user is None or not user.is_authenticated:
        return False
    if target_user is not None and getattr(target_user, "pk", target_user) == user.pk:
        return True
    if target_group is None:
        return False
    return Membership.objects.filter(
        group=target_group, user=user, role__in=("owner", "admin"), left_at__isnull=True
    ).exists()


def _own_matter() -> Decision:
    return deny("own_matter", _("Nobody decides a matter about themselves or a group they run."))


def can_close_case(user, case: Case) -> Decision:
    """R12.1: an open case is closed once, with its outcome, by staff it is not about."""
    decision = can_decide_case(user)
    if not decision:
        return decision
    if concerns(user, target_user=case.subject_id, target_group=case.group):
        return _own_matter()
    if case.status != CaseStatus.OPEN:
        return deny("case_closed", _("This case is already closed."))
    return ALLOW


def require_close_case(user, case: Case) -> None:
    can_close_case(user, case).require()


# --- sanctions, the blacklist and appeals (R11.1-R11.3) -----------------------------------------------


def _staff_with(user, *permissions: str) -> bool:
    return bool(
        user is not None
        and user.is_authenticated
        and user.is_staff
        and any(user.has_perm(f"moderation.{permission}") for permission in permissions)
    )


def can_issue_sanction(user) -> Decision:
    """R11.1-R11.3: compliance staff with ``moderation.add_sanction`` (the reviewer role) decide measures on
    groups and people; closures, blacklisting and permanent measures then wait for a supervisor."""
    if _staff_with(user, "add_sanction"):
        return ALLOW
    return deny("not_allowed", _("Only compliance staff may decide sanctions."))


def require_issue_sanction(user) -> None:
    can_issue_sanction(user).require()


def can_sanction_target(user, *, target_user=None, target_group=None) -> Decision:
    """R11.1, R11.2: nobody decides a measure on themselves or on a group they own or administer."""
    if target_user is not None and user is not None and target_user.pk == user.pk:
        return deny("own_sanction", _("Nobody decides a measure on themselves."))
    if concerns(user, target_group=target_group):
        return _own_matter()
    return ALLOW


def can_view_sanctions(user) -> Decision:
    """R11.1-R11.3: the sanctions and the blacklist are seen by compliance staff who issue, approve or
    review them."""
    if _staff_with(user, "view_sanction", "add_sanction", "approve_sanction", "decide_appeal"):
        return ALLOW
    return deny("not_allowed", _("Only compliance staff may see sanctions."))


def require_view_sanctions(user) -> None:
    can_view_sanctions(user).require()


def _owns_group(user, group) -> bool:
    return Membership.objects.filter(group=group, user=user, role="owner", left_at__isnull=True).exists()


def can_approve_sanction(user, sanction) -> Decision:
    """R11.1-R11.3, four eyes: a closure, a blacklisting or a permanent measure takes effect only when a
    supervisor (``moderation.approve_sanction``) other than the one who decided it approves it; nothing
    happens before. Nobody approves a measure on themselves."""
    if not _staff_with(user, "approve_sanction"):
        return deny("not_supervisor", _("Only a supervisor may approve or refuse this measure."))
    if sanction.status != "pending":
        return deny("not_pending", _("This measure is not waiting for approval."))
    if sanction.decided_by_id == user.pk:
        return deny("same_person", _("A second person must approve a measure you decided (four eyes)."))
    if sanction.target_user_id == user.pk:
        return deny("own_sanction", _("Nobody decides a measure on themselves."))
    if concerns(user, target_group=sanction.target_group):
        return _own_matter()
    return ALLOW


def require_approve_sanction(user, sanction) -> None:
    can_approve_sanction(user, sanction).require()


def appellant_of(user, sanction) -> bool:
    """The person a measure concerns: its target, or the owner of the group it is on."""
    if user is None or not user.is_authenticated:
        return False
    if sanction.target_user_id is not None:
        return sanction.target_user_id == user.pk
    return _owns_group(user, sanction.target_group)


def can_appeal(user, sanction, *, now=None) -> Decision:
    """R11.1-R11.3: the person a measure concerns (or the owner of the group it is on) appeals it once,
    while it is in force or has ended, within ``MODERATION_APPEAL_WINDOW_DAYS`` of its start."""
    if not appellant_of(user, sanction):
        return deny("not_yours", _("Only the person concerned, or the group's owner, may appeal."))
    if sanction.status not in ("active", "expired") or sanction.starts_at is None:
        return deny("not_appealable", _("This measure cannot be appealed."))
    if hasattr(sanction, "appeal"):
        return deny("already_appealed", _("This measure has already been appealed; each measure once."))
    days = ladder.appeal_window_days()
    if (now or timezone.now()) > sanction.starts_at + timedelta(days=days):
        return deny(
            "appeal_window_passed",
            _("A measure may be appealed within %(days)d days of taking effect.") % {"days": days},
        )
    return ALLOW


def require_appeal(user, sanction) -> None:
    can_appeal(user, sanction).require()


def can_decide_appeal(user, appeal) -> Decision:
    """R11.1-R11.3: an appeal is decided by a reviewer (``moderation.decide_appeal``) other than those who
    decided the measure (who issued it and who approved it), and never by the appellant."""
    if not _staff_with(user, "decide_appeal"):
        return deny("not_allowed", _("Only compliance staff may decide appeals."))
    if appeal.status != "pending":
        return deny("already_decided", _("This appeal has already been decided."))
    sanction = appeal.sanction
    if user.pk in (sanction.decided_by_id, sanction.approved_by_id):
        return deny(
            "same_person", _("An appeal is decided by someone other than those who decided the measure.")
        )
    if user.pk in (appeal.filed_by_id, sanction.target_user_id):
        return deny("own_sanction", _("Nobody decides a measure on themselves."))
    if concerns(user, target_group=sanction.target_group):
        return _own_matter()
    return ALLOW


def require_decide_appeal(user, appeal) -> None:
    can_decide_appeal(user, appeal).require()


# --- the review queue (R12.1) --------------------------------------------------------------------------


def queue_kinds_for(user) -> list[str]:
    """R12.1: the kinds of queue item a staff member decides: each kind's permission (``moderation.queue``;
    the "reviewer" role holds all of them)."""
    from moderation import queue

    if user is None or not user.is_authenticated or not user.is_staff or not user.is_active:
        return []
    return [kind for kind, source in queue.SOURCES.items() if user.has_perm(source.permission)]


def can_work_queue(user) -> Decision:
    """R12.1: the review queue is for compliance staff who decide at least one kind of item."""
    if queue_kinds_for(user):
        return ALLOW
    return deny("not_allowed", _("Only compliance reviewers may use the review queue."))


def require_work_queue(user) -> None:
    can_work_queue(user).require()


def can_decide_kind(user, kind: str) -> Decision:
    """R12.1: each kind of item is decided by those holding its permission (a held message:
    ``groups.review_message``; a group request: ``groups.review_chatgroup``; a real-name review:
    ``identity.review_identityverification``; a report: ``moderation.change_case``)."""
    if kind in queue_kinds_for(user):
        return ALLOW
    return deny("not_allowed", _("You do not decide items of this kind."))


def require_decide_kind(user, kind: str) -> None:
    can_decide_kind(user, kind).require()


def _claim_holder(item, now=None):
    """The other reviewer whose claim on the item still runs, or None."""
    now = now or timezone.now()
    if item.claimed_by_id is None or item.claimed_until is None or item.claimed_until <= now:
        return None
    return item.claimed_by


def can_claim(user, item) -> Decision:
    """R12.1: one item, one reviewer: an open item of a kind the person decides, never about themselves
    or a group they run, and not while another reviewer's claim runs (a claim lapses at
    ``claimed_until``)."""
    from moderation.models import ReviewStatus

    decision = can_decide_kind(user, item.kind)
    if not decision:
        return decision
    if item.status != ReviewStatus.OPEN:
        return deny("already_decided", _("This item has already been decided."))
    if item.subject_id is not None and item.subject_id == user.pk:
        return deny("own_item", _("Nobody reviews an item about themselves."))
    if item.group_id is not None and concerns(user, target_group=item.group_id):
        return _own_matter()
    holder = _claim_holder(item)
    if holder is not None and holder.pk != user.pk:
        until = timezone.localtime(item.claimed_until)
        return deny(
            "claimed_by_other",
            _("%(name)s is handling this item until %(time)s.")
            % {"name": holder.display_name, "time": f"{until:%H:%M}"},
        )
    return ALLOW


def require_claim(user, item) -> None:
    can_claim(user, item).require()


def can_decide_item(user, item) -> Decision:
    """R12.1: the same as claiming it: deciding an unclaimed item takes it."""
    return can_claim(user, item)


def require_decide_item(user, item) -> None:
    can_decide_item(user, item).require()


def can_receive_escalations(user) -> Decision:
    """R12.1: supervisors (``moderation.receive_escalations``, the "supervisor" role) are told of overdue
    items, and may free any reviewer's claim."""
    if (
        user is not None
        and user.is_authenticated
        and user.is_staff
        and user.has_perm("moderation.receive_escalations")
    ):
        return ALLOW
    return deny("not_supervisor", _("Only supervisors may do this."))


def can_release_claim(user, item) -> Decision:
    """R12.1: a reviewer gives back their own claim; a supervisor frees anyone's."""
    decision = can_work_queue(user)
    if not decision:
        return decision
    if item.claimed_by_id is None:
        return deny("not_claimed", _("Nobody holds this item."))
    if item.claimed_by_id == user.pk or can_receive_escalations(user):
        return ALLOW
    return deny("not_yours", _("Only the reviewer holding an item, or a supervisor, may give it back."))


def require_release_claim(user, item) -> None:
    can_release_claim(user, item).require()


def can_run_queue_jobs(actor: Actor) -> Decision:
    """R12.1: the queue's periodic work (reconciling with its sources, escalating overdue items) is the
    platform's own (system actor), or a reviewer's (the queue page refreshes itself)."""
    from common.actors import ActorKind

    if actor.kind == ActorKind.SYSTEM or can_work_queue(actor.user):
        return ALLOW
    return deny("not_allowed", _("Only compliance reviewers may use the review queue."))


def require_run_queue_jobs(actor: Actor) -> None:
    can_run_queue_jobs(actor).require()


def can_supervise_sanctions(user) -> Decision:
    """R11.1-R11.3: supervisors (``moderation.approve_sanction``) approve or refuse the measures that need
    four eyes."""
    if _staff_with(user, "approve_sanction"):
        return ALLOW
    return deny("not_supervisor", _("Only a supervisor may approve or refuse this measure."))


def require_supervise_sanctions(user) -> None:
    can_supervise_sanctions(user).require()
