"""Chromium on a real server (``okpay serve`` with Redis, so the socket and the money share one
channel layer): Bob's wallet page updates its balance without a reload when Alice's transfer
arrives from another browser, says so in its live region, and — the tab being in the background
and notifications allowed — shows a browser notification."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from okpay.payments.services import topup_create
from tests.chat import conftest as chat_conftest
from tests.chat.conftest import servers  # noqa: F401 - the fixture
from tests.conftest import screenshot, until
from tests.factories import session_cookie

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

BACKGROUND_TAB = """
Object.defineProperty(document, "hidden", { get: () => window.__background === true });
window.__notes = [];
const show = ServiceWorkerRegistration.prototype.showNotification;
ServiceWorkerRegistration.prototype.showNotification = function (title, options) {
  window.__notes.push(title); return show.call(this, title, options);
};
const Real = window.Notification;
window.Notification = function (title, options) { window.__notes.push(title); return new Real(title, options); };
Object.defineProperty(window.Notification, "permission", { get: () => Real.permission });
window.Notification.requestPermission = Real.requestPermission.bind(Real);
"""


def _context(browser, server, user):  # type: ignore[no-untyped-def]
    context = browser.new_context(locale="zh-CN", base_url=server.url, viewport={"width": 390, "height": 844})
    context.add_cookies([{"name": "sessionid", "value": session_cookie(user), "url": server.url}])
    return context


def test_live_balance_update_when_money_arrives(browser, servers, alice, bob, monkeypatch) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    monkeypatch.setattr(chat_conftest, "PORTS", range(9600, 9650))
    topup_create(user=alice, amount=100_000)
    (server,) = servers(1)

    payee = _context(browser, server, bob)
    payee.grant_permissions(["notifications"], origin=server.url)
    payee.add_init_script(BACKGROUND_TAB)
    wallet = payee.new_page()
    wallet.goto("/wallet/")
    expect(wallet.get_by_test_id("available-CNY")).to_have_text("¥0.00")
    until(wallet, "document.documentElement.dataset.walletLive === '1'")
    wallet.evaluate("window.__stayed = true")  # gone if the page reloads

    payer = _context(browser, server, alice)
    send = payer.new_page()
    send.goto("/wallet/send/")
    send.fill("#id_to", "bob@example.com")
    send.fill("#id_amount", "20.50")
    send.get_by_role("button", name="下一步").click()
    send.get_by_role("button", name="转账 ¥20.50").click()
    send.wait_for_url("**/wallet/transactions/txn_*/?done=1")

    expect(wallet.get_by_test_id("available-CNY")).to_have_text("¥20.50")
    expect(wallet.get_by_test_id("wallet-alert")).to_have_text("您收到 Alice 的转账 ¥20.50")
    assert wallet.evaluate("window.__stayed") is True
    assert wallet.evaluate("window.__notes") == []  # in the front: no browser notification
    screenshot(wallet, "alerts-live-update-zh-390", full_page=False)

    wallet.evaluate("window.__background = true")  # the customer switched to another app
    send.goto("/wallet/send/")
    send.fill("#id_to", "bob@example.com")
    send.fill("#id_amount", "1")
    send.get_by_role("button", name="下一步").click()
    send.get_by_role("button", name="转账 ¥1.00").click()
    send.wait_for_url("**/wallet/transactions/txn_*/?done=1")
    expect(wallet.get_by_test_id("available-CNY")).to_have_text("¥21.50")
    until(wallet, "window.__notes.length === 1")
    assert wallet.evaluate("window.__notes") == ["您收到 Alice 的转账 ¥1.00"]
    payee.close()
    payer.close()
