from django import forms
from django.utils.translation import gettext_lazy as _

from audit.models import HoldTarget, NetworkLogKind
from common.input_guard import RefuseDirectionControls


class SearchForm(forms.Form):
    source = forms.ChoiceField(
        label=_("Search in"),
        choices=[("events", _("Audit trail")), ("logs", _("Network log"))],
        initial="events",
    )
    user = forms.CharField(label=_("User (id, account name or mobile)"), required=False, max_length=40)
    group_code = forms.CharField(label=_("Group code"), required=False, max_length=12)
    ip = forms.GenericIPAddressField(label=_("IP address"), required=False)
    event_type = forms.CharField(label=_("Event type (prefix)"), required=False, max_length=80)
    kind = forms.ChoiceField(
        label=_("Log kind"), required=False, choices=[("", "—"), *NetworkLogKind.choices]
    )
    message_id = forms.IntegerField(label=_("Message id"), required=False, min_value=1, max_value=2**62)
    target_type = forms.CharField(label=_("Target type"), required=False, max_length=60)
    target_id = forms.CharField(label=_("Target id"), required=False, max_length=64)
    since = forms.DateTimeField(
        label=_("From"), required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    until = forms.DateTimeField(
        label=_("To"), required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )


class HoldForm(RefuseDirectionControls, forms.Form):
    target_type = forms.ChoiceField(label=_("Hold"), choices=HoldTarget.choices)
    target_id = forms.CharField(label=_("User id, group code or case number"), max_length=64)
    reason = forms.CharField(label=_("Reason"), max_length=500, widget=forms.Textarea(attrs={"rows": 2}))


class LiftForm(RefuseDirectionControls, forms.Form):
    reason = forms.CharField(label=_("Why the hold can end"), max_length=500)

    def clean(self):
        cleaned = super().clean()
        for name in ("since", "until"):
            value = cleaned.get(name)
            if value is not None and not 2000 <= value.year <= 2100:
                self.add_error(name, _("Choose a date between 2000 and 2100."))
        return cleaned
