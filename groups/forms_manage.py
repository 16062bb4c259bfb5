"""Forms of the owner and admin pages (R9.2). They only shape input; the services decide."""

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from common.input_guard import RefuseDirectionControls
from groups.models import JoinMode, Role

MUTE_CHOICES = [
    (10, _("10 minutes")),
    (60, _("1 hour")),
    (12 * 60, _("12 hours")),
    (24 * 60, _("1 day")),
    (7 * 24 * 60, _("7 days")),
    (30 * 24 * 60, _("30 days")),
]
BAR_CHOICES = [
    ("", _("for good")),
    (7, _("7 days")),
    (30, _("30 days")),
    (365, _("1 year")),
]
SLOW_MODE_CHOICES = [
    (0, _("Off")),
    (10, _("10 seconds")),
    (30, _("30 seconds")),
    (60, _("1 minute")),
    (300, _("5 minutes")),
    (3600, _("1 hour")),
]
ROLE_FILTERS = [
    ("", _("All roles")),
    (Role.OWNER, _("Owner")),
    (Role.ADMIN, _("Admins")),
    (Role.MEMBER, _("Members")),
    ("muted", _("Muted now")),
]
MEMBER_ACTIONS = ("mute", "unmute", "remove", "appoint", "dismiss", "transfer")


class MemberFilterForm(forms.Form):
    q = forms.CharField(label=_("Nickname"), max_length=32, required=False)
    role = forms.ChoiceField(label=_("Role"), choices=ROLE_FILTERS, required=False)


class MemberActionForm(RefuseDirectionControls, forms.Form):
    action = forms.ChoiceField(choices=[(a, a) for a in MEMBER_ACTIONS])
    minutes = forms.TypedChoiceField(
        label=_("For"), choices=MUTE_CHOICES, coerce=int, required=False, empty_value=None
    )
    reason = forms.CharField(label=_("Reason"), max_length=200, required=False)
    bar = forms.BooleanField(label=_("Bar from rejoining"), required=False)
    bar_days = forms.TypedChoiceField(
        label=_("Barred"), choices=BAR_CHOICES, coerce=int, required=False, empty_value=None
    )

    def clean(self):
        data = super().clean()
        if data.get("action") == "mute" and not data.get("minutes"):
            self.add_error("minutes", _("Choose how long the mute lasts."))
        return data


class SettingsForm(RefuseDirectionControls, forms.Form):
    name = forms.CharField(label=_("Group name"), max_length=40)
    description = forms.CharField(
        label=_("Description"), max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    rules_text = forms.CharField(
        label=_("Group rules"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("Shown to everyone before they join; they must accept them."),
    )
    join_mode = forms.ChoiceField(label=_("How people join"), widget=forms.RadioSelect, required=False)
    slow_mode_seconds = forms.TypedChoiceField(
        label=_("Slow mode"),
        coerce=int,
        help_text=_("The least time between two messages of one member; the owner and admins are exempt."),
    )
    announcement_only = forms.BooleanField(
        label=_("Only the owner and admins post"),
        required=False,
        widget=forms.CheckboxInput(attrs={"class": "switch"}),
    )

    def __init__(self, *args, join_modes=(), current_slow_mode=0, **kwargs):
        super().__init__(*args, **kwargs)
        labels = dict(JoinMode.choices)
        self.fields["join_mode"].choices = [(mode, labels.get(mode, mode)) for mode in join_modes]
        slow = list(SLOW_MODE_CHOICES)
        if current_slow_mode not in dict(slow):
            slow.append(
                (
                    current_slow_mode,
                    ngettext_lazy("%(n)d second", "%(n)d seconds", current_slow_mode)
                    % {"n": current_slow_mode},
                )
            )
        self.fields["slow_mode_seconds"].choices = slow


class AnnouncementForm(RefuseDirectionControls, forms.Form):
    text = forms.CharField(
        label=_("Announcement"),
        max_length=1000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Shown at the top of the chat; every member is told. Leave empty to remove it."),
    )


class DissolveForm(RefuseDirectionControls, forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=200, widget=forms.TextInput)
    confirm_name = forms.CharField(
        label=_("Type the group's name to confirm"), max_length=40, widget=forms.TextInput
    )

    def __init__(self, *args, group=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.group = group

    def clean_confirm_name(self):
        value = self.cleaned_data["confirm_name"].strip()
        if self.group is not None and value != self.group.name:
            raise forms.ValidationError(_("The name does not match."))
        return value


class JoinForm(RefuseDirectionControls, forms.Form):
    """The join page: the group's rules accepted (when it has any) and, for a request, a short note."""

    accept_rules = forms.BooleanField(label=_("I have read and accept the group's rules"), required=False)
    message = forms.CharField(
        label=_("Message to the owner and admins"),
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": _("Optional: who you are, why you want to join")}),
    )
