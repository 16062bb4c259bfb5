"""Account services: the one door for every change to an account, its identity and its agreements."""

from __future__ import annotations

import importlib
import secrets
import string
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.dispatch import Signal
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.services import audit_record
from common import crypto, input_guard
from common.actors import Actor
from common.policies import PolicyDenied
from common.realtime import publish_on_commit, user_channel
from common.sms import send_sms
from identity import policies, selectors
from identity.idnumber import (
    mask_name,
    mask_phone,
    parse_id_number,
    parse_mobile,
    parse_real_name,
)
from identity.models import (
    ACCEPTANCE_REQUIRED,
    AccountRestriction,
    AgreementAcceptance,
    AgreementDocument,
    AgreementKind,
    BlacklistEntry,
    IdentityVerification,
    RestrictionKind,
    SmsCode,
    UserSession,
    VerificationStatus,
)
from notifications.services import notify
from screening.services import screen

NAME_CONTEXT = "identity.real_name"
ID_CONTEXT = "identity.id_number"


# --- SMS codes -------------------------------------------------------------------------------------


def sms_code_send(*, actor: Actor, phone: str, purpose: str) -> str:
    """R6.1: send a one-time code to a mainland mobile; limited per number and per address. Returns E.164.

    The resend gap is an atomic ``cache.add``, so parallel requests cannot send several codes."""
    e164 = parse_mobile(phone)
    now = timezone.now()
    daily = SmsCode.objects.filter(phone=e164, created_at__gt=now - timedelta(days=1)).count()
    if daily >= settings.SMS_MAX_PER_NUMBER_PER_DAY:
        raise PolicyDenied(
            "sms_daily_limit", _("Too many codes for this number today. Please try again tomorrow.")
        )
    hourly = (
        SmsCode.objects.filter(ip=actor.ip, created_at__gt=now - timedelta(hours=1)).count()
        if actor.ip
        else 0
    )
    if hourly >= settings.SMS_MAX_PER_IP_PER_HOUR:
        raise PolicyDenied(
            "sms_ip_limit", _("Too many codes requested from your network. Please try again later.")
        )
    if not cache.add(f"sms-gap:{e164}", 1, settings.SMS_RESEND_SECONDS):
        raise PolicyDenied(
            "sms_too_soon", _("A code was just sent. Please wait a minute before asking again.")
        )
    code = "".join(secrets.choice(string.digits) for _ in range(6))
    with transaction.atomic():
        SmsCode.objects.create(
            phone=e164,
            purpose=purpose,
            ip=actor.ip,
            code_hash=crypto.lookup_hash(code, context=f"sms:{e164}"),
            expires_at=now + timedelta(seconds=settings.SMS_CODE_TTL_SECONDS),
        )
        audit_record(
            actor=actor,
            event_type="identity.sms_code_sent",
            data={"phone": mask_phone(e164), "purpose": purpose},
        )
        text = _("Your verification code is %(code)s, valid for 5 minutes. Do not share it.") % {"code": code}
        transaction.on_commit(lambda: send_sms(e164, text))
    return e164


def _sms_code_consume(phone: str, purpose: str, code: str) -> None:
    """Check and use up the latest code for ``phone``; wrong, expired or exhausted codes are refused.

    Runs in its own transaction and raises only after it, so a wrong guess is counted even though the
    caller's work is refused."""
    refusal = None
    with transaction.atomic():
        entry = (
            SmsCode.objects.select_for_update()
            .filter(phone=phone, purpose=purpose, consumed_at__isnull=True)
            .order_by("-created_at")
            .first()
        )
        if entry is None or entry.expires_at <= timezone.now():
            refusal = ValidationError(
                _("The code has expired. Please ask for a new one."), code="sms_code_expired"
            )
        elif entry.attempts >= settings.SMS_CODE_MAX_ATTEMPTS:
            refusal = ValidationError(
                _("Too many wrong codes. Please ask for a new one."), code="sms_code_exhausted"
            )
        elif not secrets.compare_digest(
            entry.code_hash, crypto.lookup_hash((code or "").strip(), context=f"sms:{phone}")
        ):
            SmsCode.objects.filter(pk=entry.pk).update(attempts=entry.attempts + 1)
            refusal = ValidationError(_("The code is not correct."), code="sms_code_wrong")
        else:
            SmsCode.objects.filter(pk=entry.pk).update(consumed_at=timezone.now())
    if refusal is not None:
        raise refusal


# --- accounts --------------------------------------------------------------------------------------


def _new_username() -> str:
    return "u" + secrets.token_hex(5)


def _save_new_user(user) -> None:
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError:  # a parallel sign-up took the phone or name between the check and the save
        raise ValidationError(
            _("This mobile number or account name is already registered."), code="account_taken"
        ) from None


# Sent inside the transaction that verifies a user, so that apps above identity (credit) can act on it
# atomically without identity knowing them. Receivers get ``user`` and ``actor``.
identity_verified = Signal()


def user_register(
    *, actor: Actor, phone: str, sms_code: str, password: str, nickname: str, accept_agreements: bool
):
    """R5.1, R5.3, R6.1: sign up with a mainland mobile and a text-message code; the service agreement
    and convention are accepted here (the sensitive-information consent comes later, with verification)."""
    policies.require_register(actor)
    e164 = parse_mobile(phone)
    if not accept_agreements:
        raise ValidationError(
            _("Please read and accept the service agreement and platform convention."),
            code="agreement_required",
        )
    user_model = get_user_model()
    if user_model.objects.filter(phone=e164).exists():
        raise ValidationError(
            _("This mobile number is already registered. Please sign in."), code="phone_taken"
        )
    user = user_model(username=_new_username(), phone=e164, nickname=_clean_nickname(nickname, actor))
    validate_password(password, user)
    _sms_code_consume(e164, "signup", sms_code)
    with transaction.atomic():
        user.set_password(password)
        _save_new_user(user)
        _accept_current(user, actor)
        audit_record(
            actor=actor, event_type="identity.user_registered", target=user, data={"phone": mask_phone(e164)}
        )
    return user


def user_create(
    *,
    actor: Actor,
    username: str,
    password: str,
    nickname: str,
    phone: str | None = None,
    is_staff: bool = False,
    is_superuser: bool = False,
):
    """Create an account directly (command line, seeding): the platform's own door, audited."""
    policies.require_create_account_directly(actor)
    user_model = get_user_model()
    user = user_model(
        username=username,
        nickname=_clean_nickname(nickname),
        phone=parse_mobile(phone) if phone else None,
        is_staff=is_staff,
        is_superuser=is_superuser,
    )
    with transaction.atomic():
        user.set_password(password)
        _save_new_user(user)
        audit_record(
            actor=actor,
            event_type="identity.user_created",
            target=user,
            data={"username": username, "staff": is_staff, "superuser": is_superuser},
        )
    return user


def _clean_nickname(value: str, actor: Actor | None = None) -> str:
    text = (value or "").strip() if isinstance(value, str) else ""
    if not text:
        raise ValidationError(_("Please choose a nickname."), code="nickname_empty")
    if len(text) > 32:
        raise ValidationError(
            _("The nickname is too long (at most 32 characters)."), code="nickname_too_long"
        )
    if input_guard.name_has_hidden_characters(text):
        raise ValidationError(
            _("The nickname contains characters that cannot be shown."), code="nickname_invalid"
        )
    if actor is not None:  # R10.1: a nickname is published to every group the user is in
        verdict = screen(actor=actor, text=text, context={"kind": "nickname"})
        if verdict.action in ("block", "hold"):
            raise ValidationError(verdict.refusal().message, code="content_blocked")
    return text


def profile_update(*, actor: Actor, nickname: str):
    """R6.2: changing a public profile field is publishing; only a verified user does it."""
    policies.require_publish(actor.user)
    nickname = _clean_nickname(nickname, actor)
    user = actor.user
    with transaction.atomic():
        before = user.nickname
        get_user_model().objects.filter(pk=user.pk).update(nickname=nickname)
        user.nickname = nickname
        audit_record(
            actor=actor,
            event_type="identity.profile_updated",
            target=user,
            data={"before": {"nickname": before}, "after": {"nickname": nickname}},
        )
    return user


# --- sessions --------------------------------------------------------------------------------------


def user_session_record(*, actor: Actor, session_key: str, user_agent: str) -> None:
    UserSession.objects.update_or_create(
        session_key=session_key,
        defaults={
            "user": actor.user,
            "ip": actor.ip,
            "user_agent": (user_agent or "")[:300],
            "ended_at": None,
        },
    )


def user_session_end(*, actor: Actor, session_key: str) -> None:
    """A user signs out one of their other browsers."""
    session = UserSession.objects.filter(
        user=actor.user, session_key=session_key, ended_at__isnull=True
    ).first()
    if session is None:
        raise PolicyDenied("session_not_found", _("That session has already ended."))
    with transaction.atomic():
        _end_sessions(UserSession.objects.filter(pk=session.pk))
        audit_record(
            actor=actor, event_type="identity.session_ended", target=actor.user, data={"session": session.pk}
        )


def _end_sessions(sessions) -> None:
    """Sign the browsers out and close their open chat sockets at once (after commit)."""
    engine = importlib.import_module(settings.SESSION_ENGINE)
    for session in sessions:
        engine.SessionStore(session_key=session.session_key).delete()
        publish_on_commit(
            user_channel(session.user_id), {"type": "session.ended", "session_key": session.session_key}
        )
    sessions.update(ended_at=timezone.now())


# --- agreements ------------------------------------------------------------------------------------


def _accept_current(user, actor: Actor) -> list[AgreementDocument]:
    accepted = []
    for kind in ACCEPTANCE_REQUIRED:
        document = selectors.agreement_current(kind)
        if document is not None:
            AgreementAcceptance.objects.get_or_create(user=user, document=document, defaults={"ip": actor.ip})
            accepted.append(document)
    return accepted


def agreement_accept(*, actor: Actor, shown: list[int] | None = None) -> list[AgreementDocument]:
    """R5.3: the user accepts the current service agreement and convention (user, version, time, IP).
    ``shown`` are the versions the page showed: if a newer one was published meanwhile, nothing is
    accepted and the user reads the new one first."""
    policies.can_use_account(actor.user).require()
    owed = selectors.agreements_owed(actor.user)
    if shown is not None and any(document.pk not in shown for document in owed):
        raise PolicyDenied(
            "agreement_changed", _("A newer version was just published. Please read it first.")
        )
    with transaction.atomic():
        documents = _accept_current(actor.user, actor)
        audit_record(
            actor=actor,
            event_type="identity.agreements_accepted",
            target=actor.user,
            data={"documents": [f"{d.kind}@{d.version}" for d in documents]},
        )
    return documents


def agreement_publish(*, actor: Actor, kind: str, title: str, body: str) -> AgreementDocument:
    """R5.2: publish a new version of a rule document; a new required one must be accepted again."""
    if not (actor.is_authenticated and actor.user.is_superuser):
        raise PolicyDenied("not_allowed", _("Only platform administrators publish rule documents."))
    with transaction.atomic():
        latest = AgreementDocument.objects.select_for_update().filter(kind=kind).order_by("-version").first()
        document = AgreementDocument.objects.create(
            kind=kind, version=(latest.version + 1) if latest else 1, title=title.strip(), body=body
        )
        audit_record(
            actor=actor,
            event_type="identity.agreement_published",
            target=document,
            data={"kind": kind, "version": document.version},
        )
    return document


# --- real-name verification ------------------------------------------------------------------------


@dataclass(frozen=True)
class VerifierResult:
    status: str
    note: str = ""


class FakeVerifier:
    """Development and tests: verifies every well-formed identity; a name containing 拒绝 is rejected."""

    stores_identity = True

    def verify(self, *, real_name: str, id_number: str) -> VerifierResult:
        if "拒绝" in real_name:
            return VerifierResult(VerificationStatus.REJECTED, "name and number do not match")
        return VerifierResult(VerificationStatus.VERIFIED)


class StaffReviewVerifier:
    """Every submission waits in the compliance staff's review queue."""

    stores_identity = True

    def verify(self, *, real_name: str, id_number: str) -> VerifierResult:
        return VerifierResult(VerificationStatus.PENDING)


class ResultOnlyVerifier(FakeVerifier):
    """A national identity service that returns only a result: no name or number is kept, only the keyed
    hash (for the accounts-per-person limit) and the masked forms."""

    stores_identity = False


VERIFIERS = {"fake": FakeVerifier, "staff": StaffReviewVerifier, "result_only": ResultOnlyVerifier}


def _verifier():
    return VERIFIERS[settings.IDENTITY_VERIFIER]()


def _lock_identity(id_hash: str) -> None:
    """Serialise claims on one ID number (a row lock cannot lock a row that does not exist yet)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [id_hash])


def _check_id_limit(id_hash: str, user) -> None:
    """R6.1: one ID number backs at most ``IDENTITY_ACCOUNTS_PER_ID`` verified accounts. Only verified
    accounts count, so someone typing another person's number cannot block its owner by leaving it pending."""
    holders = (
        IdentityVerification.objects.filter(id_hash=id_hash, status=VerificationStatus.VERIFIED)
        .exclude(user=user)
        .count()
    )
    if holders >= settings.IDENTITY_ACCOUNTS_PER_ID:
        raise ValidationError(
            _("This ID number is already used by the largest allowed number of accounts."), code="id_limit"
        )


def _refuse_blacklisted(actor: Actor, id_hash: str, *, user) -> None:
    """R11.3: a blacklisted person's identity verifies no account, a new one included. The refused
    attempt is audited (house rule 6) before the refusal is raised."""
    entry = selectors.blacklist_active_for_hash(id_hash)
    if entry is None:
        return
    audit_record(
        actor=actor,
        event_type="identity.verification_refused_blacklisted",
        target=user,
        data={"blacklist_entry": entry.pk, "user_id": user.pk},
    )
    raise PolicyDenied(
        "blacklisted",
        _("This identity is on the platform's blacklist; it cannot be used to verify an account."),
    )


def _blacklist_take_identity(actor: Actor, user, id_hash: str) -> list[int]:
    """R11.3: an account blacklisted before its identity was verified is listed by the account alone (its
    entry holds no ID-number hash). When it verifies, its entries in force take the identity's hash, so
    that they follow the person to every other account of theirs and refuse a new one at verification.
    In the caller's transaction, once the verification is VERIFIED; returns the entries changed."""
    if not id_hash:
        return []
    in_force = BlacklistEntry.objects.filter(user=user, id_hash="", lifted_at__isnull=True).exclude(
        until__lte=timezone.now()
    )
    entries = list(in_force.values_list("pk", flat=True))
    if not entries:
        return []
    BlacklistEntry.objects.filter(pk__in=entries, id_hash="").update(id_hash=id_hash)
    audit_record(
        actor=actor,
        event_type="identity.blacklist_identity_recorded",
        target=user,
        data={"entries": entries, "user_id": user.pk},
    )
    return entries


def _pi_context(field: str, user_id: int) -> str:
    """Associated data binding a ciphertext to its column and its owner: a value copied elsewhere fails."""
    return f"{field}:{user_id}"


def verification_submit(
    *, actor: Actor, real_name: str, id_number: str, consent: bool
) -> IdentityVerification:
    """R6.1, R6.3: submit a real name and ID number, with the separate consent for sensitive information.
    One ID number backs at most ``IDENTITY_ACCOUNTS_PER_ID`` accounts; under-14s wait for a guardian;
    submissions per user are limited per day, so a verifier cannot be used to test name-number pairs."""
    policies.require_submit_verification(actor.user)
    notice = selectors.agreement_current(AgreementKind.SENSITIVE_NOTICE)
    if not consent or notice is None:
        raise ValidationError(
            _("Please read the notice on sensitive personal information and agree to it."),
            code="consent_required",
        )
    name = parse_real_name(real_name)
    number = parse_id_number(id_number)
    attempts_key = f"verify-attempts:{actor.user.pk}"
    cache.add(attempts_key, 0, 24 * 3600)
    if cache.incr(attempts_key) > settings.IDENTITY_SUBMISSIONS_PER_DAY:
        raise PolicyDenied(
            "verification_attempts", _("Too many verification attempts today. Please try again tomorrow.")
        )
    id_hash = crypto.lookup_hash(number.value, context=ID_CONTEXT)
    _refuse_blacklisted(actor, id_hash, user=actor.user)
    verifier = _verifier()
    try:
        return _verification_record(actor, name, number, id_hash, verifier, notice)
    except _ListedMeanwhile:  # outside the rolled-back transaction, so that the refusal is audited
        _refuse_blacklisted(actor, id_hash, user=actor.user)
        raise


class _ListedMeanwhile(Exception):
    """The identity was blacklisted between the first check and taking its lock."""


def _verification_record(actor: Actor, name, number, id_hash: str, verifier, notice) -> IdentityVerification:
    now = timezone.now()
    user_id = actor.user.pk
    with transaction.atomic():
        _lock_identity(id_hash)
        # R11.3: again under the identity's lock: another account of the person, blacklisted before it was
        # verified, may have just verified and given its entry this identity.
        if selectors.blacklist_active_for_hash(id_hash) is not None:
            raise _ListedMeanwhile
        _check_id_limit(id_hash, actor.user)
        under_14 = number.age_on(timezone.localdate()) < settings.IDENTITY_GUARDIAN_AGE
        if under_14:
            result = VerifierResult(VerificationStatus.GUARDIAN_REQUIRED)
        else:
            result = verifier.verify(real_name=name, id_number=number.value)
        verification, _created = IdentityVerification.objects.select_for_update().get_or_create(
            user=actor.user
        )
        stored = verifier.stores_identity
        verification.status = result.status
        verification.real_name_enc = (
            crypto.encrypt(name, context=_pi_context(NAME_CONTEXT, user_id)) if stored else ""
        )
        verification.id_number_enc = (
            crypto.encrypt(number.value, context=_pi_context(ID_CONTEXT, user_id)) if stored else ""
        )
        verification.real_name_masked = mask_name(name)
        verification.id_number_masked = number.masked
        verification.id_hash = id_hash
        verification.result_only = not stored
        verification.under_14 = under_14
        verification.consent_at = now
        verification.consent_notice_version = notice.version
        verification.backend = settings.IDENTITY_VERIFIER
        verification.submitted_at = now
        decided = result.status in (VerificationStatus.VERIFIED, VerificationStatus.REJECTED)
        verification.decided_at = now if decided else None
        verification.decided_by = None
        verification.decision_note = result.note
        verification.save()
        audit_record(
            actor=actor,
            event_type="identity.verification_submitted",
            target=verification,
            data={
                "status": result.status,
                "id": number.masked,
                "backend": verification.backend,
                "notice_version": notice.version,
            },
        )
        if verification.status == VerificationStatus.VERIFIED:
            _blacklist_take_identity(actor, actor.user, id_hash)
            identity_verified.send(sender=IdentityVerification, user=actor.user, actor=actor)
    return verification


def verification_decide(
    *, actor: Actor, verification: IdentityVerification, approve: bool, note: str = ""
) -> IdentityVerification:
    """R6.1: compliance staff approve or reject a pending verification."""
    policies.require_review_verification(actor.user)
    with transaction.atomic():
        verification = IdentityVerification.objects.select_for_update().get(pk=verification.pk)
        if verification.status != VerificationStatus.PENDING:
            raise PolicyDenied("not_pending", _("This verification is no longer waiting for a decision."))
        if verification.user_id == actor.user.pk:
            raise PolicyDenied("own_verification", _("Nobody reviews their own verification."))
        if approve:
            _lock_identity(verification.id_hash)
            _check_id_limit(verification.id_hash, verification.user)
            if selectors.blacklist_active_for_hash(verification.id_hash) is not None:
                raise PolicyDenied(
                    "blacklisted", _("This identity is on the platform's blacklist; it cannot be verified.")
                )
        verification.status = VerificationStatus.VERIFIED if approve else VerificationStatus.REJECTED
        verification.decided_at = timezone.now()
        verification.decided_by = actor.user
        verification.decision_note = (note or "")[:200]
        verification.save()
        audit_record(
            actor=actor,
            event_type="identity.verification_decided",
            target=verification,
            data={
                "status": verification.status,
                "note": verification.decision_note,
                "user_id": verification.user_id,
            },
        )
        if approve:
            _blacklist_take_identity(actor, verification.user, verification.id_hash)
            identity_verified.send(sender=IdentityVerification, user=verification.user, actor=actor)
        notify(
            actor=actor,
            recipient=verification.user,
            kind="identity.verification_decided",
            context={"outcome": "passed" if approve else "not passed", "note": verification.decision_note},
        )
    return verification


def verification_guardian_consent(
    *, actor: Actor, verification: IdentityVerification, note: str
) -> IdentityVerification:
    """R6.1 (PIPL art. 31): staff record a guardian's consent for a user under 14; the check then proceeds."""
    policies.require_review_verification(actor.user)
    if not (note or "").strip():
        raise ValidationError(_("Record how the guardian consented."), code="note_required")
    with transaction.atomic():
        verification = IdentityVerification.objects.select_for_update().get(pk=verification.pk)
        if verification.status != VerificationStatus.GUARDIAN_REQUIRED:
            raise PolicyDenied(
                "not_waiting_for_guardian", _("This verification is not waiting for a guardian.")
            )
        verification.guardian_consent_at = timezone.now()
        verification.status = VerificationStatus.PENDING
        verification.decision_note = note.strip()[:200]
        verification.save()
        audit_record(
            actor=actor,
            event_type="identity.guardian_consent_recorded",
            target=verification,
            data={"note": verification.decision_note, "user_id": verification.user_id},
        )
    return verification


def identity_reveal(*, actor: Actor, verification: IdentityVerification, reason: str) -> dict:
    """R6.3: the full name and ID number, for the reveal role only, with a stated reason; always audited."""
    decision = policies.can_reveal_identity(actor.user, reason)
    if not decision:
        audit_record(
            actor=actor,
            event_type="identity.reveal_denied",
            target=verification,
            data={"code": decision.code, "reason": (reason or "")[:300]},
        )
        decision.require()
    if verification.result_only or not verification.id_number_enc:
        raise PolicyDenied("nothing_stored", _("Only the verification result is kept for this account."))
    user_id = verification.user_id
    try:
        values = {
            "real_name": crypto.decrypt(
                verification.real_name_enc, context=_pi_context(NAME_CONTEXT, user_id)
            ),
            "id_number": crypto.decrypt(verification.id_number_enc, context=_pi_context(ID_CONTEXT, user_id)),
        }
    except crypto.DecryptionError as exc:
        audit_record(
            actor=actor, event_type="identity.reveal_failed", target=verification, data={"error": str(exc)}
        )
        raise PolicyDenied(
            "decryption_failed", _("The stored value cannot be decrypted: its key is missing.")
        ) from None
    audit_record(
        actor=actor,
        event_type="identity.pi_revealed",
        target=verification,
        data={"reason": reason.strip()[:300], "user_id": verification.user_id},
    )
    return values


def field_keys_rotate(*, actor: Actor, batch_size: int = 500) -> int:
    """R6.3: re-encrypt every stored name and ID number with the current key; returns how many changed."""
    current = crypto.current_key_id()
    changed = 0
    stale = IdentityVerification.objects.exclude(id_number_enc="").exclude(
        id_number_enc__startswith=f"{current}$"
    )
    while True:
        with transaction.atomic():
            batch = list(stale.select_for_update()[:batch_size])
            if not batch:
                break
            for verification in batch:
                for field, context in (("real_name_enc", NAME_CONTEXT), ("id_number_enc", ID_CONTEXT)):
                    bound = _pi_context(context, verification.user_id)
                    plain = crypto.decrypt(getattr(verification, field), context=bound)
                    setattr(verification, field, crypto.encrypt(plain, context=bound))
                verification.save(update_fields=["real_name_enc", "id_number_enc"])
            changed += len(batch)
    audit_record(
        actor=actor, event_type="identity.field_keys_rotated", data={"key": current, "changed": changed}
    )
    return changed


# --- restrictions and deletion ---------------------------------------------------------------------


def account_restriction_add(
    *, actor: Actor, user, kind: str, until=None, reason_ref: str = ""
) -> AccountRestriction:
    """R11.2: bar a user from something until a time (or for good); policies compare with now. A suspended
    account is signed out of every browser and its chat sockets close at once: signed in again, it reaches
    only what ``identity.middleware`` leaves open to it."""
    policies.require_manage_restrictions(actor)
    with transaction.atomic():
        restriction = AccountRestriction.objects.create(
            user=user,
            kind=kind,
            until=until,
            reason_ref=reason_ref,
            created_by=actor.user if actor.is_authenticated else None,
        )
        if kind == RestrictionKind.SUSPENDED:
            _end_sessions(UserSession.objects.filter(user=user, ended_at__isnull=True))
            # Every socket of the account, whatever its session (one signed in another way too).
            publish_on_commit(user_channel(user.pk), {"type": "account.suspended"})
        audit_record(
            actor=actor,
            event_type="identity.restriction_added",
            target=user,
            data={"kind": kind, "until": until.isoformat() if until else None, "reason_ref": reason_ref},
        )
    return restriction


def account_restriction_lift(*, actor: Actor, restriction: AccountRestriction, reason: str = "") -> bool:
    """R11.2: end a restriction before its time (an appeal upheld); the record stays, with ``lifted_at``.
    Returns False when it was already lifted."""
    policies.require_manage_restrictions(actor)
    with transaction.atomic():
        lifted = AccountRestriction.objects.filter(pk=restriction.pk, lifted_at__isnull=True).update(
            lifted_at=timezone.now()
        )
        if lifted:
            audit_record(
                actor=actor,
                event_type="identity.restriction_lifted",
                target=restriction.user,
                reason=(reason or "")[:300],
                data={
                    "kind": restriction.kind,
                    "restriction": restriction.pk,
                    "reason_ref": restriction.reason_ref,
                },
            )
    return bool(lifted)


def blacklist_add(*, actor: Actor, user, role: str, until=None, reason_ref: str = "") -> BlacklistEntry:
    """R11.3: put a person on the blacklist by identity (the keyed hash of the ID number their account
    is verified with, and the account itself), until a time or for good. Every account of the person then
    loses group functions (create, join, be appointed admin, post), and the identity verifies no new one.
    Only a VERIFIED identity counts: a number typed but not verified (waiting, rejected) may be someone
    else's. An account without one is listed by the account until it verifies, when the entry takes the
    identity (``_blacklist_take_identity``)."""
    policies.require_manage_restrictions(actor)
    verification = IdentityVerification.objects.filter(user=user, status=VerificationStatus.VERIFIED).first()
    id_hash = verification.id_hash if verification is not None else ""
    with transaction.atomic():
        entry = BlacklistEntry.objects.create(
            id_hash=id_hash,
            user=user,
            role=role,
            until=until,
            reason_ref=reason_ref[:80],
            created_by=actor.user if actor.is_authenticated else None,
        )
        audit_record(
            actor=actor,
            event_type="identity.blacklist_added",
            target=user,
            data={
                "entry": entry.pk,
                "role": role,
                "by_identity": bool(id_hash),
                "until": until.isoformat() if until else None,
                "reason_ref": reason_ref,
            },
        )
    return entry


def blacklist_lift(*, actor: Actor, entry: BlacklistEntry, reason: str = "") -> bool:
    """R11.3: take a person off the blacklist (an appeal upheld); the entry stays, with ``lifted_at``."""
    policies.require_manage_restrictions(actor)
    with transaction.atomic():
        lifted = BlacklistEntry.objects.filter(pk=entry.pk, lifted_at__isnull=True).update(
            lifted_at=timezone.now()
        )
        if lifted:
            audit_record(
                actor=actor,
                event_type="identity.blacklist_lifted",
                target=entry.user,
                reason=(reason or "")[:300],
                data={"entry": entry.pk, "reason_ref": entry.reason_ref},
            )
    return bool(lifted)


def account_delete(*, actor: Actor, password: str) -> None:
    """R13.2 meets PIPL: a deleted account is retention-locked (signed out, hidden, unusable) until the
    retention period ends; the records the law requires stay, readable only by compliance staff."""
    user = actor.user
    if not user.is_authenticated or not user.check_password(password or ""):
        raise ValidationError(_("The password is not correct."), code="password_wrong")
    with transaction.atomic():
        get_user_model().objects.filter(pk=user.pk).update(
            is_active=False, retention_locked_at=timezone.now()
        )
        _end_sessions(UserSession.objects.filter(user=user, ended_at__isnull=True))
        audit_record(actor=actor, event_type="identity.account_deleted", target=user)


ERASED_NICKNAME = "已注销用户"  # stored, not translated: it is what the record says, in every language


def accounts_erase_expired(
    *, actor: Actor, cutoff, held_users, held_groups, batch_size=500, progress=None
) -> int:
    """R13.2 then PIPL art. 47: once a deleted account's retention period has passed, erase the personal
    information it kept (real name, ID number, phone, sign-in addresses), unless a legal hold covers the
    user. The account row stays as a tombstone, so the messages and records that name it still resolve.
    Registered with the audit app's retention job as ``retention_locked_accounts``."""
    User = get_user_model()
    due = User.objects.filter(retention_locked_at__lt=cutoff, erased_at__isnull=True).exclude(
        pk__in=held_users
    )
    erased = 0
    while batch := list(due.order_by("pk").values_list("pk", flat=True)[:batch_size]):
        for pk in batch:
            with transaction.atomic():
                user = User.objects.select_for_update().get(pk=pk)
                _erase_account(user)
                audit_record(
                    actor=actor,
                    event_type="identity.account_erased",
                    target=user,
                    data={"retention_locked_at": user.retention_locked_at.isoformat()},
                )
            erased += 1
        if progress:
            progress(erased)
    return erased


def _erase_account(user) -> None:
    IdentityVerification.objects.filter(user=user).update(
        real_name_enc="",
        id_number_enc="",
        real_name_masked="",
        id_number_masked="",
        id_hash="",
        decision_note="",
        under_14=False,
        guardian_consent_at=None,
    )
    if user.phone:
        SmsCode.objects.filter(phone=user.phone).delete()
    UserSession.objects.filter(user=user).update(ip=None, user_agent="")
    AgreementAcceptance.objects.filter(user=user).update(ip=None)
    user.phone = None
    user.nickname = ERASED_NICKNAME
    user.username = f"erased-{user.pk}"
    user.first_name = user.last_name = user.email = ""
    user.set_unusable_password()
    user.erased_at = timezone.now()
    user.save()
