"""Chromium: the demo shop purchase end to end (shop → hosted checkout → sign in → pay → order
paid), then the customer's refund request approved by the merchant on the dashboard and the
money back in the customer's wallet; screenshots of each step; the ledger checks after it all."""

from __future__ import annotations

import pytest
from django.conf import settings as django_settings
from django.test import Client

from okpay.ledger.checks import ledger_check
from okpay.merchants.demo import merchants_demo
from okpay.merchants.models import Merchant, PaymentIntent, RefundRequest
from tests.conftest import screenshot
from tests.factories import PASSWORD, user_create
from tests.merchants.conftest import available

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in_as(page, live_server, user) -> None:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(user)
    cookie = client.cookies[django_settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies([{"name": django_settings.SESSION_COOKIE_NAME, "value": cookie, "url": live_server.url}])


def test_demo_shop_purchase_then_refund_request_approved(page, browser, live_server, funded) -> None:
    user_create("shop@okpay.example", name="Demo Shop", role="merchant")
    merchants_demo()
    merchant = Merchant.objects.get()
    Merchant.objects.filter(pk=merchant.pk).update(auto_approve_up_to=None)  # the merchant decides

    page.goto("/demo-shop/")
    screenshot(page, "merchants-1-demo-shop")
    page.get_by_test_id("buy-mug").click()
    # The checkout shows the merchant and the amount before sign-in, and signs in on the page itself.
    page.wait_for_url("**/checkout/pi_*/")
    assert page.get_by_test_id("checkout-merchant").inner_text() == "OKPay 演示茶铺"
    assert page.get_by_test_id("checkout-amount").inner_text() == "¥128.00"
    assert page.locator(".site-header").count() == 0 and page.locator("[data-chat-launcher]").count() == 0
    screenshot(page, "merchants-2a-checkout-signed-out")
    page.get_by_label("邮箱地址").fill(funded.email)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_test_id("checkout-signin-submit").click()
    page.wait_for_url("**/checkout/pi_*/")
    assert page.get_by_test_id("checkout-amount").inner_text() == "¥128.00"
    screenshot(page, "merchants-2-checkout")
    page.get_by_test_id("checkout-pay").click()
    page.wait_for_url("**/checkout/pi_*/done/")
    screenshot(page, "merchants-3-paid")
    page.get_by_test_id("checkout-return").click()
    page.wait_for_url("**/demo-shop/orders/pi_*/")
    assert page.get_by_test_id("order-status").is_visible()
    screenshot(page, "merchants-4-order-paid")
    intent = PaymentIntent.objects.get()
    assert intent.status == "succeeded" and available(funded) == 100_000 - 12_800

    # The transaction page offers the refund, with the merchant's policy.
    page.goto(f"/wallet/transactions/{intent.customer_txn.public_id}/")
    assert "商家会审核每一笔申请。" in page.get_by_test_id("refund-offer").inner_text()
    screenshot(page, "merchants-5a-transaction-refund-offer")
    page.get_by_test_id("ask-refund").click()
    page.wait_for_url("**/refund-request/")
    page.fill("#amount", "28.00")
    page.fill("#reason", "杯子有裂纹")
    page.get_by_test_id("refund-request-submit").click()
    page.wait_for_selector("[data-testid=refund-request-status]")
    assert "预计" in page.get_by_test_id("refund-request-status").inner_text()  # the expected answer time
    assert page.get_attribute("#amount", "placeholder") == "¥100.00"  # what is left to ask for
    screenshot(page, "merchants-5-refund-requested")
    req = RefundRequest.objects.get()
    assert req.status == "pending" and req.amount == 2_800

    shop_context = browser.new_context(locale="zh-CN", base_url=live_server.url,
                                       viewport={"width": 1280, "height": 900})
    shop_page = shop_context.new_page()
    sign_in_as(shop_page, live_server, merchant.user)
    shop_page.goto("/merchant/")
    screenshot(shop_page, "merchants-6-dashboard-request")
    shop_page.get_by_test_id(f"approve-{req.public_id}").click()
    shop_page.wait_for_url("**/merchant/")
    screenshot(shop_page, "merchants-7-dashboard-approved")
    shop_context.close()

    req.refresh_from_db()
    assert req.status == "approved" and req.refund.status == "succeeded"
    assert available(funded) == 100_000 - 12_800 + 2_800
    page.reload()
    screenshot(page, "merchants-8-refund-approved")
    page.goto("/wallet/")
    assert page.get_by_test_id("available-CNY").inner_text() == "¥900.00"
    screenshot(page, "merchants-9-wallet")
    assert ledger_check().ok


def test_bill_payment_refund_request_answered_by_the_biller(page, live_server, funded, settings) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from okpay.merchants.services import merchant_sweep
    from okpay.payments.billers import billers_seed
    from okpay.payments.services import bill_payment_create, payments_sweep

    settings.OKPAY_BILL_SUBMIT_SECONDS = settings.OKPAY_BILL_CONFIRM_SECONDS = 0
    billers_seed()
    bill = bill_payment_create(user=funded, biller="state-grid-sh", account_reference="1234567897", amount=8_800)
    top_up = bill_payment_create(user=funded, biller="china-mobile", account_reference="13800138003", amount=5_000)
    payments_sweep()
    sign_in_as(page, live_server, funded)

    page.goto(f"/wallet/transactions/{bill.public_id}/")
    assert "缴费机构约在 60 分钟内答复" in page.get_by_test_id("refund-offer").inner_text()
    screenshot(page, "merchants-bill-1-refund-offer")
    page.get_by_test_id("ask-refund").click()
    page.wait_for_url("**/refund-request/")
    page.fill("#amount", "30.00")
    page.fill("#reason", "重复缴费")
    page.get_by_test_id("refund-request-submit").click()
    page.wait_for_selector("[data-testid=refund-request-status]")
    assert "等待缴费机构" in page.get_by_test_id("refund-request-status").inner_text()
    screenshot(page, "merchants-bill-2-requested")
    req = RefundRequest.objects.get()
    page.goto(f"/wallet/transactions/{req.refund_txn.public_id}/")
    assert page.get_by_test_id("txn-status").inner_text() == "待处理"
    screenshot(page, "merchants-bill-3-refund-pending")

    RefundRequest.objects.update(decide_after=timezone.now() - timedelta(seconds=1))
    merchant_sweep()
    page.goto(f"/wallet/transactions/{bill.public_id}/refund-request/")
    assert "已批准" in page.get_by_test_id("refund-request-status").inner_text()
    screenshot(page, "merchants-bill-4-approved")
    assert available(funded) == 100_000 - 8_800 - 5_000 + 3_000

    page.goto(f"/wallet/transactions/{top_up.public_id}/refund-request/")
    page.fill("#reason", "充错号码")
    page.get_by_test_id("refund-request-submit").click()
    page.wait_for_selector("[data-testid=refund-request-status]")
    RefundRequest.objects.filter(status="pending").update(decide_after=timezone.now() - timedelta(seconds=1))
    merchant_sweep()
    page.reload()
    assert page.get_by_test_id("decline-reason").inner_text() == "话费已充值到该手机号，无法退回。"
    assert f"transaction={top_up.public_id}" in page.get_by_test_id("contact-support").get_attribute("href")
    screenshot(page, "merchants-bill-5-declined")
    assert available(funded) == 100_000 - 8_800 - 5_000 + 3_000
    assert ledger_check().ok


def test_demo_shop_order_page_follows_the_payment_with_the_publishable_key(page, funded) -> None:
    """The order page polls the intent's public status from the browser (pk_… + client secret)."""
    from playwright.sync_api import expect

    from okpay.merchants import services
    from okpay.merchants.models import ApiKey

    user_create("shop@okpay.example", name="Demo Shop", role="merchant")
    merchants_demo()
    merchant = Merchant.objects.get()
    intent = services.intent_create(merchant=merchant, amount=8_800, description="西湖龙井 250 g")
    page.goto(f"/demo-shop/orders/{intent.public_id}/")
    status = page.get_by_test_id("order-status")
    expect(status).to_have_text("尚未付款。")
    services.intent_confirm(intent_id=intent.public_id, customer=funded)  # paid elsewhere (another tab, the app)
    expect(status).to_have_text("已付款，感谢您的订购！", timeout=10_000)
    screenshot(page, "merchants-order-status-by-publishable-key")
    key = ApiKey.objects.get(merchant=merchant, kind="publishable", revoked_at__isnull=True)
    assert key.last_used_at is not None  # the browser used it
    assert ledger_check().ok
