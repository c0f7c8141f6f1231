"""Screenshots of the pages changed for issues 17 and 18's leftovers, at 390 and 1280 px in zh-Hans and
English (``OKPAY_SCREENSHOTS=1``; saved under test-artifacts/pages2/): the checkout's "pay again",
the bill form's reference hint and error, the withdraw page's step-up hint, the merchant's webhook
settings, the admin in Chinese. Each page is also checked not to scroll sideways."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.conftest import ARTIFACTS
from tests.web.test_pages_browser import context_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True),
              pytest.mark.skipif(os.environ.get("OKPAY_SCREENSHOTS") != "1", reason="OKPAY_SCREENSHOTS=1")]


def test_screens(browser, live_server, settings) -> None:  # type: ignore[no-untyped-def]
    settings.OKPAY_WEBHOOK_ALLOW_PRIVATE = True
    from okpay.merchants import services as merchants
    from okpay.merchants.models import PaymentIntent
    from okpay.payments.billers import billers_seed
    from okpay.payments.services import topup_create
    from tests.factories import user_create

    billers_seed()
    alice = user_create("alice@example.com", name="Alice 王")
    topup_create(user=alice, amount=300_000)
    shop = user_create("shop@example.com", name="茶叶小店", role="merchant")
    merchant = merchants.merchant_create(user=shop, name="茶叶小店")
    intent = merchants.intent_create(merchant=merchant, amount=4_200, description="西湖龙井 50 g",
                                     return_url="https://shop.example/orders/7", capture="manual")
    merchants.intent_confirm(intent_id=intent.public_id, customer=alice)
    PaymentIntent.objects.filter(pk=intent.pk).update(capture_before=timezone.now() - timedelta(seconds=1))
    merchants.intents_expire_due()
    merchants.webhook_endpoint_create(merchant=merchant, url="http://127.0.0.1:9/okpay/webhooks", events=["*"])
    merchants.intent_create(merchant=merchant, amount=1_000, description="青瓷茶杯")
    root = user_create("root@example.com", name="Root", role="admin")
    root.is_superuser = True
    root.save(update_fields=["is_superuser"])
    out = ARTIFACTS / "pages2"
    out.mkdir(parents=True, exist_ok=True)
    shots = [("checkout-pay-again", alice, f"/checkout/{intent.public_id}/done/", None),
             ("bill-hint", alice, "/wallet/bills/?biller=sh-gas", None),
             ("bill-error", alice, "/wallet/bills/?biller=sh-gas", "bad-reference"),
             ("withdraw-hint", alice, "/wallet/withdraw/", None),
             ("merchant-webhooks", shop, "/merchant/", "webhooks"),
             ("admin-transactions", root, "/admin/payments/transaction/", None)]
    problems = []
    for lang in ("zh-hans", "en"):
        for width, height in ((390, 844), (1280, 900)):
            for name, user, path, step in shots:
                size = {"width": width, "height": height}
                context = context_for(browser, live_server, "x", user, lang, viewport=size)
                page = context.new_page()
                page.goto(path)
                page.wait_for_load_state("load")
                if step == "bad-reference":
                    page.locator("#id_account_reference").fill("12345")
                    page.locator("#id_amount").fill("12.00")
                    page.locator("main form button[type=submit]").first.click()
                    page.wait_for_load_state("load")
                if step == "webhooks":
                    page.locator("[data-testid=webhooks]").scroll_into_view_if_needed()
                    section = out / f"{name}-{lang}-{width}-section.png"
                    page.locator("[data-testid=webhooks]").screenshot(path=str(section))
                wide = page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
                if wide and name != "admin-transactions":  # Django's own admin is not ours to lay out
                    problems.append(f"{name} {lang} {width}: scrolls sideways")
                page.screenshot(path=str(out / f"{name}-{lang}-{width}.png"), full_page=True)
                context.close()
    assert not problems, problems
