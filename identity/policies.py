"""Who may do what with accounts, and the publishing gate every app asks (R5.3, R6.2)."""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext_lazy as _

from common.actors import Actor, ActorKind
from common.policies import ALLOW, Decision, deny
from identity import selectors
from identity.models import RestrictionKind, VerificationStatus


def _until_text(restriction) -> str:
    if restriction.until is None:
        return str(_("permanently"))
    return str(_("until %(time)s")) % {
        "time": formats.date_format(timezone.localtime(restriction.until), "Y-m-d H:i")
    }


def can_use_account(user, restrictions: dict | None = None) -> Decision:
    """An account that is signed in, active, not retention-locked and not suspended. ``restrictions``
    (kind → restriction, as ``restrictions_active_by_kind`` gives) saves a query when the caller has them."""
    if user is None or not user.is_authenticated:
        return deny("not_signed_in", _("Please sign in first."), action_url=reverse("login"))
    if not user.is_active or user.retention_locked_at is not None:
        return deny("account_inactive", _("This account is not active."))
    suspended = (
        restrictions.get(RestrictionKind.SUSPENDED)
        if restrictions is not None
        else selectors.restriction_active(user, RestrictionKind.SUSPENDED)
    )
    if suspended:
        return deny(
            "account_suspended", _("This account is suspended %(until)s.") % {"until": _until_text(suspended)}
        )
    return ALLOW


def _blacklist_refusal(entry) -> Decision:
    return deny(
        "blacklisted",
        _(
            "You are on the platform's blacklist %(until)s: you may not create or join groups, post, "
            "or be a group admin."
        )
        % {"until": _until_text(entry)},
    )


def can_use_group_functions(user) -> Decision:
    """R11.3: a person on the blacklist (by identity, so every account of theirs) may not create or join
    groups, be appointed admin, or post. One query. R13.1: nor may an inspector account (the "inspector"
    role): it reads under a supervisor's grant and takes no part in groups, so nothing it saw while
    inspecting (an invitation link in a log, say) lets it in."""
    if (
        getattr(user, "is_authenticated", False)
        and not user.is_superuser
        and user.has_perm("reports.inspect")
    ):
        return deny(
            "inspector_account",
            _("An inspector account only reads under its grant; it cannot take part in groups."),
        )
    entry = selectors.blacklist_active(user)
    return _blacklist_refusal(entry) if entry is not None else ALLOW


def can_hold_management(user) -> Decision:
    """R11.2, R11.3: group management powers (an owner's or admin's) are held only by an account whose
    powers are not suspended and who is not on the blacklist; both compared with now."""
    if user is None or not user.is_authenticated:
        return deny("not_signed_in", _("Please sign in first."), action_url=reverse("login"))
    bars = selectors.management_bars(user)  # one query
    if bars.manage is not None:
        return deny(
            "manage_suspended",
            _("Group management powers are suspended for this account %(until)s.")
            % {"until": _until_text(bars.manage)},
        )
    return _blacklist_refusal(bars.blacklist) if bars.blacklist is not None else ALLOW


def can_use_service(user) -> Decision:
    """R6.1 (PIPL art. 31): an account in use, and not a child held until a guardian consents."""
    decision = can_use_account(user)
    if not decision:
        return decision
    if selectors.verification_status(user) == VerificationStatus.GUARDIAN_REQUIRED:
        return deny(
            "guardian_required",
            _("Users under 14 need a guardian's consent before using the service."),
            action_url=reverse("identity-verify"),
        )
    return ALLOW


def can_publish(user) -> Decision:
    """R6.2, R5.3, R11.3: only a verified user who has accepted the current service agreement and
    convention, and who is not on the blacklist, publishes (posts, creates groups, edits group information
    or a public profile field). Evaluated before every message: one query
    (``selectors.user_for_publishing``)."""
    if user is None or not user.is_authenticated:
        return can_use_account(user)
    facts = selectors.publishing_facts(user)
    if facts is None:
        return deny("account_inactive", _("This account is not active."))
    restrictions = facts.restrictions
    decision = can_use_account(facts.user, restrictions)
    if not decision:
        return decision
    if facts.blacklist is not None:  # R11.3
        return _blacklist_refusal(facts.blacklist)
    status = facts.verification_status
    if status == VerificationStatus.PENDING:
        return deny(
            "identity_pending",
            _("Your real-name verification is under review; you can publish once it is approved."),
            action_url=reverse("identity-verify"),
        )
    if status == VerificationStatus.GUARDIAN_REQUIRED:
        return deny(
            "guardian_required",
            _("Users under 14 need a guardian's consent before publishing."),
            action_url=reverse("identity-verify"),
        )
    if status != VerificationStatus.VERIFIED:
        return deny(
            "identity_unverified",
            _("Please complete real-name verification before publishing."),
            action_url=reverse("identity-verify"),
        )
    if facts.owes_agreements:
        return deny(
            "agreement_pending",
            _("Please accept the current service agreement and platform convention."),
            action_url=reverse("agreements-accept"),
        )
    barred = restrictions.get(RestrictionKind.POST)
    if barred:
        return deny(
            "posting_suspended",
            _("Publishing is suspended for this account %(until)s.") % {"until": _until_text(barred)},
        )
    return ALLOW


def require_publish(user) -> None:
    can_publish(user).require()


def can_register(actor: Actor) -> Decision:
    """R5.1: registration is open to visitors who are not signed in."""
    if actor.is_authenticated:
        return deny("already_signed_in", _("You are already signed in."))
    return ALLOW


def require_register(actor: Actor) -> None:
    can_register(actor).require()


def can_create_account_directly(actor: Actor) -> Decision:
    """Accounts made without the sign-up checks: only the platform itself (command line, seeding)."""
    if actor.kind == ActorKind.SYSTEM or (actor.is_authenticated and actor.user.is_superuser):
        return ALLOW
    return deny("not_allowed", _("Only platform administrators create accounts directly."))


def require_create_account_directly(actor: Actor) -> None:
    can_create_account_directly(actor).require()


def can_submit_verification(user) -> Decision:
    """R6.1: a signed-in user without a verification in force or under review may submit one."""
    decision = can_use_account(user)
    if not decision:
        return decision
    status = selectors.verification_status(user)
    if status in (
        VerificationStatus.VERIFIED,
        VerificationStatus.PENDING,
        VerificationStatus.GUARDIAN_REQUIRED,
    ):
        return deny("verification_exists", _("Your verification is already verified or under review."))
    return ALLOW


def require_submit_verification(user) -> None:
    can_submit_verification(user).require()


def can_review_verification(user) -> Decision:
    """R6.1: staff with the review permission decide pending verifications."""
    if not (
        user
        and user.is_authenticated
        and user.is_staff
        and user.has_perm("identity.review_identityverification")
    ):
        return deny("not_reviewer", _("Only compliance staff may review verifications."))
    return ALLOW


def require_review_verification(user) -> None:
    can_review_verification(user).require()


def can_reveal_identity(user, reason: str) -> Decision:
    """R6.3: only the reveal role, and only with a stated reason, sees a full name or ID number."""
    if not (
        user
        and user.is_authenticated
        and user.is_staff
        and user.has_perm("identity.reveal_identityverification")
    ):
        return deny("not_allowed", _("You may not see full identity information."))
    if len((reason or "").strip()) < settings.IDENTITY_REVEAL_REASON_MIN:
        return deny(
            "reason_required",
            _("State why you need to see it (at least %(n)d characters).")
            % {"n": settings.IDENTITY_REVEAL_REASON_MIN},
        )
    return ALLOW


def require_reveal_identity(user, reason: str) -> None:
    can_reveal_identity(user, reason).require()


def can_manage_restrictions(actor: Actor) -> Decision:
    """R11.2: account restrictions are set by staff or by the platform's own sanction services."""
    if actor.kind == ActorKind.SYSTEM or (actor.is_authenticated and actor.user.is_staff):
        return ALLOW
    return deny("not_allowed", _("Only compliance staff restrict accounts."))


def require_manage_restrictions(actor: Actor) -> None:
    can_manage_restrictions(actor).require()
