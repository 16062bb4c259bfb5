"""Notifications: what the platform tells a person, stored before it is pushed.

A notice to one person is one row. A notice to a whole group (a new announcement, a posting suspension)
is also one row, keyed by the group, however many members it has; each member has one read cursor per
group (the id of the last group notice they have seen), so reading costs one row per member per group,
never one per member per notice.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Notification(models.Model):
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(_("kind"), max_length=60, db_index=True)
    context = models.JSONField(_("details"), default=dict)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)
    sms_status = models.CharField(_("text message"), max_length=16, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["recipient", "read_at", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.kind} → {self.recipient_id}"


class GroupNotice(models.Model):
    """One row for every member of a group (``group_key`` is the group's code)."""

    group_key = models.CharField(_("group"), max_length=16, db_index=True)
    kind = models.CharField(_("kind"), max_length=60)
    context = models.JSONField(_("details"), default=dict)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("group notice")
        verbose_name_plural = _("group notices")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.kind} → {self.group_key}"


class GroupNoticeCursor(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    group_key = models.CharField(max_length=16)
    last_read_id = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "group_key"], name="one_cursor_per_group")]

    def __str__(self) -> str:
        return f"{self.user_id}@{self.group_key}: {self.last_read_id}"


class NotificationPreference(models.Model):
    """A person's choice for one kind (only kinds the platform's duties do not require)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=60)
    in_app = models.BooleanField(default=True)
    sms = models.BooleanField(default=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "kind"], name="one_preference_per_kind")]

    def __str__(self) -> str:
        return f"{self.user_id} {self.kind}"
