"""Forms of the notification pages. They only check the shape of the input: which kinds a person may turn
off, and what reaching them by text message means, is ``notifications.kinds`` and ``notifications.services``.
"""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from notifications import kinds

# A short name for each kind, for the filter and the preferences. A kind registered without one (here or as
# a ``label`` on the kind) shows its title with "…" where the notice's details would go.
KIND_LABELS = {
    "platform.agreement_changed": _("Rule changes"),
    "account.suspended": _("Account restrictions"),
    "identity.verification_decided": _("Real-name verification results"),
    "credit.changed": _("Credit changes"),
    "group.announcement": _("Group announcements"),
    "group.posting_suspended": _("Posting suspensions in groups"),
    "group.creation_decided": _("Group creation decisions"),
    "group.muted": _("Mutes in groups"),
    "group.removed": _("Removals from groups"),
    "group.role_changed": _("Role changes in groups"),
    "group.dissolved": _("Dissolved groups"),
    "group.join_requested": _("Requests to join groups I manage"),
    "group.join_decided": _("Answers to my requests to join"),
}
# The preferences come in two sections: kinds whose code starts "group." and everything else.
SECTIONS = (("", _("About my account")), ("group", _("About my groups")))


class _Gap(dict):
    def __missing__(self, key):
        return "…"


def kind_label(kind: kinds.Kind) -> str:
    label = getattr(kind, "label", None) or KIND_LABELS.get(kind.code)
    if label:
        return str(label)
    return str(kind.title).format_map(_Gap()).strip(" :：")


def kind_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """The kinds for a menu, in the two sections."""
    return [
        (title, [(code, kind_label(kind)) for code, kind in kinds.KINDS.items() if _section(code) == key])
        for key, title in SECTIONS
    ]


class NotificationFilterForm(forms.Form):
    unread = forms.BooleanField(label=_("Unread only"), required=False)
    kind = forms.ChoiceField(label=_("Kind"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [("", _("All kinds")), *kind_choices()]

    def filters(self) -> dict:
        """The filters to apply; an unknown kind in the address is ignored rather than an error."""
        if not self.is_valid():
            return {"unread_only": bool(self.data.get("unread")), "kind": ""}
        return {"unread_only": self.cleaned_data["unread"], "kind": self.cleaned_data["kind"]}


class MarkReadForm(forms.Form):
    scope = forms.ChoiceField(choices=[("personal", "personal"), ("group", "group")])
    id = forms.IntegerField(min_value=1, max_value=2**63 - 1)


def _section(code: str) -> str:
    return "group" if code.startswith("group.") else ""


def _field(code: str, channel: str) -> str:
    return f"{channel}_{code}"


class PreferencesForm(forms.Form):
    """One row per kind: in the app, and by text message for kinds that go by text. Required kinds are
    shown on and cannot be changed (disabled fields keep their initial value whatever is posted)."""

    def __init__(self, *args, saved: dict, **kwargs):
        super().__init__(*args, **kwargs)
        self.rows = []
        ordered = sorted(kinds.KINDS.items(), key=lambda item: _section(item[0]) == "group")
        for number, (code, kind) in enumerate(ordered):
            choice = saved.get(code)
            row_id = f"pref-kind-{number}"
            row = {
                "code": code,
                "kind": kind,
                "label": kind_label(kind),
                "id": row_id,
                "sms": None,
                "section": dict(SECTIONS)[_section(code)],
            }
            for channel in ("in_app", "sms") if kind.sms else ("in_app",):
                name = _field(code, channel)
                self.fields[name] = forms.BooleanField(
                    required=False,
                    disabled=kind.required,
                    initial=True if kind.required or choice is None else getattr(choice, channel),
                    widget=forms.CheckboxInput(
                        attrs={"class": "switch", "aria-labelledby": f"{row_id} pref-col-{channel}"}
                    ),
                )
                row[channel] = name
            self.rows.append(row)

    def bound_rows(self) -> list[dict]:
        return [
            {
                **row,
                "in_app": self[row["in_app"]],
                "sms": self[row["sms"]] if row["sms"] else None,
            }
            for row in self.rows
        ]

    def choices(self) -> dict[str, dict]:
        """What to save: kinds the person may turn off only. A kind that never goes by text has its text
        choice off, so that turning it off in the app turns it off altogether."""
        return {
            row["code"]: {
                "in_app": self.cleaned_data[row["in_app"]],
                "sms": self.cleaned_data[row["sms"]] if row["sms"] else False,
            }
            for row in self.rows
            if not row["kind"].required
        }
