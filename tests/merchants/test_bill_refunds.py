"""Refund requests of bill payments go to the (sandbox) biller, which answers from the worker."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from okpay.core.errors import NotFound
from okpay.identity.models import OutboundEmail
from okpay.ledger.checks import ledger_check
from okpay.merchants import services
from okpay.merchants.bill_refunds import bill_refund_requests_decide_due
from okpay.merchants.errors import NotRefundable, RefundExceedsPayment, RefundWindowClosed
from okpay.merchants.models import RefundRequest
from okpay.payments.billers import billers_seed
from okpay.payments.models import Biller, Transaction
from okpay.payments.services import bill_payment_create, biller_account, payments_sweep
from tests.merchants.conftest import available

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _bills(settings):  # type: ignore[no-untyped-def]
    billers_seed()
    settings.OKPAY_BILL_SUBMIT_SECONDS = 0
    settings.OKPAY_BILL_CONFIRM_SECONDS = 0
    settings.OKPAY_BILL_REFUND_DECIDE_SECONDS = 3600


def paid_bill(user, biller="state-grid-sh", reference="1234567897", amount=8_800) -> Transaction:  # type: ignore[no-untyped-def]
    txn = bill_payment_create(user=user, biller=biller, account_reference=reference, amount=amount)
    payments_sweep()  # submitted, then confirmed by the sandbox biller
    txn.refresh_from_db()
    assert txn.status == "succeeded"
    return txn


def biller_balance(code: str) -> int:
    account = biller_account(Biller.objects.get(code=code))
    return account.credits_posted - account.debits_posted


def make_due(request: RefundRequest) -> None:
    RefundRequest.objects.filter(pk=request.pk).update(decide_after=timezone.now() - timedelta(seconds=1))


def emails_to(user) -> list[OutboundEmail]:  # type: ignore[no-untyped-def]
    return [e for e in OutboundEmail.objects.order_by("id") if user.email in e.to]


def test_biller_approves_partial_then_full(funded, bob) -> None:
    bill = paid_bill(funded)
    assert biller_balance("state-grid-sh") == 8_800 and available(funded) == 91_200
    req = services.refund_request_create(customer=funded, txn_id=bill.public_id, reason="重复缴费", amount=3_000)
    refund_txn = req.refund_txn
    assert (req.status, req.intent, req.bill_txn) == ("pending", None, bill)
    assert (refund_txn.type, refund_txn.direction, refund_txn.status, refund_txn.pending_reason) == (
        "refund", "credit", "pending", "awaiting_merchant")
    assert refund_txn.expected_by == req.decide_after and refund_txn.amount == 3_000
    # Someone else's payment is not there; the pending request counts against what is left.
    with pytest.raises(NotFound):
        services.refund_request_create(customer=bob, txn_id=bill.public_id, reason="x")
    with pytest.raises(RefundExceedsPayment):
        services.refund_request_create(customer=funded, txn_id=bill.public_id, reason="x", amount=5_801)
    # Not due yet: the biller has not answered.
    assert bill_refund_requests_decide_due() == 0
    make_due(req)
    assert services.merchant_sweep() == 1
    assert bill_refund_requests_decide_due() == 0  # answered once only
    req.refresh_from_db()
    refund_txn.refresh_from_db()
    bill.refresh_from_db()
    assert req.status == "approved" and req.decided_at is not None
    assert refund_txn.status == "succeeded" and refund_txn.settle_transfer.amount == 3_000
    assert (bill.status, bill.refunded_amount) == ("partially_refunded", 3_000)
    assert available(funded) == 94_200 and biller_balance("state-grid-sh") == 5_800
    approved = emails_to(funded)[-1]
    assert approved.subject == "OKPay · 退款已批准：¥30.00"
    assert "国网上海电力" in approved.body_text and funded.anti_phishing_code in approved.body_text
    # The rest (no amount = all that is left), answered at once.
    rest = services.refund_request_create(customer=funded, txn_id=bill.public_id, reason="多缴")
    assert rest.amount == 5_800
    make_due(rest)
    services.merchant_sweep()
    bill.refresh_from_db()
    assert (bill.status, bill.refunded_amount) == ("refunded", 8_800)
    assert available(funded) == 100_000 and biller_balance("state-grid-sh") == 0
    with pytest.raises(NotRefundable):
        services.refund_request_create(customer=funded, txn_id=bill.public_id, reason="again")
    events = list(bill.events.values_list("status", "reason"))
    assert events[-2:] == [("partially_refunded", "refund"), ("refunded", "refund")]
    assert ledger_check().violations == []


def test_mobile_biller_declines_with_reason_and_support_link(funded, settings) -> None:
    funded.locale = "en"
    funded.save(update_fields=["locale"])
    bill = paid_bill(funded, biller="china-mobile", reference="13800138003", amount=5_000)
    req = services.refund_request_create(customer=funded, txn_id=bill.public_id, reason="充错号码")
    assert req.amount == 5_000
    before = (available(funded), biller_balance("china-mobile"))
    make_due(req)
    services.merchant_sweep()
    req.refresh_from_db()
    bill.refresh_from_db()
    refund_txn = Transaction.objects.get(pk=req.refund_txn_id)
    assert (req.status, req.decline_reason) == ("declined", "top_up_delivered")
    assert (refund_txn.status, refund_txn.failure_reason, refund_txn.settle_transfer) == (
        "failed", "refund_declined", None)
    assert (bill.status, bill.refunded_amount) == ("succeeded", 0)
    assert (available(funded), biller_balance("china-mobile")) == before
    mail = emails_to(funded)[-1]
    assert mail.subject == "OKPay · Refund request declined: ¥50.00"
    assert "already credited to the phone number" in mail.body_text
    assert f"transaction={bill.public_id}" in mail.body_text
    # The request page shows the reason and "contact customer service" with the transaction attached.
    client = Client()
    client.force_login(funded)
    page = client.get(f"/wallet/transactions/{bill.public_id}/refund-request/").content.decode()
    assert "话费已充值到该手机号，无法退回。" in page  # the page speaks the browser's language (zh-Hans here)
    assert f"transaction={bill.public_id}" in page and 'data-testid="contact-support"' in page
    # The chat assistant tells it too.
    from okpay.chat.assistant import refund_requests

    (line,) = refund_requests(funded, "en")
    assert bill.public_id in line and "China Mobile" not in line and "中国移动话费充值" in line
    assert ledger_check().violations == []


def test_only_confirmed_bills_within_the_window(funded, settings) -> None:
    pending = bill_payment_create(user=funded, biller="state-grid-sh", account_reference="1234567897", amount=1_000)
    with pytest.raises(NotRefundable):  # not confirmed yet
        services.refund_request_create(customer=funded, txn_id=pending.public_id, reason="x")
    bad = bill_payment_create(user=funded, biller="sh-water", account_reference="12345670", amount=1_200)
    payments_sweep()
    bad.refresh_from_db()
    assert bad.status == "failed"
    with pytest.raises(NotRefundable):  # rejected by the biller: the money is already back
        services.refund_request_create(customer=funded, txn_id=bad.public_id, reason="x")
    pending.refresh_from_db()
    settings.OKPAY_BILL_REFUND_WINDOW_DAYS = 0
    with pytest.raises(RefundWindowClosed):
        services.refund_request_create(customer=funded, txn_id=pending.public_id, reason="x")
    assert not RefundRequest.objects.exists() and not Transaction.objects.filter(type="refund").exists()
    assert ledger_check().violations == []


def test_bill_refund_request_over_api(funded, api_client, mallory) -> None:
    bill = paid_bill(funded)
    customer = api_client(funded)
    url = f"/api/v1/transactions/{bill.public_id}/refund-requests"
    assert api_client(mallory).post(url, {"reason": "x"}, content_type="application/json").status_code == 404
    created = customer.post(url, {"reason": "重复缴费", "amount": 1_000}, content_type="application/json")
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["payment_intent"], body["transaction"], body["biller"], body["merchant"]) == (
        None, bill.public_id, "state-grid-sh", "国网上海电力")
    assert body["status"] == "pending" and body["refund_status"] == "pending" and body["expected_by"]
    refund = customer.get(f"/api/v1/transactions/{body['refund_transaction']}").json()
    assert (refund["type"], refund["status"], refund["pending_reason"]) == ("refund", "pending", "awaiting_merchant")
    too_much = customer.post(url, {"reason": "x", "amount": 7_801}, content_type="application/json")
    assert too_much.status_code == 422 and too_much.json()["error"]["code"] == "refund_exceeds_payment"
    make_due(RefundRequest.objects.get(public_id=body["id"]))
    services.merchant_sweep()
    listed = customer.get(url).json()["data"]
    assert [(r["id"], r["status"], r["refund_status"]) for r in listed] == [(body["id"], "approved", "succeeded")]
    assert ledger_check().violations == []


def test_transaction_page_offers_a_refund_with_the_policy(merchant, funded, bob) -> None:
    from okpay.payments.services import transfer_create

    client = Client()
    client.force_login(funded)
    services.merchant_policy_update(merchant=merchant, refund_window_days=14, auto_approve_up_to=2_000)
    intent = services.intent_create(merchant=merchant, amount=5_000, description="龙井")
    paid = services.intent_confirm(intent_id=intent.public_id, customer=funded)
    page = client.get(f"/wallet/transactions/{paid.public_id}/").content.decode()
    assert 'data-testid="ask-refund"' in page
    assert f'href="/wallet/transactions/{paid.public_id}/refund-request/"' in page
    assert "付款后 14 天内可退款。" in page and "¥20.00 以内的申请立即批准。" in page
    bill = paid_bill(funded)
    page = client.get(f"/wallet/transactions/{bill.public_id}/").content.decode()
    assert 'data-testid="ask-refund"' in page and "缴费机构约在 60 分钟内答复" in page
    # A transfer, or a bill payment still waiting for the biller, offers nothing.
    transfer = transfer_create(sender=funded, to=bob.email, amount=100)
    waiting = bill_payment_create(user=funded, biller="sh-water", account_reference="12345674", amount=1_000)
    for txn in (transfer, waiting):
        assert 'data-testid="refund-offer"' not in client.get(f"/wallet/transactions/{txn.public_id}/").content.decode()
    # Once the window has closed (and nothing was asked), the page says so and points to support.
    from okpay.merchants.models import PaymentIntent

    PaymentIntent.objects.filter(pk=intent.pk).update(succeeded_at=timezone.now() - timedelta(days=15))
    page = client.get(f"/wallet/transactions/{paid.public_id}/").content.decode()
    assert 'data-testid="ask-refund"' not in page and "退款期限已过。" in page
    # The pending refund of a bill request explains itself (awaiting_merchant).
    req = services.refund_request_create(customer=funded, txn_id=bill.public_id, reason="重复缴费", amount=800)
    page = client.get(f"/wallet/transactions/{req.refund_txn.public_id}/").content.decode()
    assert "等待商户或缴费机构" in page and "这笔退款正在等待商户或缴费机构" in page
    assert "您无需操作" in page and 'data-testid="cancel"' not in page
    page = client.get(f"/wallet/transactions/{bill.public_id}/").content.decode()
    assert 'data-testid="refund-requests"' in page
