from django import forms
from django.utils.translation import gettext_lazy as _

from common.input_guard import RefuseDirectionControls


class GroupCreateForm(RefuseDirectionControls, forms.Form):
    name = forms.CharField(
        label=_("Group name"),
        max_length=40,
        widget=forms.TextInput(attrs={"autofocus": True, "placeholder": _("e.g. Neighbourhood book club")}),
    )
    description = forms.CharField(
        label=_("Description"), max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    # Not required: a form posted without one (an old page, a script) gets the default category.
    category = forms.ChoiceField(label=_("Category"), widget=forms.RadioSelect, required=False)

    def __init__(self, *args, categories=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = [(c.code, f"{c.label} — {c.summary}") for c in categories]
        if categories:
            self.fields["category"].initial = categories[0].code


class GroupReviewForm(RefuseDirectionControls, forms.Form):
    note = forms.CharField(label=_("Note to the creator"), max_length=300, required=False)


class MessageForm(RefuseDirectionControls, forms.Form):
    """The page's no-script fallback for sending; the chat script sends over the socket."""

    body = forms.CharField(label=_("Message"))
    client_msg_id = forms.CharField(max_length=64, widget=forms.HiddenInput)
