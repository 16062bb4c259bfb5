"""The regulator report register (R11.4).

One ``RegulatorReport`` per reportable measure (a sanction that took effect: group and user measures and
blacklisting) and per closed period (daily, weekly, monthly summaries). The payload is frozen when the
report is generated and signed (``reports.signing``); delivery (``reports.delivery``) moves it from pending
to delivered or acknowledged, and a failed attempt leaves it due with its next attempt further away
(exponential backoff), so nothing due is ever lost. The idempotency key is unique: generating twice never
makes a second report, and the receiver sees the same key on every attempt.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ReportKind(models.TextChoices):
    MEASURE = "measure", _("measure report")
    DAILY = "daily", _("daily summary")
    WEEKLY = "weekly", _("weekly summary")
    MONTHLY = "monthly", _("monthly summary")


class ReportState(models.TextChoices):
    PENDING = "pending", _("pending")
    DELIVERED = "delivered", _("delivered")
    ACKNOWLEDGED = "acknowledged", _("acknowledged")
    FAILED = "failed", _("failed, will be retried")


UNDELIVERED = (ReportState.PENDING, ReportState.FAILED)


class RegulatorReport(models.Model):
    kind = models.CharField(_("kind"), max_length=8, choices=ReportKind.choices)
    # "sanction:<id>" for a measure, "<kind>:<first day>" for a period.
    source = models.CharField(_("source"), max_length=64)
    idempotency_key = models.CharField(_("idempotency key"), max_length=100, unique=True, editable=False)
    period_start = models.DateField(_("period from"), null=True, blank=True)
    period_end = models.DateField(_("period to"), null=True, blank=True)
    payload = models.JSONField(_("payload"), default=dict, editable=False)
    format_version = models.CharField(_("format version"), max_length=8, editable=False)
    signature = models.CharField(_("signature"), max_length=64, editable=False)
    key_id = models.CharField(_("key id"), max_length=32, editable=False)
    state = models.CharField(
        _("state"), max_length=12, choices=ReportState.choices, default=ReportState.PENDING
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    last_error = models.CharField(_("last error"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("generated at"), auto_now_add=True, db_index=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    acknowledged_at = models.DateTimeField(_("acknowledged at"), null=True, blank=True)
    acknowledgement = models.CharField(_("acknowledgement"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("regulator report")
        verbose_name_plural = _("regulator reports")
        ordering = ["-created_at", "-pk"]
        permissions = [("redeliver_regulatorreport", _("Can redeliver regulator reports"))]
        constraints = [
            models.UniqueConstraint(fields=["kind", "source"], name="reports_report_one_per_source"),
        ]
        indexes = [models.Index(fields=["state", "next_attempt_at"], name="reports_report_due")]

    def __str__(self) -> str:
        return f"{self.kind} {self.source} ({self.state})"

    @property
    def undelivered(self) -> bool:
        return self.state in UNDELIVERED


class InspectionGrant(models.Model):
    """R13.1, R12.2: a supervisor's grant to an inspector account: read-only access for a purpose, within a
    time window, to a scope of groups and users and (optionally) a span of their records; every page the
    inspector opens under it is audited. It ends by itself at ``ends_at`` (policies compare with now) or
    when a supervisor revokes it."""

    inspector = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="inspection_grants",
        verbose_name=_("inspector"),
    )
    authority = models.CharField(_("inspecting authority"), max_length=120)
    reference = models.CharField(_("document reference"), max_length=120, blank=True)
    purpose = models.TextField(_("purpose"), max_length=1000)
    starts_at = models.DateTimeField(_("access from"))
    ends_at = models.DateTimeField(_("access until"))
    scope_groups = models.ManyToManyField(
        "groups.ChatGroup", blank=True, related_name="+", verbose_name=_("groups in scope")
    )
    scope_users = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="+", verbose_name=_("users in scope")
    )
    records_from = models.DateTimeField(_("records from"), null=True, blank=True)
    records_until = models.DateTimeField(_("records until"), null=True, blank=True)
    statistics = models.BooleanField(_("platform statistics and dashboard"), default=False)
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("granted by")
    )
    created_at = models.DateTimeField(_("granted at"), auto_now_add=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    revoke_reason = models.CharField(_("reason for revoking"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("inspection grant")
        verbose_name_plural = _("inspection grants")
        ordering = ["-starts_at", "-pk"]
        permissions = [
            ("grant_inspection", _("Can grant and revoke inspector access")),
            ("inspect", _("Can inspect under a grant")),
        ]
        indexes = [models.Index(fields=["inspector", "ends_at"], name="reports_grant_inspector")]

    def __str__(self) -> str:
        return f"{self.authority} ({self.starts_at:%Y-%m-%d} – {self.ends_at:%Y-%m-%d})"

    def state_at(self, now) -> str:
        if self.revoked_at is not None:
            return GrantState.REVOKED
        if now < self.starts_at:
            return GrantState.UPCOMING
        if now >= self.ends_at:
            return GrantState.ENDED
        return GrantState.ACTIVE


class GrantState(models.TextChoices):
    UPCOMING = "upcoming", _("not yet started")
    ACTIVE = "active", _("in force")
    ENDED = "ended", _("ended")
    REVOKED = "revoked", _("revoked")


class EvidenceExport(models.Model):
    """R13.1: one evidence package (a zip with a manifest and the SHA-256 of every file) exported by an
    inspector for a case; the package's own hash is kept so a copy handed over can be checked later."""

    grant = models.ForeignKey(InspectionGrant, on_delete=models.PROTECT, related_name="exports")
    case = models.ForeignKey("moderation.Case", on_delete=models.PROTECT, related_name="+")
    exported_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("exported at"), auto_now_add=True, db_index=True)
    sha256 = models.CharField(_("SHA-256 of the package"), max_length=64)
    size = models.PositiveIntegerField(_("bytes"))
    files = models.PositiveSmallIntegerField(_("files"))

    class Meta:
        verbose_name = _("evidence export")
        verbose_name_plural = _("evidence exports")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"case {self.case_id} · {self.sha256[:12]}"
