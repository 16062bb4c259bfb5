"""Who may change what screening looks for."""

from django.utils.translation import gettext as _

from common.policies import ALLOW, Decision, deny


def can_manage_lexicon(user) -> Decision:
    """Compliance staff with the lexicon permission; the system (user ``None``) for imports and seeds."""
    if user is None:
        return ALLOW
    if user.is_authenticated and user.is_staff and user.has_perm("screening.change_lexiconterm"):
        return ALLOW
    return deny("not_allowed", _("Only compliance staff may change the screening lexicon."))


def can_manage_prohibited_images(user) -> Decision:
    """R10.1: the list of known prohibited images is managed by the same staff as the lexicon (the
    lexicon permission); the system (user ``None``) for imports and seeds."""
    if user is None:
        return ALLOW
    if user.is_authenticated and user.is_staff and user.has_perm("screening.change_lexiconterm"):
        return ALLOW
    return deny("not_allowed", _("Only compliance staff may change the list of prohibited images."))
