"""Who sees the regulator report register and who redelivers reports (R11.4).

Each ``can_*`` returns a Decision (falsy when refusing); ``require_*`` raises PolicyDenied.
"""

from __future__ import annotations

from django.utils import timezone
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


def can_grant_inspection(user) -> Decision:
    """R13.1: a supervisor (``reports.grant_inspection``) grants and revokes inspector access."""
    if _staff_with(user, "grant_inspection"):
        return ALLOW
    return deny("not_allowed", _("Only a compliance supervisor may grant inspector access."))


def require_grant_inspection(user) -> None:
    can_grant_inspection(user).require()


def is_inspector(user) -> bool:
    """An account of the "inspector" role (``reports.inspect``), given by a platform administrator."""
    return bool(
        user is not None and user.is_authenticated and user.is_active and user.has_perm("reports.inspect")
    )


def can_be_granted(user) -> Decision:
    """R13.1: access is granted only to an inspector account in use, never to a member or to staff (staff
    already see the back office under their own role, and an inspection must be told apart in the trail)."""
    if not is_inspector(user):
        return deny("not_inspector", _("This account is not an inspector account."))
    if user.is_staff:
        return deny("staff_account", _("A staff account cannot be given inspector access."))
    return ALLOW


def can_inspect(user, grant, *, now=None) -> Decision:
    """R13.1: read-only access under a grant is the named inspector's, from its start until its end (it
    ends by itself) unless revoked; outside that window every page is refused with the reason."""
    from reports.models import GrantState

    if not is_inspector(user) or grant.inspector_id != user.pk:
        return deny("not_your_grant", _("This inspection grant is not yours."))
    if user.is_staff:  # made staff since the grant: one account, one capacity
        return deny("staff_account", _("A staff account cannot be given inspector access."))
    state = grant.state_at(now or timezone.now())
    if state == GrantState.REVOKED:
        return deny("grant_revoked", _("This inspection grant has been revoked."))
    if state == GrantState.UPCOMING:
        return deny("grant_not_started", _("This inspection grant has not started yet."))
    if state == GrantState.ENDED:
        return deny("grant_ended", _("This inspection grant has ended."))
    return ALLOW


def require_inspect(user, grant, *, now=None) -> None:
    can_inspect(user, grant, now=now).require()


def can_view_grant_register(user) -> Decision:
    """R13.1: supervisors see every grant, the pages opened under it and the packages exported."""
    if _staff_with(user, "grant_inspection", "view_inspectiongrant"):
        return ALLOW
    return deny("not_allowed", _("Only a compliance supervisor may see inspector access."))
