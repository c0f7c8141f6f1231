"""What merchants plugs into payments (``payments.hooks.REFUND_OFFERS``): the "ask for a refund" offer
on a customer's transaction page, with the merchant's (or biller's) refund policy in plain words."""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from okpay.merchants.models import IntentStatus, RefundRequest
from okpay.payments.hooks import RefundOffer
from okpay.payments.models import Direction, Transaction, TxnType
from okpay.payments.money import format_money


def _window_text(days: int, ends: object) -> str:
    text = ngettext("Refunds within %(days)s day of payment.", "Refunds within %(days)s days of payment.",
                    days) % {"days": days}
    if ends is not None:
        text += " " + _("Until %(date)s.") % {"date": timezone.localtime(ends).strftime("%Y-%m-%d %H:%M")}  # type: ignore[arg-type]
    return text


def refund_offer(txn: Transaction) -> RefundOffer | None:
    """For the customer's own payment to a merchant or confirmed bill payment; None for anything else."""
    if txn.direction != Direction.DEBIT or txn.type not in (TxnType.PAYMENT, TxnType.BILL_PAYMENT):
        return None
    from okpay.merchants import services
    from okpay.merchants.bill_refunds import bill_refundable, bill_window_ends

    url = reverse("merchants:refund-request-new", args=[txn.public_id])
    now = timezone.now()
    if txn.type == TxnType.BILL_PAYMENT:
        requests = RefundRequest.objects.filter(bill_txn=txn).count()
        if not bill_refundable(txn) and not requests:
            return None
        ends = bill_window_ends(txn)
        minutes = max(1, settings.OKPAY_BILL_REFUND_DECIDE_SECONDS // 60)
        policy = _window_text(settings.OKPAY_BILL_REFUND_WINDOW_DAYS, ends) + " " + ngettext(
            "The biller answers within about %(minutes)s minute; phone top-ups already credited cannot be taken "
            "back.", "The biller answers within about %(minutes)s minutes; phone top-ups already credited cannot be "
            "taken back.", minutes) % {"minutes": minutes}
        left = txn.amount - txn.refunded_amount
        return RefundOffer(url=url, who=txn.counterparty_name, policy=policy, requests=requests,
                           open=bill_refundable(txn) and ends is not None and now <= ends and left > 0)
    intent = services.intent_for_customer_txn(txn)
    if intent is None or intent.status != IntentStatus.SUCCEEDED:
        return None
    merchant = intent.merchant
    ends = services.refund_expected_by(intent)
    policy = _window_text(merchant.refund_window_days, ends) + " " + (
        _("Requests up to %(amount)s are approved at once.") % {"amount": format_money(merchant.auto_approve_up_to)}
        if merchant.auto_approve_up_to is not None else _("The merchant reviews every request."))
    return RefundOffer(url=url, who=merchant.name, policy=policy,
                       requests=RefundRequest.objects.filter(intent=intent, customer_id=txn.user_id).count(),
                       open=ends is not None and now <= ends and intent.amount_received > intent.amount_refunded)
