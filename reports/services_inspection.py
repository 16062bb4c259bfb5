"""Inspector access (R13.1, R12.2): the one door for granting, revoking, recording what an inspector opened
and exporting a case's evidence package. Reads go through ``reports.inspection.Scope``."""

from __future__ import annotations

import hashlib
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.services import audit_record
from common.actors import Actor
from common.policies import PolicyDenied
from reports import evidence, policies
from reports.inspection import Scope
from reports.models import EvidenceExport, InspectionGrant


def _validate_grant(*, inspector, authority, purpose, starts_at, ends_at, groups, users, statistics, records):
    policies.can_be_granted(inspector).require()
    errors = {}
    if not (authority or "").strip():
        errors["authority"] = _("Name the inspecting authority.")
    if not (purpose or "").strip():
        errors["purpose"] = _("State the purpose of the inspection.")
    now = timezone.now()
    if ends_at <= starts_at:
        errors["ends_at"] = _("Access must end after it starts.")
    elif ends_at <= now:
        errors["ends_at"] = _("Access must end in the future.")
    elif ends_at - starts_at > timedelta(days=settings.INSPECTION_GRANT_MAX_DAYS):
        errors["ends_at"] = _("Access may last at most %(days)d days; grant again to extend it.") % {
            "days": settings.INSPECTION_GRANT_MAX_DAYS
        }
    if not groups and not users and not statistics:
        errors["scope_groups"] = _("Name at least one group or user, or grant the platform statistics.")
    records_from, records_until = records
    if records_from and records_until and records_until <= records_from:
        errors["records_until"] = _("The span of records must end after it starts.")
    if errors:
        raise ValidationError(errors)


def inspection_grant(
    *,
    actor: Actor,
    inspector,
    authority: str,
    purpose: str,
    starts_at,
    ends_at,
    groups=(),
    users=(),
    reference: str = "",
    records_from=None,
    records_until=None,
    statistics: bool = False,
) -> InspectionGrant:
    """R13.1: a supervisor gives an inspector account read-only access for a purpose, a time window (at
    most ``INSPECTION_GRANT_MAX_DAYS``) and a scope of groups, users and a span of records."""
    policies.require_grant_inspection(actor.user)
    groups, users = list(groups), list(users)
    _validate_grant(
        inspector=inspector,
        authority=authority,
        purpose=purpose,
        starts_at=starts_at,
        ends_at=ends_at,
        groups=groups,
        users=users,
        statistics=statistics,
        records=(records_from, records_until),
    )
    with transaction.atomic():
        grant = InspectionGrant.objects.create(
            inspector=inspector,
            authority=authority.strip(),
            reference=(reference or "").strip(),
            purpose=purpose.strip(),
            starts_at=starts_at,
            ends_at=ends_at,
            records_from=records_from,
            records_until=records_until,
            statistics=statistics,
            granted_by=actor.user,
        )
        grant.scope_groups.set(groups)
        grant.scope_users.set(users)
        audit_record(
            actor=actor,
            event_type="reports.inspection_granted",
            target=grant,
            reason=grant.purpose,
            data={
                "inspector": inspector.pk,
                "authority": grant.authority,
                "reference": grant.reference,
                "starts_at": starts_at.isoformat(),
                "ends_at": ends_at.isoformat(),
                "groups": sorted(group.code for group in groups),
                "users": sorted(user.pk for user in users),
                "records_from": records_from.isoformat() if records_from else None,
                "records_until": records_until.isoformat() if records_until else None,
                "statistics": statistics,
            },
        )
    return grant


def inspection_revoke(*, actor: Actor, grant: InspectionGrant, reason: str) -> InspectionGrant:
    """R13.1: a supervisor ends a grant early, with a reason; the inspector's next page is refused."""
    policies.require_grant_inspection(actor.user)
    if not (reason or "").strip():
        raise ValidationError({"reason": _("State why access is revoked.")})
    with transaction.atomic():
        grant = InspectionGrant.objects.select_for_update().get(pk=grant.pk)
        if grant.revoked_at is not None or grant.ends_at <= timezone.now():
            raise PolicyDenied("grant_over", _("This grant has already ended."))
        grant.revoked_at = timezone.now()
        grant.revoked_by = actor.user
        grant.revoke_reason = reason.strip()[:300]
        grant.save(update_fields=["revoked_at", "revoked_by", "revoke_reason"])
        audit_record(
            actor=actor, event_type="reports.inspection_revoked", target=grant, reason=grant.revoke_reason
        )
    return grant


def inspection_page_record(*, actor: Actor, grant: InspectionGrant, path: str, refused: str = "") -> None:
    """R13.1: every page an inspector opens under a grant is in the audit trail, and so is every refusal
    (outside the scope, or outside the grant's window), with the address asked for."""
    audit_record(
        actor=actor,
        event_type="reports.inspection_refused" if refused else "reports.inspection_viewed",
        target=grant,
        data={"path": path[:300], **({"refused": refused} if refused else {})},
    )


def evidence_export(*, actor: Actor, grant: InspectionGrant, case) -> tuple[bytes, EvidenceExport]:
    """R13.1: the inspector exports a case's evidence package: a zip of the case, its complaints, decisions,
    measures, messages (removed ones too), files and audit trail, with a manifest naming every file's
    SHA-256 and signed with the report signing key. The export is recorded and audited."""
    policies.require_inspect(actor.user, grant)
    scope = Scope(grant)
    case = scope.case_get(case.pk)  # 404 outside the scope
    package, files = evidence.case_package(scope=scope, case=case, exported_by=actor.user)
    digest = hashlib.sha256(package).hexdigest()
    with transaction.atomic():
        export = EvidenceExport.objects.create(
            grant=grant, case=case, exported_by=actor.user, sha256=digest, size=len(package), files=files
        )
        audit_record(
            actor=actor,
            event_type="reports.inspection_exported",
            target=case,
            data={"grant": grant.pk, "sha256": digest, "bytes": len(package), "files": files},
        )
    return package, export
