"""Reading accounts: verification state, agreements owed, restrictions in force, sessions."""

from __future__ import annotations

import json
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Exists, F, Max, OuterRef, Q, Subquery
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from identity.models import (
    ACCEPTANCE_REQUIRED,
    AccountRestriction,
    AgreementAcceptance,
    AgreementDocument,
    BlacklistEntry,
    IdentityVerification,
    RestrictionKind,
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


def _blacklist_in_force():
    now = timezone.now()
    return BlacklistEntry.objects.filter(lifted_at__isnull=True).filter(
        Q(until__isnull=True) | Q(until__gt=now)
    )


def _longest(entries) -> BlacklistEntry | None:
    """The entry that lasts longest (a permanent one first)."""
    return entries.order_by(F("until").desc(nulls_first=True), "-pk").first()


def blacklist_active(user) -> BlacklistEntry | None:
    """R11.3: the blacklist entry in force for this person now: entered for this account, or for the
    identity (ID-number hash) the account is verified with; compared with now (house rule 9). One query."""
    if user is None or not getattr(user, "pk", None):
        return None
    own_hash = IdentityVerification.objects.filter(user_id=user.pk).exclude(id_hash="").values("id_hash")[:1]
    return _longest(_blacklist_in_force().filter(Q(user_id=user.pk) | Q(id_hash__in=own_hash)))


@dataclass(frozen=True)
class ManagementBars:
    """What stops a person holding group management powers now (R11.2, R11.3)."""

    manage: AccountRestriction | None  # the longest suspension of management powers in force
    blacklist: BlacklistEntry | None


def _json_pair(value):
    if not value:
        return None
    pk, until = json.loads(value) if isinstance(value, str) else value
    return pk, parse_datetime(until) if until else None


def management_bars(user) -> ManagementBars:
    """The suspension of the person's management powers (a suspension of the whole account counts too) and
    their blacklist entry in force now, in one query (it runs with every management rule). The embedded
    SQLite default takes three."""
    if connection.vendor != "postgresql":
        manage = restriction_active(user, RestrictionKind.MANAGE) or restriction_active(
            user, RestrictionKind.SUSPENDED
        )
        return ManagementBars(manage, blacklist_active(user))
    restrictions, blacklist = AccountRestriction._meta.db_table, BlacklistEntry._meta.db_table
    verifications = IdentityVerification._meta.db_table
    # Table names from the models; every value a parameter.
    sql = f"""
        SELECT
          (SELECT json_build_array(r.id, r.until) FROM {restrictions} r
           WHERE r.user_id = %(pk)s AND r.kind = ANY(%(kinds)s) AND r.lifted_at IS NULL
             AND (r.until IS NULL OR r.until > %(now)s)
           ORDER BY r.until DESC NULLS FIRST, r.id DESC LIMIT 1),
          (SELECT json_build_array(b.id, b.until) FROM {blacklist} b
           WHERE b.lifted_at IS NULL AND (b.until IS NULL OR b.until > %(now)s)
             AND (b.user_id = %(pk)s OR (b.id_hash <> '' AND b.id_hash =
                  (SELECT v.id_hash FROM {verifications} v WHERE v.user_id = %(pk)s)))
           ORDER BY b.until DESC NULLS FIRST, b.id DESC LIMIT 1)
    """  # noqa: S608
    with connection.cursor() as cursor:
        kinds = [RestrictionKind.MANAGE.value, RestrictionKind.SUSPENDED.value]
        cursor.execute(sql, {"pk": user.pk, "kinds": kinds, "now": timezone.now()})
        manage, listed = cursor.fetchone()
    manage, listed = _json_pair(manage), _json_pair(listed)
    return ManagementBars(
        AccountRestriction(pk=manage[0], user_id=user.pk, kind=RestrictionKind.MANAGE, until=manage[1])
        if manage
        else None,
        BlacklistEntry(pk=listed[0], until=listed[1]) if listed else None,
    )


def blacklist_active_for_hash(id_hash: str) -> BlacklistEntry | None:
    """R11.3: the entry in force for the identity with this keyed ID-number hash (a new account of a
    blacklisted person is refused at real-name verification)."""
    if not id_hash:
        return None
    return _longest(_blacklist_in_force().filter(id_hash=id_hash))


def blacklist_entries(*, limit: int = 500):
    """Every blacklist entry, newest first (compliance staff)."""
    return BlacklistEntry.objects.select_related("user").order_by("-created_at", "-pk")[:limit]


def session_list(user):
    return UserSession.objects.filter(user=user, ended_at__isnull=True).order_by("-created_at")


@dataclass(frozen=True)
class PublishingFacts:
    """What decides whether an account may publish (R5.3, R6.2), as the database has it now: the account
    itself, its verification state, whether a current agreement is owed, its restrictions by kind."""

    user: object
    verification_status: str
    owes_agreements: bool
    restrictions: dict[str, AccountRestriction]
    blacklist: BlacklistEntry | None = None  # R11.3: the entry in force for the person, if any


def _publishing_sql() -> tuple[str, list[str]]:
    users = get_user_model()._meta.db_table
    fields = get_user_model()._meta.concrete_fields
    verifications = IdentityVerification._meta.db_table
    documents = AgreementDocument._meta.db_table
    acceptances = AgreementAcceptance._meta.db_table
    restrictions = AccountRestriction._meta.db_table
    blacklist = BlacklistEntry._meta.db_table
    # Table names from the models; every value a parameter.
    sql = f"""
        SELECT {", ".join(f"u.{field.column}" for field in fields)},
          (SELECT v.status FROM {verifications} v WHERE v.user_id = u.id) AS facts_verification,
          EXISTS (
            SELECT 1 FROM {documents} d
            WHERE d.kind = ANY(%(required)s)
              AND d.version = (SELECT max(d2.version) FROM {documents} d2 WHERE d2.kind = d.kind)
              AND NOT EXISTS (SELECT 1 FROM {acceptances} a WHERE a.user_id = u.id AND a.document_id = d.id)
          ) AS facts_owes,
          ARRAY(
            SELECT json_build_array(r.id, r.kind, r.until) FROM {restrictions} r
            WHERE r.user_id = u.id AND r.lifted_at IS NULL AND (r.until IS NULL OR r.until > %(now)s)
          ) AS facts_restrictions,
          (SELECT json_build_array(b.id, b.until) FROM {blacklist} b
           WHERE b.lifted_at IS NULL AND (b.until IS NULL OR b.until > %(now)s)
             AND (b.user_id = u.id OR (b.id_hash <> '' AND b.id_hash =
                  (SELECT v2.id_hash FROM {verifications} v2 WHERE v2.user_id = u.id)))
           ORDER BY b.until DESC NULLS FIRST, b.id DESC LIMIT 1
          ) AS facts_blacklist
        FROM {users} u WHERE u.id = %(pk)s
    """  # noqa: S608
    return sql, [field.attname for field in fields]


_PUBLISHING_SQL: list = []  # built on first use, once the models are loaded


def user_for_publishing(pk: int):
    """The account as it is now with its ``PublishingFacts`` (as ``publishing_facts``), in one query: the
    gate that runs before every message, and the chat socket's fresh view of the member at each frame.
    The single query is PostgreSQL's; elsewhere (the embedded SQLite default) the same facts take four."""
    if connection.vendor != "postgresql":
        return _user_for_publishing_portable(pk)
    if not _PUBLISHING_SQL:
        _PUBLISHING_SQL.extend(_publishing_sql())
    sql, names = _PUBLISHING_SQL
    with connection.cursor() as cursor:
        cursor.execute(sql, {"pk": pk, "now": timezone.now(), "required": list(ACCEPTANCE_REQUIRED)})
        row = cursor.fetchone()
    if row is None:
        return None
    user = get_user_model().from_db(connection.alias, names, row[: len(names)])
    verification, owes, restrictions, listed = row[len(names) :]
    by_kind: dict[str, AccountRestriction] = {}
    for item in restrictions:
        restriction_id, kind, until = json.loads(item) if isinstance(item, str) else item
        restriction = AccountRestriction(
            pk=restriction_id,
            user_id=pk,
            kind=kind,
            until=parse_datetime(until) if until else None,
        )
        current = by_kind.get(kind)
        lasts_longer = (
            current is not None
            and current.until is not None
            and (restriction.until is None or restriction.until > current.until)
        )
        if current is None or lasts_longer:
            by_kind[kind] = restriction
    blacklist = None
    if listed:
        entry_id, entry_until = json.loads(listed) if isinstance(listed, str) else listed
        blacklist = BlacklistEntry(pk=entry_id, until=parse_datetime(entry_until) if entry_until else None)
    user.publishing_facts = PublishingFacts(
        user=user,
        verification_status=verification or VerificationStatus.UNVERIFIED,
        owes_agreements=owes,
        restrictions=by_kind,
        blacklist=blacklist,
    )
    return user


def _user_for_publishing_portable(pk: int):
    user = get_user_model().objects.filter(pk=pk).first()
    if user is None:
        return None
    user.publishing_facts = PublishingFacts(
        user=user,
        verification_status=verification_status(user),
        owes_agreements=bool(agreements_owed(user)),
        restrictions=restrictions_active_by_kind(user),
        blacklist=blacklist_active(user),
    )
    return user


def publishing_facts(user) -> PublishingFacts | None:
    """The facts loaded with ``user`` by ``user_for_publishing``, or read now (one query); None when the
    account no longer exists."""
    facts = user.__dict__.get("publishing_facts")
    if facts is not None:
        return facts
    fresh = user_for_publishing(user.pk)
    return fresh.publishing_facts if fresh is not None else None
