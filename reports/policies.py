"""Who sees the regulator report register and who redelivers reports (R11.4).

Each ``can_*`` returns a Decision (falsy when refusing); ``require_*`` raises PolicyDenied.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from common.actors import Actor, ActorKind
from common.policies import ALLOW, Decision, deny


def _staff_with(user, *permissions: str) -> bool:
    return bool(
        user is not None
        and user.is_authenticated
        and user.is_active
        and user.is_staff
        and any(user.has_perm(f"reports.{permission}") for permission in permissions)
    )


def can_view_reports(user) -> Decision:
    """R11.4: the register (and its downloads) is for compliance staff: the reviewer and supervisor roles
    (``reports.view_regulatorreport``)."""
    if _staff_with(user, "view_regulatorreport", "redeliver_regulatorreport"):
        return ALLOW
    return deny("not_allowed", _("Only compliance staff may see the regulator reports."))


def require_view_reports(user) -> None:
    can_view_reports(user).require()


def can_redeliver_reports(user) -> Decision:
    """R11.4: a supervisor (``reports.redeliver_regulatorreport``) sends a report again at once."""
    if _staff_with(user, "redeliver_regulatorreport"):
        return ALLOW
    return deny("not_allowed", _("Only a supervisor may redeliver regulator reports."))


def require_redeliver_reports(user) -> None:
    can_redeliver_reports(user).require()


def can_run_reports(actor: Actor) -> Decision:
    """R11.4: generating reports and delivering the due ones is the system's periodic job (or a supervisor
    asking for it)."""
    if actor.kind == ActorKind.SYSTEM:
        return ALLOW
    return can_redeliver_reports(actor.user)


def require_run_reports(actor: Actor) -> None:
    can_run_reports(actor).require()
