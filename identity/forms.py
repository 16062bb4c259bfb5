from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import UsernameField
from django.utils.translation import gettext_lazy as _


class SignupForm(forms.Form):
    username = UsernameField(
        label=_("Account name"),
        max_length=150,
        help_text=_("Letters, digits and @/./+/-/_ only; used to sign in."),
        widget=forms.TextInput(attrs={"autocomplete": "username", "autofocus": True}),
    )
    nickname = forms.CharField(
        label=_("Nickname"),
        max_length=32,
        help_text=_("What other members see. Never your real name unless you want it."),
    )
    password1 = forms.CharField(
        label=_("Password"), strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )
    password2 = forms.CharField(
        label=_("Password again"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean_username(self):
        username = self.cleaned_data["username"]
        if get_user_model().objects.filter(username__iexact=username).exists():
            raise forms.ValidationError(_("This account name is taken. Please choose another."))
        return username

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("password1") and cleaned.get("password1") != cleaned.get("password2"):
            self.add_error("password2", _("The two passwords differ."))
        return cleaned
