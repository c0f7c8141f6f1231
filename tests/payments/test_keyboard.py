"""Keyboard only (issue 22 item 4, part): send money with Tab, typing and Enter, every focused
control showing a visible focus ring."""

from __future__ import annotations

import pytest
from django.conf import settings as django_settings

from okpay.payments.services import topup_create
from tests.factories import session_cookie
from tests.keyboard import tab_to
from tests.payments.conftest import available

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_send_money_with_the_keyboard_only(browser, live_server, alice, bob) -> None:  # type: ignore[no-untyped-def]
    topup_create(user=alice, amount=100_000)
    context = browser.new_context(locale="zh-CN", base_url=live_server.url, viewport={"width": 1280, "height": 900})
    context.add_cookies([{"name": django_settings.SESSION_COOKIE_NAME, "value": session_cookie(alice),
                          "url": live_server.url}])
    page = context.new_page()
    page.goto("/wallet/send/")
    tab_to(page, predicate=lambda f: f["id"] == "id_to")
    page.keyboard.type("bob@example.com")
    tab_to(page, predicate=lambda f: f["id"] == "id_amount")
    page.keyboard.type("12.30")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    tab_to(page, predicate=lambda f: f["tag"] == "BUTTON" and f["text"] == "转账 ¥12.30")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "/wallet/transactions/txn_" in page.url
    assert available(bob) == 1_230
    context.close()
