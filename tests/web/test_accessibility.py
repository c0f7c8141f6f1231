"""axe-core over the pages of every role (anonymous, customer, merchant, agent, supervisor) in
zh-Hans and en at 390 px and 1280 px: no serious or critical violation (issue 22 item 4; moderate
ones are none today either). That no page scrolls sideways at 390 px, and that touch targets are big
enough, is checked over every page of the inventory in tests/web/test_pages_browser.py
(``test_every_page_fits_a_phone``)."""

from __future__ import annotations

import pytest
from django.conf import settings as django_settings

from okpay.merchants.services import intent_create, merchant_create
from okpay.payments.services import topup_create, transfer_create, wallet
from tests.axe import axe_violations
from tests.factories import session_cookie, user_create

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("width", [390, 1280])
@pytest.mark.parametrize("locale", ["zh-CN", "en-US"])
def test_every_role_s_pages_pass_axe(browser, live_server, alice, bob, agent, supervisor, locale, width) -> None:  # type: ignore[no-untyped-def]
    topup_create(user=alice, amount=100_000)
    shop = user_create("shop@example.com", name="Shop", role="merchant")
    merchant = merchant_create(user=shop, name="茶叶小店")
    intent = intent_create(merchant=merchant, amount=8_800, description="龙井")
    txn = transfer_create(sender=alice, to="bob@example.com", amount=500)
    pages = {
        None: ["/", "/help/", "/account/login/", "/account/register/", "/contact/", "/verify/",
               "/account/password-reset/", "/offline/zh-hans/", "/offline/en/"],
        alice: ["/wallet/", "/wallet/send/", "/wallet/bills/", "/wallet/top-up/", "/wallet/withdraw/",
                "/wallet/transactions/", f"/wallet/transactions/{txn.public_id}/", "/wallet/notifications/",
                "/wallet/receive/?amount=20&note=AA", "/wallet/scan/", f"/pay/{wallet(bob).public_id}/?amount=5",
                f"/store/{merchant.public_id}/", f"/checkout/{intent.public_id}/", "/account/security/",
                "/account/", "/support/tickets/", "/support/new/"],
        shop: ["/merchant/", f"/merchant/till/{intent.public_id}/"],
        agent: ["/desk/", "/desk/chat/"],
        supervisor: ["/desk/dashboard/"],
    }
    found = {}
    for user, urls in pages.items():
        context = browser.new_context(locale=locale, base_url=live_server.url, viewport={"width": width, "height": 900})
        if user is not None:
            context.add_cookies([{"name": django_settings.SESSION_COOKIE_NAME, "value": session_cookie(user),
                                  "url": live_server.url}])
        page = context.new_page()
        for url in urls:
            page.goto(url)
            violations = axe_violations(page)
            if violations:
                found[url] = violations
        context.close()
    assert found == {}
