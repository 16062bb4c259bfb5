import secrets

from django.conf import settings
from django.db import models
from django.utils.translation import get_language, gettext
from django.utils.translation import gettext_lazy as _

from groups.codes import group_code_new


def _attachment_token() -> str:
    return secrets.token_urlsafe(18)


def _invite_token() -> str:
    return secrets.token_urlsafe(18)


class JoinMode(models.TextChoices):
    LINK = "link", _("open invitation link")
    REQUEST = "request", _("request approved by the owner or an admin")
    INVITE = "invite", _("invitation the invitee confirms")


class GroupCategory(models.Model):
    """R7.1, R8.4: the nature of a group, defined by staff, with the rules that follow from it."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name (Chinese)"), max_length=40)
    name_en = models.CharField(_("name (English)"), max_length=60)
    description = models.CharField(_("description"), max_length=300, blank=True)
    min_creator_level = models.PositiveSmallIntegerField(_("credit level a creator needs"), default=2)
    needs_review = models.BooleanField(_("creation needs staff review"), default=False)
    max_size = models.PositiveIntegerField(_("largest size"), default=500)
    join_modes = models.JSONField(_("join modes allowed"), default=list)
    verified_above = models.PositiveIntegerField(
        _("joiners must be verified above"), default=100, help_text=_("Members, the owner included.")
    )
    enabled = models.BooleanField(_("open for new groups"), default=True)
    position = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        verbose_name = _("group category")
        verbose_name_plural = _("group categories")
        ordering = ["position", "code"]

    def __str__(self) -> str:
        return self.name

    @property
    def label(self) -> str:
        return self.name_en if (get_language() or "").startswith("en") else self.name

    @property
    def summary(self) -> str:
        """What a creator should know before choosing it."""
        parts = [self.description] if self.description else []
        if self.needs_review:
            parts.append(gettext("creation is reviewed by staff"))
        parts.append(gettext("credit level %(level)d or above") % {"level": self.min_creator_level})
        return "; ".join(parts)


class GroupTier(models.Model):
    """R7.1: tiers by member scale (defaults after WeChat: confirmation above 40, verified joiners and no
    open link above 100). The rules that apply to a group follow from its category and its tier."""

    number = models.PositiveSmallIntegerField(_("tier"), unique=True)
    name = models.CharField(_("name (Chinese)"), max_length=40)
    name_en = models.CharField(_("name (English)"), max_length=60)
    min_members = models.PositiveIntegerField(_("from members"))
    invite_needs_confirmation = models.BooleanField(_("invitations need the invitee's confirmation"))
    joiners_must_be_verified = models.BooleanField(_("joiners must be verified"))
    open_link_allowed = models.BooleanField(_("open invitation link allowed"))

    class Meta:
        verbose_name = _("group tier")
        verbose_name_plural = _("group tiers")
        ordering = ["number"]

    def __str__(self) -> str:
        return f"T{self.number} {self.name}"


class GroupStatus(models.TextChoices):
    ACTIVE = "active", _("active")
    PENDING_REVIEW = "pending_review", _("waiting for staff review")
    REJECTED = "rejected", _("creation refused")
    DISSOLVED = "dissolved", _("dissolved")
    CLOSED = "closed", _("closed by the platform")  # R11.1: read-only, hidden from lists and joins


class ChatGroup(models.Model):
    """A chat group with its unique identification code (R8.2) and its message counter."""

    code = models.CharField(
        _("group code"), max_length=8, unique=True, default=group_code_new, editable=False
    )
    name = models.CharField(_("group name"), max_length=40)
    description = models.TextField(_("description"), max_length=500, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="created_groups"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    invite_token = models.CharField(max_length=32, unique=True, default=_invite_token, editable=False)
    # The last sequence number given out; incremented under the row lock so numbers are gapless.
    last_seq = models.BigIntegerField(default=0, editable=False)
    # R8.1: the largest size, fixed at creation from the creator's credit level (categories and tiers
    # refine it); 0 means no cap of its own.
    member_cap = models.PositiveIntegerField(_("member cap"), default=0)
    category = models.ForeignKey(
        GroupCategory,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="groups",
        verbose_name=_("category"),
    )
    status = models.CharField(
        _("status"), max_length=16, choices=GroupStatus.choices, default=GroupStatus.ACTIVE
    )
    join_mode = models.CharField(
        _("how people join"), max_length=8, choices=JoinMode.choices, default=JoinMode.LINK
    )
    review_note = models.CharField(_("review note"), max_length=300, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)
    creator_qualifications = models.JSONField(_("creator's qualifications"), default=dict, blank=True)
    rules_text = models.TextField(_("group rules"), max_length=2000, blank=True)
    announcement = models.TextField(_("announcement"), max_length=1000, blank=True)
    announcement_at = models.DateTimeField(_("announced at"), null=True, blank=True)
    slow_mode_seconds = models.PositiveIntegerField(_("slow mode (seconds between messages)"), default=0)
    announcement_only = models.BooleanField(_("only the owner and admins post"), default=False)
    dissolved_at = models.DateTimeField(_("dissolved at"), null=True, blank=True)
    # R7.1: computed daily from the last week's messages (``group_activity_compute``).
    pinned_message = models.ForeignKey(
        "Message",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("pinned"),
    )
    activity_level = models.CharField(_("activity"), max_length=16, default="quiet")
    activity_messages_7d = models.PositiveIntegerField(_("messages in the last 7 days"), default=0)
    # R11.1: the end of the longest posting suspension in force (kept by the group-restriction services
    # from the ``GroupRestriction`` rows, which are the record). Read with the group, so the send path
    # pays no query for it; policies compare it with now (house rule 9).
    posting_suspended_until = models.DateTimeField(_("posting suspended until"), null=True, blank=True)
    # R11.1: the latest rectification deadline of a warning in force (kept as the field above), so that a
    # page needs no query to know there is no banner to show.
    rectify_by = models.DateTimeField(_("rectify by"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed by the platform at"), null=True, blank=True)

    class Meta:
        verbose_name = _("chat group")
        verbose_name_plural = _("chat groups")
        permissions = [
            ("manage_chatgroup", _("Can manage the group (owner or admin)")),
            ("review_chatgroup", _("Can review the creation of groups")),
        ]
        # The review queue finds groups waiting for review without reading every group (moderation.queue).
        indexes = [
            models.Index(
                fields=["created_at"],
                condition=models.Q(status="pending_review"),
                name="groups_pending_review",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class Role(models.TextChoices):
    OWNER = "owner", _("Owner")
    ADMIN = "admin", _("Admin")
    MEMBER = "member", _("Member")


class Membership(models.Model):
    """A user's place in a group with their role label (R8.6)."""

    group = models.ForeignKey(ChatGroup, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("role"), max_length=8, choices=Role.choices, default=Role.MEMBER)
    joined_at = models.DateTimeField(_("joined at"), auto_now_add=True)
    left_at = models.DateTimeField(_("left at"), null=True, blank=True)
    # R9.2: a mute is data with its end (house rule 9); policies compare with now.
    muted_until = models.DateTimeField(_("muted until"), null=True, blank=True)
    mute_reason = models.CharField(_("reason for the mute"), max_length=200, blank=True)
    rules_accepted_at = models.DateTimeField(_("group rules accepted at"), null=True, blank=True)
    # The last sequence number this member has seen: unread = the group's last_seq minus this.
    last_read_seq = models.BigIntegerField(_("read up to"), default=0)

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [models.UniqueConstraint(fields=["group", "user"], name="membership_unique_per_group")]
        indexes = [models.Index(fields=["user", "left_at"])]

    def __str__(self) -> str:
        return f"{self.user} in {self.group} ({self.role})"

    @property
    def is_active(self) -> bool:
        return self.left_at is None


class MessageStatus(models.TextChoices):
    VISIBLE = "visible", _("visible")
    HELD = "held", _("held for review")
    REMOVED = "removed", _("removed")
    RECALLED = "recalled", _("recalled by the sender")


class GroupBan(models.Model):
    """R9.2: a member removed with rejoining barred, until a time or for good."""

    group = models.ForeignKey(ChatGroup, on_delete=models.CASCADE, related_name="bans")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    until = models.DateTimeField(_("until"), null=True, blank=True)
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    lifted_at = models.DateTimeField(_("lifted at"), null=True, blank=True)

    class Meta:
        verbose_name = _("barred from a group")
        verbose_name_plural = _("barred from groups")

    def __str__(self) -> str:
        return f"{self.user_id} barred from {self.group_id}"


class JoinRequestStatus(models.TextChoices):
    PENDING = "pending", _("waiting")
    APPROVED = "approved", _("approved")
    DECLINED = "declined", _("declined")


class JoinRequest(models.Model):
    """R8.5: a request to join, decided by the owner or an admin."""

    group = models.ForeignKey(ChatGroup, on_delete=models.CASCADE, related_name="join_requests")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    message = models.CharField(_("message to the admins"), max_length=200, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=JoinRequestStatus.choices, default=JoinRequestStatus.PENDING
    )
    created_at = models.DateTimeField(_("requested at"), auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)

    class Meta:
        verbose_name = _("join request")
        verbose_name_plural = _("join requests")
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["group", "user"],
                condition=models.Q(status="pending"),
                name="one_pending_join_request",
            )
        ]
        # The dashboard's period figures select join requests by when they were made.
        indexes = [models.Index(fields=["created_at"], name="groups_joinrequest_created")]

    def __str__(self) -> str:
        return f"{self.user_id} → {self.group_id} ({self.status})"


class AttachmentKind(models.TextChoices):
    IMAGE = "image", _("picture")
    FILE = "file", _("file")


class Attachment(models.Model):
    """A picture or file sent with a message: stored privately (never at a public address), served only
    through the file view to the group's members and compliance staff, kept as evidence with its message.
    A picture is stored re-encoded, without its EXIF and location data."""

    group = models.ForeignKey(ChatGroup, on_delete=models.PROTECT, related_name="attachments")
    uploader = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    token = models.CharField(max_length=32, unique=True, default=_attachment_token, editable=False)
    kind = models.CharField(_("kind"), max_length=8, choices=AttachmentKind.choices)
    name = models.CharField(_("file name"), max_length=200)
    content_type = models.CharField(_("type"), max_length=100)  # from the content, never from the name
    size = models.PositiveBigIntegerField(_("size (bytes)"))
    sha256 = models.CharField(_("SHA-256"), max_length=64, db_index=True)
    stored_name = models.CharField(max_length=300)
    thumbnail_name = models.CharField(max_length=300, blank=True)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")

    def __str__(self) -> str:
        return f"{self.name} ({self.kind})"


class Message(models.Model):
    """A chat message, numbered per group before anyone sees it (house rule 7)."""

    group = models.ForeignKey(ChatGroup, on_delete=models.PROTECT, related_name="messages")
    # None while held by screening (R10.1): a held message takes no place in the group's sequence, so
    # nobody else sees a gap; it gets its number if a reviewer releases it.
    seq = models.BigIntegerField(_("sequence number"), null=True, blank=True)
    sender = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="messages")
    client_msg_id = models.CharField(_("client message id"), max_length=64)
    body = models.TextField(_("text"))
    created_at = models.DateTimeField(_("sent at"), auto_now_add=True)
    status = models.CharField(
        _("status"), max_length=12, choices=MessageStatus.choices, default=MessageStatus.VISIBLE
    )
    screening_evidence_id = models.BigIntegerField(_("screening evidence"), null=True, blank=True)
    removed_at = models.DateTimeField(_("removed at"), null=True, blank=True)
    removed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    removal_reason = models.CharField(_("reason for removal"), max_length=200, blank=True)
    recalled_at = models.DateTimeField(_("recalled at"), null=True, blank=True)
    # Members named with @nickname when it was sent (their ids), for highlighting and notices.
    mentions = models.JSONField(_("mentions"), default=list, blank=True)
    # The text as search lexemes (a tsvector literal, see groups.search); PostgreSQL indexes it with GIN.
    search_text = models.TextField(_("search lexemes"), blank=True, default="", editable=False)
    # A picture or file sent with the message; ``body`` is then its caption (possibly empty).
    attachment = models.OneToOneField(
        Attachment, null=True, blank=True, on_delete=models.PROTECT, related_name="message"
    )
    # When retention erased a removed or recalled message's text and file (R13.2); the tombstone stays.
    purged_at = models.DateTimeField(_("content purged at"), null=True, blank=True)

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        constraints = [
            models.UniqueConstraint(fields=["group", "seq"], name="message_seq_unique_per_group"),
            models.UniqueConstraint(
                fields=["sender", "client_msg_id"], name="message_client_id_unique_per_sender"
            ),
        ]
        # R10.1: held messages are decided by compliance staff through the review queue, which finds them
        # through this small index (a handful of rows among millions of messages).
        permissions = [("review_message", _("Can release or remove held messages and take down messages"))]
        indexes = [
            models.Index(fields=["created_at"], condition=models.Q(status="held"), name="message_held"),
            # The dashboard's period figures select messages by when they were sent.
            models.Index(fields=["created_at"], name="groups_message_created"),
        ]

    def __str__(self) -> str:
        return f"{self.group.code}#{self.seq}"


class InvitationStatus(models.TextChoices):
    PENDING = "pending", _("waiting for the invitee")
    ACCEPTED = "accepted", _("accepted")
    DECLINED = "declined", _("declined")


class Invitation(models.Model):
    """R8.5: above the tier's size an invitation waits for the invitee to confirm it."""

    group = models.ForeignKey(ChatGroup, on_delete=models.CASCADE, related_name="invitations")
    inviter = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    invitee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="invitations"
    )
    status = models.CharField(
        _("status"), max_length=10, choices=InvitationStatus.choices, default=InvitationStatus.PENDING
    )
    created_at = models.DateTimeField(_("invited at"), auto_now_add=True)
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)

    class Meta:
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")
        constraints = [
            models.UniqueConstraint(
                fields=["group", "invitee"],
                condition=models.Q(status="pending"),
                name="one_pending_invitation",
            )
        ]

    def __str__(self) -> str:
        return f"{self.invitee_id} invited to {self.group_id} ({self.status})"


class GroupRestrictionKind(models.TextChoices):
    WARNING = "warning", _("Warning: rectify by the deadline")
    POST = "post", _("Posting suspended")
    CLOSED = "closed", _("Closed by the platform")


class GroupRestriction(models.Model):
    """R11.1: a measure on a group, with its end (house rule 9): a warning whose ``until`` is the
    rectification deadline (a banner in the group until then), a posting suspension until a time, or a
    closure (no end). Written by moderation through ``groups.services``; read by the group policies and
    pages. ``reason`` is what members are shown; ``reason_ref`` names the sanction."""

    group = models.ForeignKey(ChatGroup, on_delete=models.PROTECT, related_name="restrictions")
    kind = models.CharField(_("kind"), max_length=8, choices=GroupRestrictionKind.choices)
    until = models.DateTimeField(_("until"), null=True, blank=True, help_text=_("Empty: permanent"))
    reason = models.CharField(_("reason shown to members"), max_length=300, blank=True)
    reason_ref = models.CharField(_("reason reference"), max_length=80, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    lifted_at = models.DateTimeField(_("lifted at"), null=True, blank=True)

    class Meta:
        verbose_name = _("group restriction")
        verbose_name_plural = _("group restrictions")
        indexes = [models.Index(fields=["group", "kind"], name="groups_restriction_group_kind")]

    def __str__(self) -> str:
        return f"{self.kind} on {self.group_id} until {self.until or 'permanent'}"


class EmergencyKind(models.TextChoices):
    FREEZE_CREATION = "freeze_creation", _("Freeze group creation")
    HOLD_MESSAGES = "hold_messages", _("Hold new messages for review")
    SUSPEND_POSTING = "suspend_posting", _("Suspend posting")
    NOTICE = "notice", _("Broadcast a system notice")


class EmergencyMeasure(models.Model):
    """R5.1: a platform-wide switch thrown in an incident, with its reason, start and end (house rule 9:
    policies compare ``ends_at`` with now). Holding and suspending apply to the chosen categories of
    groups, or to every group when none is chosen. Declared and ended only through ``groups.services``."""

    kind = models.CharField(_("measure"), max_length=16, choices=EmergencyKind.choices)
    categories = models.ManyToManyField(
        GroupCategory, blank=True, related_name="+", verbose_name=_("categories of groups")
    )
    reason = models.TextField(_("reason"), max_length=500)
    notice = models.TextField(_("notice shown to everyone"), max_length=500, blank=True)
    starts_at = models.DateTimeField(_("in force from"))
    ends_at = models.DateTimeField(_("in force until"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("declared by")
    )
    ended_at = models.DateTimeField(_("ended early at"), null=True, blank=True)
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    end_reason = models.TextField(_("why it ended early"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("emergency measure")
        verbose_name_plural = _("emergency measures")
        ordering = ["-starts_at", "-pk"]
        permissions = [("declare_emergency", _("Can declare and end emergency measures"))]
        indexes = [models.Index(fields=["ends_at"], name="groups_emergency_ends")]

    def __str__(self) -> str:
        return f"{self.kind} until {self.ends_at:%Y-%m-%d %H:%M}"
