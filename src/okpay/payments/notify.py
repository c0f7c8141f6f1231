"""Notifications about money: an in-app row written in the transaction of the change (so it exists
only if the change commits), and an email made from it by the worker (``emails_send_due``, a
payments sweep: rendering two templates per email stays off the request path) through the
transactional outbox, in the customer's language, with their anti-phishing code.

The invitation to an unregistered recipient is written at once (it has no in-app row)."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from okpay.identity.emails import Mail, absolute, deliver
from okpay.identity.models import User
from okpay.payments.models import Notification, Transaction
from okpay.payments.money import format_money

KINDS = ("sent", "received", "pending", "settled", "failed", "cancelled", "returned")


def _deliver(*, to: str, locale: str, mail: Mail, user: User | None = None) -> None:
    deliver(to=to, lang=locale or settings.LANGUAGE_CODE, mail=mail, user=user)


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


def send(txn: Transaction, kind: str, *, email: bool = True) -> None:
    """Notify the owner of ``txn``: the in-app row now, the email from the worker. ``email=False``
    when the caller sends its own, fuller email about the same change (merchants' refund requests)."""
    now = timezone.now()
    Notification.objects.create(user_id=txn.user_id, transaction=txn, kind=kind, created_at=now,
                                emailed_at=None if email else now)
    from okpay.payments import alerts

    alerts.notice(user_id=txn.user_id, txn=txn, kind=kind)


def _email(notice: Notification) -> None:
    from okpay.payments.explain import explain, failure_text

    txn, kind = notice.transaction, notice.kind
    user = txn.user
    with translation.override(user.locale or settings.LANGUAGE_CODE):
        paragraphs = []
        explanation = explain(txn) if kind == "pending" else None
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
    _deliver(to=user.email, locale=user.locale, mail=mail, user=user)


def emails_send_due(*, limit: int = 500, batch: int = 50) -> int:
    """Worker sweep: email every notice not emailed yet. Each batch claims its rows with
    ``select_for_update(skip_locked=True)`` and marks them in the transaction that writes the
    emails to the outbox, so a notice is emailed exactly once whatever the number of workers."""
    sent = 0
    while sent < limit:
        with transaction.atomic():
            notices = list(Notification.objects.select_for_update(skip_locked=True, of=("self",))
                           .filter(emailed_at__isnull=True).select_related("transaction", "transaction__user")
                           .order_by("pk")[:batch])
            if not notices:
                break
            for notice in notices:
                _email(notice)
            Notification.objects.filter(pk__in=[n.pk for n in notices]).update(emailed_at=timezone.now())
            sent += len(notices)
    return sent


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
    _deliver(to=txn.recipient_email, locale=sender.locale, mail=mail)
