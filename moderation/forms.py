"""Forms of the report pages. They check the shape of the input; the rules are the services'."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from common.input_guard import RefuseDirectionControls
from common.reasons import Reason, ReasonKind, reason_kind

DESCRIPTION_MAX = 1000


def reason_groups() -> list[tuple[str, list[tuple[str, str]]]]:
    """The reasons grouped by kind, as DOMAIN.md groups them: illegal, harmful, conduct, account."""
    return [
        (kind.label, [(code, label) for code, label in Reason.choices if reason_kind(code) == kind])
        for kind in ReasonKind
    ]


class ComplaintForm(RefuseDirectionControls, forms.Form):
    category = forms.ChoiceField(label=_("Reason"), widget=forms.RadioSelect)
    description = forms.CharField(
        label=_("What happened (optional)"),
        max_length=DESCRIPTION_MAX,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Add anything that helps the reviewers understand the report."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = reason_groups()
        self.fields["category"].error_messages["required"] = _("Choose a reason for the report.")

    def grouped_reasons(self) -> list[tuple[str, list]]:
        """The radio buttons under their kind's heading, for a fieldset each."""
        buttons = {button.data["value"]: button for button in self["category"]}
        return [(label, [buttons[code] for code, _label in choices]) for label, choices in reason_groups()]


class CaseCloseForm(RefuseDirectionControls, forms.Form):
    """The case page's decision: the same decisions as the review queue's (upheld, upheld with the message
    removed, dismissed), so the resolution counts toward the reporters' accuracy either way."""

    decision = forms.ChoiceField(label=_("Decision"))
    outcome = forms.CharField(
        label=_("Outcome (the reporters are told)"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args, decisions: list[tuple[str, str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["decision"].choices = decisions
        self.fields["decision"].error_messages.update(
            required=_("Choose whether the report is upheld or dismissed."),
            invalid_choice=_("Choose one of the decisions offered for this case."),
        )
        self.fields["outcome"].error_messages["required"] = _("Write the outcome; the reporters are told.")
