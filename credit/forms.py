"""Forms of the credit pages. They only check the shape of the input; the rules (the threshold for a second
approver, the largest adjustment, who may decide) live in ``credit.services`` and ``credit.policies``."""

from django import forms
from django.utils.translation import gettext_lazy as _

from common.input_guard import RefuseDirectionControls


class UserSearchForm(forms.Form):
    q = forms.CharField(
        label=_("Account name, nickname, mobile number or user id"),
        max_length=64,
        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "off", "spellcheck": "false"}),
    )


class AdjustForm(RefuseDirectionControls, forms.Form):
    delta = forms.IntegerField(
        label=_("Change in points"),
        widget=forms.NumberInput(attrs={"step": 1, "placeholder": _("e.g. 5 or -5")}),
    )
    reason = forms.CharField(
        label=_("Reason"),
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Recorded in the ledger and the audit trail; the member sees it in their history."),
    )

    def __init__(self, *args, threshold: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["delta"].help_text = _(
            "A positive number adds points, a negative one takes them away. A change of more than "
            "%(threshold)s points either way waits for a second member of staff."
        ) % {"threshold": threshold}


class DecideForm(RefuseDirectionControls, forms.Form):
    action = forms.ChoiceField(choices=[("approve", _("Approve")), ("reject", _("Reject"))])
    note = forms.CharField(label=_("Note"), max_length=300, required=False)
