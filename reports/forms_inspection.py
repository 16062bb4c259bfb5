"""The supervisor's form for granting inspector access (R13.1)."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta

from django import forms
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from common.input_guard import RefuseDirectionControls
from groups.models import ChatGroup
from identity import selectors as identity_selectors
from reports import inspection

DATETIME = {"type": "datetime-local"}
EARLIEST_RECORDS = date(2017, 1, 1)  # before the Provisions, and before any record the platform keeps
SEPARATORS = re.compile(r"[\s,，、;；]+")


def _tokens(raw: str) -> list[str]:
    return [token for token in SEPARATORS.split(raw or "") if token]


def _start_of(day, *, next_day: bool = False):
    if day is None:
        return None
    moment = datetime.combine(day + timedelta(days=1) if next_day else day, time.min)
    return timezone.make_aware(moment, timezone.get_current_timezone())


class GrantForm(RefuseDirectionControls, forms.Form):
    inspector = forms.ModelChoiceField(
        label=_("Inspector account"),
        queryset=None,
        empty_label=_("Choose the inspector's account"),
        help_text=_("Accounts of the inspector role; a platform administrator creates them."),
    )
    authority = forms.CharField(label=_("Inspecting authority"), max_length=120)
    reference = forms.CharField(
        label=_("Document reference"),
        max_length=120,
        required=False,
        help_text=_("The number of the inspection notice or letter, if there is one."),
    )
    purpose = forms.CharField(label=_("Purpose"), max_length=1000, widget=forms.Textarea(attrs={"rows": 3}))
    starts_at = forms.DateTimeField(
        label=_("Access from"), widget=forms.DateTimeInput(attrs=DATETIME, format="%Y-%m-%dT%H:%M")
    )
    ends_at = forms.DateTimeField(
        label=_("Access until"), widget=forms.DateTimeInput(attrs=DATETIME, format="%Y-%m-%dT%H:%M")
    )
    groups = forms.CharField(
        label=_("Groups in scope"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Group codes, separated by spaces or commas."),
    )
    users = forms.CharField(
        label=_("Users in scope"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Account names or mobile numbers, separated by spaces or commas."),
    )
    records_from = forms.DateField(
        label=_("Records from (day)"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    records_until = forms.DateField(
        label=_("Records until (day, included)"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Leave both empty for all records of the groups and users in scope."),
    )
    statistics = forms.BooleanField(
        label=_("Platform statistics and the compliance dashboard"),
        required=False,
        help_text=_("Figures for the whole platform, with no content of any group."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["inspector"].queryset = inspection.inspector_accounts()
        self.fields["inspector"].label_from_instance = lambda user: f"{user.username} · {user.display_name}"
        if not self.is_bound:
            now = timezone.localtime().replace(second=0, microsecond=0)
            self.initial.setdefault("starts_at", now)
            self.initial.setdefault(
                "ends_at", now + timedelta(days=min(30, settings.INSPECTION_GRANT_MAX_DAYS))
            )

    def _bounded(self, name: str, earliest, latest):
        value = self.cleaned_data.get(name)
        if value is None:
            return value
        day = value.date() if isinstance(value, datetime) else value
        if not earliest <= day <= latest:
            raise forms.ValidationError(
                _("Choose a date between %(earliest)s and %(latest)s.")
                % {"earliest": earliest, "latest": latest}
            )
        return value

    def clean_starts_at(self):
        today = timezone.localdate()
        return self._bounded("starts_at", today - timedelta(days=1), today + timedelta(days=366))

    def clean_ends_at(self):
        today = timezone.localdate()
        return self._bounded("ends_at", today - timedelta(days=1), today + timedelta(days=732))

    def clean_records_from(self):
        return self._bounded("records_from", EARLIEST_RECORDS, timezone.localdate() + timedelta(days=366))

    def clean_records_until(self):
        return self._bounded("records_until", EARLIEST_RECORDS, timezone.localdate() + timedelta(days=366))

    def clean_groups(self) -> list[ChatGroup]:
        codes = [code.upper() for code in _tokens(self.cleaned_data.get("groups", ""))]
        if len(codes) > 200:
            raise forms.ValidationError(_("At most 200 groups in one grant."))
        found = {group.code: group for group in ChatGroup.objects.filter(code__in=codes)}
        unknown = [code for code in codes if code not in found]
        if unknown:
            raise forms.ValidationError(_("No group has the code: %(codes)s") % {"codes": ", ".join(unknown)})
        return list(found.values())

    def clean_users(self) -> list:
        names = _tokens(self.cleaned_data.get("users", ""))
        if len(names) > 200:
            raise forms.ValidationError(_("At most 200 users in one grant."))
        users, unknown = {}, []
        for name in names:
            user = identity_selectors.user_get_by_login(name)
            if user is None:
                unknown.append(name)
            else:
                users[user.pk] = user
        if unknown:
            raise forms.ValidationError(_("No account is called: %(names)s") % {"names": ", ".join(unknown)})
        return list(users.values())

    def service_arguments(self) -> dict:
        data = self.cleaned_data
        return {
            "inspector": data["inspector"],
            "authority": data["authority"],
            "reference": data.get("reference", ""),
            "purpose": data["purpose"],
            "starts_at": data["starts_at"],
            "ends_at": data["ends_at"],
            "groups": data.get("groups") or [],
            "users": data.get("users") or [],
            "records_from": _start_of(data.get("records_from")),
            "records_until": _start_of(data.get("records_until"), next_day=True),
            "statistics": data.get("statistics", False),
        }


class RevokeForm(RefuseDirectionControls, forms.Form):
    reason = forms.CharField(label=_("Why is access revoked?"), max_length=300)
