"""Showing frozen evidence: its times are stored as ISO text in UTC and shown in the local time zone."""

from datetime import UTC, datetime

from django import template
from django.utils import timezone

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
