"""The screening lexicon in the Django admin (R10.1).

House rule 1: the admin never writes these models itself. Adding, changing, enabling and disabling go
through ``lexicon_term_save`` / ``allow_entry_save``, removing through ``lexicon_term_delete``, imports
through ``lexicon_import_csv``; versions and evidence are shown, never edited. The list of prohibited
images is added to by uploading a picture (``prohibited_image_add``, which keeps only its hashes), changed
through ``prohibited_image_change`` and emptied through ``prohibited_image_remove``.

The form calls the service at the end of its validation, so that a refusal (a duplicate, an empty term)
is shown as a form error on the page rather than a server error; ``save_model`` then has nothing left to
write. The admin's add and change views run in one transaction, so a later failure undoes the save.
"""

from __future__ import annotations

import copy
import csv
import json

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.http import HttpResponse
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from common.actors import Actor, Door
from common.admin import ReadOnlyModelAdmin
from common.policies import PolicyDenied
from common.reasons import Reason
from screening import policies, services
from screening.images import to_hex
from screening.models import (
    IMAGE_ACTIONS,
    Action,
    AllowEntry,
    LexiconTerm,
    LexiconVersion,
    ProhibitedImage,
    ScreeningEvidence,
)
from screening.normalize import fold

IMPORT_MAX_BYTES = 5 * 1024 * 1024
IMAGE_UPLOAD_MAX_BYTES = 20 * 1024 * 1024
IMPORT_ERRORS_SHOWN = 500  # bad lines listed on the report page; the rest are counted
CONFLICT = _("Someone saved a matching entry at the same moment. Check the list and try again.")


def _actor(request) -> Actor:
    return Actor.from_request(request, door=Door.ADMIN)


def _may_manage(request) -> bool:
    return bool(policies.can_manage_lexicon(request.user))


# --- forms whose save is a service call --------------------------------------------------------------


class ServiceModelForm(forms.ModelForm):
    """A model form that saves through a service once every check has passed (the form's own, then the
    model's); the service's refusals become errors on the form. ``actor`` is set on the form class the
    admin builds for each request."""

    actor: Actor | None = None
    # the field a service error code belongs to; other codes are shown above the form
    error_fields: dict[str, str] = {}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The record as stored: the form writes the submitted values onto ``self.instance`` before the
        # service runs, and the service records the state before the change.
        self.existing = copy.copy(self.instance) if self.instance.pk else None

    def save_through_service(self, data: dict, existing):
        raise NotImplementedError

    def explain_duplicate(self, data: dict) -> str:
        return ""

    def _post_clean(self):
        super()._post_clean()
        if self.errors:
            return
        if self.existing is not None and not self.has_changed():
            return  # nothing to save: no new version, no audit event
        if self.actor is None:
            self.add_error(None, _("This form can only be used from the admin."))
            return
        try:
            self.instance = self.save_through_service(self.cleaned_data, self.existing)
        except PolicyDenied as denied:
            self.add_error(None, ValidationError(denied.message, code=denied.code))
        except ValidationError as error:
            code = getattr(error, "code", None) or ""
            hint = self.explain_duplicate(self.cleaned_data) if code.endswith("_duplicate") else ""
            self.add_error(self.error_fields.get(code), [*error.messages, hint] if hint else error)
        except IntegrityError:  # a concurrent save won the unique index
            self.add_error(None, ValidationError(CONFLICT, code="conflict"))

    def save(self, commit=True):
        """The service has saved already; there is nothing left to write."""
        if self.errors:
            raise ValueError("The form did not validate.")
        return self.instance


class LexiconTermForm(ServiceModelForm):
    error_fields = {
        "term_empty": "term",
        "term_too_long": "term",
        "term_duplicate": "term",
        "category_unknown": "category",
        "action_unknown": "action",
    }

    class Meta:
        model = LexiconTerm
        fields = ("term", "category", "action", "enabled", "source", "notes")

    def save_through_service(self, data, existing):
        return services.lexicon_term_save(
            actor=self.actor,
            term=data["term"],
            category=data["category"],
            action=data["action"],
            enabled=data["enabled"],
            source=data.get("source") or "",
            notes=data.get("notes") or "",
            existing=existing,
        )

    def explain_duplicate(self, data):
        other = LexiconTerm.objects.filter(normalised=fold((data.get("term") or "").strip())).first()
        if other is None:
            return ""
        return _("It matches the existing term “%(term)s” (%(category)s, %(action)s).") % {
            "term": other.term,
            "category": other.category,
            "action": other.get_action_display(),
        }


class AllowEntryForm(ServiceModelForm):
    error_fields = {"phrase_invalid": "phrase", "phrase_duplicate": "phrase"}

    class Meta:
        model = AllowEntry
        fields = ("phrase", "enabled", "notes")

    def save_through_service(self, data, existing):
        return services.allow_entry_save(
            actor=self.actor,
            phrase=data["phrase"],
            enabled=data["enabled"],
            notes=data.get("notes") or "",
            existing=existing,
        )

    def explain_duplicate(self, data):
        other = AllowEntry.objects.filter(normalised=fold((data.get("phrase") or "").strip())).first()
        if other is None:
            return ""
        return _("It matches the existing entry “%(phrase)s”.") % {"phrase": other.phrase}


_NOTE_ERRORS = {"too_long": "note", "control_characters": "note"}


class ProhibitedImageAddForm(ServiceModelForm):
    """Upload a known prohibited picture: the service keeps its hashes, the picture goes nowhere."""

    image = forms.FileField(
        label=_("image"),
        help_text=_(
            "The picture is not stored: only its perceptual hashes are kept, which also find resized and "
            "recompressed copies. At most 20 MB."
        ),
    )
    error_fields = {
        "image_invalid": "image",
        "image_duplicate": "image",
        "category_unknown": "category",
        "action_unknown": "action",
        **_NOTE_ERRORS,
    }

    class Meta:
        model = ProhibitedImage
        fields = ("category", "action", "note")

    def clean_image(self):
        upload = self.cleaned_data["image"]
        if upload.size > IMAGE_UPLOAD_MAX_BYTES:
            raise ValidationError(_("The file is larger than 20 MB."), code="too_large")
        return upload.read(IMAGE_UPLOAD_MAX_BYTES + 1)

    def save_through_service(self, data, existing):
        return services.prohibited_image_add(
            actor=self.actor,
            image_bytes=data["image"],
            category=data["category"],
            action=data["action"],
            note=data.get("note") or "",
        )


class ProhibitedImageChangeForm(ServiceModelForm):
    error_fields = {"category_unknown": "category", "action_unknown": "action", **_NOTE_ERRORS}

    class Meta:
        model = ProhibitedImage
        fields = ("category", "action", "note", "active")

    def save_through_service(self, data, existing):
        return services.prohibited_image_change(
            actor=self.actor,
            image=existing,
            category=data["category"],
            action=data["action"],
            note=data.get("note") or "",
            active=data["active"],
        )


class LexiconImportForm(forms.Form):
    file = forms.FileField(
        label=_("CSV file"),
        help_text=_(
            "UTF-8 (with or without a BOM), at most 5 MB. First line: "
            "term,category,action,enabled,source,notes (term and category are required)."
        ),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > IMPORT_MAX_BYTES:
            raise ValidationError(_("The file is larger than 5 MB."), code="too_large")
        raw = upload.read(IMPORT_MAX_BYTES + 1)
        if not raw:
            raise ValidationError(_("The file is empty."), code="empty")
        try:
            self.text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise ValidationError(
                _("The file is not UTF-8 text. Save it as “CSV UTF-8” and upload it again."),
                code="not_utf8",
            ) from error
        if not self.text.strip():
            raise ValidationError(_("The file is empty."), code="empty")
        if "\x00" in self.text:  # a binary file; PostgreSQL would refuse the text anyway
            raise ValidationError(
                _("The file contains NUL characters: it is not a plain-text CSV file."), code="binary"
            )
        return upload


# --- shared admin behaviour --------------------------------------------------------------------------


class ServiceModelAdmin(admin.ModelAdmin):
    """Changes only through the services; the screening policy, not model permissions, says who may."""

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        form.actor = _actor(request)  # a fresh class per call, so per request
        return form

    def has_add_permission(self, request):
        return _may_manage(request)

    def has_change_permission(self, request, obj=None):
        return _may_manage(request)

    def save_model(self, request, obj, form, change):
        """Already saved by the service, at the end of the form's validation."""

    def save_related(self, request, form, formsets, change):
        """No related objects are edited here."""

    def _set_enabled(self, request, queryset, enabled: bool, save, field: str = "enabled"):
        done, failed = 0, []
        for record in queryset.filter(**{field: not enabled}):
            try:
                save(record, enabled)
            except PolicyDenied as denied:
                failed.append(f"{record}: {denied.message}")
            except ValidationError as error:
                failed.append(f"{record}: {'; '.join(_messages(error))}")
            except IntegrityError:
                failed.append(f"{record}: {CONFLICT}")
            else:
                done += 1
        if done:
            text = (
                ngettext("%(count)d entry enabled.", "%(count)d entries enabled.", done)
                if enabled
                else ngettext("%(count)d entry disabled.", "%(count)d entries disabled.", done)
            )
            self.message_user(request, text % {"count": done}, messages.SUCCESS)
        elif not failed:
            self.message_user(request, _("Nothing to change."), messages.INFO)
        for line in failed:
            self.message_user(request, line, messages.ERROR)


def _messages(error) -> list[str]:
    return list(getattr(error, "messages", None) or [str(error)])


# --- the lexicon -------------------------------------------------------------------------------------


@admin.register(LexiconTerm)
class LexiconTermAdmin(ServiceModelAdmin):
    form = LexiconTermForm
    list_display = ("term", "category", "action", "enabled", "source", "updated_at")
    list_filter = ("category", "action", "enabled", "source")
    search_fields = ("term", "normalised", "notes")
    actions = ("enable_selected", "disable_selected")
    change_list_template = "admin/screening/lexiconterm/change_list.html"
    import_template = "admin/screening/lexiconterm/import.html"

    def get_readonly_fields(self, request, obj=None):
        return ("normalised", "created_at", "updated_at", "updated_by") if obj is not None else ()

    def has_delete_permission(self, request, obj=None):
        return _may_manage(request)

    def delete_model(self, request, obj):
        services.lexicon_term_delete(actor=_actor(request), term=obj)

    def delete_queryset(self, request, queryset):
        actor = _actor(request)
        with transaction.atomic():
            for term in queryset:
                services.lexicon_term_delete(actor=actor, term=term)

    @admin.action(description=_("Enable the selected terms"), permissions=["change"])
    def enable_selected(self, request, queryset):
        self._set_enabled(request, queryset, True, self._save_enabled(request))

    @admin.action(description=_("Disable the selected terms"), permissions=["change"])
    def disable_selected(self, request, queryset):
        self._set_enabled(request, queryset, False, self._save_enabled(request))

    def _save_enabled(self, request):
        actor = _actor(request)

        def save(term, enabled):
            services.lexicon_term_save(
                actor=actor,
                term=term.term,
                category=term.category,
                action=term.action,
                enabled=enabled,
                source=term.source,
                notes=term.notes,
                existing=term,
            )

        return save

    # --- CSV import and export ---

    def get_urls(self):
        prefix = f"{self.opts.app_label}_{self.opts.model_name}"
        return [
            path("import/", self.admin_site.admin_view(self.import_view), name=f"{prefix}_import"),
            path("export/", self.admin_site.admin_view(self.export_view), name=f"{prefix}_export"),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "may_manage_lexicon": _may_manage(request)}
        return super().changelist_view(request, extra_context)

    def _require_manager(self, request):
        decision = policies.can_manage_lexicon(request.user)
        if not decision:
            raise PermissionDenied(decision.reason)

    def import_view(self, request):
        self._require_manager(request)
        report, errors_shown, problem = None, [], ""
        if request.method == "POST":
            form = LexiconImportForm(request.POST, request.FILES)
            if form.is_valid():
                upload = form.cleaned_data["file"]
                try:
                    report = services.lexicon_import_csv(
                        actor=_actor(request), text=form.text, source=upload.name or ""
                    )
                except csv.Error as error:  # e.g. a field longer than the csv module allows
                    problem = _("The file could not be read as CSV: %(error)s") % {"error": error}
                except IntegrityError:
                    problem = CONFLICT
                except ValidationError as error:
                    problem = "; ".join(_messages(error))
                if report is not None:
                    errors_shown = report.errors[:IMPORT_ERRORS_SHOWN]
                    if report.ok:
                        form = LexiconImportForm()
        else:
            form = LexiconImportForm()
        context = {
            **self.admin_site.each_context(request),
            "title": _("Import lexicon terms from CSV"),
            "opts": self.opts,
            "form": form,
            "report": report,
            "errors_shown": errors_shown,
            "errors_hidden": len(report.errors) - len(errors_shown) if report else 0,
            "problem": problem,
        }
        return TemplateResponse(request, self.import_template, context)

    def export_view(self, request):
        self._require_manager(request)
        name = f"lexicon-{timezone.localdate():%Y%m%d}.csv"
        # The BOM lets spreadsheet programs read the Chinese text as UTF-8; the import skips it.
        text = services.lexicon_export(actor=_actor(request))
        response = HttpResponse("\ufeff" + text, content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response


@admin.register(AllowEntry)
class AllowEntryAdmin(ServiceModelAdmin):
    """No service removes an allow-list entry: it is disabled instead."""

    form = AllowEntryForm
    list_display = ("phrase", "normalised", "enabled", "notes", "created_at")
    list_filter = ("enabled",)
    search_fields = ("phrase", "normalised", "notes")
    actions = ("enable_selected", "disable_selected")

    def get_readonly_fields(self, request, obj=None):
        return ("normalised", "created_at", "updated_by") if obj is not None else ()

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description=_("Enable the selected allow-list entries"), permissions=["change"])
    def enable_selected(self, request, queryset):
        self._set_enabled(request, queryset, True, self._save_enabled(request))

    @admin.action(description=_("Disable the selected allow-list entries"), permissions=["change"])
    def disable_selected(self, request, queryset):
        self._set_enabled(request, queryset, False, self._save_enabled(request))

    def _save_enabled(self, request):
        actor = _actor(request)

        def save(entry, enabled):
            services.allow_entry_save(
                actor=actor, phrase=entry.phrase, enabled=enabled, notes=entry.notes, existing=entry
            )

        return save


# --- the list of prohibited images -------------------------------------------------------------------


def _may_manage_images(request) -> bool:
    return bool(policies.can_manage_prohibited_images(request.user))


@admin.register(ProhibitedImage)
class ProhibitedImageAdmin(ServiceModelAdmin):
    """No thumbnails: the pictures are not kept. Removing deletes the entry through the service."""

    list_display = ("__str__", "category", "action", "active", "note", "added_by", "added_at")
    list_filter = ("category", "action", "active")
    list_select_related = ("added_by",)
    search_fields = ("note", "sha256")
    actions = ("enable_selected", "disable_selected")
    add_fields = ("image", "category", "action", "note")
    change_fields = (
        "phash_hex",
        "dhash_hex",
        "sha256",
        "category",
        "action",
        "note",
        "active",
        "added_by",
        "added_at",
        "updated_at",
    )
    readonly_for_existing = ("phash_hex", "dhash_hex", "sha256", "added_by", "added_at", "updated_at")

    def get_form(self, request, obj=None, change=False, **kwargs):
        kwargs["form"] = ProhibitedImageChangeForm if obj is not None else ProhibitedImageAddForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request, obj=None):
        return self.add_fields if obj is None else self.change_fields

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_for_existing if obj is not None else ()

    def formfield_for_choice_field(self, db_field, request, **kwargs):
        if db_field.name == "action":
            kwargs["choices"] = [(action.value, action.label) for action in IMAGE_ACTIONS]
        return super().formfield_for_choice_field(db_field, request, **kwargs)

    def has_add_permission(self, request):
        return _may_manage_images(request)

    def has_change_permission(self, request, obj=None):
        return _may_manage_images(request)

    def has_delete_permission(self, request, obj=None):
        return _may_manage_images(request)

    @admin.display(description=_("perceptual hash (pHash)"))
    def phash_hex(self, obj):
        return to_hex(obj.phash)

    @admin.display(description=_("difference hash (dHash)"))
    def dhash_hex(self, obj):
        return to_hex(obj.dhash)

    def delete_model(self, request, obj):
        services.prohibited_image_remove(actor=_actor(request), image=obj)

    def delete_queryset(self, request, queryset):
        actor = _actor(request)
        with transaction.atomic():
            for image in queryset:
                services.prohibited_image_remove(actor=actor, image=image)

    @admin.action(description=_("Enable the selected images"), permissions=["change"])
    def enable_selected(self, request, queryset):
        self._set_active(request, queryset, True)

    @admin.action(description=_("Disable the selected images"), permissions=["change"])
    def disable_selected(self, request, queryset):
        self._set_active(request, queryset, False)

    def _set_active(self, request, queryset, active: bool):
        actor = _actor(request)

        def save(image, enabled):
            services.prohibited_image_change(
                actor=actor,
                image=image,
                category=image.category,
                action=image.action,
                note=image.note,
                active=enabled,
            )

        self._set_enabled(request, queryset.filter(active=not active), active, save, field="active")


# --- read-only records -------------------------------------------------------------------------------


@admin.register(LexiconVersion)
class LexiconVersionAdmin(ReadOnlyModelAdmin):
    list_display = ("__str__", "created_at", "created_by", "summary", "terms")
    list_select_related = ("created_by",)
    search_fields = ("summary",)


@admin.register(ScreeningEvidence)
class ScreeningEvidenceAdmin(ReadOnlyModelAdmin):
    list_display = ("created_at", "action", "author", "short_text", "categories")
    list_filter = ("action",)
    list_select_related = ("author",)
    search_fields = ("author__username", "ip")
    date_hierarchy = "created_at"
    fields = (
        "created_at",
        "action",
        "author",
        "ip",
        "port",
        "lexicon_version",
        "file_sha256",
        "original_text",
        "normalised_text",
        "hits_table",
        "context_json",
    )
    readonly_fields = fields

    @admin.display(description=_("original text"))
    def short_text(self, obj):
        return Truncator(" ".join(obj.original_text.split())).chars(60)

    @admin.display(description=_("categories"))
    def categories(self, obj):
        return ", ".join(sorted({str(hit.get("category", "")) for hit in _hits(obj)}))

    @admin.display(description=_("hits"))
    def hits_table(self, obj):
        hits = _hits(obj)
        if not hits:
            return "-"
        labels = dict(Reason.choices)
        rows = format_html_join(
            "",
            "<tr><td>{} {}</td><td>{}</td><td>{}–{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    hit.get("category", ""),
                    labels.get(hit.get("category"), ""),
                    _hit_term(hit),
                    hit.get("start", ""),
                    hit.get("end", ""),
                    dict(Action.choices).get(hit.get("action"), hit.get("action", "")),
                    _matched(obj.original_text, hit),
                )
                for hit in hits
            ),
        )
        return format_html(
            "<table><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead>"
            "<tbody>{}</tbody></table>",
            _("reason category"),
            _("term"),
            _("position"),
            _("action"),
            _("matched text"),
            rows,
        )

    @admin.display(description=_("context"))
    def context_json(self, obj):
        return format_html("<pre>{}</pre>", json.dumps(obj.context, ensure_ascii=False, indent=2))


def _hits(evidence) -> list[dict]:
    return [hit for hit in evidence.hits or [] if isinstance(hit, dict)]


def _hit_term(hit: dict) -> str:
    """A lexicon hit shows its term; a file hit what matched: a list entry and how close, or a virus."""
    if hit.get("kind") == "image":
        return _("prohibited image #%(entry)s: pHash %(distance)s and dHash %(dhash)s bits of 64 apart") % {
            "entry": hit.get("entry", ""),
            "distance": hit.get("distance", ""),
            "dhash": hit.get("dhash_distance", ""),
        }
    if hit.get("kind") == "virus":
        return _("virus: %(name)s") % {"name": hit.get("term", "")}
    return str(hit.get("term", ""))


def _matched(text: str, hit: dict) -> str:
    """The span of the original text the hit covers (offsets are into the original, R10.1)."""
    start, end = hit.get("start"), hit.get("end")
    if isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= len(text):
        return text[start:end]
    return ""
