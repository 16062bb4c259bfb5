import secrets

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from groups.codes import group_code_new


def _invite_token() -> str:
    return secrets.token_urlsafe(18)


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

    class Meta:
        verbose_name = _("chat group")
        verbose_name_plural = _("chat groups")
        permissions = [("manage_chatgroup", _("Can manage the group (owner or admin)"))]

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

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        constraints = [
            models.UniqueConstraint(fields=["group", "seq"], name="message_seq_unique_per_group"),
            models.UniqueConstraint(
                fields=["sender", "client_msg_id"], name="message_client_id_unique_per_sender"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.group.code}#{self.seq}"
