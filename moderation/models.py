"""Complaints and the cases they join (R12.1).

Every complaint about the same target while its case is open joins that one case, which counts them and
keeps the strongest reason so far. A complaint keeps the evidence frozen when it was filed (house rule 8):
the message as it was, the messages around it, the group's name, announcement and members' roles then.
The case carries what the review queue (later work) orders by: status, priority, deadline, and a claim.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from common.reasons import Reason, ReasonKind


class TargetKind(models.TextChoices):
    MESSAGE = "message", _("message")
    MEMBER = "member", _("member")
    GROUP = "group", _("group")


class CaseStatus(models.TextChoices):
    OPEN = "open", _("open")
    CLOSED = "closed", _("closed")


class Case(models.Model):
    """One target's complaints, handled together: a message, a member of a group, or a group."""

    kind = models.CharField(_("target"), max_length=8, choices=TargetKind.choices)
    # "message:<id>", "member:<group id>:<user id>" or "group:<id>": one open case per target.
    target_key = models.CharField(max_length=64, editable=False)
    group = models.ForeignKey(
        "groups.ChatGroup", on_delete=models.PROTECT, related_name="+", verbose_name=_("group")
    )
    message = models.ForeignKey(
        "groups.Message",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("message"),
    )
    subject = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("member reported"),
    )
    category = models.CharField(_("reason"), max_length=32, choices=Reason.choices)
    category_kind = models.CharField(_("kind of reason"), max_length=8, choices=ReasonKind.choices)
    priority = models.PositiveSmallIntegerField(_("priority"), default=0)
    complaint_count = models.PositiveIntegerField(_("complaints"), default=0)
    status = models.CharField(_("status"), max_length=8, choices=CaseStatus.choices, default=CaseStatus.OPEN)
    outcome = models.TextField(_("outcome"), max_length=1000, blank=True)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    deadline = models.DateTimeField(_("handle by"))
    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    claimed_at = models.DateTimeField(_("claimed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("case")
        verbose_name_plural = _("cases")
        constraints = [
            models.UniqueConstraint(
                fields=["target_key"], condition=Q(status="open"), name="moderation_one_open_case_per_target"
            )
        ]
        indexes = [
            models.Index(fields=["status", "-priority", "deadline"], name="moderation_case_queue"),
            models.Index(fields=["group", "status"], name="moderation_case_group"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.kind} {self.category} ({self.status})"


class Complaint(models.Model):
    """One person's report, with the evidence as it was at that moment (never edited)."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="complaints")
    # None for a logged-out visitor (reporting a public group, R8.3).
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="complaints",
        verbose_name=_("reporter"),
    )
    reporter_ip = models.GenericIPAddressField(_("reporter's IP address"), null=True, blank=True)
    category = models.CharField(_("reason"), max_length=32, choices=Reason.choices)
    description = models.TextField(_("description"), max_length=1000, blank=True)
    evidence = models.JSONField(_("evidence"), default=dict)
    created_at = models.DateTimeField(_("filed at"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("complaint")
        verbose_name_plural = _("complaints")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["case", "reporter"],
                condition=Q(reporter__isnull=False),
                name="moderation_one_complaint_per_reporter_and_case",
            )
        ]

    def __str__(self) -> str:
        return f"{self.category} → case {self.case_id}"
