from __future__ import annotations

import pytest
from django.test import Client

from okpay.merchants import services
from okpay.merchants.models import Merchant, PaymentIntent, RefundRequest
from tests.factories import user_create
from tests.merchants.conftest import available

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_shop(db):  # type: ignore[no-untyped-def]
    from okpay.merchants.demo import merchants_demo

    user_create("shop@okpay.example", name="Demo Shop", role="merchant")
    merchants_demo()
    return Merchant.objects.get()


def form_key(html: str) -> str:
    import re

    found = re.search(r'name="idempotency_key" value="([^"]+)"', html)
    assert found, "the form carries a hidden idempotency key"
    return found.group(1)


def test_demo_shop_checkout_refund_request_dashboard(demo_shop, funded) -> None:
    customer = Client()
    customer.force_login(funded)
    assert "OKPay 演示茶铺" in customer.get("/demo-shop/").content.decode()
    bought = customer.post("/demo-shop/buy/", {"product": "tea"})
    intent = PaymentIntent.objects.get()
    assert bought.status_code == 302 and bought["Location"] == f"/checkout/{intent.public_id}/"
    page = customer.get(bought["Location"]).content.decode()
    assert "OKPay 演示茶铺" in page and "88.00" in page
    paid = customer.post(f"/checkout/{intent.public_id}/", {"idempotency_key": form_key(page)})
    assert paid.status_code == 302
    intent.refresh_from_db()
    assert intent.status == "succeeded" and available(funded) == 100_000 - 8_800
    assert customer.get(paid["Location"]).status_code == 200
    assert customer.get(f"/demo-shop/orders/{intent.public_id}/").content.decode().count('data-testid="order-status"')
    # Ask for a refund above the auto-approve limit: the merchant decides on the dashboard.
    url = f"/wallet/transactions/{intent.customer_txn.public_id}/refund-request/"
    assert customer.get(url).status_code == 200
    assert customer.post(url, {"amount": "88.00", "reason": "茶叶受潮"}).status_code == 302
    req = RefundRequest.objects.get()
    assert req.status == "pending" and req.amount == 8_800
    merchant = Client()
    merchant.force_login(demo_shop.user)
    board = merchant.get("/merchant/")
    assert board.status_code == 200 and req.public_id in board.content.decode()
    merchant.post(f"/merchant/refund-requests/{req.public_id}/approve/")
    req.refresh_from_db()
    assert req.status == "approved" and available(funded) == 100_000
    assert "已批准" in customer.get(url).content.decode() or "Approved" in customer.get(url).content.decode()
    svg = merchant.get("/merchant/sales.svg")
    assert svg["Content-Type"] == "image/svg+xml" and b"<rect" in svg.content
    csv = merchant.get("/merchant/export.csv").content.decode()
    assert csv.splitlines()[1].startswith(f"{intent.public_id},") and ",succeeded,8800,8800,8800,CNY," in csv
    # Keys from the dashboard: shown once.
    merchant.post("/merchant/keys/", {"name": "server"})
    shown = merchant.get("/merchant/").content.decode()
    assert 'data-testid="new-key"' in shown
    assert 'data-testid="new-key"' not in merchant.get("/merchant/").content.decode()


def test_declined_request_offers_support(demo_shop, funded) -> None:
    intent = services.intent_create(merchant=demo_shop, amount=9_000)
    txn = services.intent_confirm(intent_id=intent.public_id, customer=funded)
    req = services.refund_request_create(customer=funded, txn_id=txn.public_id, reason="x")
    services.refund_request_decline(merchant=demo_shop, request_id=req.public_id, reason="已拆封")
    customer = Client()
    customer.force_login(funded)
    page = customer.get(f"/wallet/transactions/{txn.public_id}/refund-request/").content.decode()
    assert f"/support/new/?category=payment&amp;transaction={txn.public_id}" in page and "已拆封" in page


def test_pages_refuse_others(demo_shop, funded, bob) -> None:
    intent = services.intent_create(merchant=demo_shop, amount=100)
    txn = services.intent_confirm(intent_id=intent.public_id, customer=funded)
    other = Client()
    other.force_login(bob)
    assert other.get(f"/checkout/{intent.public_id}/").status_code == 404
    assert other.get(f"/wallet/transactions/{txn.public_id}/refund-request/").status_code == 404
    assert other.get("/merchant/").status_code == 404
    assert Client().get(f"/checkout/{intent.public_id}/").status_code == 302  # to the sign-in page


def test_checkout_asks_for_2fa_above_the_step_up_amount(demo_shop, funded, settings) -> None:
    from django_otp.oath import totp
    from django_otp.plugins.otp_totp.models import TOTPDevice

    settings.OKPAY_STEP_UP_AMOUNT = 1_000
    device = TOTPDevice.objects.create(user=funded, name="phone", confirmed=True)
    intent = services.intent_create(merchant=demo_shop, amount=5_000, description="礼盒")
    customer = Client()
    customer.force_login(funded)
    page = customer.get(f"/checkout/{intent.public_id}/").content.decode()
    assert 'name="otp_code"' in page
    refused = customer.post(f"/checkout/{intent.public_id}/", {"idempotency_key": form_key(page)})
    assert refused.status_code == 401 and 'data-testid="checkout-error"' in refused.content.decode()
    wrong = customer.post(f"/checkout/{intent.public_id}/", {"otp_code": "000000", "idempotency_key": "k-wrong"})
    assert wrong.status_code == 401
    intent.refresh_from_db()
    assert intent.status == "requires_confirmation" and available(funded) == 100_000
    code = f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"
    paid = customer.post(f"/checkout/{intent.public_id}/", {"otp_code": code, "idempotency_key": "k-ok"})
    assert paid.status_code == 302
    intent.refresh_from_db()
    assert intent.status == "succeeded" and available(funded) == 95_000


def test_policy_form(demo_shop) -> None:
    merchant = Client()
    merchant.force_login(demo_shop.user)
    merchant.post("/merchant/policy/", {"refund_window_days": "7", "auto_approve_up_to": ""})
    demo_shop.refresh_from_db()
    assert demo_shop.refund_window_days == 7 and demo_shop.auto_approve_up_to is None
    merchant.post("/merchant/policy/", {"refund_window_days": "10", "auto_approve_up_to": "¥20.50"})
    demo_shop.refresh_from_db()
    assert demo_shop.refund_window_days == 10 and demo_shop.auto_approve_up_to == 2_050
    merchant.post("/merchant/policy/", {"refund_window_days": "-1", "auto_approve_up_to": ""})
    demo_shop.refresh_from_db()
    assert demo_shop.refund_window_days == 10
    assert merchant.get("/merchant/").status_code == 200


def test_endpoint_actions_on_dashboard(demo_shop, settings) -> None:
    settings.OKPAY_WEBHOOK_ALLOW_PRIVATE = True
    endpoint = services.webhook_endpoint_create(merchant=demo_shop, url="http://127.0.0.1:9/h", events=["*"])
    old_secret = endpoint.secret
    merchant = Client()
    merchant.force_login(demo_shop.user)
    merchant.post(f"/merchant/webhooks/{endpoint.public_id}/disable/")
    endpoint.refresh_from_db()
    assert not endpoint.enabled and endpoint.disabled_reason == "by_merchant"
    merchant.post(f"/merchant/webhooks/{endpoint.public_id}/enable/")
    merchant.post(f"/merchant/webhooks/{endpoint.public_id}/rotate/")
    endpoint.refresh_from_db()
    assert endpoint.enabled and endpoint.secret != old_secret
    assert endpoint.secret in merchant.get("/merchant/").content.decode()
