"""Credit (R7.3): an account per user, an append-only ledger, and the levels with their capability grid.

The score is the sum of the ledger. The level follows from the score through thresholds that staff edit,
and a sanction may cap it for a while (R11.2). What a user may do follows from the level's row of the
grid, which staff edit too; nothing about levels is a constant in code.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class CreditLevel(models.Model):
    """One row of the capability grid."""

    number = models.PositiveSmallIntegerField(_("level"), unique=True)
    name = models.CharField(_("name (Chinese)"), max_length=20)
    name_en = models.CharField(_("name (English)"), max_length=40)
    min_score = models.IntegerField(
        _("lowest score"), help_text=_("The score from which a user is at this level.")
    )
    max_groups_owned = models.PositiveSmallIntegerField(_("groups one may own"))
    max_groups_joined = models.PositiveSmallIntegerField(_("groups one may be in"))
    max_group_size = models.PositiveIntegerField(
        _("largest group one may create"), help_text=_("Members, the owner included.")
    )
    creatable_categories = models.JSONField(
        _("categories one may create in"),
        default=list,
        blank=True,
        help_text=_('Category codes, or ["*"] for every category.'),
    )
    messages_per_minute = models.PositiveSmallIntegerField(_("messages per minute"))
    may_be_admin = models.BooleanField(_("may be appointed admin"), default=False)
    max_upload_mb = models.PositiveSmallIntegerField(
        _("largest picture or file (MB)"), default=0, help_text=_("0: may not send pictures or files.")
    )
    how_to_reach = models.CharField(_("how to reach this level"), max_length=200, blank=True)
    how_to_reach_en = models.CharField(_("how to reach this level (English)"), max_length=200, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("credit level")
        verbose_name_plural = _("credit levels")
        ordering = ["number"]

    def __str__(self) -> str:
        return f"L{self.number} {self.name}"


class CreditLevelRevision(models.Model):
    """The grid's history: the whole row as it was after each change, and who changed it."""

    level_number = models.PositiveSmallIntegerField(_("level"))
    snapshot = models.JSONField(_("values"))
    changed_at = models.DateTimeField(_("changed at"), auto_now_add=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.CharField(_("reason"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("credit level revision")
        verbose_name_plural = _("credit level revisions")
        ordering = ["-pk"]

    def __str__(self) -> str:
        return f"L{self.level_number} at {self.changed_at:%Y-%m-%d %H:%M}"


class CreditAccount(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="credit")
    score = models.IntegerField(_("score"), default=0)  # the ledger's sum, kept in step by the services
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("credit account")
        verbose_name_plural = _("credit accounts")

    def __str__(self) -> str:
        return f"credit of {self.user_id}: {self.score}"


class CreditCap(models.Model):
    """R11.2: a sanction that lowers the level directly, until a time or for good. Each sanction keeps its
    own cap, and the lowest cap in force applies: a short strict cap ending does not lift a longer one."""

    account = models.ForeignKey(CreditAccount, on_delete=models.CASCADE, related_name="caps")
    level = models.PositiveSmallIntegerField(_("level at most"))
    until = models.DateTimeField(_("until"), null=True, blank=True, help_text=_("Empty: until lifted"))
    source_ref = models.CharField(_("source"), max_length=80)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("level cap")
        verbose_name_plural = _("level caps")
        ordering = ["level", "-created_at"]

    def __str__(self) -> str:
        return f"L{self.level} until {self.until or '—'}"


class CreditReason(models.TextChoices):
    IDENTITY_VERIFIED = "identity_verified", _("Real-name verification completed")
    GOOD_STANDING = "good_standing", _("A day in good standing")
    COMPLAINT_UPHELD = "complaint_upheld", _("A complaint against you was upheld")
    SANCTION = "sanction", _("A sanction")
    SANCTION_REVERSED = "sanction_reversed", _("A sanction was reversed on appeal")
    STAFF_ADJUSTMENT = "staff_adjustment", _("Adjusted by staff")


class CreditEvent(models.Model):
    """The ledger: append-only. ``source_ref`` names what caused the event; with the reason it is unique,
    so an event is never counted twice (a job rerun, a retried call)."""

    account = models.ForeignKey(CreditAccount, on_delete=models.CASCADE, related_name="events")
    delta = models.IntegerField(_("change"))
    reason = models.CharField(_("reason"), max_length=24, choices=CreditReason.choices)
    source_ref = models.CharField(_("source"), max_length=80)
    note = models.CharField(_("note"), max_length=300, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("when"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("credit event")
        verbose_name_plural = _("credit events")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["account", "reason", "source_ref"], name="credit_event_once")
        ]

    def __str__(self) -> str:
        return f"{self.delta:+d} {self.reason}"


class AdjustmentStatus(models.TextChoices):
    PENDING = "pending", _("waiting for a second approver")
    APPROVED = "approved", _("approved")
    REJECTED = "rejected", _("rejected")


class CreditAdjustment(models.Model):
    """A staff adjustment above the threshold waits for a second member of staff (four eyes)."""

    account = models.ForeignKey(CreditAccount, on_delete=models.CASCADE, related_name="adjustments")
    delta = models.IntegerField(_("change"))
    reason = models.CharField(_("reason"), max_length=300)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("requested by")
    )
    requested_at = models.DateTimeField(_("requested at"), auto_now_add=True)
    status = models.CharField(
        _("status"), max_length=10, choices=AdjustmentStatus.choices, default=AdjustmentStatus.PENDING
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("decided by"),
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_note = models.CharField(_("decision note"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("credit adjustment")
        verbose_name_plural = _("credit adjustments")
        ordering = ["-requested_at"]
        permissions = [("adjust_creditaccount", "Can adjust credit and approve adjustments")]

    def __str__(self) -> str:
        return f"{self.delta:+d} ({self.status})"
