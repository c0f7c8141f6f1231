"""Emails about refund requests: to the merchant when asked, to the customer when answered."""

from __future__ import annotations

import pytest

from okpay.identity.models import OutboundEmail, User
from okpay.merchants import services
from okpay.payments.models import Notification

pytestmark = pytest.mark.django_db


def mails_to(user: User) -> list[OutboundEmail]:
    return [e for e in OutboundEmail.objects.order_by("id") if user.email in e.to]


def test_request_emails_both_languages(merchant, funded) -> None:
    shop = merchant.user
    shop.locale = "en"
    shop.save(update_fields=["locale"])
    intent = services.intent_create(merchant=merchant, amount=10_000, description="龙井")
    txn = services.intent_confirm(intent_id=intent.public_id, customer=funded)
    req = services.refund_request_create(customer=funded, txn_id=txn.public_id, reason="不想要了", amount=2_000)
    (to_merchant,) = mails_to(shop)
    assert to_merchant.subject == "OKPay · New refund request: ¥20.00"
    assert "Their reason: 不想要了" in to_merchant.body_text and req.public_id in to_merchant.body_text
    assert "Approve or decline it in the merchant dashboard" in to_merchant.body_text
    assert shop.anti_phishing_code in to_merchant.body_text
    services.refund_request_decline(merchant=merchant, request_id=req.public_id, reason="已拆封")
    declined = mails_to(funded)[-1]
    assert declined.subject == "OKPay · 退款申请被拒绝：¥20.00"  # the customer reads Chinese
    assert "茶叶小店 拒绝了您 ¥20.00 的退款申请。" in declined.body_text and "原因：已拆封" in declined.body_text
    assert f"transaction={txn.public_id}" in declined.body_text and funded.anti_phishing_code in declined.body_text
    req2 = services.refund_request_create(customer=funded, txn_id=txn.public_id, reason="尺寸不对", amount=3_000)
    services.refund_request_approve(merchant=merchant, request_id=req2.public_id)
    approved = mails_to(funded)[-1]
    assert approved.subject == "OKPay · 退款已批准：¥30.00"
    assert "款项已退回您的钱包。" in approved.body_text
    # The refund's own notice stays in the app, and is not emailed a second time.
    notices = Notification.objects.filter(transaction__user=funded, transaction__type="refund").order_by("id")
    assert [(n.kind, n.emailed_at is not None) for n in notices] == [("failed", True), ("settled", True)]
    # A policy approval: the merchant is told it was approved at once, the customer that it was approved.
    services.merchant_policy_update(merchant=merchant, refund_window_days=30, auto_approve_up_to=5_000)
    services.refund_request_create(customer=funded, txn_id=txn.public_id, reason="自动", amount=1_000)
    assert "Your refund policy approved it at once" in mails_to(shop)[-1].body_text
    assert mails_to(funded)[-1].subject == "OKPay · 退款已批准：¥10.00"
