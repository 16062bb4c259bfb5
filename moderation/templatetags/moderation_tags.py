"""Showing frozen evidence: its times are stored as ISO text in UTC and shown in the local time zone."""

from datetime import UTC, datetime

from django import template
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

register = template.Library()


@register.filter
def frozen_time(value) -> str:
    """``2026-11-28T13:45:00+00:00`` as ``2026-11-28 21:45`` (the current time zone); "" if unreadable."""
    try:
        moment = datetime.fromisoformat(str(value))
    except (TypeError, ValueError):
        return ""
    if timezone.is_naive(moment):
        moment = moment.replace(tzinfo=UTC)
    return f"{timezone.localtime(moment):%Y-%m-%d %H:%M}"


# Frozen evidence keeps a member's role as its code ("owner", "admin", "member"); shown in the reader's
# language. "" (not a member then) shows as nothing.
ROLE_LABELS = {
    "owner": _("Owner"),
    "admin": _("Admin"),
    "member": _("Member"),
    "former member": _("former member"),
}


@register.filter
def role_label(value) -> str:
    """A frozen role code as its label in the current language (an unknown one as it is)."""
    label = ROLE_LABELS.get(str(value or ""))
    return str(label) if label is not None else str(value or "")
