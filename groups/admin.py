from django.contrib import admin
from django.core.exceptions import ValidationError

from common.actors import Actor, Door
from common.admin import ReadOnlyModelAdmin
from common.policies import PolicyDenied
from groups import services
from groups.models import (
    ChatGroup,
    EmergencyMeasure,
    GroupCategory,
    GroupRestriction,
    GroupTier,
    Membership,
    Message,
)


class ConfigAdmin(admin.ModelAdmin):
    """Categories and tiers are saved through ``groups.services.group_config_save`` (audited); a refusal
    shows as a form error, never a server error."""

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        admin_request = request

        class ServiceForm(form):
            def _post_clean(self):
                super()._post_clean()
                if self.errors:
                    return
                try:
                    services.group_config_save(
                        actor=Actor.from_request(admin_request, door=Door.ADMIN),
                        config=self.instance,
                        changed=list(self.changed_data),
                    )
                except ValidationError as error:
                    self._update_errors(error)
                except PolicyDenied as denied:
                    self.add_error(None, denied.message)

        return ServiceForm

    def save_model(self, request, obj, form, change):
        """Saved by the service during validation."""

    def has_delete_permission(self, request, obj=None):
        return False  # groups refer to them; disable a category instead


@admin.register(GroupCategory)
class GroupCategoryAdmin(ConfigAdmin):
    list_display = (
        "code",
        "name",
        "name_en",
        "min_creator_level",
        "needs_review",
        "max_size",
        "join_modes",
        "verified_above",
        "enabled",
    )


@admin.register(GroupTier)
class GroupTierAdmin(ConfigAdmin):
    list_display = (
        "number",
        "name",
        "name_en",
        "min_members",
        "invite_needs_confirmation",
        "joiners_must_be_verified",
        "open_link_allowed",
    )


@admin.register(ChatGroup)
class ChatGroupAdmin(ReadOnlyModelAdmin):
    list_display = ("code", "name", "category", "status", "created_by", "created_at", "last_seq")
    list_filter = ("status", "category")
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


@admin.register(GroupRestriction)
class GroupRestrictionAdmin(ReadOnlyModelAdmin):
    """R11.1: shown only; measures on groups are decided through moderation's services."""

    list_display = ("group", "kind", "until", "reason_ref", "created_at", "lifted_at")
    list_filter = ("kind",)
    search_fields = ("group__code",)
    list_select_related = ("group",)


@admin.register(EmergencyMeasure)
class EmergencyMeasureAdmin(ReadOnlyModelAdmin):
    """R5.1: shown only; supervisors declare and end measures on the emergency page (through the services)."""

    list_display = ("kind", "starts_at", "ends_at", "ended_at", "created_by", "reason")
    list_filter = ("kind",)
    list_select_related = ("created_by",)
