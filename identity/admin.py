from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from common.actors import Actor, Door
from common.admin import ReadOnlyModelAdmin
from common.policies import PolicyDenied
from identity import services
from identity.models import (
    AccountRestriction,
    AgreementDocument,
    BlacklistEntry,
    IdentityVerification,
    User,
)


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ("username", "nickname", "masked_phone", "is_staff", "is_active", "date_joined")
    search_fields = ("username", "nickname")
    fieldsets = (*BaseUserAdmin.fieldsets, (None, {"fields": ("nickname", "retention_locked_at")}))
    # Identity and public fields change only through the services (screened, gated, audited); the admin
    # configures staff roles and permissions.
    readonly_fields = (
        "username",
        "nickname",
        "first_name",
        "last_name",
        "email",
        "is_active",
        "retention_locked_at",
        "last_login",
        "date_joined",
    )

    def has_add_permission(self, request):
        return False

    @admin.display(description=_("Mobile number"))
    def masked_phone(self, obj):
        from identity.idnumber import mask_phone

        return mask_phone(obj.phone) if obj.phone else ""


@admin.register(IdentityVerification)
class IdentityVerificationAdmin(ReadOnlyModelAdmin):
    """Masked values only (R6.3); the full ones are shown on the compliance page, with a reason."""

    list_display = ("user", "status", "real_name_masked", "id_number_masked", "backend", "submitted_at")
    list_filter = ("status", "backend")
    fields = (
        "user",
        "status",
        "real_name_masked",
        "id_number_masked",
        "result_only",
        "under_14",
        "guardian_consent_at",
        "consent_at",
        "backend",
        "submitted_at",
        "decided_at",
        "decided_by",
        "decision_note",
    )


@admin.register(AccountRestriction)
class AccountRestrictionAdmin(ReadOnlyModelAdmin):
    list_display = ("user", "kind", "until", "reason_ref", "created_at", "lifted_at")
    list_filter = ("kind",)


@admin.register(BlacklistEntry)
class BlacklistEntryAdmin(ReadOnlyModelAdmin):
    """R11.3: shown only; entries are made and lifted through moderation's four-eyes services."""

    list_display = ("user", "role", "until", "reason_ref", "created_at", "lifted_at")
    list_filter = ("role",)
    exclude = ("id_hash",)


@admin.register(AgreementDocument)
class AgreementDocumentAdmin(admin.ModelAdmin):
    """R5.2: a change is a new version, published through the service; versions are never edited."""

    list_display = ("kind", "version", "title", "published_at")
    list_filter = ("kind",)
    fields = ("kind", "title", "body")

    def has_change_permission(self, request, obj=None):
        return obj is None and request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        try:
            published = services.agreement_publish(
                actor=Actor.from_request(request, door=Door.ADMIN),
                kind=obj.kind,
                title=obj.title,
                body=obj.body,
            )
        except PolicyDenied as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return
        obj.pk = published.pk
        obj.version = published.version
