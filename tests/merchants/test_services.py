from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from okpay.core.errors import NotFound
from okpay.ledger.checks import ledger_check
from okpay.merchants import services
from okpay.merchants.errors import (
    IntentUnexpectedState,
    NotRefundable,
    RefundExceedsPayment,
    RefundWindowClosed,
    RequestAlreadyDecided,
)
from okpay.merchants.models import ApiKey, PaymentIntent, Refund, WebhookEvent
from okpay.payments.errors import InsufficientFunds
from okpay.payments.models import Transaction
from tests.merchants.conftest import available, held
from tests.payments.conftest import counted_today, used_today

pytestmark = pytest.mark.django_db


def pay(merchant, customer, amount=10_000, capture="automatic"):  # type: ignore[no-untyped-def]
    intent = services.intent_create(merchant=merchant, amount=amount, description="龙井", capture=capture)
    txn = services.intent_confirm(intent_id=intent.public_id, customer=customer)
    intent.refresh_from_db()
    return intent, txn


def test_keys_hashed_revocable(merchant) -> None:
    raw, key = services.api_key_create(merchant=merchant)
    assert raw.startswith("sk_") and raw not in key.hint and key.key_hash == ApiKey.hash(raw)
    assert not ApiKey.objects.filter(key_hash=raw).exists()
    assert services.merchant_for_secret_key(raw) == merchant
    key.refresh_from_db()
    assert key.last_used_at is not None
    services.api_key_revoke(merchant=merchant, key_id=key.public_id)
    assert services.merchant_for_secret_key(raw) is None
    assert merchant.keys.filter(kind="publishable").count() == 1
    assert merchant.user.groups.filter(name="merchant").exists()
    assert merchant.user.has_perm("merchants.use_dashboard")


def test_automatic_payment(merchant, funded) -> None:
    intent, txn = pay(merchant, funded)
    assert intent.status == "succeeded" and intent.amount_received == 10_000
    assert txn.status == "succeeded" and txn.type == "payment" and txn.direction == "debit"
    assert available(funded) == 90_000 and available(merchant.user) == 10_000
    assert intent.merchant_txn.direction == "credit" and intent.merchant_txn.peer == txn
    # Confirming again never charges twice.
    again = services.intent_confirm(intent_id=intent.public_id, customer=funded)
    assert again.pk == txn.pk and available(funded) == 90_000
    assert list(WebhookEvent.objects.values_list("type", flat=True).order_by("id")) == [
        "payment_intent.created", "payment_intent.succeeded"]
    assert ledger_check().ok


def test_other_customer_cannot_confirm_paid_intent(merchant, funded, bob) -> None:
    intent, _ = pay(merchant, funded)
    with pytest.raises(NotFound):
        services.intent_confirm(intent_id=intent.public_id, customer=bob)


def test_insufficient_funds_leaves_intent_confirmable(merchant, alice) -> None:
    intent = services.intent_create(merchant=merchant, amount=5_000)
    with pytest.raises(InsufficientFunds):
        services.intent_confirm(intent_id=intent.public_id, customer=alice)
    intent.refresh_from_db()
    assert intent.status == "requires_confirmation" and not Transaction.objects.filter(user=alice).exists()


def test_manual_capture_partial(merchant, funded) -> None:
    intent, txn = pay(merchant, funded, capture="manual")
    assert intent.status == "requires_capture"
    assert txn.status == "pending" and txn.pending_reason == "awaiting_capture"
    assert held(funded) == 10_000 and available(funded) == 90_000
    services.intent_capture(merchant=merchant, intent_id=intent.public_id, amount=6_000)
    intent.refresh_from_db()
    txn.refresh_from_db()
    assert intent.status == "succeeded" and intent.amount_received == 6_000
    assert txn.status == "succeeded" and txn.amount == 6_000
    assert available(funded) == 94_000 and held(funded) == 0 and available(merchant.user) == 6_000
    with pytest.raises(IntentUnexpectedState):
        services.intent_capture(merchant=merchant, intent_id=intent.public_id)
    assert ledger_check().ok


def test_manual_cancel_and_expiry(merchant, funded) -> None:
    intent, txn = pay(merchant, funded, capture="manual")
    services.intent_cancel(merchant=merchant, intent_id=intent.public_id)
    txn.refresh_from_db()
    assert txn.status == "cancelled" and available(funded) == 100_000
    intent2, txn2 = pay(merchant, funded, capture="manual")
    PaymentIntent.objects.filter(pk=intent2.pk).update(capture_before=timezone.now() - timedelta(seconds=1))
    assert services.intents_expire_due() == 1
    intent2.refresh_from_db()
    txn2.refresh_from_db()
    assert intent2.status == "cancelled" and intent2.cancellation_reason == "expired" and txn2.status == "cancelled"
    assert available(funded) == 100_000 and held(funded) == 0
    assert services.intents_expire_due() == 0
    with pytest.raises(IntentUnexpectedState):
        services.intent_cancel(merchant=merchant, intent_id=intent2.public_id)
    assert ledger_check().ok


def test_payments_count_toward_the_daily_limit_until_released(merchant, funded) -> None:
    """A captured payment counts what was captured, a cancelled or expired hold nothing, a refund
    takes nothing back (the payment was made today)."""
    intent, _ = pay(merchant, funded, capture="manual")
    assert used_today(funded) == 10_000
    services.intent_capture(merchant=merchant, intent_id=intent.public_id, amount=6_000)
    assert used_today(funded) == counted_today(funded) == 6_000
    cancelled, _ = pay(merchant, funded, amount=2_000, capture="manual")
    services.intent_cancel(merchant=merchant, intent_id=cancelled.public_id)
    expired, _ = pay(merchant, funded, amount=3_000, capture="manual")
    PaymentIntent.objects.filter(pk=expired.pk).update(capture_before=timezone.now() - timedelta(seconds=1))
    assert services.intents_expire_due() == 1
    assert used_today(funded) == counted_today(funded) == 6_000
    paid, _ = pay(merchant, funded, amount=4_000)
    services.refund_create(merchant=merchant, intent_id=paid.public_id)
    assert used_today(funded) == counted_today(funded) == 10_000
    assert used_today(merchant.user) == 0  # the refund is money out of the merchant, not a payment


def test_cancel_unpaid_intent_then_confirm_refused(merchant, funded) -> None:
    intent = services.intent_create(merchant=merchant, amount=1_000)
    services.intent_cancel(merchant=merchant, intent_id=intent.public_id)
    with pytest.raises(IntentUnexpectedState):
        services.intent_confirm(intent_id=intent.public_id, customer=funded)


def test_refunds_partial_then_full(merchant, funded) -> None:
    intent, txn = pay(merchant, funded)
    refund = services.refund_create(merchant=merchant, intent_id=intent.public_id, amount=3_000, reason="破损")
    assert refund.status == "succeeded"
    txn.refresh_from_db()
    assert txn.status == "partially_refunded" and txn.refunded_amount == 3_000
    assert refund.customer_txn.type == "refund" and refund.customer_txn.direction == "credit"
    assert refund.merchant_txn.direction == "debit" and refund.customer_txn.status == "succeeded"
    with pytest.raises(RefundExceedsPayment):
        services.refund_create(merchant=merchant, intent_id=intent.public_id, amount=7_001)
    services.refund_create(merchant=merchant, intent_id=intent.public_id)
    txn.refresh_from_db()
    intent.refresh_from_db()
    assert txn.status == "refunded" and txn.refunded_amount == 10_000 and intent.amount_refunded == 10_000
    assert intent.merchant_txn.status == "refunded"
    assert available(funded) == 100_000 and available(merchant.user) == 0
    with pytest.raises(RefundExceedsPayment):
        services.refund_create(merchant=merchant, intent_id=intent.public_id, amount=1)
    assert ledger_check().ok


def test_refund_window_closed(merchant, funded) -> None:
    intent, _ = pay(merchant, funded)
    PaymentIntent.objects.filter(pk=intent.pk).update(succeeded_at=timezone.now() - timedelta(days=31))
    with pytest.raises(RefundWindowClosed):
        services.refund_create(merchant=merchant, intent_id=intent.public_id)


def test_refund_of_unpaid_intent_refused(merchant) -> None:
    intent = services.intent_create(merchant=merchant, amount=1_000)
    with pytest.raises(NotRefundable):
        services.refund_create(merchant=merchant, intent_id=intent.public_id)


def test_refund_pending_then_paid_or_failed(merchant, funded, bob, settings) -> None:
    from okpay.payments.services import topup_create, withdrawal_create

    intent, _ = pay(merchant, funded)
    withdrawal_create(user=merchant.user, amount=10_000)  # the merchant's money left its wallet
    refund = services.refund_create(merchant=merchant, intent_id=intent.public_id, amount=4_000)
    assert refund.status == "pending"
    assert refund.customer_txn.status == "pending" and refund.customer_txn.pending_reason == "awaiting_merchant"
    assert services.refunds_retry_due() == 0
    topup_create(user=merchant.user, amount=5_000)
    assert services.refunds_retry_due() == 1
    refund.refresh_from_db()
    assert refund.status == "succeeded" and available(funded) == 94_000
    # A second one that never finds the money fails after the timeout.
    refund2 = services.refund_create(merchant=merchant, intent_id=intent.public_id, amount=6_000)
    assert refund2.status == "pending"
    Refund.objects.filter(pk=refund2.pk).update(fail_after=timezone.now() - timedelta(seconds=1))
    assert services.refunds_retry_due() == 1
    refund2.refresh_from_db()
    refund2.customer_txn.refresh_from_db()
    assert refund2.status == "failed" and refund2.failure_reason == "merchant_insufficient_funds"
    assert refund2.customer_txn.status == "failed"
    # A failed refund frees its amount again.
    topup_create(user=merchant.user, amount=6_000)
    assert services.refund_create(merchant=merchant, intent_id=intent.public_id, amount=6_000).status == "succeeded"
    assert ledger_check().ok


def test_refund_request_approve_decline_auto(merchant, funded, bob) -> None:
    _intent, txn = pay(merchant, funded)
    req = services.refund_request_create(customer=funded, txn_id=txn.public_id, reason="不想要了", amount=2_000)
    assert req.status == "pending"
    # The customer sees the refund waiting for the merchant's answer.
    waiting = req.refund_txn
    assert (waiting.type, waiting.direction, waiting.status, waiting.pending_reason, waiting.amount) == (
        "refund", "credit", "pending", "awaiting_merchant", 2_000)
    assert waiting.expected_by == req.created_at + timedelta(hours=72)  # OKPAY_REFUND_REQUEST_ANSWER_HOURS
    with pytest.raises(NotFound):
        services.refund_request_create(customer=bob, txn_id=txn.public_id, reason="x")
    with pytest.raises(RefundExceedsPayment):
        services.refund_request_create(customer=funded, txn_id=txn.public_id, reason="x", amount=8_001)
    services.refund_request_approve(merchant=merchant, request_id=req.public_id)
    req.refresh_from_db()
    assert req.status == "approved" and req.refund.status == "succeeded" and available(funded) == 92_000
    waiting.refresh_from_db()
    assert req.refund.customer_txn_id == waiting.pk and waiting.status == "succeeded"
    assert waiting.peer_id == req.refund.merchant_txn_id and waiting.settle_transfer.amount == 2_000
    assert list(waiting.events.values_list("status", "reason")) == [
        ("created", "created"), ("pending", "refund_requested"), ("succeeded", "refunded")]
    with pytest.raises(RequestAlreadyDecided):
        services.refund_request_decline(merchant=merchant, request_id=req.public_id)
    req2 = services.refund_request_create(customer=funded, txn_id=txn.public_id, reason="再退一点", amount=1_000)
    services.refund_request_decline(merchant=merchant, request_id=req2.public_id, reason="已使用")
    req2.refresh_from_db()
    assert req2.status == "declined" and req2.refund is None and available(funded) == 92_000
    assert (req2.refund_txn.status, req2.refund_txn.failure_reason) == ("failed", "refund_declined")
    services.merchant_policy_update(merchant=merchant, refund_window_days=30, auto_approve_up_to=1_500)
    req3 = services.refund_request_create(customer=funded, txn_id=txn.public_id, reason="自动", amount=1_500)
    req3.refresh_from_db()
    assert req3.status == "approved" and req3.auto_approved and available(funded) == 93_500
    assert req3.refund_txn is None and req3.refund.customer_txn.status == "succeeded"  # never waited
    assert ledger_check().ok


def test_refund_request_window_closed(merchant, funded) -> None:
    intent, txn = pay(merchant, funded)
    PaymentIntent.objects.filter(pk=intent.pk).update(succeeded_at=timezone.now() - timedelta(days=31))
    with pytest.raises(RefundWindowClosed):
        services.refund_request_create(customer=funded, txn_id=txn.public_id, reason="late")


def test_refund_request_for_a_transfer_refused(funded, bob) -> None:
    from okpay.payments.services import transfer_create

    txn = transfer_create(sender=funded, to=bob.email, amount=100)
    with pytest.raises(NotRefundable):
        services.refund_request_create(customer=funded, txn_id=txn.public_id, reason="x")


def test_refund_request_approved_while_the_merchant_lacks_money(merchant, funded, bob) -> None:
    """The waiting refund stays pending (now for the merchant's money), then is paid when it arrives."""
    from okpay.payments.services import topup_create, transfer_create

    _intent, txn = pay(merchant, funded)
    req = services.refund_request_create(customer=funded, txn_id=txn.public_id, reason="坏了", amount=4_000)
    transfer_create(sender=merchant.user, to=bob.email, amount=8_000)  # the merchant spent it
    services.refund_request_approve(merchant=merchant, request_id=req.public_id)
    req.refresh_from_db()
    waiting = req.refund_txn
    assert req.refund.status == "pending" and req.refund.customer_txn_id == waiting.pk
    assert (waiting.status, waiting.pending_reason, waiting.expected_by) == (
        "pending", "awaiting_merchant", req.refund.fail_after)
    topup_create(user=merchant.user, amount=2_000)
    assert services.refunds_retry_due() == 1
    waiting.refresh_from_db()
    assert waiting.status == "succeeded" and available(funded) == 94_000
    assert ledger_check().ok

