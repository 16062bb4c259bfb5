"""Moderation records in the admin: shown only (house rule 1). Sanctions are decided, approved and
appealed through ``moderation.services`` on the compliance pages and the API."""

from django.contrib import admin

from common.admin import ReadOnlyModelAdmin
from moderation.models import Appeal, Sanction


@admin.register(Sanction)
class SanctionAdmin(ReadOnlyModelAdmin):
    list_display = ("pk", "kind", "target_group", "target_user", "category", "status", "starts_at", "until")
    list_filter = ("status", "kind", "blacklist_role", "category_kind")
    search_fields = ("target_group__code", "target_user__username", "target_user__nickname")
    list_select_related = ("target_group", "target_user")
    date_hierarchy = "created_at"


@admin.register(Appeal)
class AppealAdmin(ReadOnlyModelAdmin):
    list_display = ("pk", "sanction", "filed_by", "status", "filed_at", "decided_by", "decided_at")
    list_filter = ("status",)
    list_select_related = ("sanction", "filed_by", "decided_by")
