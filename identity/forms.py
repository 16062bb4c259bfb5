from django import forms
from django.utils.translation import gettext_lazy as _

from common.input_guard import RefuseDirectionControls


class SignupForm(RefuseDirectionControls, forms.Form):
    phone = forms.CharField(
        label=_("Mobile number"),
        max_length=32,
        widget=forms.TextInput(
            attrs={"autocomplete": "tel", "inputmode": "tel", "autofocus": True, "placeholder": "13800138000"}
        ),
    )
    sms_code = forms.CharField(
        label=_("Verification code"),
        max_length=6,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )
    nickname = forms.CharField(
        label=_("Nickname"),
        max_length=32,
        required=False,
        help_text=_("What other members see. Never your real name unless you want it."),
    )
    password1 = forms.CharField(
        label=_("Password"),
        strip=False,
        required=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    password2 = forms.CharField(
        label=_("Password again"),
        strip=False,
        required=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    accept = forms.BooleanField(
        label=_("I have read and accept the service agreement and the platform convention"), required=False
    )

    def clean(self):
        cleaned = super().clean()
        if self.data.get("action") == "send_code":
            return cleaned
        for name in ("sms_code", "nickname", "password1"):
            if not cleaned.get(name):
                self.add_error(name, _("This field is required."))
        if cleaned.get("password1") and cleaned.get("password1") != cleaned.get("password2"):
            self.add_error("password2", _("The two passwords differ."))
        return cleaned


class LoginForm(forms.Form):
    identifier = forms.CharField(
        label=_("Mobile number or account name"),
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "username", "autofocus": True}),
    )
    password = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class VerificationForm(RefuseDirectionControls, forms.Form):
    real_name = forms.CharField(
        label=_("Real name"),
        max_length=60,
        help_text=_("As printed on your identity card. Never shown to other members."),
    )
    id_number = forms.CharField(
        label=_("Resident identity number"),
        max_length=40,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    consent = forms.BooleanField(
        label=_("I have read the notice on sensitive personal information and agree"), required=False
    )


class ProfileForm(RefuseDirectionControls, forms.Form):
    nickname = forms.CharField(label=_("Nickname"), max_length=32)


class PasswordConfirmForm(forms.Form):
    password = forms.CharField(label=_("Password"), strip=False, widget=forms.PasswordInput)


class RevealForm(RefuseDirectionControls, forms.Form):
    reason = forms.CharField(
        label=_("Why do you need to see it?"),
        max_length=300,
        widget=forms.TextInput(attrs={"placeholder": _("e.g. case 2026-031, police request")}),
    )


class DecisionForm(RefuseDirectionControls, forms.Form):
    note = forms.CharField(label=_("Note"), max_length=200, required=False)
