"""Typed refusals of merchants (API.md codes)."""

from __future__ import annotations

from django.utils.translation import gettext_noop

from okpay.core.errors import BusinessRuleError, Conflict, Forbidden, InvalidRequest


class RefundExceedsPayment(BusinessRuleError):
    code = "refund_exceeds_payment"
    default_message = gettext_noop("The refunds would exceed what was paid.")


class RefundWindowClosed(BusinessRuleError):
    code = "refund_window_closed"
    default_message = gettext_noop("The merchant's refund window for this payment has closed.")


class NotRefundable(BusinessRuleError):
    code = "not_refundable"
    default_message = gettext_noop("Only a completed payment to a merchant can be refunded.")


class IntentUnexpectedState(Conflict):
    code = "payment_intent_unexpected_state"
    default_message = gettext_noop("The payment intent is not in a state that allows this.")


class RequestAlreadyDecided(Conflict):
    code = "refund_request_decided"
    default_message = gettext_noop("This refund request was already decided.")


class NotMerchant(Forbidden):
    code = "forbidden"
    default_message = gettext_noop("This account has no merchant profile.")


class PublishableKeyNotAllowed(Forbidden):
    code = "forbidden"
    default_message = gettext_noop("A publishable key (pk_…) can only read a payment intent's public status with "
                                   "its client secret; use a secret key (sk_…) on your server for this.")


class UnsafeWebhookUrl(InvalidRequest):
    code = "invalid_request"
    default_message = gettext_noop("Webhook URLs must use https and reach a public internet address.")
