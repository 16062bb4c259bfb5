"""Forms of the sanction pages (R11.1-R11.3). They check the shape of the input; the rules (targets,
limits, four eyes) are the services' and the policies'."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from common.input_guard import RefuseDirectionControls
from moderation import ladder
from moderation.forms import reason_groups
from moderation.models import BlacklistTarget, SanctionKind, SanctionStatus

NOTE_MAX = 1000
HOURS_MAX = 5 * 365 * 24


# The fields every measure has; the others apply to some kinds only (``fields_by_kind``).
COMMON_FIELDS = ("kind", "target", "category", "note")
OPTIONAL_FIELDS = ("blacklist_role", "duration_hours", "permanent", "points", "level")


def fields_for(kind: str) -> set[str]:
    """The optional fields that apply to a kind of measure: a duration for the timed kinds (not a closure,
    which has no end, nor credit points, taken once), "permanent" for the kinds that may be, the points
    for credit, the level for a level cap, the role for a blacklisting."""
    fields = set()
    if kind == SanctionKind.BLACKLIST:
        fields.add("blacklist_role")
    if (
        kind in SanctionKind.values
        and kind not in ladder.UNTIMED_KINDS
        and kind != SanctionKind.GROUP_CLOSURE
    ):
        fields.add("duration_hours")
        if ladder.may_be_permanent(kind):
            fields.add("permanent")
    if kind == SanctionKind.USER_CREDIT:
        fields.add("points")
    if kind == SanctionKind.USER_LEVEL:
        fields.add("level")
    return fields


def fields_by_kind() -> dict[str, list[str]]:
    """For the form's script, which shows only the fields of the chosen kind."""
    return {kind: sorted(fields_for(kind)) for kind in SanctionKind.values}


class SanctionForm(RefuseDirectionControls, forms.Form):
    """The case page's measures form: the target is one of the case's (its group, the member reported,
    the group's owner); the duration starts from the escalation ladder (empty: the ladder's default).
    Fields that do not apply to the chosen kind are ignored (the page's script hides them; without it they
    are shown, and whatever they hold is dropped)."""

    kind = forms.ChoiceField(label=_("Measure"), choices=SanctionKind.choices)
    target = forms.ChoiceField(label=_("On"))
    blacklist_role = forms.ChoiceField(
        label=_("Blacklisted as (blacklisting only)"),
        choices=[("", "—"), *BlacklistTarget.choices],
        required=False,
    )
    category = forms.ChoiceField(label=_("Reason"))
    duration_hours = forms.IntegerField(
        label=_("Duration in hours"),
        required=False,
        min_value=1,
        max_value=HOURS_MAX,
        help_text=_("Empty: the default for this person or group (it grows with their last six months)."),
    )
    permanent = forms.BooleanField(label=_("Permanent (a supervisor must approve)"), required=False)
    points = forms.IntegerField(
        label=_("Credit points to take (credit only)"), required=False, min_value=1, max_value=10_000
    )
    level = forms.IntegerField(
        label=_("Credit level at most (level only)"), required=False, min_value=1, max_value=99
    )
    note = forms.CharField(
        label=_("Explanation (those affected are told)"),
        max_length=NOTE_MAX,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, data=None, *args, targets: list[tuple[str, str]], **kwargs):
        if data is not None:
            data = data.copy()
            applies = fields_for(data.get("kind", ""))
            for name in OPTIONAL_FIELDS:
                if name not in applies:
                    data.pop(name, None)
        super().__init__(data, *args, **kwargs)
        self.fields["target"].choices = targets
        self.fields["category"].choices = reason_groups()
        self.fields["category"].error_messages["required"] = _("Choose a reason.")


class DecisionForm(RefuseDirectionControls, forms.Form):
    """A supervisor's approval or refusal, or a reviewer's decision on an appeal."""

    note = forms.CharField(
        label=_("Note (required to refuse or to reject an appeal)"),
        max_length=NOTE_MAX,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class AppealForm(RefuseDirectionControls, forms.Form):
    text = forms.CharField(
        label=_("Why the measure is wrong"),
        max_length=NOTE_MAX,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("A reviewer who did not decide the measure reads it. Each measure may be appealed once."),
    )


class SanctionFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"), choices=[("", _("all")), *SanctionStatus.choices], required=False
    )
    kind = forms.ChoiceField(
        label=_("Measure"), choices=[("", _("all")), *SanctionKind.choices], required=False
    )
    target = forms.ChoiceField(
        label=_("On"),
        choices=[("", _("all")), ("group", _("groups")), ("user", _("people"))],
        required=False,
    )
    q = forms.CharField(label=_("Group code or account"), max_length=64, required=False)


class BlacklistFilterForm(forms.Form):
    role = forms.ChoiceField(
        label=_("Listed as"), choices=[("", _("all")), *BlacklistTarget.choices], required=False
    )
    status = forms.ChoiceField(
        label=_("Status"), choices=[("", _("all")), *SanctionStatus.choices], required=False
    )
