"""Who may change credit and the level grid (R7.3, R11.2)."""

from django.utils.translation import gettext_lazy as _

from common.policies import ALLOW, Decision, deny


def _system(user) -> bool:
    return user is None


def can_adjust_credit(user) -> Decision:
    """R7.3, R11.2: staff with the adjustment permission adjust a user's credit and approve others'
    adjustments."""
    if _system(user) or (
        user.is_authenticated and user.is_staff and user.has_perm("credit.adjust_creditaccount")
    ):
        return ALLOW
    return deny("not_allowed", _("Only compliance staff may adjust credit."))


def can_decide_adjustment(user, adjustment) -> Decision:
    """Four eyes: a large adjustment is approved by a member of staff other than the one who asked."""
    decision = can_adjust_credit(user)
    if not decision:
        return decision
    if adjustment.status != "pending":
        return deny("already_decided", _("This adjustment has already been decided."))
    if user is not None and adjustment.requested_by_id == user.pk:
        return deny("same_person", _("A second member of staff must approve an adjustment you asked for."))
    if user is not None and adjustment.account.user_id == user.pk:
        return deny("own_account", _("Nobody approves a change to their own credit."))
    return ALLOW


def can_edit_grid(user) -> Decision:
    """R7.3, R7.2: the level grid is the platform's filed policy; platform administrators change it."""
    if _system(user) or (
        user.is_authenticated and user.is_staff and user.has_perm("credit.change_creditlevel")
    ):
        return ALLOW
    return deny("not_allowed", _("Only platform administrators may change the credit levels."))
