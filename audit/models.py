from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditEvent(models.Model):
    """One recorded action: who, through which door, on what, with what data (R13.2).

    The hash chain and append-only trigger arrive with the audit issue; rows are written only by
    ``audit.services.audit_record``.
    """

    occurred_at = models.DateTimeField(_("occurred at"), auto_now_add=True, db_index=True)
    event_type = models.CharField(_("event type"), max_length=80, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_kind = models.CharField(_("actor kind"), max_length=16)
    door = models.CharField(_("door"), max_length=8)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    port = models.PositiveIntegerField(_("source port"), null=True, blank=True)
    target_type = models.CharField(_("target type"), max_length=60, blank=True)
    target_id = models.CharField(_("target id"), max_length=64, blank=True)
    data = models.JSONField(_("data"), default=dict, blank=True)

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        indexes = [models.Index(fields=["target_type", "target_id"])]

    def __str__(self) -> str:
        return f"{self.occurred_at:%Y-%m-%d %H:%M:%S} {self.event_type}"
