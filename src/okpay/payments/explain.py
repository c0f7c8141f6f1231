"""Plain words for a transaction's state (the seed's "我的付款显示待处理" FAQ made concrete):
why it is pending, when it should finish, and what the customer can do."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from okpay.payments.models import PendingReason, Transaction

WHY = {
    PendingReason.RISK_REVIEW: gettext_lazy(
        "For your safety, our risk team is checking this payment before it goes through. "
        "The money is held in your wallet, not spent."),
    PendingReason.AWAITING_CLAIM: gettext_lazy(
        "The recipient does not have an OKPay account yet. We emailed them an invitation; the money "
        "reaches them as soon as they register and verify their email address. Until then it is held "
        "in your wallet."),
    PendingReason.AWAITING_BANK: gettext_lazy(
        "Your bank is processing the withdrawal. The money is held in your wallet until the bank "
        "confirms it."),
    PendingReason.AWAITING_BILLER: gettext_lazy(
        "The biller is confirming the payment with your account reference. The money is held in your "
        "wallet until they confirm."),
    PendingReason.AWAITING_CAPTURE: gettext_lazy(
        "The merchant has not completed the order yet. The money is held in your wallet until they do."),
    PendingReason.AWAITING_MERCHANT: gettext_lazy(
        "This refund is waiting for the merchant or biller: they are answering your refund request, or "
        "their account does not hold the money yet. It reaches your wallet as soon as they pay it."),
}

IF_NOT = {
    PendingReason.RISK_REVIEW: gettext_lazy("If the review does not finish in time, the payment is cancelled "
                                            "and the money is released back to you."),
    PendingReason.AWAITING_CLAIM: gettext_lazy("If they do not claim it in time, the money returns to you "
                                               "automatically."),
    PendingReason.AWAITING_BANK: gettext_lazy("If the bank refuses it, the money returns to your wallet at once."),
    PendingReason.AWAITING_BILLER: gettext_lazy("If the biller rejects it, the money returns to your wallet at "
                                                "once, with the reason."),
    PendingReason.AWAITING_CAPTURE: gettext_lazy("If the merchant cancels the order, the hold is released."),
    PendingReason.AWAITING_MERCHANT: gettext_lazy("If they decline or cannot pay it in time, the refund fails with "
                                                  "the reason, and customer service can look at the payment with "
                                                  "you."),
}

FAILURE = {
    "bank_refused": gettext_lazy("The bank refused the withdrawal. The money is back in your wallet."),
    "reference_rejected": gettext_lazy("The biller did not recognise the account reference. Check it on your "
                                       "bill; the money is back in your wallet."),
    "declined_by_review": gettext_lazy("Our risk team declined this payment. The money is back in your wallet. "
                                       "Contact customer service if you have questions."),
    "refund_declined": gettext_lazy("The refund request was declined; the reason is on the payment's refund "
                                    "page. Contact customer service if you disagree."),
    "merchant_insufficient_funds": gettext_lazy("The merchant did not have the money for this refund in time. "
                                                "Contact customer service about the payment."),
}

EVENT_REASONS = {
    "created": gettext_lazy("Created"),
    "card_charged": gettext_lazy("Card charged"),
    "requested": gettext_lazy("Requested"),
    "sent": gettext_lazy("Sent"),
    "received": gettext_lazy("Received"),
    "invited": gettext_lazy("Recipient invited by email"),
    "large_amount": gettext_lazy("Held for a security review (large amount)"),
    "new_recipient": gettext_lazy("Held for a security review (new recipient)"),
    "velocity": gettext_lazy("Held for a security review (many payments in a short time)"),
    "review_approved": gettext_lazy("Approved by the risk team"),
    "declined_by_review": gettext_lazy("Declined by the risk team"),
    "review_expired": gettext_lazy("Review expired; money released"),
    "claimed": gettext_lazy("Claimed by the recipient"),
    "returned_unclaimed": gettext_lazy("Not claimed in time; money returned"),
    "submitted": gettext_lazy("Handed to the bank or biller"),
    "settled": gettext_lazy("Settled by the bank"),
    "confirmed": gettext_lazy("Confirmed by the biller"),
    "bank_refused": gettext_lazy("Refused by the bank; money returned"),
    "reference_rejected": gettext_lazy("Rejected by the biller; money returned"),
    "cancelled_by_customer": gettext_lazy("Cancelled by you; money released"),
    "cancelled_by_support": gettext_lazy("Cancelled by customer service at your request; money released"),
    "declined_by_support": gettext_lazy("Declined by the risk team"),
    "overdue_flagged_for_support": gettext_lazy("Taking longer than expected; customer service alerted"),
    "refund_requested": gettext_lazy("Refund requested; waiting for the answer"),
    "refund_approved": gettext_lazy("Refund request approved"),
    "refund_declined": gettext_lazy("Refund request declined"),
    "refunded": gettext_lazy("Refunded"),
    "refund": gettext_lazy("Refund paid back"),
    "merchant_funds": gettext_lazy("Waiting for money in the merchant's wallet"),
    "paid": gettext_lazy("Paid"),
    "authorized": gettext_lazy("Authorized; the money is held until the merchant takes it"),
    "captured": gettext_lazy("Taken by the merchant"),
    "expired": gettext_lazy("Not taken by the merchant in time; money released"),
    "requested_by_merchant": gettext_lazy("Cancelled by the merchant; money released"),
}


@dataclass
class Explanation:
    why: str
    if_not: str
    actions: list[str] = field(default_factory=list)


def explain(txn: Transaction) -> Explanation | None:
    if not txn.is_pending:
        return None
    if txn.pending_reason == PendingReason.AWAITING_MERCHANT:
        actions = [_("Nothing to do: the money reaches your wallet as soon as the refund is paid. We will notify "
                     "you of the answer."),
                   _("Contact customer service with this transaction number if it takes longer than expected.")]
        return Explanation(str(WHY[txn.pending_reason]), str(IF_NOT[txn.pending_reason]), actions)
    actions = [_("Wait: most payments finish before the expected time. We will notify you.")]
    if txn.cancellable:
        actions.append(_("Cancel it, if you changed your mind: the held money is released at once."))
    else:
        actions.append(_("It can no longer be cancelled: it was already handed over."))
    actions.append(_("Contact customer service with this transaction number if it takes longer than expected."))
    return Explanation(str(WHY.get(txn.pending_reason, "")), str(IF_NOT.get(txn.pending_reason, "")), actions)


def failure_text(txn: Transaction) -> str:
    return str(FAILURE.get(txn.failure_reason, txn.failure_reason))


def event_text(reason: str) -> str:
    return str(EVENT_REASONS.get(reason, reason))
