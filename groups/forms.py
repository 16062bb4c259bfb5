from django import forms
from django.utils.translation import gettext_lazy as _


class GroupCreateForm(forms.Form):
    name = forms.CharField(
        label=_("Group name"),
        max_length=40,
        widget=forms.TextInput(attrs={"autofocus": True, "placeholder": _("e.g. Neighbourhood book club")}),
    )
    description = forms.CharField(
        label=_("Description"), max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )


class MessageForm(forms.Form):
    """The page's no-script fallback for sending; the chat script sends over the socket."""

    body = forms.CharField(label=_("Message"))
    client_msg_id = forms.CharField(max_length=64, widget=forms.HiddenInput)
