from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from identity.models import User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ("username", "nickname", "is_staff", "is_active", "date_joined")
    search_fields = ("username", "nickname")
    fieldsets = (*BaseUserAdmin.fieldsets, (None, {"fields": ("nickname",)}))
