from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditEvent(models.Model):
    """One recorded action (R13.2, R6.3, R11): who, through which door, from which address and port, on
    what, with what before/after and reason. Rows form a hash chain: ``hash`` is the SHA-256 of the row's
    canonical JSON, which includes ``prev_hash``; on PostgreSQL a trigger refuses UPDATE, DELETE and
    TRUNCATE except inside the retention job. Written only by ``audit.services.audit_record``."""

    seq = models.BigIntegerField(_("position in the chain"), unique=True, null=True, editable=False)
    occurred_at = models.DateTimeField(_("occurred at"), db_index=True)
    event_type = models.CharField(_("event type"), max_length=80, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        related_name="+",
        db_constraint=False,
    )
    actor_kind = models.CharField(_("actor kind"), max_length=16)
    door = models.CharField(_("door"), max_length=8)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    port = models.PositiveIntegerField(_("source port"), null=True, blank=True)
    target_type = models.CharField(_("target type"), max_length=60, blank=True)
    target_id = models.CharField(_("target id"), max_length=64, blank=True)
    group_code = models.CharField(_("group code"), max_length=8, blank=True, db_index=True)
    reason = models.TextField(_("reason"), blank=True)
    data = models.JSONField(_("data"), default=dict, blank=True)
    prev_hash = models.CharField(max_length=64, blank=True, editable=False)
    hash = models.CharField(max_length=64, blank=True, editable=False)

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        indexes = [
            models.Index(fields=["target_type", "target_id"]),
            models.Index(fields=["actor", "occurred_at"]),
            # The dashboard counts events of given types in a time range.
            models.Index(fields=["event_type", "occurred_at"], name="audit_event_type_time"),
        ]
        permissions = [("export_auditevent", _("Can search and export the audit trail and network logs"))]

    def __str__(self) -> str:
        return f"#{self.seq} {self.event_type}"


class NetworkLogKind(models.TextChoices):
    HTTP = "http", _("HTTP request")
    LOGIN = "login", _("Sign-in")
    LOGOUT = "logout", _("Sign-out")
    WS_CONNECT = "ws_connect", _("Socket connected")
    WS_DISCONNECT = "ws_disconnect", _("Socket closed")
    MESSAGE = "message", _("Message sent")


class NetworkLog(models.Model):
    """A network log entry (R13.2): high volume, written without any global lock, sealed afterwards by
    chained digests (``LogDigest``)."""

    occurred_at = models.DateTimeField(_("occurred at"), db_index=True)
    kind = models.CharField(_("kind"), max_length=16, choices=NetworkLogKind.choices)
    user_id = models.BigIntegerField(_("user"), null=True, blank=True, db_index=True)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True, db_index=True)
    port = models.PositiveIntegerField(_("source port"), null=True, blank=True)
    method = models.CharField(max_length=8, blank=True)
    path = models.CharField(max_length=300, blank=True)
    status = models.PositiveSmallIntegerField(null=True, blank=True)
    group_code = models.CharField(_("group code"), max_length=8, blank=True, db_index=True)
    message_id = models.BigIntegerField(null=True, blank=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("network log entry")
        verbose_name_plural = _("network log")

    def __str__(self) -> str:
        return f"{self.occurred_at:%Y-%m-%d %H:%M:%S} {self.kind}"


class LogDigest(models.Model):
    """A seal over a contiguous id range of network logs, chained to the previous seal, with the audit
    chain's head at sealing time. Exported, signed, outside the database as well."""

    first_id = models.BigIntegerField()
    last_id = models.BigIntegerField(unique=True)
    row_count = models.PositiveIntegerField()
    rows_hash = models.CharField(max_length=64)
    audit_seq = models.BigIntegerField(null=True)
    audit_hash = models.CharField(max_length=64, blank=True)
    prev_hash = models.CharField(max_length=64, blank=True)
    hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    exported_at = models.DateTimeField(null=True, blank=True)  # written to the signed export file

    class Meta:
        verbose_name = _("log digest")
        verbose_name_plural = _("log digests")
        ordering = ["last_id"]

    def __str__(self) -> str:
        return f"digest {self.first_id}-{self.last_id}"


class HoldTarget(models.TextChoices):
    USER = "user", _("User")
    GROUP = "group", _("Group")
    CASE = "case", _("Case")


class LegalHold(models.Model):
    """Records of a user, group or case that no retention purge may remove while the hold is in force."""

    target_type = models.CharField(_("held"), max_length=8, choices=HoldTarget.choices)
    target_id = models.CharField(_("id or code"), max_length=64)
    reason = models.TextField(_("reason"))
    set_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    set_at = models.DateTimeField(auto_now_add=True)
    lifted_at = models.DateTimeField(null=True, blank=True)
    lifted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = _("legal hold")
        verbose_name_plural = _("legal holds")
        indexes = [models.Index(fields=["target_type", "target_id"])]

    def __str__(self) -> str:
        return f"hold on {self.target_type} {self.target_id}"


class RetentionRun(models.Model):
    """One purge: what class, the cut-off it used, how many rows went, where the audit chain now starts."""

    record_class = models.CharField(max_length=32)
    cutoff = models.DateTimeField()
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    removed = models.BigIntegerField(default=0)
    chain_anchor_seq = models.BigIntegerField(null=True, blank=True)
    chain_anchor_prev_hash = models.CharField(max_length=64, blank=True)

    def __str__(self) -> str:
        return f"{self.record_class} before {self.cutoff:%Y-%m-%d}"


class ChainCheck(models.Model):
    """The result of one verification of the chain, the digests and the export (shown on the dashboard)."""

    ran_at = models.DateTimeField(auto_now_add=True)
    ok = models.BooleanField()
    checked_events = models.BigIntegerField(default=0)
    checked_digests = models.BigIntegerField(default=0)
    problems = models.JSONField(default=list)

    def __str__(self) -> str:
        return f"{self.ran_at:%Y-%m-%d %H:%M} {'ok' if self.ok else 'BROKEN'}"
