from django.contrib import admin


class ReadOnlyModelAdmin(admin.ModelAdmin):
    """For records that change only through services (house rule 1): the admin shows, never edits."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
