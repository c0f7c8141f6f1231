"""Emails about refund requests, through the identity outbox (``identity.emails.mail_user``): written
in the transaction of the change, in the reader's language, with their anti-phishing code.

- to the merchant when a customer asks for a refund (``request_created``);
- to the customer when the merchant or biller answers (``request_decided``: approved or declined,
  with the reason and a "contact customer service" link that carries the transaction).
"""

from __future__ import annotations

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from okpay.identity.emails import Mail, absolute, mail_user
from okpay.identity.models import User
from okpay.merchants.models import Merchant, MerchantApplication, RefundRequest, RefundStatus, RequestStatus
from okpay.payments.money import format_money


def _contact_url(txn_id: str) -> str:
    from django.urls import NoReverseMatch

    try:
        return absolute(f"{reverse('support:new')}?category=payment&transaction={txn_id}")
    except NoReverseMatch:  # a deployment without the support app
        return absolute(reverse("payments:detail", args=[txn_id]))


def decline_reason_text(request: RefundRequest) -> str:
    """The reason a request was declined, as the customer reads it (a biller's code is translated)."""
    from okpay.merchants.bill_refunds import BILLER_DECLINE_REASONS

    if request.bill_txn_id is not None and request.decline_reason in BILLER_DECLINE_REASONS:
        return str(BILLER_DECLINE_REASONS[request.decline_reason])
    return request.decline_reason


def _original_txn_id(request: RefundRequest) -> str:
    if request.bill_txn_id is not None:
        return request.bill_txn.public_id  # type: ignore[union-attr]
    return request.intent.customer_txn.public_id  # type: ignore[union-attr]


def request_created(request: RefundRequest) -> None:
    """Tell the merchant a customer asked for a refund (and whether the policy already approved it)."""
    intent = request.intent
    assert intent is not None
    merchant = intent.merchant

    def build(user: User) -> Mail:
        money = format_money(request.amount, intent.currency)
        paragraphs = [
            _("A customer asked for a refund of %(money)s for the payment %(intent)s (%(description)s).")
            % {"money": money, "intent": intent.public_id, "description": intent.description or "—"},
            _("Their reason: %(reason)s") % {"reason": request.reason},
        ]
        if request.status == RequestStatus.APPROVED:
            paragraphs.append(_("Your refund policy approved it at once; the refund was sent from your wallet."))
        else:
            paragraphs.append(_("Approve or decline it in the merchant dashboard (or with the API). The customer "
                                "sees your answer, and your reason if you decline."))
        return Mail(subject=_("New refund request: %(money)s") % {"money": money},
                    heading=_("A customer asked for a refund"), paragraphs=paragraphs,
                    action_url=absolute(reverse("merchants:dashboard")), action_label=_("Open the dashboard"),
                    notes=[_("Request number: %(id)s") % {"id": request.public_id}])

    mail_user(merchant.user, build)


def request_decided(request: RefundRequest) -> None:
    """Tell the customer the merchant's or biller's answer."""
    txn_id = _original_txn_id(request)
    if request.bill_txn_id is not None:
        bill = request.bill_txn
        assert bill is not None
        who, currency = bill.counterparty_name, bill.currency
    else:
        assert request.intent is not None
        who, currency = request.intent.merchant.name, request.intent.currency

    def build(user: User) -> Mail:
        money = format_money(request.amount, currency)
        page = absolute(reverse("merchants:refund-request-new", args=[txn_id]))
        if request.status == RequestStatus.APPROVED:
            refund_pending = (request.refund is not None and request.refund.status == RefundStatus.PENDING)
            paragraphs = [_("%(who)s approved your refund request of %(money)s.") % {"who": who, "money": money}]
            if refund_pending and request.refund is not None and request.refund.fail_after is not None:
                when = timezone.localtime(request.refund.fail_after).strftime("%Y-%m-%d %H:%M")
                paragraphs.append(_("The refund waits for money in the merchant's wallet and reaches yours as soon "
                                    "as it is there, by %(when)s at the latest.") % {"when": when})
            else:
                paragraphs.append(_("The money is back in your wallet."))
            return Mail(subject=_("Refund approved: %(money)s") % {"money": money},
                        heading=_("Your refund request was approved"), paragraphs=paragraphs,
                        action_url=page, action_label=_("See the refund"),
                        notes=[_("Transaction number: %(id)s") % {"id": txn_id}])
        paragraphs = [_("%(who)s declined your refund request of %(money)s.") % {"who": who, "money": money},
                      _("Their reason: %(reason)s") % {"reason": decline_reason_text(request) or "—"},
                      _("If you disagree, contact OKPay customer service; the payment is attached to your "
                        "message: %(url)s") % {"url": _contact_url(txn_id)}]
        return Mail(subject=_("Refund request declined: %(money)s") % {"money": money},
                    heading=_("Your refund request was declined"), paragraphs=paragraphs,
                    action_url=page, action_label=_("See the request"),
                    notes=[_("Transaction number: %(id)s") % {"id": txn_id}])

    mail_user(request.customer, build)


def endpoint_disabled(merchant: Merchant, *, url: str, failures: int) -> None:
    """Tell the merchant OKPay stopped sending webhooks to an endpoint that kept failing."""

    def build(user: User) -> Mail:
        return Mail(subject=_("Webhook endpoint disabled"), heading=_("Webhook endpoint disabled"),
                    paragraphs=[url,
                                _("OKPay stopped sending webhooks to this endpoint after %(count)d failed "
                                  "deliveries in a row. Fix it and enable it again in the merchant dashboard; "
                                  "then resend the events you missed.") % {"count": failures}],
                    action_url=absolute(reverse("merchants:dashboard")), action_label=_("Open the dashboard"))

    mail_user(merchant.user, build)


def application_approved(application: MerchantApplication) -> None:
    """Tell the applicant their merchant account is ready."""

    def build(user: User) -> Mail:
        return Mail(subject=_("Your merchant account is ready"),
                    heading=_("Welcome, %(name)s") % {"name": application.business_name},
                    paragraphs=[_("OKPay approved your application. Your merchant dashboard is open: create your API "
                                  "keys there, set your refund policy and start accepting payments."),
                                _("Payments to your shop arrive in your OKPay wallet.")],
                    action_url=absolute(reverse("merchants:dashboard")), action_label=_("Open the dashboard"),
                    notes=[_("Application number: %(id)s") % {"id": application.public_id}])

    mail_user(application.user, build)


def application_rejected(application: MerchantApplication) -> None:
    """Tell the applicant their application was not approved, and why."""

    def build(user: User) -> Mail:
        return Mail(subject=_("Your merchant application was not approved"),
                    heading=_("Your merchant application was not approved"),
                    paragraphs=[_("OKPay could not approve the merchant application for %(name)s.")
                                % {"name": application.business_name},
                                _("The reason: %(reason)s") % {"reason": application.decision_reason},
                                _("You can correct it and apply again.")],
                    action_url=absolute(reverse("merchants:apply")), action_label=_("Apply again"),
                    notes=[_("Application number: %(id)s") % {"id": application.public_id}])

    mail_user(application.user, build)
