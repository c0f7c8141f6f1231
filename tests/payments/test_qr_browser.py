"""Chromium: pay by scanning a receive code from a photo (jsQR: Chromium on Linux has no
BarcodeDetector), pay a shop by scanning its printed store code, refuse a code that is not
OKPay's. Screenshots of the receive code and the scan page at 390 px in both languages."""

from __future__ import annotations

import pytest
from django.conf import settings as django_settings
from playwright.sync_api import expect

from okpay.merchants.models import PaymentIntent
from okpay.merchants.services import merchant_create
from okpay.payments.models import Transaction
from okpay.payments.services import topup_create
from tests.conftest import screenshot
from tests.factories import session_cookie, user_create
from tests.payments.conftest import assert_ledger_ok, available

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _phone(browser, live_server, user, locale: str = "zh-CN"):  # type: ignore[no-untyped-def]
    context = browser.new_context(locale=locale, base_url=live_server.url, viewport={"width": 390, "height": 844},
                                  is_mobile=True, has_touch=True)
    context.add_cookies([{"name": django_settings.SESSION_COOKIE_NAME, "value": session_cookie(user),
                          "url": live_server.url}])
    return context


def _photo(page, url: str, tmp_path, name: str) -> str:  # type: ignore[no-untyped-def]
    """The code as the payer's camera roll would have it: the PNG the payee downloaded."""
    answer = page.request.get(url)
    assert answer.status == 200 and answer.headers["content-type"] == "image/png"
    path = tmp_path / name
    path.write_bytes(answer.body())
    return str(path)


def test_pay_by_scanning_a_receive_code_from_a_photo(browser, live_server, alice, bob, tmp_path) -> None:  # type: ignore[no-untyped-def]
    topup_create(user=alice, amount=100_000)
    payee = _phone(browser, live_server, bob)
    receive = payee.new_page()
    receive.goto("/wallet/")
    receive.get_by_test_id("open-receive").click()
    receive.fill("#receive-amount-input", "20")
    receive.fill("#receive-note-input", "午饭")
    receive.get_by_role("button", name="生成收款码").click()
    expect(receive.get_by_test_id("receive-amount")).to_have_text("¥20.00")
    screenshot(receive, "qr-receive-zh-390")
    photo = _photo(receive, receive.get_by_test_id("receive-png").get_attribute("href"), tmp_path, "receive.png")

    payer = _phone(browser, live_server, alice)
    page = payer.new_page()
    page.goto("/wallet/")
    page.get_by_test_id("open-scan").click()
    page.wait_for_url("**/wallet/scan/")
    screenshot(page, "qr-scan-zh-390")
    page.get_by_test_id("scan-file").set_input_files(photo)
    page.wait_for_url("**/pay/acc_*/?amount=20.00&note=*")
    expect(page.get_by_test_id("payee-name")).to_have_text("B*b")
    expect(page.get_by_test_id("pay-to-amount")).to_have_value("20.00")
    page.get_by_test_id("pay-to-continue").click()
    expect(page.get_by_test_id("recipient-name")).to_have_text("B*b")
    page.get_by_role("button", name="转账 ¥20.00").click()
    page.wait_for_url("**/wallet/transactions/txn_*/?done=1")
    assert available(alice) == 98_000 and available(bob) == 2_000
    txn = Transaction.objects.get(user=alice, type="transfer")
    assert (txn.amount, txn.note, txn.status) == (2_000, "午饭", "succeeded")
    assert_ledger_ok()
    payee.close()
    payer.close()


def test_pay_a_shop_by_scanning_its_store_code(browser, live_server, alice, tmp_path) -> None:  # type: ignore[no-untyped-def]
    topup_create(user=alice, amount=100_000)
    shop = user_create("shop@example.com", name="Shop", role="merchant")
    merchant = merchant_create(user=shop, name="茶叶小店")
    desk = _phone(browser, live_server, shop)
    dashboard = desk.new_page()
    dashboard.goto("/merchant/")
    expect(dashboard.get_by_test_id("store-code")).to_be_visible()
    photo = _photo(dashboard, "/merchant/store-code.png", tmp_path, "store.png")

    payer = _phone(browser, live_server, alice)
    page = payer.new_page()
    page.goto("/wallet/scan/")
    page.get_by_test_id("scan-file").set_input_files(photo)
    page.wait_for_url(f"**/store/{merchant.public_id}/")
    page.get_by_test_id("store-amount").fill("36.80")
    page.get_by_test_id("store-continue").click()
    page.wait_for_url("**/checkout/pi_*/")
    expect(page.get_by_test_id("checkout-merchant")).to_have_text("茶叶小店")
    expect(page.get_by_test_id("checkout-amount")).to_have_text("¥36.80")
    page.get_by_test_id("checkout-pay").click()
    expect(page.get_by_test_id("checkout-status")).to_be_visible()
    intent = PaymentIntent.objects.get()
    assert (intent.amount, intent.status) == (3_680, "succeeded")
    assert available(alice) == 100_000 - 3_680
    assert_ledger_ok()
    desk.close()
    payer.close()


def test_a_code_that_is_not_okpays_is_refused(browser, live_server, alice, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from okpay.core import qr

    path = tmp_path / "phish.png"
    path.write_bytes(qr.png("https://okpay-refund.example/pay/acc_1/"))
    context = _phone(browser, live_server, alice, locale="en-US")
    page = context.new_page()
    page.goto("/wallet/scan/")
    page.get_by_test_id("scan-file").set_input_files(str(path))
    expect(page.get_by_test_id("scan-status")).to_contain_text("This is not an OKPay payment code")
    assert page.url.endswith("/wallet/scan/")
    screenshot(page, "qr-scan-en-390")
    page.goto("/wallet/receive/")
    screenshot(page, "qr-receive-en-390")
    context.close()


def test_till_code_for_one_payment_follows_it_until_paid(browser, live_server, alice, tmp_path) -> None:  # type: ignore[no-untyped-def]
    topup_create(user=alice, amount=100_000)
    shop = user_create("shop@example.com", name="Shop", role="merchant")
    merchant_create(user=shop, name="茶叶小店")
    desk = browser.new_context(locale="zh-CN", base_url=live_server.url, viewport={"width": 1280, "height": 900})
    desk.add_cookies([{"name": django_settings.SESSION_COOKIE_NAME, "value": session_cookie(shop),
                       "url": live_server.url}])
    till = desk.new_page()
    till.goto("/merchant/")
    till.locator("#store-code").scroll_into_view_if_needed()
    screenshot(till, "qr-merchant-dashboard-zh-1280")
    till.fill("#till-amount", "88")
    till.fill("#till-description", "龙井")
    till.get_by_role("button", name="显示付款码").click()
    till.wait_for_url("**/merchant/till/pi_*/")
    expect(till.get_by_test_id("till-amount")).to_have_text("¥88.00")
    screenshot(till, "qr-till-zh-1280")
    # the customer scans the screen (here: the code's link, as the camera would read it)
    link = till.locator("#till-body code").inner_text()
    payer = _phone(browser, live_server, alice)
    page = payer.new_page()
    page.goto(link.replace(live_server.url, ""))
    expect(page.get_by_test_id("checkout-amount")).to_have_text("¥88.00")
    screenshot(page, "qr-till-checkout-zh-390")
    page.get_by_test_id("checkout-pay").click()
    expect(page.get_by_test_id("checkout-status")).to_be_visible()
    expect(till.get_by_test_id("till-status")).to_have_text("成功", timeout=15_000)  # the till page follows it
    assert available(alice) == 100_000 - 8_800
    desk.close()
    payer.close()
