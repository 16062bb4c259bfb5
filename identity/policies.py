"""Who may do what with accounts."""

from django.utils.translation import gettext_lazy as _

from common.actors import Actor
from common.policies import ALLOW, Decision, deny


def can_register(actor: Actor) -> Decision:
    """R5.1: registration is open to visitors who are not signed in."""
    if actor.is_authenticated:
        return deny("already_signed_in", _("You are already signed in."))
    return ALLOW


def require_register(actor: Actor) -> None:
    can_register(actor).require()


def can_publish(user) -> Decision:
    """R6.2: only an active, signed-in account publishes (real-name checks join with the identity issue)."""
    if user is None or not user.is_authenticated:
        return deny("not_signed_in", _("Please sign in first."))
    if not user.is_active:
        return deny("account_inactive", _("This account is not active."))
    return ALLOW
