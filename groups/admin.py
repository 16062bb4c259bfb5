from django.contrib import admin

from groups.models import ChatGroup, Membership, Message


class ReadOnlyAdmin(admin.ModelAdmin):
    """Changes go through the group services (owner pages and staff actions), not raw edits."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ChatGroup)
class ChatGroupAdmin(ReadOnlyAdmin):
    list_display = ("code", "name", "created_by", "created_at", "last_seq")
    search_fields = ("code", "name")


@admin.register(Membership)
class MembershipAdmin(ReadOnlyAdmin):
    list_display = ("group", "user", "role", "joined_at", "left_at")
    list_filter = ("role",)
    search_fields = ("group__code", "user__username", "user__nickname")


@admin.register(Message)
class MessageAdmin(ReadOnlyAdmin):
    list_display = ("group", "seq", "sender", "created_at")
    search_fields = ("group__code",)
    list_select_related = ("group", "sender")
