"""The regulator report register (R11.4).

One ``RegulatorReport`` per reportable measure (a sanction that took effect: group and user measures and
blacklisting) and per closed period (daily, weekly, monthly summaries). The payload is frozen when the
report is generated and signed (``reports.signing``); delivery (``reports.delivery``) moves it from pending
to delivered or acknowledged, and a failed attempt leaves it due with its next attempt further away
(exponential backoff), so nothing due is ever lost. The idempotency key is unique: generating twice never
makes a second report, and the receiver sees the same key on every attempt.
"""

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
