"""Chromium, issue 17: step-up by a code sent by SMS (read from the SMS outbox); a double-clicked
merchant refund refunds once; the pay-again form in both languages at 390 and 1280 px (screenshots)."""

from __future__ import annotations

import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from okpay.identity.models import OutboundSms
from okpay.merchants import services as merchants
from okpay.merchants.models import Refund
from okpay.payments import services
from okpay.payments.models import Transaction
from tests.conftest import screenshot
from tests.payments.conftest import assert_ledger_ok, available
from tests.payments.test_browser import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_large_transfer_is_confirmed_with_the_code_sent_by_sms(page, live_server, funded, bob):
    services.topup_create(user=funded, amount=200_000)
    funded.phone, funded.phone_verified_at = "+8613800138000", timezone.now()
    funded.save(update_fields=["phone", "phone_verified_at"])
    sign_in(page, live_server, funded)
    page.goto("/wallet/send/")
    page.fill("#id_to", bob.email)
    page.fill("#id_amount", "1500")
    page.get_by_role("button", name="下一步").click()
    expect(page.get_by_test_id("step-up-sent")).to_contain_text("+86****8000")
    screenshot(page, "step-up-sms-confirm-zh")
    sms = OutboundSms.objects.get(to="+8613800138000")
    code = re.search(r"(\d{6})", sms.body).group(1)  # type: ignore[union-attr]
    page.fill("#id_otp_code", "000000" if code != "000000" else "111111")
    page.get_by_role("button", name="转账 ¥1,500.00").click()
    expect(page.locator(".field-error, .alert-bad").first).to_be_visible()
    assert not Transaction.objects.filter(user=funded, type="transfer").exists()
    page.fill("#id_otp_code", code)
    page.get_by_role("button", name="转账 ¥1,500.00").click()
    page.wait_for_url("**/wallet/transactions/txn_*/?done=1")
    assert Transaction.objects.filter(user=funded, type="transfer").count() == 1
    assert available(bob) == 150_000
    assert_ledger_ok()


def test_a_double_clicked_merchant_refund_refunds_once(page, live_server, funded, shop):
    merchant = merchants.merchant_create(user=shop, name="茶叶小店", refund_window_days=30)
    intent = merchants.intent_create(merchant=merchant, amount=5_000, description="龙井")
    merchants.intent_confirm(intent_id=intent.public_id, customer=funded)
    sign_in(page, live_server, shop)
    page.goto("/merchant/")
    page.get_by_test_id(f"refund-{intent.public_id}").click()  # the payment's own refund button
    form = page.locator("form.refund-form").filter(has=page.get_by_test_id(f"refund-submit-{intent.public_id}"))
    form.locator("input[name=amount]").fill("10.00")
    # The same rendered form sent twice at once (a double click, two tabs), then the button itself.
    statuses = form.evaluate("""async f => {
        const send = () => fetch(f.action, {method: "POST", body: new URLSearchParams(new FormData(f)),
                                            redirect: "manual"});
        const answers = await Promise.all([send(), send()]);
        return answers.map(a => a.type);
    }""")
    assert len(statuses) == 2
    page.once("dialog", lambda dialog: dialog.accept())  # money buttons ask first (data-confirm)
    form.get_by_role("button").click()
    page.wait_for_url("**/merchant/")
    screenshot(page, "merchant-refund-double-submit-zh")
    assert Refund.objects.count() == 1
    assert available(funded) == 100_000 - 5_000 + 1_000
    assert_ledger_ok()


@pytest.mark.parametrize("lang", ["zh-hans", "en"])
def test_pay_again_form_screenshots(page, live_server, funded, billers, settings, lang):
    settings.OKPAY_BILL_SUBMIT_SECONDS = 0
    settings.OKPAY_BILL_CONFIRM_SECONDS = 0
    funded.locale = lang
    funded.save(update_fields=["locale"])
    failed = services.bill_payment_create(user=funded, biller="sh-water", account_reference="12345670", amount=1_200)
    services.payments_sweep()
    failed.refresh_from_db()
    assert failed.status == "failed"
    sign_in(page, live_server, funded)
    from django.conf import settings as django_settings

    page.context.add_cookies([{"name": django_settings.LANGUAGE_COOKIE_NAME, "value": lang, "url": live_server.url}])
    page.context.set_extra_http_headers({"Accept-Language": "en" if lang == "en" else "zh-CN"})
    page.goto(f"/wallet/transactions/{failed.public_id}/")
    page.get_by_test_id("pay-again").click()
    page.wait_for_url(f"**/wallet/bills/?again={failed.public_id}")
    expect(page.get_by_test_id("pay-again-banner")).to_be_visible()
    for width in (390, 1280):
        page.set_viewport_size({"width": width, "height": 900})
        screenshot(page, f"pay-again-form-{lang}-{width}")
    page.set_viewport_size({"width": 1280, "height": 900})
    page.fill("#id_account_reference", "12345674")
    page.locator("#id_account_reference").locator("xpath=ancestor::form").locator("button[type=submit]").click()
    page.wait_for_url("**/wallet/transactions/txn_*/?done=1")
    again = Transaction.objects.get(user=funded, retry_of=failed)
    expect(page.get_by_test_id("retry-of")).to_contain_text(failed.public_id)
    for width in (390, 1280):
        page.set_viewport_size({"width": width, "height": 900})
        screenshot(page, f"pay-again-new-detail-{lang}-{width}")
    page.goto(f"/wallet/transactions/{failed.public_id}/")
    expect(page.get_by_test_id("paid-again")).to_contain_text(again.public_id)
    page.set_viewport_size({"width": 390, "height": 900})
    screenshot(page, f"pay-again-failed-detail-{lang}-390")
