from django.contrib import admin

from audit.models import AuditEvent
from common.admin import ReadOnlyModelAdmin


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyModelAdmin):
    """Read-only: the audit trail is written by services alone."""

    list_display = ("occurred_at", "event_type", "actor", "door", "ip", "target_type", "target_id")
    list_filter = ("event_type", "door", "actor_kind")
    search_fields = ("event_type", "target_id", "ip")
