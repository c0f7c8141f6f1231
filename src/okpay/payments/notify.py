"""Notifications about money: an in-app row and an email (through the transactional outbox, so
both exist only if the change that caused them commits), in the customer's language, with
their anti-phishing code."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from okpay.identity.emails import Mail, absolute
from okpay.payments.models import Notification, Transaction
from okpay.payments.money import format_money

KINDS = ("sent", "received", "pending", "settled", "failed", "cancelled", "returned")


def _deliver(*, to: str, locale: str, code: str, mail: Mail) -> None:
    with translation.override(locale or settings.LANGUAGE_CODE):
        context = {"mail": mail, "code": code, "support_email": settings.OKPAY_SUPPORT_EMAIL,
                   "security_url": absolute(reverse("identity:security")),
                   "lang": "zh-Hans" if (locale or "zh").startswith("zh") else "en"}
        text = render_to_string("identity/email/message.txt", context)
        html = render_to_string("identity/email/message.html", context)
        subject = f"OKPay · {mail.subject}"
    message = EmailMultiAlternatives(subject=subject, body=text, to=[to])
    message.attach_alternative(html, "text/html")
    message.send()


def title(kind: str, txn: Transaction) -> str:
    """One line for the notice (also the email subject); call inside the reader's language."""
    money = format_money(txn.amount, txn.currency)
    from okpay.payments.templatetags.payments_tags import display_counterparty

    who = display_counterparty(txn.counterparty_name)
    return {
        "sent": _("You sent %(money)s to %(who)s") % {"money": money, "who": who},
        "received": _("You received %(money)s from %(who)s") % {"money": money, "who": who},
        "pending": _("Your payment of %(money)s is pending") % {"money": money},
        "settled": _("Your %(type)s of %(money)s is complete") % {"type": txn.get_type_display(), "money": money},
        "failed": _("Your %(type)s of %(money)s did not go through") % {"type": txn.get_type_display(),
                                                                         "money": money},
        "cancelled": _("Your payment of %(money)s was cancelled") % {"money": money},
        "returned": _("%(money)s was not claimed and returned to your wallet") % {"money": money},
    }[kind]


def send(txn: Transaction, kind: str) -> None:
    """Notify the owner of ``txn`` (in-app and email)."""
    from okpay.payments.explain import explain, failure_text

    user = txn.user
    Notification.objects.create(user=user, transaction=txn, kind=kind, created_at=timezone.now())
    with translation.override(user.locale or settings.LANGUAGE_CODE):
        paragraphs = []
        explanation = explain(txn)
        if explanation:
            paragraphs += [explanation.why, explanation.if_not]
        if kind == "failed":
            paragraphs.append(failure_text(txn))
        paragraphs.append(_("Transaction number: %(id)s") % {"id": txn.public_id})
        mail = Mail(subject=title(kind, txn), heading=title(kind, txn), paragraphs=paragraphs,
                    action_url=absolute(reverse("payments:detail", args=[txn.public_id])),
                    action_label=_("See the transaction"),
                    notes=[_("If you did not make this payment, freeze your account in the security centre at "
                             "once and contact customer service.")] if txn.direction == "debit" else [])
    _deliver(to=user.email, locale=user.locale, code=user.anti_phishing_code, mail=mail)


def invite(txn: Transaction) -> None:
    """Tell an unregistered recipient that money waits for them (no anti-phishing code yet)."""
    sender = txn.user
    with translation.override(sender.locale or settings.LANGUAGE_CODE):
        money = format_money(txn.amount, txn.currency)
        mail = Mail(
            subject=_("%(name)s sent you %(money)s on OKPay") % {"name": sender.display_name, "money": money},
            heading=_("Money is waiting for you"),
            paragraphs=[
                _("%(name)s (%(email)s) sent you %(money)s.") % {"name": sender.display_name, "email": sender.email,
                                                                  "money": money},
                _("Register an OKPay account with this email address and verify it to receive the money. "
                  "If you do not, it returns to the sender on %(date)s.")
                % {"date": timezone.localtime(txn.expected_by).strftime("%Y-%m-%d") if txn.expected_by else ""},
            ],
            action_url=absolute(reverse("identity:register")),
            action_label=_("Register and claim"),
            notes=[_("OKPay never asks you to pay a fee or share a code to receive money.")],
        )
    _deliver(to=txn.recipient_email, locale=sender.locale, code="", mail=mail)
