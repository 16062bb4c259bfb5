from django.contrib import admin

from audit.models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only: the audit trail is written by services alone."""

    list_display = ("occurred_at", "event_type", "actor", "door", "ip", "target_type", "target_id")
    list_filter = ("event_type", "door", "actor_kind")
    search_fields = ("event_type", "target_id", "ip")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
