"""Forms of the account pages: they only parse; the rules live in the services."""

from __future__ import annotations

from django import forms
from django.contrib.auth.password_validation import password_validators_help_texts
from django.utils.translation import gettext_lazy as _

from okpay.identity.models import User


class PasswordInput(forms.PasswordInput):
    def __init__(self, autocomplete: str = "current-password", meter: bool = False) -> None:
        attrs = {"autocomplete": autocomplete, "maxlength": "128"}
        if meter:
            attrs["data-strength-meter"] = ""
            attrs["aria-describedby"] = "password-policy password-strength"
        super().__init__(attrs=attrs)


class Form(forms.Form):
    """Invalid fields say so to assistive technology (aria-invalid, aria-describedby their error)."""

    def add_error(self, field: str | None, error: object) -> None:  # type: ignore[override]
        super().add_error(field, error)  # type: ignore[arg-type]
        if field and field in self.fields:
            attrs = self.fields[field].widget.attrs
            attrs["aria-invalid"] = "true"
            described = attrs.get("aria-describedby", "")
            error_id = f"{self[field].auto_id}-error"
            if error_id not in described:
                attrs["aria-describedby"] = f"{error_id} {described}".strip()


def policy_help() -> list[str]:
    return password_validators_help_texts()


class LoginForm(Form):
    email = forms.EmailField(label=_("Email address"), max_length=254,
                             widget=forms.EmailInput(attrs={"autocomplete": "username", "autofocus": True}))
    password = forms.CharField(label=_("Password"), max_length=4096, strip=False, widget=PasswordInput())


class OtpForm(Form):
    code = forms.CharField(
        label=_("Code from your authenticator app, or a recovery code"), max_length=40,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "text", "autofocus": True,
                                      "spellcheck": "false", "autocapitalize": "off"}))


class RegisterForm(Form):
    display_name = forms.CharField(label=_("Name"), max_length=100,
                                   widget=forms.TextInput(attrs={"autocomplete": "name"}))
    email = forms.EmailField(label=_("Email address"), max_length=254,
                             widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    phone = forms.CharField(label=_("Phone number"), max_length=32, required=False,
                            widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"}))
    password = forms.CharField(label=_("Password"), max_length=4096, strip=False,
                               widget=PasswordInput("new-password", meter=True))
    locale = forms.ChoiceField(label=_("Language"), choices=User._meta.get_field("locale").choices)


class EmailForm(Form):
    email = forms.EmailField(label=_("Email address of your OKPay account"), max_length=254,
                             widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}))


class NewPasswordForm(Form):
    new_password = forms.CharField(label=_("New password"), max_length=4096, strip=False,
                                   widget=PasswordInput("new-password", meter=True))
    new_password_confirm = forms.CharField(label=_("Confirm the new password"), max_length=4096, strip=False,
                                           widget=PasswordInput("new-password"))


class PasswordChangeForm(Form):
    current_password = forms.CharField(label=_("Current password"), max_length=4096, strip=False,
                                       widget=PasswordInput())
    new_password = forms.CharField(label=_("New password"), max_length=4096, strip=False,
                                   widget=PasswordInput("new-password", meter=True))
    new_password_confirm = forms.CharField(label=_("Confirm the new password"), max_length=4096, strip=False,
                                           widget=PasswordInput("new-password"))
    otp_code = forms.CharField(label=_("Two-factor code"), max_length=40, required=False,
                               widget=forms.TextInput(attrs={"autocomplete": "one-time-code"}))


class ProfileForm(Form):
    display_name = forms.CharField(label=_("Name"), max_length=100,
                                   widget=forms.TextInput(attrs={"autocomplete": "name"}))
    locale = forms.ChoiceField(label=_("Language of emails and pages"), choices=User._meta.get_field("locale").choices)


class EmailChangeForm(Form):
    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("auto_id", "email_%s")  # several forms share one page: unique ids
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    new_email = forms.EmailField(label=_("New email address"), max_length=254,
                                 widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    password = forms.CharField(label=_("Current password"), max_length=4096, strip=False, widget=PasswordInput())
    otp_code = forms.CharField(label=_("Two-factor code"), max_length=40, required=False,
                               widget=forms.TextInput(attrs={"autocomplete": "one-time-code"}))


class PhoneForm(Form):
    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("auto_id", "phone_%s")  # several forms share one page: unique ids
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    phone = forms.CharField(label=_("Phone number with country code"), max_length=32,
                            widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel",
                                                          "placeholder": "+86 138 0013 8000"}))
    password = forms.CharField(label=_("Current password"), max_length=4096, strip=False, widget=PasswordInput())


class PhoneCodeForm(Form):
    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("auto_id", "sms_%s")  # several forms share one page: unique ids
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    code = forms.CharField(label=_("Code from the SMS"), max_length=6, min_length=6,
                           widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}))


class AntiPhishingForm(Form):
    anti_phishing_code = forms.CharField(label=_("Your anti-phishing code"), max_length=20, min_length=3)


class PasswordConfirmForm(Form):
    password = forms.CharField(label=_("Current password"), max_length=4096, strip=False, widget=PasswordInput())


class CodeForm(Form):
    code = forms.CharField(label=_("Code from your authenticator app"), max_length=40,
                           widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric",
                                                         "spellcheck": "false"}))


class CloseForm(Form):
    password = forms.CharField(label=_("Current password"), max_length=4096, strip=False, widget=PasswordInput())
    otp_code = forms.CharField(label=_("Two-factor code"), max_length=40, required=False,
                               widget=forms.TextInput(attrs={"autocomplete": "one-time-code"}))
    confirm = forms.BooleanField(label=_("I understand that closing cannot be undone."))
