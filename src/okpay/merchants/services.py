"""Merchants services: every change of a merchant object goes through here.

Each function is one ``transaction.atomic()`` (it nests inside the API's idempotency
transaction). Money moves through the ledger and the customer-visible records through the
payments models and their state machine (``payments.services.transaction_insert/_move/_void``):

- automatic payment: customer wallet → merchant wallet at once; a ``payment`` transaction for
  each party (customer debit, merchant credit, linked by ``peer``);
- manual capture: a ledger hold customer → merchant (customer's transaction pending
  ``awaiting_capture``) posted fully or partly on capture, voided on cancel or after
  ``OKPAY_CAPTURE_DAYS`` (sweep ``intents_expire_due``);
- refund: merchant wallet → customer wallet, a ``refund`` transaction for each party; while the
  merchant's wallet lacks the money both stay pending (``awaiting_merchant``) and the sweep
  ``refunds_retry_due`` tries again until ``OKPAY_REFUND_PENDING_HOURS``, then they fail.

Concurrency: the payment intent row is the lock for everything about one payment (confirm,
capture, cancel, refunds, refund requests): ``select_for_update`` on it first, then the ledger.
Webhook events are written to the outbox (``WebhookEvent`` + ``WebhookDelivery``) in the same
transaction as the change; the worker sends them (``webhooks_deliver_due``).
"""

from __future__ import annotations

import hmac
import json
import random
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.translation import gettext_noop

from okpay.core.errors import InvalidRequest, NotFound
from okpay.core.ids import random_token
from okpay.identity.models import User
from okpay.ledger.services import PostPending, TransferSpec
from okpay.merchants import bill_refunds, emails, webhooks
from okpay.merchants.errors import (
    IntentUnexpectedState,
    NotMerchant,
    NotRefundable,
    RefundExceedsPayment,
    RefundWindowClosed,
    RequestAlreadyDecided,
)
from okpay.merchants.models import (
    EVENT_TYPES,
    INTENT_MOVES,
    ApiKey,
    CaptureMethod,
    DeliveryAttempt,
    DeliveryStatus,
    IntentStatus,
    KeyKind,
    Merchant,
    PaymentIntent,
    Refund,
    RefundRequest,
    RefundStatus,
    RequestStatus,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
    new_intent_id,
)
from okpay.payments import notify
from okpay.payments.errors import InsufficientFunds
from okpay.payments.models import Direction, PendingReason, Status, Transaction, TxnType, new_transaction_id
from okpay.payments.services import (
    access_transaction,
    amount_check,
    ledger_post,
    limits_take,
    mask_name,
    sender_check,
    step_up,
    transaction_insert,
    transaction_move,
    transaction_void,
    usage_give_back,
    wallet,
)

AWAITING_MERCHANT = PendingReason.AWAITING_MERCHANT  # a refund waiting for money in the merchant's wallet
_KEY_TOUCH_EVERY = timedelta(minutes=1)


def _now() -> Any:
    return timezone.now()


# --- merchant profile and keys ---------------------------------------------------------------------

@transaction.atomic
def merchant_create(*, user: User, name: str, refund_window_days: int = 30,
                    auto_approve_up_to: int | None = None, support_email: str = "") -> Merchant:
    """Give ``user`` a business profile (group ``merchant``) and a first publishable key."""
    existing = Merchant.objects.filter(user=user).first()
    if existing is not None:
        return existing
    group = Group.objects.get_or_create(name="merchant")[0]
    user.groups.add(group)
    permission = Permission.objects.filter(content_type__app_label="merchants", codename="use_dashboard").first()
    if permission is not None:
        group.permissions.add(permission)  # base.html can show the link with perms.merchants.use_dashboard
    merchant = Merchant.objects.create(user=user, name=name.strip()[:100] or user.display_name,
                                       support_email=support_email, refund_window_days=refund_window_days,
                                       auto_approve_up_to=auto_approve_up_to, created_at=_now())
    wallet(user)
    api_key_create(merchant=merchant, kind=KeyKind.PUBLISHABLE, name="default")
    return merchant


def merchant_for(user: User) -> Merchant:
    merchant = Merchant.objects.filter(user=user).first() if user.is_authenticated else None
    if merchant is None:
        raise NotMerchant()
    return merchant


@transaction.atomic
def merchant_policy_update(*, merchant: Merchant, refund_window_days: int, auto_approve_up_to: int | None) -> Merchant:
    if type(refund_window_days) is not int or not 0 <= refund_window_days <= 3650:
        raise InvalidRequest(gettext_noop("The refund window is a number of days from 0 to 3650."),
                             param="refund_window_days")
    if auto_approve_up_to is not None and (type(auto_approve_up_to) is not int or auto_approve_up_to < 0):
        raise InvalidRequest(gettext_noop("The automatic approval limit is an amount in fen, or empty for never."),
                             param="auto_approve_up_to")
    merchant.refund_window_days = refund_window_days
    merchant.auto_approve_up_to = auto_approve_up_to
    merchant.save(update_fields=["refund_window_days", "auto_approve_up_to"])
    return merchant


@transaction.atomic
def api_key_create(*, merchant: Merchant, kind: str = KeyKind.SECRET, name: str = "") -> tuple[str, ApiKey]:
    """A new key; the raw secret key is returned once and only its SHA-256 is stored."""
    if kind not in KeyKind.values:
        raise InvalidRequest(param="kind")
    prefix = "sk_" if kind == KeyKind.SECRET else "pk_"
    raw = prefix + random_token(32)
    hint = f"{raw[:7]}…{raw[-4:]}" if kind == KeyKind.SECRET else raw
    key = ApiKey.objects.create(merchant=merchant, kind=kind, name=name[:60], key_hash=ApiKey.hash(raw),
                                hint=hint, created_at=_now())
    return raw, key


@transaction.atomic
def api_key_revoke(*, merchant: Merchant, key_id: str) -> ApiKey:
    key = ApiKey.objects.filter(merchant=merchant, public_id=key_id).first()
    if key is None:
        raise NotFound()
    if key.revoked_at is None:
        key.revoked_at = _now()
        key.save(update_fields=["revoked_at"])
    return key


def merchant_for_secret_key(raw: str) -> Merchant | None:
    """The merchant behind a live secret key (last use recorded at most once a minute)."""
    if not raw.startswith("sk_"):
        return None
    key = (ApiKey.objects.select_related("merchant__user")
           .filter(key_hash=ApiKey.hash(raw), kind=KeyKind.SECRET, revoked_at__isnull=True,
                   merchant__user__is_active=True).first())
    if key is None:
        return None
    now = _now()
    if key.last_used_at is None or now - key.last_used_at > _KEY_TOUCH_EVERY:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
    return key.merchant


def merchant_for_publishable_key(raw: str) -> Merchant | None:
    """The merchant behind a live publishable key (public: it only reads what a client secret opens)."""
    if not isinstance(raw, str) or not raw.startswith("pk_"):
        return None
    key = (ApiKey.objects.select_related("merchant__user")
           .filter(key_hash=ApiKey.hash(raw), kind=KeyKind.PUBLISHABLE, revoked_at__isnull=True,
                   merchant__user__is_active=True).first())
    if key is None:
        return None
    now = _now()
    if key.last_used_at is None or now - key.last_used_at > _KEY_TOUCH_EVERY:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
    return key.merchant


def intent_for_client(merchant: Merchant, intent_id: str, client_secret: str) -> PaymentIntent:
    """A payment intent of ``merchant`` read from a browser or app with its client secret; any
    mismatch (other merchant, wrong or missing secret) is ``404``, the same as a missing intent."""
    intent = (PaymentIntent.objects.select_related("merchant").filter(merchant=merchant, public_id=intent_id).first()
              if isinstance(intent_id, str) else None)
    if (intent is None or not intent.client_secret or not isinstance(client_secret, str)
            or not hmac.compare_digest(intent.client_secret.encode(), client_secret.encode())):
        raise NotFound()
    return intent


def intent_public_data(intent: PaymentIntent) -> dict[str, Any]:
    """What a publishable key may read: no customer, no transactions, no refund details."""
    from django.urls import reverse

    from okpay.identity.emails import absolute

    return {"id": intent.public_id, "object": "payment_intent", "status": intent.status, "amount": intent.amount,
            "currency": intent.currency, "description": intent.description, "merchant": intent.merchant.name,
            "checkout_url": absolute(reverse("merchants:checkout", args=[intent.public_id])),
            "return_url": intent.return_url or None, "cancellation_reason": intent.cancellation_reason or None,
            "created_at": intent.created_at.isoformat()}


# --- webhook outbox ----------------------------------------------------------------------------------

def intent_data(intent: PaymentIntent) -> dict[str, Any]:
    from django.urls import reverse

    from okpay.identity.emails import absolute

    return {
        "id": intent.public_id, "object": "payment_intent", "status": intent.status, "amount": intent.amount,
        "currency": intent.currency, "description": intent.description, "capture": intent.capture_method,
        "amount_received": intent.amount_received, "amount_refunded": intent.amount_refunded,
        "return_url": intent.return_url or None,
        "checkout_url": absolute(reverse("merchants:checkout", args=[intent.public_id])),
        "client_secret": intent.client_secret or None,
        "transaction": intent.merchant_txn.public_id if intent.merchant_txn is not None else None,
        "cancellation_reason": intent.cancellation_reason or None,
        "capture_before": intent.capture_before.isoformat() if intent.capture_before else None,
        "pay_again_of": intent.again_of.public_id if intent.again_of_id else None,  # type: ignore[union-attr]
        "created_at": intent.created_at.isoformat(), "updated_at": intent.updated_at.isoformat(),
    }


def refund_data(refund: Refund) -> dict[str, Any]:
    return {"id": refund.public_id, "object": "refund", "payment_intent": refund.intent.public_id,
            "status": refund.status, "amount": refund.amount, "currency": refund.currency, "reason": refund.reason,
            "failure_reason": refund.failure_reason or None,
            "transaction": refund.merchant_txn.public_id if refund.merchant_txn is not None else None,
            "created_at": refund.created_at.isoformat(), "updated_at": refund.updated_at.isoformat()}


def request_data(request: RefundRequest) -> dict[str, Any]:
    return {"id": request.public_id, "object": "refund_request",
            "payment_intent": request.intent.public_id if request.intent is not None else None,
            "status": request.status, "amount": request.amount, "reason": request.reason,
            "decline_reason": request.decline_reason or None,
            "refund": request.refund.public_id if request.refund is not None else None,
            "created_at": request.created_at.isoformat()}


def _emit(merchant: Merchant, type: str, data: dict[str, Any]) -> WebhookEvent:
    """Store the event and a delivery per subscribed endpoint, in the caller's transaction."""
    now = _now()
    event = WebhookEvent.objects.create(merchant=merchant, type=type, data=data, created_at=now)
    give_up = now + timedelta(hours=settings.OKPAY_WEBHOOK_RETRY_HOURS)
    deliveries = [WebhookDelivery(endpoint=endpoint, event=event, next_attempt_at=now, give_up_at=give_up,
                                  created_at=now)
                  for endpoint in WebhookEndpoint.objects.filter(merchant=merchant, enabled=True)
                  if type in endpoint.events or "*" in endpoint.events]
    WebhookDelivery.objects.bulk_create(deliveries)
    if deliveries:
        from okpay.merchants.tasks import deliver_webhook

        for delivery in deliveries:  # task rows are written in this transaction too (the database backend)
            deliver_webhook.enqueue(delivery.pk)
    return event


# --- payment intents ---------------------------------------------------------------------------------

def _intent_move(intent: PaymentIntent, status: str, *, fields: tuple[str, ...] = ()) -> None:
    if status not in INTENT_MOVES[intent.status]:
        raise IntentUnexpectedState(f"A {intent.status} payment intent cannot become {status}.")
    intent.status = status
    intent.updated_at = _now()
    intent.save(update_fields=["status", "updated_at", *fields])


def _locked_intent(public_id: str, *, merchant: Merchant | None = None) -> PaymentIntent:
    # Only what never changes is joined: on PostgreSQL a row locked after a wait is re-read, but
    # rows joined to it come from the statement's snapshot (the transactions are loaded lazily).
    qs = PaymentIntent.objects.select_for_update(of=("self",)).select_related("merchant__user")
    if merchant is not None:
        qs = qs.filter(merchant=merchant)
    intent = qs.filter(public_id=public_id).first() if isinstance(public_id, str) else None
    if intent is None:
        raise NotFound()
    return intent


def access_intent(merchant: Merchant, public_id: str) -> PaymentIntent:
    intent = (PaymentIntent.objects.select_related("merchant", "customer_txn", "merchant_txn")
              .filter(merchant=merchant, public_id=public_id).first()) if isinstance(public_id, str) else None
    if intent is None:
        raise NotFound()
    return intent


def intent_for_checkout(public_id: str) -> PaymentIntent:
    intent = (PaymentIntent.objects.select_related("merchant", "customer_txn").filter(public_id=public_id).first()
              if isinstance(public_id, str) else None)
    if intent is None:
        raise NotFound()
    return intent


@transaction.atomic
def intent_create(*, merchant: Merchant, amount: int, currency: str = "CNY", description: str = "",
                  return_url: str = "", capture: str = CaptureMethod.AUTOMATIC) -> PaymentIntent:
    amount, currency = amount_check(amount, currency)
    if capture not in CaptureMethod.values:
        raise InvalidRequest(gettext_noop("capture is automatic or manual."), param="capture")
    if return_url and not return_url.startswith(("https://", "http://")):
        raise InvalidRequest(gettext_noop("return_url must be an http(s) URL."), param="return_url")
    if len(description) > 200:
        raise InvalidRequest(gettext_noop("The description is at most 200 characters."), param="description")
    now = _now()
    public_id = new_intent_id()
    intent = PaymentIntent.objects.create(public_id=public_id, merchant=merchant, amount=amount, currency=currency,
                                          description=description, return_url=return_url[:500],
                                          capture_method=capture, created_at=now, updated_at=now,
                                          client_secret=f"{public_id}_secret_{random_token(24)}")
    _emit(merchant, "payment_intent.created", intent_data(intent))
    return intent


def _merchant_txn(intent: PaymentIntent, customer_txn: Transaction, amount: int, settle: Any) -> Transaction:
    merchant = intent.merchant
    customer = customer_txn.user
    return transaction_insert(user=merchant.user, type=TxnType.PAYMENT, direction=Direction.CREDIT, amount=amount,
                              currency=intent.currency, actor=customer.public_id, done=(Status.SUCCEEDED, "received"),
                              counterparty_name=mask_name(customer.display_name), counterparty_user=customer,
                              counterparty_wallet_id=wallet(customer, intent.currency).public_id,
                              note=intent.description[:140], peer=customer_txn, settle_transfer=settle)


def pay_again_offered(intent: PaymentIntent, customer: Any) -> bool:
    """Whether ``customer`` may pay ``intent`` again: they paid or authorised it and it was then
    cancelled or expired (no money taken), and it was not paid again already."""
    return bool(getattr(customer, "pk", None) and intent.customer_id == customer.pk
                and intent.status == IntentStatus.CANCELLED and intent.customer_txn_id is not None
                and not PaymentIntent.objects.filter(again_of=intent).exists())


@transaction.atomic
def intent_pay_again(*, customer: User, intent_id: str) -> PaymentIntent:
    """"Pay again" (issue 17) after a checkout payment was cancelled or expired: a new payment intent
    for the same merchant, amount, description and return address, which only ``customer`` may pay,
    confirmed on its own checkout page (never a blind resubmit). At most one per failed payment: a
    second click, tab or retry answers the one already made (the old intent's row is locked first)."""
    old = _locked_intent(intent_id)
    if old.customer_id != customer.pk:
        raise NotFound()
    made = PaymentIntent.objects.filter(again_of=old).first()
    if made is not None:
        return made
    if old.status != IntentStatus.CANCELLED or old.customer_txn_id is None:
        raise IntentUnexpectedState()
    now = _now()
    public_id = new_intent_id()
    intent = PaymentIntent.objects.create(
        public_id=public_id, merchant=old.merchant, amount=old.amount, currency=old.currency,
        description=old.description, return_url=old.return_url, capture_method=old.capture_method,
        customer=customer, again_of=old, created_at=now, updated_at=now,
        client_secret=f"{public_id}_secret_{random_token(24)}")
    _emit(old.merchant, "payment_intent.created", intent_data(intent))
    return intent


@transaction.atomic
def intent_confirm(*, intent_id: str, customer: User, otp_code: str | None = None) -> Transaction:
    """The customer pays. Confirming again (a double click, a retry, a second tab) answers the
    payment already made and never charges twice: the intent row is locked first."""
    intent = _locked_intent(intent_id)
    if intent.status != IntentStatus.REQUIRES_CONFIRMATION:
        if intent.customer_id == customer.pk and intent.customer_txn_id is not None:
            return intent.customer_txn  # type: ignore[return-value]
        if intent.customer_id is not None and intent.customer_id != customer.pk:
            raise NotFound()
        raise IntentUnexpectedState()
    if intent.customer_id is not None and intent.customer_id != customer.pk:  # a "pay again" is its customer's
        raise NotFound()
    merchant = intent.merchant
    if merchant.user_id == customer.pk:
        raise InvalidRequest(gettext_noop("A merchant cannot pay itself."))
    sender_check(customer)
    usage = limits_take(customer, intent.amount)
    step_up(customer, intent.amount, otp_code, kind="payment", currency=intent.currency,
                           payee=intent.public_id)
    _intent_move(intent, IntentStatus.PROCESSING)
    actor = customer.public_id
    public_id = new_transaction_id()
    source, destination = wallet(customer, intent.currency), wallet(merchant.user, intent.currency)
    common: dict[str, Any] = {"counterparty_name": merchant.name, "counterparty_user": merchant.user,
              "counterparty_wallet_id": destination.public_id, "note": intent.description[:140],
              "public_id": public_id, "at": usage.at}
    now = _now()
    if intent.capture_method == CaptureMethod.AUTOMATIC:
        (moved,) = ledger_post([TransferSpec(source, destination, intent.amount, intent.currency,
                                       id=f"{intent.public_id}-pay", code="payment", reference=public_id,
                                       actor=actor)])
        txn = transaction_insert(user=customer, type=TxnType.PAYMENT, direction=Direction.DEBIT, amount=intent.amount,
                                 currency=intent.currency, actor=actor, done=(Status.SUCCEEDED, "paid"),
                                 settle_transfer=moved, **common)
        intent.merchant_txn = _merchant_txn(intent, txn, intent.amount, moved)
        intent.amount_received = intent.amount
        intent.succeeded_at = now
        next_status, event = IntentStatus.SUCCEEDED, "payment_intent.succeeded"
        notify.send(txn, "settled")
    else:
        txn = transaction_insert(user=customer, type=TxnType.PAYMENT, direction=Direction.DEBIT, amount=intent.amount,
                                 currency=intent.currency, actor=actor, **common)
        (hold,) = ledger_post([TransferSpec(source, destination, intent.amount, intent.currency,
                                      id=f"{intent.public_id}-hold", code="payment", pending=True,
                                      reference=public_id, actor=actor)])
        txn.hold_transfer = hold
        intent.capture_before = now + timedelta(days=settings.OKPAY_CAPTURE_DAYS)
        transaction_move(txn, Status.PENDING, actor=actor, reason="authorized",
                         pending_reason=PendingReason.AWAITING_CAPTURE, expected_by=intent.capture_before,
                         fields=("hold_transfer",))
        intent.hold_transfer_id = hold.public_id
        next_status, event = IntentStatus.REQUIRES_CAPTURE, "payment_intent.requires_capture"
        notify.send(txn, "pending")
    if intent.again_of_id is not None:  # paid again: each timeline shows the other
        failed = PaymentIntent.objects.filter(pk=intent.again_of_id).values_list("customer_txn_id", flat=True).first()
        if failed is not None and not Transaction.objects.filter(retry_of_id=failed).exists():
            txn.retry_of_id = failed
            txn.save(update_fields=["retry_of"])
    intent.customer = customer
    intent.customer_txn = txn
    _intent_move(intent, next_status, fields=("customer", "customer_txn", "merchant_txn", "amount_received",
                                              "succeeded_at", "capture_before", "hold_transfer_id"))
    _emit(merchant, event, intent_data(intent))
    return txn


@transaction.atomic
def intent_capture(*, merchant: Merchant, intent_id: str, amount: int | None = None) -> PaymentIntent:
    """Take the held money, all of it or part (the rest returns to the customer at once)."""
    intent = _locked_intent(intent_id, merchant=merchant)
    if intent.status != IntentStatus.REQUIRES_CAPTURE:
        raise IntentUnexpectedState()
    amount = intent.amount if amount is None else amount
    if type(amount) is not int or not 0 < amount <= intent.amount:
        raise InvalidRequest(gettext_noop("The capture amount is between 1 and the authorized amount."),
                             param="amount")
    assert intent.customer_txn_id is not None
    txn = Transaction.objects.select_for_update(of=("self",)).get(pk=intent.customer_txn_id)
    actor = merchant.user.public_id
    usage_give_back(txn, txn.amount - amount)  # the rest is released: it no longer counts toward the limit
    (posted,) = ledger_post([PostPending(intent.hold_transfer_id, amount=amount, id=f"{intent.public_id}-capture",
                                   actor=actor)])
    txn.amount = amount
    txn.settle_transfer = posted
    transaction_move(txn, Status.SUCCEEDED, actor=actor, reason="captured", fields=("amount", "settle_transfer"))
    notify.send(txn, "settled")
    intent.merchant_txn = _merchant_txn(intent, txn, amount, posted)
    intent.amount_received = amount
    intent.succeeded_at = _now()
    _intent_move(intent, IntentStatus.SUCCEEDED, fields=("merchant_txn", "amount_received", "succeeded_at"))
    _emit(merchant, "payment_intent.succeeded", intent_data(intent))
    return intent


def _cancel(intent: PaymentIntent, *, actor: str, reason: str) -> None:
    if intent.status == IntentStatus.REQUIRES_CAPTURE:
        assert intent.customer_txn_id is not None
        txn = Transaction.objects.select_for_update(of=("self",)).select_related("hold_transfer").get(
            pk=intent.customer_txn_id)
        transaction_void(txn, Status.CANCELLED, actor=actor, reason=reason)
        notify.send(txn, "cancelled")
    elif intent.status != IntentStatus.REQUIRES_CONFIRMATION:
        raise IntentUnexpectedState()
    intent.cancellation_reason = reason[:40]
    _intent_move(intent, IntentStatus.CANCELLED, fields=("cancellation_reason",))
    _emit(intent.merchant, "payment_intent.cancelled", intent_data(intent))


@transaction.atomic
def intent_cancel(*, merchant: Merchant, intent_id: str, reason: str = "requested_by_merchant") -> PaymentIntent:
    intent = _locked_intent(intent_id, merchant=merchant)
    _cancel(intent, actor=merchant.user.public_id, reason=reason or "requested_by_merchant")
    return intent


def intents_expire_due(*, limit: int = 200) -> int:
    """Worker sweep: a manual-capture hold not captured in time is released (intent cancelled)."""
    done = 0
    ids = list(PaymentIntent.objects.filter(status=IntentStatus.REQUIRES_CAPTURE, capture_before__lte=_now())
               .values_list("pk", flat=True)[:limit])
    for pk in ids:
        with transaction.atomic():
            intent = (PaymentIntent.objects.select_for_update(skip_locked=True, of=("self",))
                      .select_related("merchant__user").filter(pk=pk, status=IntentStatus.REQUIRES_CAPTURE,
                                                               capture_before__lte=_now()).first())
            if intent is None:
                continue
            _cancel(intent, actor="system:capture_expiry", reason="expired")
            done += 1
    return done


# --- refunds -----------------------------------------------------------------------------------------

def _window_check(intent: PaymentIntent) -> None:
    if intent.succeeded_at is None:
        raise NotRefundable()
    if _now() > intent.succeeded_at + timedelta(days=intent.merchant.refund_window_days):
        raise RefundWindowClosed()


def _reserved(intent: PaymentIntent) -> int:
    total = (Refund.objects.filter(intent=intent, status__in=[RefundStatus.PENDING, RefundStatus.SUCCEEDED])
             .aggregate(total=Sum("amount"))["total"])
    return int(total or 0)


def refund_expected_by(intent: PaymentIntent) -> Any:
    return intent.succeeded_at + timedelta(days=intent.merchant.refund_window_days) if intent.succeeded_at else None


def _try_move_refund(refund: Refund, *, email: bool = True) -> bool:
    """Move the refund's money if the merchant's wallet has it; False (nothing moved) if not."""
    intent = refund.intent
    merchant_user, customer = intent.merchant.user, intent.customer
    merchant_txn, customer_txn = refund.merchant_txn, refund.customer_txn
    assert customer is not None and merchant_txn is not None and customer_txn is not None
    try:
        with transaction.atomic():
            (moved,) = ledger_post([TransferSpec(wallet(merchant_user, refund.currency),
                                                 wallet(customer, refund.currency), refund.amount, refund.currency,
                                                 id=f"{refund.public_id}-refund", code="refund",
                                                 reference=merchant_txn.public_id, actor=merchant_user.public_id)])
    except InsufficientFunds:
        return False
    actor = merchant_user.public_id
    for txn in (merchant_txn, customer_txn):
        txn.settle_transfer = moved
        transaction_move(txn, Status.SUCCEEDED, actor=actor, reason="refunded", fields=("settle_transfer",))
    notify.send(customer_txn, "settled", email=email)
    refund.status = RefundStatus.SUCCEEDED
    refund.updated_at = _now()
    refund.save(update_fields=["status", "updated_at"])
    intent.amount_refunded += refund.amount
    intent.updated_at = _now()
    intent.save(update_fields=["amount_refunded", "updated_at"])
    for pk in (intent.customer_txn_id, intent.merchant_txn_id):
        assert pk is not None
        original = Transaction.objects.select_for_update(of=("self",)).get(pk=pk)
        original.refunded_amount = intent.amount_refunded
        target = Status.REFUNDED if original.refunded_amount >= original.amount else Status.PARTIALLY_REFUNDED
        transaction_move(original, target, actor=actor, reason="refund", fields=("refunded_amount",))
    _emit(intent.merchant, "refund.succeeded", refund_data(refund))
    return True


@transaction.atomic
def refund_create(*, merchant: Merchant, intent_id: str, amount: int | None = None, reason: str = "",
                  check_window: bool = True) -> Refund:
    """Refund a succeeded payment, fully or partly. The intent row lock serialises refunds of
    one payment, so partial refunds together never exceed what was received."""
    intent = _locked_intent(intent_id, merchant=merchant)
    return _refund_locked(intent, amount=amount, reason=reason, check_window=check_window)


def _refund_locked(intent: PaymentIntent, *, amount: int | None, reason: str, check_window: bool = True,
                   email: bool = True, customer_txn: Transaction | None = None) -> Refund:
    """``email=False``: the customer's notices are in-app only (an approved refund request's email says it).
    ``customer_txn``: the customer's refund transaction that already waits (pending ``awaiting_merchant``,
    written when they asked); otherwise one is written now."""
    if intent.status != IntentStatus.SUCCEEDED:
        raise NotRefundable()
    if check_window:
        _window_check(intent)
    remaining = intent.amount_received - _reserved(intent)
    if amount is None:
        amount = remaining
    if type(amount) is not int or amount <= 0:
        if amount == 0 and remaining == 0:
            raise RefundExceedsPayment(param="amount")
        raise InvalidRequest(gettext_noop("The amount must be a positive whole number of minor units (fen)."),
                             param="amount")
    if amount > remaining:
        raise RefundExceedsPayment(param="amount")
    merchant = intent.merchant
    customer = intent.customer
    assert customer is not None
    now = _now()
    actor = merchant.user.public_id
    merchant_txn = transaction_insert(user=merchant.user, type=TxnType.REFUND, direction=Direction.DEBIT, amount=amount,
                                      currency=intent.currency, actor=actor,
                                      counterparty_name=mask_name(customer.display_name), counterparty_user=customer,
                                      note=(reason or intent.description)[:140])
    if customer_txn is None:
        customer_txn = transaction_insert(user=customer, type=TxnType.REFUND, direction=Direction.CREDIT,
                                          amount=amount, currency=intent.currency, actor=actor,
                                          counterparty_name=merchant.name, counterparty_user=merchant.user,
                                          note=(reason or intent.description)[:140], peer=merchant_txn)
    else:
        assert customer_txn.amount == amount and customer_txn.status == Status.PENDING
        customer_txn.peer = merchant_txn
        customer_txn.save(update_fields=["peer"])
    refund = Refund.objects.create(intent=intent, amount=amount, currency=intent.currency, reason=reason[:200],
                                   customer_txn=customer_txn, merchant_txn=merchant_txn, created_at=now,
                                   updated_at=now,
                                   fail_after=now + timedelta(hours=settings.OKPAY_REFUND_PENDING_HOURS))
    _emit(merchant, "refund.created", refund_data(refund))
    if not _try_move_refund(refund, email=email):
        for txn in (merchant_txn, customer_txn):
            transaction_move(txn, Status.PENDING, actor=actor, reason="merchant_funds",
                             pending_reason=AWAITING_MERCHANT, expected_by=refund.fail_after)
        notify.send(customer_txn, "pending", email=email)
    return refund


def _fail_refund(refund: Refund) -> None:
    merchant_txn, customer_txn = refund.merchant_txn, refund.customer_txn
    assert merchant_txn is not None and customer_txn is not None
    for txn in (merchant_txn, customer_txn):
        transaction_move(txn, Status.FAILED, actor="system:refunds", reason="merchant_funds",
                         failure_reason="merchant_insufficient_funds")
    notify.send(customer_txn, "failed")
    refund.status = RefundStatus.FAILED
    refund.failure_reason = "merchant_insufficient_funds"
    refund.updated_at = _now()
    refund.save(update_fields=["status", "failure_reason", "updated_at"])
    _emit(refund.intent.merchant, "refund.failed", refund_data(refund))


def refunds_retry_due(*, limit: int = 200) -> int:
    """Worker sweep: pay pending refunds whose merchant now has the money; fail the overdue ones."""
    done = 0
    pairs = list(Refund.objects.filter(status=RefundStatus.PENDING).values_list("pk", "intent_id")[:limit])
    for pk, intent_pk in pairs:
        with transaction.atomic():
            intent = (PaymentIntent.objects.select_for_update(skip_locked=True, of=("self",))
                      .select_related("merchant__user", "customer").filter(pk=intent_pk).first())
            if intent is None:
                continue
            refund = (Refund.objects.select_related("customer_txn", "merchant_txn")
                      .filter(pk=pk, status=RefundStatus.PENDING).first())
            if refund is None:
                continue
            refund.intent = intent
            if _try_move_refund(refund):
                done += 1
            elif refund.fail_after is not None and _now() >= refund.fail_after:
                _fail_refund(refund)
                done += 1
    return done


# --- refund requests ---------------------------------------------------------------------------------

def _requested(intent: PaymentIntent) -> int:
    total = (RefundRequest.objects.filter(intent=intent, status=RequestStatus.PENDING)
             .aggregate(total=Sum("amount"))["total"])
    return int(total or 0)


def refundable_left(intent: PaymentIntent) -> int:
    """What a customer may still ask back: received, less refunds made or pending, less open requests."""
    return max(0, intent.amount_received - _reserved(intent) - _requested(intent))


def intent_for_customer_txn(txn: Transaction) -> PaymentIntent | None:
    return PaymentIntent.objects.select_related("merchant").filter(customer_txn=txn).first()


@transaction.atomic
def refund_request_create(*, customer: User, txn_id: str, reason: str, amount: int | None = None) -> RefundRequest:
    """A customer asks the merchant for their money back; the policy may approve it at once. For a
    bill payment the request goes to the biller (``bill_refunds``), which answers from the worker."""
    txn = access_transaction(customer, txn_id)
    if txn.type == TxnType.BILL_PAYMENT:
        reason = (reason or "").strip()
        if not reason:
            raise InvalidRequest(gettext_noop("Tell the merchant why you want a refund."), param="reason")
        return bill_refunds.bill_refund_request_create(customer=customer, txn=txn, reason=reason, amount=amount)
    found = intent_for_customer_txn(txn) if txn.type == TxnType.PAYMENT and txn.direction == Direction.DEBIT else None
    if found is None:
        raise NotRefundable()
    reason = (reason or "").strip()
    if not reason:
        raise InvalidRequest(gettext_noop("Tell the merchant why you want a refund."), param="reason")
    intent = _locked_intent(found.public_id)
    if intent.status != IntentStatus.SUCCEEDED:
        raise NotRefundable()
    _window_check(intent)
    remaining = intent.amount_received - _reserved(intent) - _requested(intent)
    if amount is None:
        amount = remaining
    if type(amount) is not int or amount <= 0:
        if amount == 0:
            raise RefundExceedsPayment(param="amount")
        raise InvalidRequest(gettext_noop("The amount must be a positive whole number of minor units (fen)."),
                             param="amount")
    if amount > remaining:
        raise RefundExceedsPayment(param="amount")
    request = RefundRequest.objects.create(intent=intent, customer=customer, amount=amount, reason=reason[:500],
                                           created_at=_now())
    _emit(intent.merchant, "refund_request.created", request_data(request))
    limit = intent.merchant.auto_approve_up_to
    if limit is not None and amount <= limit:
        _approve(intent, request, auto=True)
    else:
        # The customer sees the refund waiting for the merchant's answer (pending awaiting_merchant);
        # past expected_by the overdue sweep alerts customer service.
        merchant = intent.merchant
        refund_txn = transaction_insert(user=customer, type=TxnType.REFUND, direction=Direction.CREDIT, amount=amount,
                                        currency=intent.currency, actor=customer.public_id,
                                        counterparty_name=merchant.name, counterparty_user=merchant.user,
                                        note=reason[:140])
        transaction_move(refund_txn, Status.PENDING, actor=customer.public_id, reason="refund_requested",
                         pending_reason=PendingReason.AWAITING_MERCHANT,
                         expected_by=request.created_at
                         + timedelta(hours=settings.OKPAY_REFUND_REQUEST_ANSWER_HOURS))
        request.refund_txn = refund_txn
        request.save(update_fields=["refund_txn"])
    emails.request_created(request)
    return request


def _approve(intent: PaymentIntent, request: RefundRequest, *, auto: bool) -> None:
    request.status = RequestStatus.APPROVED  # no longer counted as requested before the refund is made
    request.save(update_fields=["status"])
    waiting = (Transaction.objects.select_for_update(of=("self",)).get(pk=request.refund_txn_id)
               if request.refund_txn_id is not None else None)
    refund = _refund_locked(intent, amount=request.amount, reason=request.reason, check_window=False, email=False,
                            customer_txn=waiting)
    request.refund = refund
    request.auto_approved = auto
    request.decided_at = _now()
    request.save(update_fields=["refund", "auto_approved", "decided_at"])
    _emit(intent.merchant, "refund_request.approved", request_data(request))
    emails.request_decided(request)


def _locked_request(merchant: Merchant, request_id: str) -> tuple[PaymentIntent, RefundRequest]:
    found = (RefundRequest.objects.select_related("intent").filter(intent__merchant=merchant, public_id=request_id)
             .first()) if isinstance(request_id, str) else None
    if found is None or found.intent is None:
        raise NotFound()
    intent = _locked_intent(found.intent.public_id, merchant=merchant)
    request = RefundRequest.objects.get(pk=found.pk)
    if request.status != RequestStatus.PENDING:
        raise RequestAlreadyDecided()
    return intent, request


@transaction.atomic
def refund_request_approve(*, merchant: Merchant, request_id: str) -> RefundRequest:
    intent, request = _locked_request(merchant, request_id)
    _approve(intent, request, auto=False)
    return request


@transaction.atomic
def refund_request_decline(*, merchant: Merchant, request_id: str, reason: str = "") -> RefundRequest:
    _intent, request = _locked_request(merchant, request_id)
    if request.refund_txn_id is not None:  # the customer's waiting refund fails, with the reason on the request
        waiting = Transaction.objects.select_for_update(of=("self",)).get(pk=request.refund_txn_id)
        transaction_move(waiting, Status.FAILED, actor=merchant.user.public_id, reason="refund_declined",
                         failure_reason="refund_declined")
        notify.send(waiting, "failed", email=False)  # the decline email says it, with the reason
    request.status = RequestStatus.DECLINED
    request.decline_reason = (reason or "").strip()[:500]
    request.decided_at = _now()
    request.save(update_fields=["status", "decline_reason", "decided_at"])
    _emit(merchant, "refund_request.declined", request_data(request))
    emails.request_decided(request)
    return request


def refund_requests_for_txn(customer: User, txn: Transaction) -> list[RefundRequest]:
    """The customer's refund requests of one payment (to a merchant or a biller), newest first."""
    where = Q(bill_txn=txn) if txn.type == TxnType.BILL_PAYMENT else Q(intent__customer_txn=txn)
    return list(RefundRequest.objects.filter(where, customer=customer)
                .select_related("refund", "refund_txn", "intent__merchant", "bill_txn").order_by("-id"))


# --- webhook endpoints and delivery --------------------------------------------------------------------

def _events_check(events: list[str]) -> list[str]:
    if not isinstance(events, list) or not events or any(e not in (*EVENT_TYPES, "*") for e in events):
        raise InvalidRequest(gettext_noop("Choose event types from the list (or \"*\" for all)."), param="events")
    return sorted(set(events))


@transaction.atomic
def webhook_endpoint_create(*, merchant: Merchant, url: str, events: list[str]) -> WebhookEndpoint:
    webhooks.resolve(url)
    return WebhookEndpoint.objects.create(merchant=merchant, url=url[:500], events=_events_check(events),
                                          secret="whsec_" + random_token(32), created_at=_now())


def access_endpoint(merchant: Merchant, endpoint_id: str) -> WebhookEndpoint:
    endpoint = WebhookEndpoint.objects.filter(merchant=merchant, public_id=endpoint_id).first()
    if endpoint is None:
        raise NotFound()
    return endpoint


@transaction.atomic
def webhook_endpoint_rotate_secret(*, merchant: Merchant, endpoint_id: str) -> WebhookEndpoint:
    endpoint = access_endpoint(merchant, endpoint_id)
    endpoint.secret = "whsec_" + random_token(32)
    endpoint.save(update_fields=["secret"])
    return endpoint


@transaction.atomic
def webhook_endpoint_enable(*, merchant: Merchant, endpoint_id: str, enabled: bool) -> WebhookEndpoint:
    endpoint = access_endpoint(merchant, endpoint_id)
    endpoint.enabled = enabled
    endpoint.disabled_reason = "" if enabled else "by_merchant"
    endpoint.consecutive_failures = 0
    endpoint.save(update_fields=["enabled", "disabled_reason", "consecutive_failures"])
    return endpoint


@transaction.atomic
def webhook_delivery_resend(*, merchant: Merchant, delivery_id: str) -> WebhookDelivery:
    old = (WebhookDelivery.objects.select_related("endpoint", "event")
           .filter(endpoint__merchant=merchant, public_id=delivery_id).first())
    if old is None:
        raise NotFound()
    now = _now()
    return WebhookDelivery.objects.create(endpoint=old.endpoint, event=old.event, next_attempt_at=now,
                                          give_up_at=now + timedelta(hours=settings.OKPAY_WEBHOOK_RETRY_HOURS),
                                          created_at=now)


def backoff_seconds(attempts: int) -> float:
    """Exponential backoff with jitter: ~30 s, 1 min, 2 min … capped at 6 h, each ×[0.5, 1)."""
    base = min(30 * 2 ** max(attempts - 1, 0), 6 * 3600)
    return base / 2 + random.uniform(0, base / 2)  # noqa: S311 - jitter, not a secret  # nosec B311


def _claim_due(limit: int) -> list[int]:
    now = _now()
    with transaction.atomic():
        rows = list(WebhookDelivery.objects.select_for_update(skip_locked=True)
                    .filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now).order_by("next_attempt_at")
                    .values_list("pk", flat=True)[:limit])
        # A lease: if this worker dies mid-send, another one tries again after it.
        WebhookDelivery.objects.filter(pk__in=rows).update(
            next_attempt_at=now + timedelta(seconds=settings.OKPAY_WEBHOOK_TIMEOUT * 3))
    return rows


def webhook_deliver_now(delivery_pk: int) -> bool | None:
    """The task's entry: claim the delivery if it is due and nobody else holds it, then send it."""
    now = _now()
    with transaction.atomic():
        # One conditional UPDATE: a sweep or task that leased it first moved next_attempt_at ahead.
        claimed = (WebhookDelivery.objects
                   .filter(pk=delivery_pk, status=DeliveryStatus.PENDING, next_attempt_at__lte=now).update(
                       next_attempt_at=now + timedelta(seconds=settings.OKPAY_WEBHOOK_TIMEOUT * 3)))
    return webhook_deliver_one(delivery_pk) if claimed else None


def webhook_deliver_one(delivery_pk: int) -> bool | None:
    """Send one delivery (no lock held during the HTTP call) and record the attempt."""
    delivery = WebhookDelivery.objects.select_related("endpoint", "event").filter(pk=delivery_pk).first()
    if delivery is None or delivery.status != DeliveryStatus.PENDING:
        return None
    event, endpoint = delivery.event, delivery.endpoint
    body = json.dumps({"id": event.public_id, "type": event.type, "created": int(event.created_at.timestamp()),
                       "data": {"object": event.data}}, separators=(",", ":"), ensure_ascii=False).encode()
    outcome = webhooks.post(endpoint.url, secret=endpoint.secret, body=body) if endpoint.enabled else \
        webhooks.Outcome(False, None, "endpoint_disabled", 0)
    now = _now()
    with transaction.atomic():
        delivery = WebhookDelivery.objects.select_for_update().get(pk=delivery_pk)
        if delivery.status != DeliveryStatus.PENDING:
            return None
        endpoint = WebhookEndpoint.objects.select_for_update().get(pk=delivery.endpoint_id)
        DeliveryAttempt.objects.create(delivery=delivery, at=now, status_code=outcome.status_code,
                                       error=outcome.error, duration_ms=outcome.duration_ms, succeeded=outcome.ok)
        delivery.attempts += 1
        if outcome.ok:
            delivery.status, delivery.next_attempt_at = DeliveryStatus.SUCCEEDED, None
            if endpoint.consecutive_failures:
                endpoint.consecutive_failures = 0
                endpoint.save(update_fields=["consecutive_failures"])
        else:
            retry_at = now + timedelta(seconds=backoff_seconds(delivery.attempts))
            if retry_at > delivery.give_up_at or not endpoint.enabled:
                delivery.status, delivery.next_attempt_at = DeliveryStatus.FAILED, None
            else:
                delivery.next_attempt_at = retry_at
            if endpoint.enabled:
                endpoint.consecutive_failures += 1
                if endpoint.consecutive_failures >= settings.OKPAY_WEBHOOK_DISABLE_AFTER:
                    _endpoint_disable_for_failures(endpoint)
                endpoint.save(update_fields=["consecutive_failures", "enabled", "disabled_reason"])
        delivery.save(update_fields=["status", "next_attempt_at", "attempts"])
    return outcome.ok


def _endpoint_disable_for_failures(endpoint: WebhookEndpoint) -> None:
    endpoint.enabled = False
    endpoint.disabled_reason = "failing"
    merchant = Merchant.objects.select_related("user").get(pk=endpoint.merchant_id)
    emails.endpoint_disabled(merchant, url=endpoint.url, failures=endpoint.consecutive_failures)


def webhooks_deliver_due(*, limit: int = 50) -> int:
    """Worker sweep: send the deliveries that are due (claimed with skip_locked, so many workers share)."""
    sent = 0
    for pk in _claim_due(limit):
        if webhook_deliver_one(pk) is not None:
            sent += 1
    return sent


def merchant_sweep() -> int:
    """The merchants sweep (core.worker.SWEEPS): capture expiry, pending refunds, webhooks."""
    return (intents_expire_due() + refunds_retry_due() + bill_refunds.bill_refund_requests_decide_due()
            + webhooks_deliver_due())


def payment_intents_for(merchant: Merchant) -> Any:
    return PaymentIntent.objects.filter(merchant=merchant).select_related("customer_txn", "merchant_txn")


def refund_requests_for(merchant: Merchant, *, status: str | None = None) -> Any:
    qs = RefundRequest.objects.filter(intent__merchant=merchant).select_related("intent", "refund", "customer")
    return qs.filter(status=status) if status else qs

