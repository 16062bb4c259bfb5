"""Who may report what, who sees which cases, and who decides them (R12.1).

Each ``can_*`` returns a Decision; ``require_*`` raises PolicyDenied. Fetching a target and authorising it
happen together in ``moderation.selectors.report_target_for_actor`` (404: no probing); these rules are the
ones the service checks again, whatever the door.
"""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from common import ratelimit
from common.actors import Actor
from common.policies import ALLOW, Decision, PolicyDenied, deny
from common.reasons import ReasonKind
from groups import policies as group_policies
from groups.models import ChatGroup, GroupStatus, Membership
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


def can_close_case(user, case: Case) -> Decision:
    """R12.1: an open case is closed once, with its outcome."""
    decision = can_decide_case(user)
    if not decision:
        return decision
    if case.status != CaseStatus.OPEN:
        return deny("case_closed", _("This case is already closed."))
    return ALLOW


def require_close_case(user, case: Case) -> None:
    can_close_case(user, case).require()
