"""Credit in the Django admin (R7.3, R7.2): the level grid, edited as data, with its history; the ledger
shown, never edited.

House rule 1: the admin never writes these models itself. A level changes through
``services.credit_level_save``, which checks the policy, keeps the thresholds in order, records a
revision and an audit event and drops the cached grid when the change commits. The form calls the
service at the end of its validation, so that a refusal (thresholds out of order, no permission) is
shown on the form rather than as a server error; ``save_model`` then has nothing left to write. The
admin's change view runs in one transaction, so a later failure undoes the save.

Accounts, the ledger, staff adjustments and revisions are read-only here: they change only through the
credit services (penalties, adjustments with four eyes, the daily job).
"""

from __future__ import annotations

import json
import re

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.text import Truncator, capfirst
from django.utils.translation import gettext_lazy as _

from common.actors import Actor, Door
from common.admin import ReadOnlyModelAdmin
from common.policies import PolicyDenied
from credit import policies, selectors, services
from credit.models import (
    CreditAccount,
    CreditAdjustment,
    CreditCap,
    CreditEvent,
    CreditLevel,
    CreditLevelRevision,
)

ALL_CATEGORIES = "*"
CATEGORY_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")
CATEGORY_SEPARATORS = re.compile(r"[\s,，;；、]+")
HISTORY_SHOWN = 50  # revisions on a level's page; the revision list holds them all


def _actor(request) -> Actor:
    return Actor.from_request(request, door=Door.ADMIN)


def _json(value) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True, default=str)


def _when(value) -> str:
    return date_format(timezone.localtime(value), "DATETIME_FORMAT") if value else ""


# --- the level grid ----------------------------------------------------------------------------------


class CategoryListField(forms.Field):
    """The JSON list of category codes as one line of text: ``*`` for every category, or codes separated
    by commas (spaces and Chinese commas work too); empty for none."""

    widget = forms.TextInput

    def prepare_value(self, value):
        if isinstance(value, list | tuple):
            return ", ".join(str(item) for item in value)
        return value

    def to_python(self, value):
        if isinstance(value, list | tuple):  # the stored list, when the form compares with it
            return [str(item) for item in value]
        items = []
        for item in CATEGORY_SEPARATORS.split(str(value or "").strip()):
            if item and item not in items:
                items.append(item)
        return items

    def validate(self, value):
        super().validate(value)
        if ALL_CATEGORIES in value:
            if len(value) > 1:
                raise ValidationError(
                    _("Write * alone for every category, or list category codes without *."),
                    code="categories_mixed",
                )
            return
        bad = [item for item in value if not CATEGORY_CODE.match(item)]
        if bad:
            raise ValidationError(
                _(
                    "Not a category code: %(codes)s. A code is up to 40 letters, digits, “_”, “-” or “.”, "
                    "starting with a letter or digit."
                ),
                code="categories_invalid",
                params={"codes": ", ".join(bad)},
            )


class CreditLevelForm(forms.ModelForm):
    """Edits a row of the grid; saving is a call to ``services.credit_level_save`` with the fields that
    changed and the reason. ``actor`` is set on the form class the admin builds for each request."""

    actor: Actor | None = None

    creatable_categories = CategoryListField(
        label=capfirst(_("categories one may create in")),
        required=False,
        help_text=_(
            "* for every category, or category codes separated by commas. "
            "Empty: no category (no group may be created at this level)."
        ),
    )
    reason = forms.CharField(
        label=capfirst(_("reason for the change")),
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 2, "cols": 60}),
        help_text=_("Required. Kept with the level's history and in the audit trail."),
    )

    class Meta:
        model = CreditLevel
        fields = services.EDITABLE

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The row as stored: the form writes the submitted values onto ``self.instance`` before the
        # service runs, and only the fields that differ from these are sent to it.
        self.stored = {field: getattr(self.instance, field) for field in services.EDITABLE}
        self.grid_changes: dict = {}

    def _post_clean(self):
        super()._post_clean()
        if self.errors:
            return
        changes = {
            field: self.cleaned_data[field]
            for field in services.EDITABLE
            if field in self.cleaned_data and self.cleaned_data[field] != self.stored[field]
        }
        if not changes:
            return  # nothing to save: no revision, no audit event
        if self.actor is None:
            self.add_error(None, _("This form can only be used from the admin."))
            return
        try:
            self.instance = services.credit_level_save(
                actor=self.actor, level=self.instance, changes=changes, reason=self.cleaned_data["reason"]
            )
        except PolicyDenied as denied:
            self.add_error(None, ValidationError(denied.message, code=denied.code))
        except ValidationError as error:
            self._add_service_error(error)
        else:
            self.grid_changes = changes

    def _add_service_error(self, error: ValidationError) -> None:
        if not hasattr(error, "error_dict"):
            self.add_error(None, error)
            return
        for field, errors in error.error_dict.items():
            self.add_error(field if field in self.fields else None, errors)

    def save(self, commit=True):
        """The service has saved already; there is nothing left to write."""
        if self.errors:
            raise ValueError("The form did not validate.")
        return self.instance


@admin.register(CreditLevel)
class CreditLevelAdmin(admin.ModelAdmin):
    """The capability grid: one row per level; the list reads as the grid."""

    form = CreditLevelForm
    list_display = (
        "number",
        "name",
        "name_en",
        "min_score",
        "max_groups_owned",
        "max_groups_joined",
        "max_group_size",
        "categories",
        "messages_per_minute",
        "may_be_admin",
        "max_upload_mb",
    )
    list_display_links = ("number", "name")
    ordering = ("number",)
    actions = None
    readonly_fields = ("number", "updated_at", "revision_history")

    def get_fieldsets(self, request, obj=None):
        fieldsets = [
            (
                None,
                {"fields": ("number", "name", "name_en", "how_to_reach", "how_to_reach_en", "updated_at")},
            ),
            (
                _("Capabilities"),
                {
                    "fields": (
                        "min_score",
                        "max_groups_owned",
                        "max_groups_joined",
                        "max_group_size",
                        "creatable_categories",
                        "messages_per_minute",
                        "may_be_admin",
                        "max_upload_mb",
                    )
                },
            ),
        ]
        if self.has_change_permission(request, obj):
            fieldsets.append((_("Reason"), {"fields": ("reason",)}))
        fieldsets.append((_("History"), {"fields": ("revision_history",)}))
        return fieldsets

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        form.actor = _actor(request)  # a fresh class per call, so per request
        return form

    def has_add_permission(self, request):
        return False  # the five levels are the grid

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return bool(policies.can_edit_grid(request.user))

    def changelist_view(self, request, extra_context=None):
        extra_context = {
            "subtitle": _(
                "The levels are the grid: levels are neither added nor removed. Open a level to change its "
                "values; every change needs a reason and is kept in the level's history."
            ),
            **(extra_context or {}),
        }
        return super().changelist_view(request, extra_context)

    def save_model(self, request, obj, form, change):
        """Already saved by the service, at the end of the form's validation."""
        if not form.grid_changes:
            self.message_user(
                request, _("Nothing in the grid changed; no revision was recorded."), messages.INFO
            )

    def save_related(self, request, form, formsets, change):
        """No related objects are edited here."""

    def construct_change_message(self, request, form, formsets, add=False):
        changed = [str(form.fields[field].label or field) for field in form.grid_changes]
        return [{"changed": {"fields": changed}}] if changed else []

    @admin.display(description=_("categories one may create in"))
    def categories(self, obj):
        codes = obj.creatable_categories or []
        if ALL_CATEGORIES in codes:
            return _("every category")
        return ", ".join(str(code) for code in codes) or self.get_empty_value_display()

    @admin.display(description=_("history of changes"))
    def revision_history(self, obj):
        if obj is None or obj.pk is None:
            return "-"
        revisions = list(
            CreditLevelRevision.objects.filter(level_number=obj.number)
            .select_related("changed_by")
            .order_by("-changed_at", "-pk")[: HISTORY_SHOWN + 1]
        )
        if not revisions:
            return _("No change has been recorded yet.")
        shown = revisions[:HISTORY_SHOWN]
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
            '<td><details><summary>{}</summary><pre style="margin:0">{}</pre></details></td></tr>',
            (
                (
                    _when(revision.changed_at),
                    revision.changed_by or _("system"),
                    revision.reason or "-",
                    _differences(revision, revisions[index + 1] if index + 1 < len(revisions) else None),
                    _("values"),
                    _json(revision.snapshot),
                )
                for index, revision in enumerate(shown)
            ),
        )
        more = ""
        if len(revisions) > HISTORY_SHOWN:
            url = reverse("admin:credit_creditlevelrevision_changelist") + f"?level_number={obj.number}"
            more = format_html('<p><a href="{}">{}</a></p>', url, _("All revisions of this level"))
        return format_html(
            "<table><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead>"
            "<tbody>{}</tbody></table>{}",
            _("changed at"),
            _("changed by"),
            _("reason"),
            _("what changed"),
            _("values"),
            rows,
            more,
        )


def _label(field: str) -> str:
    try:
        return str(CreditLevel._meta.get_field(field).verbose_name)
    except FieldDoesNotExist:
        return field


def _differences(revision, previous) -> str:
    """What a revision changed compared with the one before it (the first shows all its values)."""
    before = previous.snapshot if previous is not None and isinstance(previous.snapshot, dict) else {}
    after = revision.snapshot if isinstance(revision.snapshot, dict) else {}
    if not before:
        return "-"
    changed = [
        f"{_label(field)}: {json.dumps(before.get(field), ensure_ascii=False)} → "
        f"{json.dumps(after.get(field), ensure_ascii=False)}"
        for field in after
        if after.get(field) != before.get(field)
    ]
    return "; ".join(changed) or "-"


# --- read-only records -------------------------------------------------------------------------------


@admin.register(CreditLevelRevision)
class CreditLevelRevisionAdmin(ReadOnlyModelAdmin):
    list_display = ("level_number", "changed_at", "changed_by", "reason")
    list_filter = ("level_number",)
    list_select_related = ("changed_by",)
    search_fields = ("reason", "changed_by__username", "changed_by__nickname")
    date_hierarchy = "changed_at"
    fields = ("level_number", "changed_at", "changed_by", "reason", "snapshot_json")
    readonly_fields = fields

    @admin.display(description=_("values"))
    def snapshot_json(self, obj):
        return format_html("<pre>{}</pre>", _json(obj.snapshot))


@admin.register(CreditAccount)
class CreditAccountAdmin(ReadOnlyModelAdmin):
    list_display = (
        "user",
        "nickname",
        "score",
        "level_by_score",
        "updated_at",
    )
    list_select_related = ("user",)
    search_fields = ("user__username", "user__nickname")
    fields = (
        "user",
        "score",
        "level_by_score",
        "updated_at",
        "recent_events",
    )
    readonly_fields = fields

    @admin.display(description=_("nickname"))
    def nickname(self, obj):
        return getattr(obj.user, "nickname", "")

    @admin.display(description=_("level by score"))
    def level_by_score(self, obj):
        return str(selectors.level_for_score(obj.score, selectors.level_grid()).number)

    @admin.display(description=_("latest credit events"))
    def recent_events(self, obj):
        events = list(obj.events.select_related("actor").order_by("-created_at", "-pk")[:20])
        if not events:
            return "-"
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    _when(event.created_at),
                    f"{event.delta:+d}",
                    event.get_reason_display(),
                    event.source_ref,
                    event.note,
                )
                for event in events
            ),
        )
        url = reverse("admin:credit_creditevent_changelist") + f"?account__id__exact={obj.pk}"
        return format_html(
            "<table><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead>"
            '<tbody>{}</tbody></table><p><a href="{}">{}</a></p>',
            _("when"),
            _("change"),
            _("reason"),
            _("source"),
            _("note"),
            rows,
            url,
            _("The whole ledger of this account"),
        )


@admin.register(CreditEvent)
class CreditEventAdmin(ReadOnlyModelAdmin):
    """The ledger: append-only, so never editable here."""

    list_display = ("created_at", "user", "delta", "reason", "source_ref", "short_note", "actor")
    list_filter = ("reason",)
    list_select_related = ("account__user", "actor")
    search_fields = ("account__user__username", "account__user__nickname", "source_ref", "note")
    date_hierarchy = "created_at"
    fields = ("account", "user", "delta", "reason", "source_ref", "note", "actor", "created_at")
    readonly_fields = fields

    @admin.display(description=_("user"), ordering="account__user__username")
    def user(self, obj):
        return obj.account.user

    @admin.display(description=_("note"))
    def short_note(self, obj):
        return Truncator(obj.note).chars(60)


@admin.register(CreditAdjustment)
class CreditAdjustmentAdmin(ReadOnlyModelAdmin):
    """Staff adjustments and their four-eyes decisions, as requested and decided through the services."""

    list_display = (
        "requested_at",
        "user",
        "delta",
        "status",
        "short_reason",
        "requested_by",
        "decided_by",
        "decided_at",
    )
    list_filter = ("status",)
    list_select_related = ("account__user", "requested_by", "decided_by")
    search_fields = (
        "account__user__username",
        "account__user__nickname",
        "requested_by__username",
        "reason",
    )
    date_hierarchy = "requested_at"
    fields = (
        "account",
        "user",
        "delta",
        "reason",
        "status",
        "requested_by",
        "requested_at",
        "decided_by",
        "decided_at",
        "decision_note",
    )
    readonly_fields = fields

    @admin.display(description=_("user"), ordering="account__user__username")
    def user(self, obj):
        return obj.account.user

    @admin.display(description=_("reason"))
    def short_reason(self, obj):
        return Truncator(obj.reason).chars(60)


@admin.register(CreditCap)
class CreditCapAdmin(ReadOnlyModelAdmin):
    """R11.2: level caps set by sanctions; the lowest in force applies. Read-only: sanctions set them."""

    list_display = ("account", "level", "until", "source_ref", "created_at")
    list_filter = ("level",)
    search_fields = ("account__user__username", "account__user__nickname", "source_ref")
