from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _


class User(AbstractUser):
    """A platform account. Others only ever see ``nickname`` (R6.1: backend real-name, frontend voluntary)."""

    nickname = models.CharField(_("nickname"), max_length=32)
    phone = models.CharField(_("mobile number"), max_length=16, unique=True, null=True, blank=True)
    retention_locked_at = models.DateTimeField(_("retention-locked at"), null=True, blank=True)
    erased_at = models.DateTimeField(_("personal information erased at"), null=True, blank=True)

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [models.UniqueConstraint(Lower("username"), name="user_username_unique_ci")]

    @property
    def display_name(self) -> str:
        return self.nickname or self.username


class VerificationStatus(models.TextChoices):
    UNVERIFIED = "unverified", _("Not verified")
    PENDING = "pending", _("Under review")
    GUARDIAN_REQUIRED = "guardian", _("Waiting for guardian consent")
    VERIFIED = "verified", _("Verified")
    REJECTED = "rejected", _("Rejected")
    REVOKED = "revoked", _("Revoked")


class IdentityVerification(models.Model):
    """A user's real-name verification (R6.1). Name and ID number only encrypted (R6.3), or not at all
    in result-only mode; ``id_hash`` is a keyed hash for the accounts-per-person limit."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="verification"
    )
    status = models.CharField(
        _("status"), max_length=12, choices=VerificationStatus.choices, default=VerificationStatus.UNVERIFIED
    )
    real_name_enc = models.TextField(blank=True, editable=False)
    id_number_enc = models.TextField(blank=True, editable=False)
    real_name_masked = models.CharField(_("real name (masked)"), max_length=60, blank=True)
    id_number_masked = models.CharField(_("ID number (masked)"), max_length=24, blank=True)
    id_hash = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    result_only = models.BooleanField(_("result only, nothing stored"), default=False)
    under_14 = models.BooleanField(_("under 14"), default=False)
    guardian_consent_at = models.DateTimeField(_("guardian consent at"), null=True, blank=True)
    consent_at = models.DateTimeField(_("sensitive-information consent at"), null=True, blank=True)
    consent_notice_version = models.PositiveIntegerField(
        _("notice version consented to"), null=True, blank=True
    )
    backend = models.CharField(_("verifier"), max_length=20, blank=True)
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decision_note = models.CharField(_("decision note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("real-name verification")
        verbose_name_plural = _("real-name verifications")
        permissions = [
            ("review_identityverification", _("Can review real-name verifications")),
            ("reveal_identityverification", _("Can reveal real names and ID numbers, with a stated reason")),
        ]
        # The review queue finds verifications waiting for a person without reading every account.
        indexes = [
            models.Index(
                fields=["submitted_at"],
                condition=models.Q(status="pending"),
                name="identity_verification_pending",
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.status}"


class AgreementKind(models.TextChoices):
    SERVICE_AGREEMENT = "service-agreement", _("Service agreement")
    CONVENTION = "convention", _("Platform convention")
    MANAGEMENT_RULES = "management-rules", _("Management rules")
    PRIVACY_NOTICE = "privacy-notice", _("Privacy notice")
    SENSITIVE_NOTICE = "sensitive-notice", _("Notice on sensitive personal information")


# R5.3: what every user must have accepted in its current version before publishing.
ACCEPTANCE_REQUIRED = (AgreementKind.SERVICE_AGREEMENT, AgreementKind.CONVENTION)


class AgreementDocument(models.Model):
    """A published version of a rule document (R5.2). Versions are never edited: a change is a new one."""

    kind = models.CharField(_("document"), max_length=24, choices=AgreementKind.choices)
    version = models.PositiveIntegerField(_("version"))
    title = models.CharField(_("title"), max_length=120)
    body = models.TextField(_("text"))
    published_at = models.DateTimeField(_("published at"), auto_now_add=True)

    class Meta:
        verbose_name = _("agreement document")
        verbose_name_plural = _("agreement documents")
        constraints = [models.UniqueConstraint(fields=["kind", "version"], name="agreement_version_unique")]
        ordering = ["kind", "-version"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} v{self.version}"


class AgreementAcceptance(models.Model):
    """R5.3: who accepted which version, when, from where."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="acceptances")
    document = models.ForeignKey(AgreementDocument, on_delete=models.PROTECT, related_name="acceptances")
    accepted_at = models.DateTimeField(_("accepted at"), auto_now_add=True)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)

    class Meta:
        verbose_name = _("agreement acceptance")
        verbose_name_plural = _("agreement acceptances")
        constraints = [models.UniqueConstraint(fields=["user", "document"], name="acceptance_unique")]

    def __str__(self) -> str:
        return f"{self.user_id} accepted {self.document_id}"


class RestrictionKind(models.TextChoices):
    SUSPENDED = "suspended", _("Account suspended")
    POST = "post", _("Posting suspended")
    CREATE_GROUP = "create_group", _("May not create groups")
    JOIN_GROUP = "join_group", _("May not join groups")
    MANAGE = "manage", _("Management powers suspended")


class AccountRestriction(models.Model):
    """What a user is barred from, until when (house rule 9): written by sanctions, read by policies."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="restrictions")
    kind = models.CharField(_("kind"), max_length=16, choices=RestrictionKind.choices)
    until = models.DateTimeField(_("until"), null=True, blank=True, help_text=_("Empty: permanent"))
    reason_ref = models.CharField(_("reason reference"), max_length=80, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    lifted_at = models.DateTimeField(_("lifted at"), null=True, blank=True)

    class Meta:
        verbose_name = _("account restriction")
        verbose_name_plural = _("account restrictions")
        indexes = [models.Index(fields=["user", "kind"])]

    def __str__(self) -> str:
        return f"{self.kind} until {self.until or 'permanent'}"


class BlacklistRole(models.TextChoices):
    CREATOR = "creator", _("group creator")
    ADMIN = "admin", _("group admin")
    MEMBER = "member", _("group member")


class BlacklistEntry(models.Model):
    """R11.3: a person on the platform's blacklist, by identity: ``id_hash`` is the keyed hash of the ID
    number (as ``IdentityVerification.id_hash``), so every account of the person, and any new one, is
    caught; ``user`` is the account it was entered from (and the only key for an account that never
    stored a hash). Written by moderation's four-eyes blacklisting through ``identity.services``; read by
    the identity and groups policies, which compare ``until`` with now (house rule 9)."""

    id_hash = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="blacklist_entries",
        verbose_name=_("account"),
    )
    role = models.CharField(_("listed as"), max_length=8, choices=BlacklistRole.choices)
    until = models.DateTimeField(_("until"), null=True, blank=True, help_text=_("Empty: permanent"))
    reason_ref = models.CharField(_("reason reference"), max_length=80, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    lifted_at = models.DateTimeField(_("lifted at"), null=True, blank=True)

    class Meta:
        verbose_name = _("blacklist entry")
        verbose_name_plural = _("blacklist entries")

    def __str__(self) -> str:
        return f"blacklist {self.role} until {self.until or 'permanent'}"


class SmsCode(models.Model):
    """A one-time code sent by text message; only its keyed hash is kept."""

    phone = models.CharField(max_length=16, db_index=True)
    purpose = models.CharField(max_length=16)
    code_hash = models.CharField(max_length=64)
    ip = models.GenericIPAddressField(null=True, blank=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    consumed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"code for {self.purpose}"


class UserSession(models.Model):
    """A signed-in browser, so that its owner can see it and end it."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="browser_sessions"
    )
    session_key = models.CharField(max_length=40, unique=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"session of {self.user_id}"
