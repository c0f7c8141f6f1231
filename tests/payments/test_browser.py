"""Chromium: send money to an unregistered email, see it pending, cancel it, see the balance
restored; pay a bill and watch it settle; the wallet home in both languages (screenshots)."""

from __future__ import annotations

import pytest
from django.conf import settings as django_settings
from django.test import Client
from playwright.sync_api import expect

from okpay.payments import services
from okpay.payments.models import Transaction
from tests.conftest import screenshot
from tests.payments.conftest import assert_ledger_ok, available, held

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in(page, live_server, user) -> None:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(user)
    cookie = client.cookies[django_settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies([{"name": django_settings.SESSION_COOKIE_NAME, "value": cookie, "url": live_server.url}])


def test_send_to_unregistered_email_pending_cancel_restored(page, live_server, funded, bob):
    services.transfer_create(sender=funded, to="bob@example.com", amount=12_000, note="电影票")
    services.withdrawal_create(user=funded, amount=5_000)
    sign_in(page, live_server, funded)
    page.goto("/wallet/")
    assert page.get_by_test_id("available-CNY").inner_text() == "¥830.00"
    screenshot(page, "payments-wallet-home-zh")
    page.get_by_role("link", name="转账").first.click()
    page.wait_for_url("**/wallet/send/")
    page.fill("#id_to", "newfriend@example.com")
    page.fill("#id_amount", "88.80")
    page.fill("#id_note", "生日快乐")
    page.get_by_role("button", name="下一步").click()
    assert page.get_by_test_id("recipient-name").inner_text() == "n***@example.com"
    assert "还没有 OKPay 账户" in page.content()
    screenshot(page, "payments-send-confirm-zh")
    page.get_by_role("button", name="转账 ¥88.80").click()
    page.wait_for_url("**/wallet/transactions/txn_*/?done=1")
    assert page.get_by_test_id("txn-status").inner_text() == "待处理"
    assert "为什么待处理" in page.content() and "收款人还没有 OKPay 账户" in page.content()
    assert held(funded) == 5_000 + 8_880
    screenshot(page, "payments-pending-detail-zh")
    # Cancelling asks first: saying no changes nothing; yes cancels and says so.
    asked: list[str] = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    page.get_by_test_id("cancel").click()
    assert asked == ["确定取消这笔 ¥88.80 的付款吗？资金会退回您的钱包。"]
    assert page.get_by_test_id("txn-status").inner_text() == "待处理"
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_test_id("cancel").click()
    expect(page.get_by_test_id("txn-status")).to_have_text("已取消")
    assert "您已取消，资金已解冻" in page.content()
    assert "已取消这笔付款，资金已退回您的钱包。" in page.content()
    page.goto("/wallet/")
    assert page.get_by_test_id("available-CNY").inner_text() == "¥830.00"
    assert page.get_by_test_id("held-CNY").inner_text() == "¥50.00"
    assert available(funded) == 83_000
    txn = Transaction.objects.get(user=funded, recipient_email="newfriend@example.com")
    assert txn.status == "cancelled"
    assert_ledger_ok()


def test_pay_a_bill_and_watch_it_settle(page, live_server, funded, billers, settings):
    settings.OKPAY_BILL_SUBMIT_SECONDS = 0
    settings.OKPAY_BILL_CONFIRM_SECONDS = 0
    sign_in(page, live_server, funded)
    page.goto("/wallet/bills/")
    page.select_option("#id_biller", "state-grid-sh")
    page.fill("#id_account_reference", "1234567897")
    page.fill("#id_amount", "120")
    screenshot(page, "payments-pay-bill-zh")
    page.get_by_role("button", name="缴费").click()
    page.wait_for_url("**/wallet/transactions/txn_*/?done=1")
    assert page.get_by_test_id("txn-status").inner_text() == "待处理"
    assert "缴费机构正在根据您的户号确认" in page.content()
    # The worker's sweep: handed to the biller, then confirmed. The open page refreshes itself.
    services.payments_sweep()
    expect(page.get_by_test_id("txn-status")).to_have_text("成功", timeout=15_000)
    assert "缴费机构已确认" in page.content()
    screenshot(page, "payments-bill-settled-zh")
    assert available(funded) == 100_000 - 12_000 and held(funded) == 0
    assert_ledger_ok()


def test_wallet_home_in_english(page, live_server, funded, bob, billers, settings):
    settings.OKPAY_BILL_SUBMIT_SECONDS = 0
    settings.OKPAY_BILL_CONFIRM_SECONDS = 0
    services.transfer_create(sender=funded, to="bob@example.com", amount=15_000)
    services.bill_payment_create(user=funded, biller="sh-water", account_reference="12345674", amount=6_500)
    services.bill_payment_create(user=funded, biller="china-mobile", account_reference="13800138003", amount=5_000)
    services.payments_sweep()
    services.transfer_create(sender=funded, to="guest@example.com", amount=2_000)
    sign_in(page, live_server, funded)
    page.context.add_cookies([{"name": django_settings.LANGUAGE_COOKIE_NAME, "value": "en", "url": live_server.url}])
    page.goto("/wallet/")
    assert page.get_by_role("heading", name="My wallet").count() == 1
    assert "Spending in the last 30 days" in page.content()
    screenshot(page, "payments-wallet-home-en")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/wallet/")
    screenshot(page, "payments-wallet-home-en-phone")
