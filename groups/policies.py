"""Rules for groups, memberships and messages. Each returns a Decision; ``require_*`` raises PolicyDenied."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from common.policies import ALLOW, Decision, deny
from groups.models import ChatGroup, Membership, Role
from identity import policies as identity_policies
from identity import selectors as identity_selectors
from identity.models import RestrictionKind


def _active_membership(user, group: ChatGroup) -> Membership | None:
    if user is None or not user.is_authenticated:
        return None
    return Membership.objects.filter(group=group, user=user, left_at__isnull=True).first()


def can_view(user, group: ChatGroup) -> Decision:
    """R8.6: a group's conversation is visible to its active members only."""
    if _active_membership(user, group) is None:
        return deny("not_member", _("You are not a member of this group."))
    return ALLOW


def can_create_group(user) -> Decision:
    """R6.2, R11.2: creating a group is publishing; a user barred from creating groups may not."""
    decision = identity_policies.can_publish(user)
    if not decision:
        return decision
    if identity_selectors.restriction_active(user, RestrictionKind.CREATE_GROUP):
        return deny("create_group_barred", _("This account may not create groups at present."))
    return ALLOW


def require_create_group(user) -> None:
    can_create_group(user).require()


def can_post(user, group: ChatGroup) -> Decision:
    """R6.2, R8.6: only an account that may publish, and only as an active member, posts in a group."""
    decision = identity_policies.can_publish(user)
    if not decision:
        return decision
    return can_view(user, group)


def require_post(user, group: ChatGroup) -> None:
    can_post(user, group).require()


def can_join(user, group: ChatGroup, invite_token: str) -> Decision:
    """R8.5: joining by invitation link needs the group's current link; a member cannot join twice."""
    decision = identity_policies.can_use_service(user)
    if not decision:
        return decision
    if identity_selectors.restriction_active(user, RestrictionKind.JOIN_GROUP):
        return deny("join_barred", _("This account may not join groups at present."))
    if invite_token != group.invite_token:
        return deny("invite_invalid", _("This invitation link is no longer valid. Ask for a new one."))
    if _active_membership(user, group) is not None:
        return deny("already_member", _("You are already a member of this group."))
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
    """R9.2: owners and admins manage the invitation link (granted as an object permission)."""
    if _active_membership(user, group) is None:
        return deny("not_member", _("You are not a member of this group."))
    if not user.has_perm("groups.manage_chatgroup", group):
        return deny("not_manager", _("Only the owner and admins can manage the invitation link."))
    return ALLOW


def require_manage_invite(user, group: ChatGroup) -> None:
    can_manage_invite(user, group).require()


def can_appoint_admin(user, group: ChatGroup, member) -> Decision:
    """R9.2: the owner appoints admins from among the group's members."""
    membership = _active_membership(user, group)
    if membership is None or membership.role != Role.OWNER:
        return deny("not_owner", _("Only the owner can appoint admins."))
    target = _active_membership(member, group)
    if target is None:
        return deny("not_member", _("Only a member of the group can become an admin."))
    if target.role != Role.MEMBER:
        return deny("already_admin", _("This member is already an admin or the owner."))
    return ALLOW


def require_appoint_admin(user, group: ChatGroup, member) -> None:
    can_appoint_admin(user, group, member).require()
