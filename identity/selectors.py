"""Reading accounts: verification state, agreements owed, restrictions in force, sessions."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db.models import Exists, Max, OuterRef, Q, Subquery
from django.utils import timezone

from identity.models import (
    ACCEPTANCE_REQUIRED,
    AccountRestriction,
    AgreementAcceptance,
    AgreementDocument,
    IdentityVerification,
    UserSession,
    VerificationStatus,
)


def user_get_by_username(username: str):
    return get_user_model().objects.filter(username=username).first()


def user_get_by_login(identifier: str):
    """The account behind a phone number or an account name (case-insensitive)."""
    from identity.idnumber import parse_mobile

    users = get_user_model().objects
    try:
        return users.filter(phone=parse_mobile(identifier)).first()
    except Exception:  # not a phone number: try it as an account name
        return users.filter(username__iexact=identifier).first()


def verification_get(user) -> IdentityVerification | None:
    if user is None or not user.is_authenticated:
        return None
    return IdentityVerification.objects.filter(user=user).first()


def verification_status(user) -> str:
    verification = verification_get(user)
    return verification.status if verification else VerificationStatus.UNVERIFIED


def verification_queue():
    """R6.1: verifications waiting for a staff decision or a guardian's consent, oldest first."""
    return (
        IdentityVerification.objects.filter(
            status__in=[VerificationStatus.PENDING, VerificationStatus.GUARDIAN_REQUIRED]
        )
        .select_related("user")
        .order_by("submitted_at")
    )


def agreement_current(kind: str) -> AgreementDocument | None:
    return AgreementDocument.objects.filter(kind=kind).order_by("-version").first()


def agreement_current_all() -> list[AgreementDocument]:
    latest = AgreementDocument.objects.values("kind").annotate(v=Max("version"))
    wanted = Q()
    for row in latest:
        wanted |= Q(kind=row["kind"], version=row["v"])
    return list(AgreementDocument.objects.filter(wanted).order_by("kind")) if latest else []


def agreements_owed(user) -> list[AgreementDocument]:
    """R5.3: current versions of the documents the user must accept and has not accepted yet (one query:
    it runs before every message)."""
    latest = AgreementDocument.objects.filter(kind=OuterRef("kind")).order_by("-version").values("pk")[:1]
    accepted = AgreementAcceptance.objects.filter(user=user, document=OuterRef("pk"))
    return list(
        AgreementDocument.objects.filter(kind__in=ACCEPTANCE_REQUIRED, pk=Subquery(latest))
        .exclude(Exists(accepted))
        .order_by("kind")
    )


def restriction_active(user, kind: str) -> AccountRestriction | None:
    """What bars the user from ``kind`` right now: compared with now, so expiry needs no job."""
    now = timezone.now()
    return (
        AccountRestriction.objects.filter(user=user, kind=kind, lifted_at__isnull=True)
        .filter(Q(until__isnull=True) | Q(until__gt=now))
        .order_by("-until")
        .first()
    )


def restrictions_active_by_kind(user) -> dict[str, AccountRestriction]:
    """Every restriction on the user right now, one per kind (the one that lasts longest), in one query."""
    by_kind: dict[str, AccountRestriction] = {}
    for restriction in restrictions_active(user):
        current = by_kind.get(restriction.kind)
        if current is None or (
            current.until is not None and (restriction.until is None or restriction.until > current.until)
        ):
            by_kind[restriction.kind] = restriction
    return by_kind


def restrictions_active(user):
    now = timezone.now()
    return AccountRestriction.objects.filter(user=user, lifted_at__isnull=True).filter(
        Q(until__isnull=True) | Q(until__gt=now)
    )


def session_list(user):
    return UserSession.objects.filter(user=user, ended_at__isnull=True).order_by("-created_at")
