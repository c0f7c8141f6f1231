"""Every email OKPay sends to a customer about their account: in their language, with a
plain-text part and an HTML part, and always with their anti-phishing code.

Messages go through Django's mail API to the outbox backend (transactional: a message exists
only if the change that caused it commits; the worker delivers it and retries on failure).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from okpay.identity.models import User


@dataclass
class Mail:
    subject: str
    heading: str
    paragraphs: list[str] = field(default_factory=list)
    action_url: str = ""
    action_label: str = ""
    notes: list[str] = field(default_factory=list)


def absolute(path: str) -> str:
    return settings.OKPAY_BASE_URL + path


def account_for_address(address: str) -> User | None:
    """The account whose email address is ``address`` (any case), if there is one."""
    address = (address or "").strip()
    if not address:
        return None
    return User.objects.filter(email__iexact=address).first()


def deliver(*, to: str, lang: str, mail: Mail, user: User | None = None,
            headers: dict[str, str] | None = None) -> None:
    """Render ``mail`` in OKPay's one layout (text + HTML) and queue it. Every email OKPay sends goes
    through here, so every email to an address that belongs to an account shows that account's
    anti-phishing code (``user``'s, or the account found by the address); mail to an address
    without an account (an invitation, a guest) has no code block at all."""
    owner = user or account_for_address(to)
    with translation.override(lang or settings.LANGUAGE_CODE):
        context = {"mail": mail, "user": owner, "code": owner.anti_phishing_code if owner else "",
                   "anonymous": owner is None,
                   "support_email": settings.OKPAY_SUPPORT_EMAIL,
                   "security_url": absolute(reverse("identity:security")),
                   "lang": "zh-Hans" if (lang or settings.LANGUAGE_CODE).startswith("zh") else "en"}
        text = render_to_string("identity/email/message.txt", context)
        html = render_to_string("identity/email/message.html", context)
        subject = f"OKPay · {mail.subject}"
    message = EmailMultiAlternatives(subject=subject, body=text, to=[to], headers=headers or {})
    message.attach_alternative(html, "text/html")
    message.send()


def _send(user: User, build: object, *, to: str | None = None, **kwargs: object) -> None:
    lang = user.locale or settings.LANGUAGE_CODE
    with translation.override(lang):
        mail: Mail = build(user, **kwargs)  # type: ignore[operator]
    deliver(to=to or user.email, lang=lang, mail=mail, user=user)


def mail_user(user: User, build: object, *, to: str | None = None, **kwargs: object) -> None:
    """For other apps: ``build(user, **kwargs) -> Mail`` is called in the user's language, and the
    message (text + HTML, with their anti-phishing code) goes to the outbox in the caller's transaction."""
    _send(user, build, to=to, **kwargs)


def _freeze_url(token: str) -> str:
    return absolute(reverse("identity:freeze-link", args=[token]))


def _not_me(token: str) -> str:
    return _("If this wasn't you, freeze your account at once with this link: %(url)s — then contact "
             "OKPay customer service.") % {"url": _freeze_url(token)}


def verify_email(user: User, token: str) -> None:
    def build(user: User) -> Mail:
        return Mail(
            subject=_("Verify your email address"),
            heading=_("Welcome to OKPay, %(name)s") % {"name": user.display_name},
            paragraphs=[_("Please confirm that this is your email address. Until you do, you can sign in "
                          "and receive money, but you cannot send money out of your wallet."),
                        _("The link works once and expires in %(hours)d hours.")
                        % {"hours": settings.OKPAY_EMAIL_VERIFY_TTL_HOURS}],
            action_url=absolute(reverse("identity:verify-email", args=[token])),
            action_label=_("Verify my email address"),
            notes=[_("If you did not create an OKPay account, ignore this email.")],
        )
    _send(user, build)


def register_attempt(user: User) -> None:
    def build(user: User) -> Mail:
        return Mail(
            subject=_("Someone tried to register with your email address"),
            heading=_("You already have an OKPay account"),
            paragraphs=[_("Someone (perhaps you) tried to create a new OKPay account with this email address. "
                          "No new account was created.")],
            action_url=absolute(reverse("identity:password-reset")),
            action_label=_("Forgot your password? Reset it"),
            notes=[_("If it wasn't you, you can ignore this email; your account is unchanged.")],
        )
    _send(user, build)


def password_reset(user: User, token: str, *, ip: str) -> None:
    def build(user: User) -> Mail:
        return Mail(
            subject=_("Reset your password"),
            heading=_("Reset your OKPay password"),
            paragraphs=[_("We received a request to reset the password of your OKPay account (from %(ip)s).")
                        % {"ip": ip},
                        _("Click the button to choose a new password. The link works once and expires in "
                          "%(minutes)d minutes; asking again makes this link stop working.")
                        % {"minutes": settings.OKPAY_PASSWORD_RESET_TTL_MINUTES}],
            action_url=absolute(reverse("identity:password-reset-token", args=[token])),
            action_label=_("Choose a new password"),
            notes=[_("If you did not ask for this, ignore this email: your password stays the same. OKPay "
                     "will never ask you for your password.")],
        )
    _send(user, build)


def password_changed(user: User, freeze_token: str, *, ip: str) -> None:
    def build(user: User) -> Mail:
        return Mail(
            subject=_("Your password was changed"),
            heading=_("Your OKPay password was changed"),
            paragraphs=[_("The password of your OKPay account was just changed (from %(ip)s). For your safety "
                          "every other device and API token was signed out.") % {"ip": ip}],
            action_url=_freeze_url(freeze_token), action_label=_("This wasn't me — freeze my account"),
            notes=[_not_me(freeze_token)],
        )
    _send(user, build)


def new_device_alert(user: User, freeze_token: str, *, ip: str, device: str) -> None:
    def build(user: User) -> Mail:
        return Mail(
            subject=_("New sign-in to your account"),
            heading=_("A new device signed in to your OKPay account"),
            paragraphs=[_("Device: %(device)s · address: %(ip)s") % {"device": device, "ip": ip},
                        _("If this was you, there is nothing to do.")],
            action_url=_freeze_url(freeze_token), action_label=_("This wasn't me — freeze my account"),
            notes=[_not_me(freeze_token)],
        )
    _send(user, build)


def two_factor_changed(user: User, *, enabled: bool, freeze_token: str) -> None:
    def build(user: User) -> Mail:
        if enabled:
            return Mail(subject=_("Two-factor authentication is on"),
                        heading=_("Two-factor authentication is now on"),
                        paragraphs=[_("From now on OKPay asks for a code from your authenticator app when you "
                                      "sign in and before sensitive actions. Keep your recovery codes safe.")],
                        action_url=_freeze_url(freeze_token), action_label=_("This wasn't me — freeze my account"),
                        notes=[_not_me(freeze_token)])
        return Mail(subject=_("Two-factor authentication was turned off"),
                    heading=_("Two-factor authentication is now off"),
                    paragraphs=[_("Two-factor authentication was turned off for your OKPay account. We recommend "
                                  "turning it back on in your security settings.")],
                    action_url=_freeze_url(freeze_token), action_label=_("This wasn't me — freeze my account"),
                    notes=[_not_me(freeze_token)])
    _send(user, build)


def account_frozen(user: User) -> None:
    def build(user: User) -> Mail:
        return Mail(subject=_("Your account is frozen"), heading=_("Your OKPay account is frozen"),
                    paragraphs=[_("No money can leave your wallet and every other device was signed out. Incoming "
                                  "money still arrives."),
                                _("To unfreeze it, contact OKPay customer service (%(email)s); we will check "
                                  "that it is really you.") % {"email": settings.OKPAY_SUPPORT_EMAIL}])
    _send(user, build)


def email_change_verify(user: User, new_email: str, token: str) -> None:
    def build(user: User) -> Mail:
        return Mail(subject=_("Confirm your new email address"), heading=_("Confirm your new email address"),
                    paragraphs=[_("Open this link to make %(email)s the email address of your OKPay account.")
                                % {"email": new_email}],
                    action_url=absolute(reverse("identity:email-confirm", args=[token])),
                    action_label=_("Confirm the new address"),
                    notes=[_("If you did not ask for this, ignore this email.")])
    _send(user, build, to=new_email)


def email_changed_notice(user: User, *, old_email: str, freeze_token: str) -> None:
    def build(user: User) -> Mail:
        return Mail(subject=_("Your email address was changed"), heading=_("Your email address was changed"),
                    paragraphs=[_("The email address of your OKPay account is now %(email)s.") % {"email": user.email}],
                    action_url=_freeze_url(freeze_token), action_label=_("This wasn't me — freeze my account"),
                    notes=[_not_me(freeze_token)])
    _send(user, build, to=old_email)


def account_closed(user: User) -> None:
    def build(user: User) -> Mail:
        return Mail(subject=_("Your account is closed"), heading=_("Your OKPay account is closed"),
                    paragraphs=[_("You can no longer sign in. As the law requires, we keep your transaction records "
                                  "and the security log for 5 years, then delete them.")])
    _send(user, build)


def phone_code_text(user: User, code: str) -> str:
    with translation.override(user.locale or settings.LANGUAGE_CODE):
        return _("[OKPay] Your verification code is %(code)s (valid for 10 minutes). Never share it with anyone, "
                 "including OKPay staff.") % {"code": code}


def step_up_code(user: User, text: str) -> None:
    """A step-up code for a customer without a verified phone (``okpay.identity.stepup``); ``text``
    is already in their language."""
    def build(user: User) -> Mail:
        return Mail(subject=_("Your code to confirm a payment"), heading=_("Confirm your payment"),
                    paragraphs=[text])
    _send(user, build)
