from django.contrib import admin

from common.admin import ReadOnlyModelAdmin
from groups.models import ChatGroup, Membership, Message


@admin.register(ChatGroup)
class ChatGroupAdmin(ReadOnlyModelAdmin):
    list_display = ("code", "name", "created_by", "created_at", "last_seq")
    search_fields = ("code", "name")


@admin.register(Membership)
class MembershipAdmin(ReadOnlyModelAdmin):
    list_display = ("group", "user", "role", "joined_at", "left_at")
    list_filter = ("role",)
    search_fields = ("group__code", "user__username", "user__nickname")


@admin.register(Message)
class MessageAdmin(ReadOnlyModelAdmin):
    list_display = ("group", "seq", "sender", "created_at")
    search_fields = ("group__code",)
    list_select_related = ("group", "sender")
