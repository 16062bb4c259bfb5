"""The register in the admin is read-only: reports change only through ``reports.services``."""

from django.contrib import admin

from reports.models import RegulatorReport


@admin.register(RegulatorReport)
class RegulatorReportAdmin(admin.ModelAdmin):
    list_display = ("idempotency_key", "kind", "state", "attempts", "created_at", "delivered_at")
    list_filter = ("state", "kind")
    search_fields = ("idempotency_key", "source")
    readonly_fields = [field.name for field in RegulatorReport._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
