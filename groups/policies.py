"""Rules for groups, memberships and messages. Each returns a Decision; ``require_*`` raises PolicyDenied."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from common.actors import Actor, ActorKind
from common.policies import ALLOW, Decision, deny
from credit.selectors import capabilities_for
from groups.models import ChatGroup, GroupBan, GroupCategory, GroupStatus, Membership, MessageStatus, Role
from groups.selectors import emergency_state, group_rules
from identity import policies as identity_policies
from identity import selectors as identity_selectors
from identity.models import RestrictionKind


def _active_membership(user, group: ChatGroup) -> Membership | None:
    if user is None or not user.is_authenticated:
        return None
    loaded = group.__dict__.get("viewer_membership")  # read with the group by selectors.group_for_posting
    if loaded is not None and loaded.user_id == user.pk:
        return loaded
    return Membership.objects.filter(group=group, user=user, left_at__isnull=True).first()


def can_view(user, group: ChatGroup) -> Decision:
    """R8.6: a group's conversation is visible to its active members only."""
    if _active_membership(user, group) is None:
        return deny("not_member", _("You are not a member of this group."))
    return ALLOW


def require_view(user, group: ChatGroup) -> None:
    can_view(user, group).require()


def can_create_group(user, category: GroupCategory | None = None) -> Decision:
    """R6.2, R11.2, R8.4: creating a group is publishing; a user barred from creating groups may not; the
    category asks for a credit level and must be open to the creator's level."""
    decision = identity_policies.can_publish(user)
    if not decision:
        return decision
    frozen = _creation_frozen()
    if frozen is not None:
        return frozen
    if identity_selectors.restriction_active(user, RestrictionKind.CREATE_GROUP):
        return deny("create_group_barred", _("This account may not create groups at present."))
    decision = _within_owned_cap(user)
    if not decision or category is None:
        return decision
    caps = capabilities_for(user)
    if not category.enabled:
        return deny("category_closed", _("No new groups can be created in this category."))
    if caps.level.number < category.min_creator_level or not caps.may_create_in(category.code):
        return _level_refusal(
            "category_level",
            _("Groups of the category “%(category)s” need credit level %(needed)d; you are at %(level)d.")
            % {"category": category.name, "needed": category.min_creator_level, "level": caps.level.number},
        )
    return ALLOW


def _level_refusal(code: str, message: str) -> Decision:
    return deny(code, message, action_url="/credit/")


def _within_owned_cap(user) -> Decision:
    """R7.3, R8.1: how many groups one may own, and whether one may create any, follow the credit level."""
    caps = capabilities_for(user)
    owned = Membership.objects.filter(
        user=user,
        role=Role.OWNER,
        left_at__isnull=True,
        group__status__in=[GroupStatus.ACTIVE, GroupStatus.PENDING_REVIEW],
    ).count()
    if caps.max_groups_owned == 0 or caps.max_group_size == 0:
        return _level_refusal(
            "level_cannot_create",
            _("At credit level %(level)s you cannot create groups yet. See how to reach the next level.")
            % {"level": caps.level.label},
        )
    if owned >= caps.max_groups_owned:
        return _level_refusal(
            "owned_cap_reached",
            _("At credit level %(level)s you may own %(cap)d groups, and you own %(owned)d.")
            % {"level": caps.level.label, "cap": caps.max_groups_owned, "owned": owned},
        )
    return ALLOW


def require_create_group(user, category: GroupCategory | None = None) -> None:
    can_create_group(user, category).require()


def _not_active(group: ChatGroup) -> Decision | None:
    if group.status == GroupStatus.ACTIVE:
        return None
    if group.status == GroupStatus.PENDING_REVIEW:
        return deny("group_pending_review", _("This group is waiting for staff review."))
    if group.status == GroupStatus.CLOSED:  # R11.1: closure is read-only at once
        return deny("group_closed", _("This group was closed by the platform; it is read-only."))
    return deny("group_not_active", _("This group is closed."))


def _local(moment) -> str:
    return f"{timezone.localtime(moment):%Y-%m-%d %H:%M}"


def _posting_suspended(group: ChatGroup) -> Decision | None:
    """R11.1: a posting suspension of the whole group, until its end (the field is read with the group)."""
    until = group.posting_suspended_until
    if until is None or until <= timezone.now():
        return None
    return deny(
        "group_posting_suspended",
        _("Posting in this group is suspended by the platform until %(until)s.") % {"until": _local(until)},
    )


def _creation_frozen() -> Decision | None:
    """R5.1: while an emergency freeze of group creation is in force, nobody creates a group."""
    until = emergency_state().frozen_until(timezone.now())
    if until is None:
        return None
    return deny(
        "group_creation_frozen",
        _("Creating groups is paused by the platform until %(until)s.") % {"until": _local(until)},
    )


def require_creation_open() -> None:
    """R5.1: a new group goes live (created, or approved by staff) only while creation is not frozen."""
    frozen = _creation_frozen()
    if frozen is not None:
        frozen.require()


def _emergency_suspended(group: ChatGroup) -> Decision | None:
    """R5.1: an emergency suspension of posting in the group's category (or in every category)."""
    until = emergency_state().suspended_until(group.category_id, timezone.now())
    if until is None:
        return None
    return deny(
        "emergency_posting_suspended",
        _("Posting in groups of this kind is paused by the platform until %(until)s.")
        % {"until": _local(until)},
    )


def emergency_holds_messages(group: ChatGroup) -> bool:
    """R5.1: while an emergency hold covers the group's category, its new messages wait for review."""
    return emergency_state().held_until(group.category_id, timezone.now()) is not None


def can_declare_emergency(user) -> Decision:
    """R5.1: supervisors (``groups.declare_emergency``) throw and end the platform's emergency switches."""
    if (
        user is not None
        and user.is_authenticated
        and user.is_active
        and user.has_perm("groups.declare_emergency")
    ):
        return ALLOW
    return deny("not_supervisor", _("Only supervisors declare or end emergency measures."))


def can_publish_in_group(user, group: ChatGroup) -> Decision:
    """R6.2, R11.1, R11.2, R5.1: what the owner and admins publish to the group (its announcement, name,
    description and rules, a pinned message) is publishing: it needs the right to manage, an account that
    may publish, and the group's posting not suspended by a sanction or an emergency measure."""
    decision = can_manage(user, group)
    if not decision:
        return decision
    decision = identity_policies.can_publish(user)
    if not decision:
        return decision
    suspended = _posting_suspended(group)
    if suspended is None:
        suspended = _emergency_suspended(group)
    return suspended if suspended is not None else ALLOW


def require_publish_in_group(user, group: ChatGroup) -> None:
    can_publish_in_group(user, group).require()


def require_declare_emergency(user) -> None:
    can_declare_emergency(user).require()


def can_view_emergency(user) -> Decision:
    """R5.1: staff who may see the emergency measures in force and their history."""
    staff = user is not None and user.is_authenticated and user.is_active and user.is_staff
    if staff and (user.has_perm("groups.declare_emergency") or user.has_perm("groups.view_emergencymeasure")):
        return ALLOW
    return deny("not_staff", _("Only compliance staff see the emergency measures."))


def _management_held(user) -> Decision | None:
    """R11.2, R11.3: management powers suspended until a time, or the person blacklisted."""
    decision = identity_policies.can_hold_management(user)
    return None if decision else decision


def can_post(user, group: ChatGroup) -> Decision:
    """R6.2, R8.6, R11.1: only an account that may publish (not muted platform-wide, not suspended, not
    blacklisted: R11.2, R11.3), only as an active member, and only while the group is open and its posting
    is not suspended by the platform, posts in a group."""
    decision = identity_policies.can_publish(user)
    if not decision:
        return decision
    inactive = _not_active(group)
    if inactive is not None:
        return inactive
    membership = _active_membership(user, group)
    if membership is None:
        return deny("not_member", _("You are not a member of this group."))
    # A refusal is a falsy Decision: chain with ``is None``, never with ``or``.
    suspended = _posting_suspended(group)
    if suspended is None:
        suspended = _emergency_suspended(group)
    if suspended is not None:
        return suspended
    if membership.muted_until and membership.muted_until > timezone.now():
        until = timezone.localtime(membership.muted_until)
        return deny(
            "muted",
            _("You are muted in this group until %(until)s.") % {"until": f"{until:%Y-%m-%d %H:%M}"},
        )
    if group.announcement_only and membership.role == Role.MEMBER:
        return deny("announcement_only", _("Only the owner and admins post in this group at present."))
    return ALLOW


def require_post(user, group: ChatGroup) -> None:
    can_post(user, group).require()


def upload_limit_bytes(user) -> int:
    """R7.3: the largest picture or file the user's credit level allows (0: none), within the platform's
    own limit ``ATTACHMENT_MAX_BYTES``."""
    return _upload_limit(capabilities_for(user))


def _upload_limit(caps) -> int:
    return min(caps.max_upload_mb * 1024 * 1024, settings.ATTACHMENT_MAX_BYTES)


def can_send_file(user, group: ChatGroup, size: int) -> Decision:
    """R6.2, R7.3: a picture or file is a message (``can_post``) whose size the credit level bounds."""
    decision = can_post(user, group)
    if not decision:
        return decision
    caps = capabilities_for(user)
    limit = _upload_limit(caps)
    if limit == 0:
        return _level_refusal(
            "level_cannot_upload",
            _("At credit level %(level)s you cannot send pictures or files yet.")
            % {"level": caps.level.label},
        )
    if size > limit:
        return _level_refusal(
            "file_too_large",
            _("This file is %(size)s; at credit level %(level)s you may send up to %(limit)s.")
            % {"size": _megabytes(size), "level": caps.level.label, "limit": _megabytes(limit)},
        )
    return ALLOW


def require_send_file(user, group: ChatGroup, size: int) -> None:
    can_send_file(user, group, size).require()


def can_view_attachment(user, message) -> Decision:
    """R8.6, R13.2: a picture or file is seen by the group's active members while its message is shown
    (a held one by its sender only), and by compliance staff with the attachment permission at any time
    (evidence). A former member's link stops working at once."""
    if user is None or not user.is_authenticated:
        return deny("not_signed_in", _("Please sign in first."), action_url="/accounts/login/")
    if user.is_staff and user.has_perm("groups.view_attachment"):
        return ALLOW
    if _active_membership(user, message.group) is None:
        return deny("not_member", _("You are not a member of this group."))
    if message.status == MessageStatus.VISIBLE or (
        message.status == MessageStatus.HELD and message.sender_id == user.pk
    ):
        return ALLOW
    return deny("attachment_hidden", _("This file has been removed."))


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


def _may_enter(user) -> Decision:
    """R11.2, R11.3: a person enters a group, by any way in, only with an account in use, not barred from
    joining groups and not on the blacklist."""
    decision = identity_policies.can_use_service(user)
    if not decision:
        return decision
    if identity_selectors.restriction_active(user, RestrictionKind.JOIN_GROUP):
        return deny("join_barred", _("This account may not join groups at present."))
    return identity_policies.can_use_group_functions(user)  # R11.3


def can_join(user, group: ChatGroup, invite_token: str) -> Decision:
    """R8.5, R11.3: joining by invitation link needs the group's current link; a member cannot join twice;
    a blacklisted person cannot join."""
    decision = _may_enter(user)
    if not decision:
        return decision
    if invite_token != group.invite_token:
        return deny("invite_invalid", _("This invitation link is no longer valid. Ask for a new one."))
    if _active_membership(user, group) is not None:
        return deny("already_member", _("You are already a member of this group."))
    inactive = _not_active(group)
    if inactive is not None:  # a Decision is falsy when it refuses
        return inactive
    barred = _barred(user, group)
    if barred is not None:
        return barred
    rules = group_rules(group)
    if rules.full:
        return deny("group_full", _("This group is full (%(cap)d members).") % {"cap": rules.cap})
    if not rules.open_link_allowed:
        return deny(
            "link_closed",
            _("At its size this group takes no joins by link; ask the owner or an admin to invite you."),
        )
    if group.join_mode != "link":  # the owner chose requests or invitations
        return deny("link_closed", _("This group does not take joins by link."))
    return _join_limits(user, rules)


def _barred(user, group: ChatGroup) -> Decision | None:
    ban = (
        GroupBan.objects.filter(group=group, user=user, lifted_at__isnull=True)
        .filter(Q(until__isnull=True) | Q(until__gt=timezone.now()))
        .first()
    )
    if ban is None:
        return None
    return deny("barred", _("You were removed from this group and may not rejoin it."))


def can_request_join(user, group: ChatGroup) -> Decision:
    """R8.5, R11.3: asking to join, where the group's rules offer requests; the same caps and the same
    blacklist as every other path."""
    decision = identity_policies.can_use_service(user)
    if not decision:
        return decision
    if identity_selectors.restriction_active(user, RestrictionKind.JOIN_GROUP):
        return deny("join_barred", _("This account may not join groups at present."))
    decision = identity_policies.can_use_group_functions(user)  # R11.3
    if not decision:
        return decision
    if _active_membership(user, group) is not None:
        return deny("already_member", _("You are already a member of this group."))
    for check in (_not_active(group), _barred(user, group)):
        if check is not None:
            return check
    rules = group_rules(group)
    # The owner's chosen way, or requests as the way in once the group is too large for its open link.
    chosen = group.join_mode == "request" or (group.join_mode == "link" and not rules.open_link_allowed)
    if "request" not in rules.join_modes or not chosen:
        return deny("requests_closed", _("This group does not take join requests."))
    return _join_limits(user, rules)


def require_request_join(user, group: ChatGroup) -> None:
    can_request_join(user, group).require()


def _join_limits(user, rules) -> Decision:
    """The caps every path into a group checks: the group's size and the joiner's own (R8.1)."""
    if rules.full:
        return deny("group_full", _("This group is full (%(cap)d members).") % {"cap": rules.cap})
    if rules.joiners_must_be_verified and identity_selectors.verification_status(user) != "verified":
        return deny(
            "verification_required",
            _("Groups of this size need their members' real-name verification first."),
            action_url="/accounts/verify/",
        )
    caps = capabilities_for(user)
    joined = Membership.objects.filter(
        user=user, left_at__isnull=True, group__status__in=[GroupStatus.ACTIVE, GroupStatus.PENDING_REVIEW]
    ).count()
    if joined >= caps.max_groups_joined:
        return _level_refusal(
            "joined_cap_reached",
            _("At credit level %(level)s you may be in %(cap)d groups, and you are in %(joined)d.")
            % {"level": caps.level.label, "cap": caps.max_groups_joined, "joined": joined},
        )
    return ALLOW


def require_join(user, group: ChatGroup, invite_token: str) -> None:
    can_join(user, group, invite_token).require()


def can_leave(user, group: ChatGroup) -> Decision:
    """R8.6: the owner cannot simply leave; the group would be left without its responsible person."""
    membership = _active_membership(user, group)
    if membership is None:
        return deny("not_member", _("You are not a member of this group."))
    if membership.role == Role.OWNER:
        return deny("owner_cannot_leave", _("The owner cannot leave the group; transfer ownership first."))
    return ALLOW


def require_leave(user, group: ChatGroup) -> None:
    can_leave(user, group).require()


def can_manage_invite(user, group: ChatGroup) -> Decision:
    """R9.2, R11.2: owners and admins manage the invitation link (granted as an object permission), while
    their management powers are not suspended."""
    if _active_membership(user, group) is None:
        return deny("not_member", _("You are not a member of this group."))
    if not user.has_perm("groups.manage_chatgroup", group):
        return deny("not_manager", _("Only the owner and admins can manage the invitation link."))
    held = _management_held(user)
    return held if held is not None else ALLOW


def require_manage_invite(user, group: ChatGroup) -> None:
    can_manage_invite(user, group).require()


def can_appoint_admin(user, group: ChatGroup, member) -> Decision:
    """R9.2, R11.2, R11.3: the owner (with management powers not suspended) appoints admins from among the
    group's members; a member whose powers are suspended or who is blacklisted cannot be appointed."""
    membership = _active_membership(user, group)
    if membership is None or membership.role != Role.OWNER:
        return deny("not_owner", _("Only the owner can appoint admins."))
    held = _management_held(user)
    if held is not None:
        return held
    target = _active_membership(member, group)
    if target is None:
        return deny("not_member", _("Only a member of the group can become an admin."))
    if target.role != Role.MEMBER:
        return deny("already_admin", _("This member is already an admin or the owner."))
    barred = identity_policies.can_hold_management(member)
    if not barred:
        return deny(
            "cannot_be_admin",
            _("This member cannot be appointed admin at present: %(reason)s") % {"reason": barred.reason},
        )
    caps = capabilities_for(member)
    if not caps.may_be_admin:
        return deny(
            "level_cannot_be_admin",
            _("At credit level %(level)s this member cannot be appointed admin yet.")
            % {"level": caps.level.label},
        )
    admins = Membership.objects.filter(group=group, role=Role.ADMIN, left_at__isnull=True).count()
    if admins >= settings.GROUP_MAX_ADMINS:
        return deny(
            "admins_cap",
            _("A group has at most %(cap)d admins.") % {"cap": settings.GROUP_MAX_ADMINS},
        )
    return ALLOW


def require_appoint_admin(user, group: ChatGroup, member) -> None:
    can_appoint_admin(user, group, member).require()


def can_review_group_creation(user) -> Decision:
    """R8.4: compliance staff with the review permission decide on groups whose category needs review."""
    if (
        user is not None
        and user.is_authenticated
        and user.is_staff
        and user.has_perm("groups.review_chatgroup")
    ):
        return ALLOW
    return deny("not_allowed", _("Only compliance staff may review new groups."))


def require_review_group_creation(user) -> None:
    can_review_group_creation(user).require()


def can_restrict_group(actor: Actor) -> Decision:
    """R11.1: measures on a group (warning, posting suspension, closure) are applied by compliance staff
    or the platform's own sanction services (moderation decides; groups records and enforces)."""
    if actor.kind == ActorKind.SYSTEM or (actor.is_authenticated and actor.user.is_staff):
        return ALLOW
    return deny("not_allowed", _("Only compliance staff restrict groups."))


def require_restrict_group(actor: Actor) -> None:
    can_restrict_group(actor).require()


def can_configure_groups(user) -> Decision:
    """R7.1: platform administrators define categories and tiers."""
    if (
        user is not None
        and user.is_authenticated
        and user.is_staff
        and user.has_perm("groups.change_groupcategory")
    ):
        return ALLOW
    return deny("not_allowed", _("Only platform administrators may change group categories and tiers."))


def require_configure_groups(user) -> None:
    can_configure_groups(user).require()


RANK = {Role.OWNER: 3, Role.ADMIN: 2, Role.MEMBER: 1}


def can_manage(user, group: ChatGroup) -> Decision:
    """R9.2, R11.2, R11.3: the owner and admins manage the group; the right is an object permission the
    membership services grant and revoke, and the role must still be held (dismissal ends it at once). A
    platform suspension of the person's management powers, or the blacklist, stops it until its end."""
    membership = _active_membership(user, group)
    if membership is None:
        return deny("not_member", _("You are not a member of this group."))
    if membership.role == Role.MEMBER or not user.has_perm("groups.manage_chatgroup", group):
        return deny("not_manager", _("Only the owner and admins can do this."))
    inactive = _not_active(group)
    if inactive is not None:
        return inactive
    held = _management_held(user)
    return held if held is not None else ALLOW


def require_manage(user, group: ChatGroup) -> None:
    can_manage(user, group).require()


def can_moderate_member(user, group: ChatGroup, member) -> Decision:
    """R9.2: mute or remove a member: admins act on members, the owner on admins and members; nobody on
    themselves."""
    decision = can_manage(user, group)
    if not decision:
        return decision
    target = _active_membership(member, group)
    if target is None:
        return deny("not_member", _("This person is not a member of the group."))
    mine = _active_membership(user, group)
    if member.pk == user.pk or RANK[Role(target.role)] >= RANK[Role(mine.role)]:
        return deny("outranked", _("You can only do this to members below your role."))
    return ALLOW


def require_moderate_member(user, group: ChatGroup, member) -> None:
    can_moderate_member(user, group, member).require()


def can_remove_message(user, message) -> Decision:
    """R9.2: the owner and admins remove messages: their own, those of members below their role, and those
    of people who have left; an admin does not remove the owner's or another admin's."""
    decision = can_manage(user, message.group)
    if not decision:
        return decision
    sender = _active_membership(message.sender, message.group)
    if sender is None or sender.role == Role.MEMBER or message.sender_id == user.pk:
        return ALLOW
    mine = _active_membership(user, message.group)
    if RANK[Role(sender.role)] >= RANK[Role(mine.role)]:
        return deny("outranked", _("You can only do this to members below your role."))
    return ALLOW


def require_remove_message(user, message) -> None:
    can_remove_message(user, message).require()


def can_recall(user, message) -> Decision:
    """The sender recalls a shown message of theirs within the recall window, while still a member."""
    if message.sender_id != user.pk:
        return deny("not_yours", _("Only the sender can recall a message."))
    if _active_membership(user, message.group) is None:
        return deny("not_member", _("You are not a member of this group."))
    inactive = _not_active(message.group)
    if inactive is not None:
        return inactive
    if message.status != MessageStatus.VISIBLE:
        return deny("not_recallable", _("This message can no longer be recalled."))
    window = settings.CHAT_RECALL_SECONDS
    if message.created_at < timezone.now() - timedelta(seconds=window):
        return deny(
            "recall_window_passed",
            _("A message can be recalled within %(minutes)s minutes of sending it.")
            % {"minutes": f"{window / 60:g}"},
        )
    return ALLOW


def require_recall(user, message) -> None:
    can_recall(user, message).require()


def can_own_action(user, group: ChatGroup) -> Decision:
    """R8.6, R11.2: dismissing admins, transferring ownership and dissolving belong to the owner, while
    their management powers are not suspended."""
    membership = _active_membership(user, group)
    if membership is None or membership.role != Role.OWNER:
        return deny("not_owner", _("Only the owner can do this."))
    inactive = _not_active(group)
    if inactive is not None:
        return inactive
    held = _management_held(user)
    return held if held is not None else ALLOW


def require_own_action(user, group: ChatGroup) -> None:
    can_own_action(user, group).require()


def can_invite(user, group: ChatGroup, invitee) -> Decision:
    """R8.5: a member invites where the group's category and tier allow invitations; the invitee must be
    able to join (caps, verification above the size) as on every other path."""
    if _active_membership(user, group) is None:
        return deny("not_member", _("You are not a member of this group."))
    inactive = _not_active(group)
    if inactive is not None:
        return inactive
    for standing in (
        identity_policies.can_use_account(user),
        identity_policies.can_use_group_functions(user),
    ):
        if not standing:  # R11.2, R11.3: a suspended or blacklisted member invites nobody
            return standing
    rules = group_rules(group)
    if "invite" not in rules.join_modes:
        return deny("invitations_closed", _("This group does not take invitations."))
    if _active_membership(invitee, group) is not None:
        return deny("already_member", _("This person is already a member."))
    barred = _barred(invitee, group)
    if barred is not None:
        return barred
    if not _may_enter(invitee):  # R11.2, R11.3
        return deny("invitee_blacklisted", _("This person cannot join groups at present."))
    return _join_limits(invitee, rules)


def require_invite(user, group: ChatGroup, invitee) -> None:
    can_invite(user, group, invitee).require()


def can_accept_invitation(user, group: ChatGroup) -> Decision:
    """R8.5, R11.3: at the moment the invitee confirms, the group must still be open to them, they must not
    be blacklisted, and every cap hold."""
    for check in (_not_active(group), _barred(user, group)):
        if check is not None:
            return check
    decision = _may_enter(user)
    if not decision:
        return decision
    return _join_limits(user, group_rules(group))


def require_accept_invitation(user, group: ChatGroup) -> None:
    can_accept_invitation(user, group).require()


def can_review_messages(user) -> Decision:
    """R10.1, R12.1: compliance staff with ``groups.review_message`` release or remove messages held by
    screening, and take down shown messages reported to the platform."""
    if (
        user is not None
        and user.is_authenticated
        and user.is_staff
        and user.has_perm("groups.review_message")
    ):
        return ALLOW
    return deny("not_allowed", _("Only compliance staff may review messages."))


def require_review_messages(user) -> None:
    can_review_messages(user).require()
