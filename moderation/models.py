"""Complaints and the cases they join (R12.1).

Every complaint about the same target while its case is open joins that one case, which counts them and
keeps the strongest reason so far. A complaint keeps the evidence frozen when it was filed (house rule 8):
the message as it was, the messages around it, the group's name, announcement and members' roles then.
The case carries its own priority and deadline; the review queue (``ReviewItem``) holds the claim.

The review queue (R12.1): one ``ReviewItem`` per thing waiting for a person, whatever app owns it (see
``moderation.queue`` for the sources and how they feed it).
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


class CaseResolution(models.TextChoices):
    """How a closed case ended: the reporters' past accuracy (queue priority) counts the upheld ones."""

    UPHELD = "upheld", _("upheld")
    DISMISSED = "dismissed", _("dismissed")


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
    resolution = models.CharField(
        _("resolution"), max_length=10, choices=CaseResolution.choices, blank=True, default=""
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # When the decision closing the case took the reported message down (R12.1; reported under R11.4).
    takedown_at = models.DateTimeField(_("message taken down at"), null=True, blank=True)
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
            # Period figures (regulator summaries, the dashboard) select cases decided in a time range.
            models.Index(fields=["decided_at"], name="moderation_case_decided"),
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


# --- the review queue ----------------------------------------------------------------------------------


class ReviewKind(models.TextChoices):
    """What waits for a person. Each kind is a source registered in ``moderation.queue``."""

    CASE = "case", _("report")
    HELD_MESSAGE = "held_message", _("held message")
    GROUP_REQUEST = "group_request", _("new group")
    IDENTITY_REVIEW = "identity_review", _("real-name check")
    APPEAL = "appeal", _("appeal")


class ReviewStatus(models.TextChoices):
    OPEN = "open", _("waiting")
    DECIDED = "decided", _("decided")
    # Decided outside the queue (the old review pages, the admin) or gone: nothing left to do.
    SETTLED = "settled", _("settled elsewhere")


class ReviewItem(models.Model):
    """R12.1: one thing waiting for a reviewer, pointing at its source row (``kind`` + ``object_id``), with
    what the queue orders by (priority, then deadline), the claim that keeps two reviewers apart (until a
    time: an abandoned claim lapses by itself), the escalation and the decision. ``title``, the group and
    the member concerned are copied in, so the queue page never joins the sources."""

    kind = models.CharField(_("kind"), max_length=16, choices=ReviewKind.choices)
    object_id = models.BigIntegerField(_("source id"))
    status = models.CharField(
        _("status"), max_length=8, choices=ReviewStatus.choices, default=ReviewStatus.OPEN
    )
    title = models.CharField(_("summary"), max_length=200, blank=True)
    group = models.ForeignKey(
        "groups.ChatGroup",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("group"),
    )
    subject = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("member concerned"),
    )
    category = models.CharField(_("reason"), max_length=32, choices=Reason.choices, blank=True)
    category_kind = models.CharField(
        _("kind of reason"), max_length=8, choices=ReasonKind.choices, blank=True
    )
    reporters = models.PositiveIntegerField(_("reporters"), default=0)
    group_size = models.PositiveIntegerField(_("group size"), default=0)
    # The reporters' past accuracy (share of their closed complaints upheld, smoothed); None: no reporters.
    reporter_accuracy = models.FloatField(_("reporters' accuracy"), null=True, blank=True)
    priority = models.PositiveIntegerField(_("priority"), default=0)
    deadline = models.DateTimeField(_("handle by"))
    created_at = models.DateTimeField(_("queued at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("claimed by"),
    )
    claimed_at = models.DateTimeField(_("claimed at"), null=True, blank=True)
    claimed_until = models.DateTimeField(_("claimed until"), null=True, blank=True)
    escalated_at = models.DateTimeField(_("escalated at"), null=True, blank=True)
    decision = models.CharField(_("decision"), max_length=16, blank=True)
    note = models.TextField(_("note"), max_length=1000, blank=True)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("decided by"),
    )

    class Meta:
        verbose_name = _("review item")
        verbose_name_plural = _("review items")
        permissions = [("receive_escalations", _("Receives escalations of overdue review items"))]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "object_id"],
                condition=Q(status="open"),
                name="moderation_one_open_review_item",
            )
        ]
        indexes = [
            # The queue's order and its per-kind filter read only open items, highest priority first.
            models.Index(
                fields=["-priority", "deadline", "id"],
                condition=Q(status="open"),
                name="moderation_review_queue",
            ),
            models.Index(
                fields=["kind", "-priority", "deadline", "id"],
                condition=Q(status="open"),
                name="moderation_review_kind",
            ),
            # Overdue items: the count on the queue page and the escalation job.
            models.Index(fields=["deadline"], condition=Q(status="open"), name="moderation_review_due"),
        ]

    def __str__(self) -> str:
        return f"{self.kind}:{self.object_id} ({self.status})"


# --- sanctions, the blacklist and appeals (R11.1-R11.3) -----------------------------------------------


class SanctionKind(models.TextChoices):
    GROUP_WARNING = "group_warning", _("Warning with a rectification deadline")
    GROUP_POSTING = "group_posting", _("Posting suspended in the group")
    GROUP_CLOSURE = "group_closure", _("Group closed")
    USER_CREDIT = "user_credit", _("Credit lowered")
    USER_LEVEL = "user_level", _("Credit level lowered")
    USER_MANAGE = "user_manage", _("Group management powers suspended")
    USER_CREATE = "user_create", _("Eligibility to create groups revoked")
    USER_MUTE = "user_mute", _("Muted on the whole platform")
    USER_SUSPEND = "user_suspend", _("Account suspended")
    BLACKLIST = "blacklist", _("Put on the blacklist")


GROUP_SANCTIONS = frozenset(
    {SanctionKind.GROUP_WARNING, SanctionKind.GROUP_POSTING, SanctionKind.GROUP_CLOSURE}
)
USER_SANCTIONS = frozenset(
    {
        SanctionKind.USER_CREDIT,
        SanctionKind.USER_LEVEL,
        SanctionKind.USER_MANAGE,
        SanctionKind.USER_CREATE,
        SanctionKind.USER_MUTE,
        SanctionKind.USER_SUSPEND,
    }
)


class BlacklistTarget(models.TextChoices):
    """R11.3: who is blacklisted, and as what (the report counts the blacklist by this)."""

    GROUP = "group", _("group")
    CREATOR = "creator", _("group creator")
    ADMIN = "admin", _("group admin")
    MEMBER = "member", _("group member")


class SanctionStatus(models.TextChoices):
    PENDING = "pending", _("waiting for a supervisor's approval")
    REFUSED = "refused", _("refused by a supervisor")
    ACTIVE = "active", _("in force")
    EXPIRED = "expired", _("ended")
    REVERSED = "reversed", _("reversed on appeal")


class Sanction(models.Model):
    """R11.1-R11.3: one measure, as decided: on a group or a person, its kind, the reason category and the
    article, the evidence frozen when it was decided (house rule 8), who decided (and, for closures,
    blacklisting and permanent measures, which supervisor approved: four eyes), when it took effect and
    until when. The effect itself is recorded by the owning app (``effect`` names those rows); policies
    there compare its end with now. ``report_data`` is what a regulator report of it needs (R11.4)."""

    kind = models.CharField(_("measure"), max_length=16, choices=SanctionKind.choices)
    target_group = models.ForeignKey(
        "groups.ChatGroup",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("group"),
    )
    target_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="sanctions",
        verbose_name=_("person"),
    )
    blacklist_role = models.CharField(
        _("blacklisted as"), max_length=8, choices=BlacklistTarget.choices, blank=True
    )
    category = models.CharField(_("reason"), max_length=32, choices=Reason.choices)
    category_kind = models.CharField(_("kind of reason"), max_length=8, choices=ReasonKind.choices)
    article = models.CharField(_("article"), max_length=8)
    note = models.TextField(_("explanation"), max_length=1000, blank=True)
    evidence = models.JSONField(_("evidence"), default=dict)
    case = models.ForeignKey(
        Case,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="sanctions",
        verbose_name=_("case"),
    )
    duration_hours = models.PositiveIntegerField(
        _("duration (hours)"), null=True, blank=True, help_text=_("Empty: permanent, or not timed")
    )
    points = models.PositiveIntegerField(_("credit points taken"), null=True, blank=True)
    level = models.PositiveSmallIntegerField(_("credit level at most"), null=True, blank=True)
    needs_approval = models.BooleanField(_("needs a supervisor's approval"), default=False)
    status = models.CharField(
        _("status"), max_length=8, choices=SanctionStatus.choices, default=SanctionStatus.PENDING
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("decided by")
    )
    created_at = models.DateTimeField(_("decided at"), auto_now_add=True, db_index=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("approved by"),
    )
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True)
    approval_note = models.CharField(_("supervisor's note"), max_length=300, blank=True)
    starts_at = models.DateTimeField(_("in force from"), null=True, blank=True)
    until = models.DateTimeField(_("until"), null=True, blank=True)
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    # The owning apps' rows that carry the effect: {"account_restriction": id, "group_restriction": id,
    # "blacklist_entry": id, "credit_source": "sanction:<id>"}.
    effect = models.JSONField(_("effect"), default=dict, blank=True)
    recheck_case = models.ForeignKey(
        Case, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("re-check")
    )
    reportable = models.BooleanField(_("to be reported"), default=True)
    report_data = models.JSONField(_("report data"), default=dict, blank=True)

    class Meta:
        verbose_name = _("sanction")
        verbose_name_plural = _("sanctions")
        ordering = ["-created_at", "-pk"]
        permissions = [
            ("approve_sanction", _("Can approve closures, blacklisting and permanent measures (four eyes)")),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(target_group__isnull=False) | Q(target_user__isnull=False),
                name="moderation_sanction_has_target",
            )
        ]
        indexes = [
            models.Index(fields=["status", "kind"], name="moderation_sanction_status"),
            models.Index(fields=["status", "until"], name="moderation_sanction_expiry"),
            models.Index(fields=["target_user", "starts_at"], name="moderation_sanction_user"),
            models.Index(fields=["target_group", "starts_at"], name="moderation_sanction_group"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.kind} ({self.status})"

    @property
    def on_group(self) -> bool:
        return self.target_group_id is not None and self.target_user_id is None


class AppealStatus(models.TextChoices):
    PENDING = "pending", _("waiting for a decision")
    UPHELD = "upheld", _("upheld: the measure is reversed")
    REJECTED = "rejected", _("not upheld: the measure stands")


class Appeal(models.Model):
    """One appeal per measure, filed by the person it concerns (or the group's owner), decided by a
    reviewer other than those who decided the measure; upheld, the measure is reversed."""

    sanction = models.OneToOneField(Sanction, on_delete=models.PROTECT, related_name="appeal")
    filed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("filed by")
    )
    text = models.TextField(_("grounds"), max_length=1000)
    filed_at = models.DateTimeField(_("filed at"), auto_now_add=True)
    status = models.CharField(
        _("status"), max_length=8, choices=AppealStatus.choices, default=AppealStatus.PENDING
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
    decision_note = models.TextField(_("decision"), max_length=1000, blank=True)

    class Meta:
        verbose_name = _("appeal")
        verbose_name_plural = _("appeals")
        ordering = ["-filed_at", "-pk"]
        permissions = [("decide_appeal", _("Can decide appeals against sanctions"))]

    def __str__(self) -> str:
        return f"appeal on {self.sanction_id} ({self.status})"
