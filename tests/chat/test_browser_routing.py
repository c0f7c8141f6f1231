"""Chromium at 390 px: the assistant's routing in the real chat widget over real WebSockets.

zh-Hans: "cancel my account" is closing the account (its article, no cancel button) even with a
pending transfer on the account; "cancel that transfer" then starts the pending-payment flow.
en: the refund flow — the policy, then an "ask for a refund" link on the payment the customer
names, which opens that payment's refund request. Screenshots in test-artifacts/chat-route-*.png."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from okpay.helpcenter.search import vocabulary
from okpay.helpcenter.seed import load
from okpay.payments.services import topup_create, transfer_create
from tests.chat.conftest import ask, open_widget
from tests.conftest import screenshot
from tests.factories import user_create

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]



def test_zh_closing_the_account_is_not_cancelling_a_transfer(browser, servers, alice) -> None:  # type: ignore[no-untyped-def]
    load()
    vocabulary.invalidate()
    topup_create(user=alice, amount=100_000)
    txn = transfer_create(sender=alice, to="newcomer@example.com", amount=20_000)
    (server,) = servers(1)
    page, panel = open_widget(browser, server, locale="zh-CN", user=alice)
    ask(page, "怎么取消我的okpay账号")
    answer = panel.locator(".chat-bot").nth(1)
    expect(answer.locator(".chat-articles a").first).to_contain_text("注销")
    expect(answer.locator("button[data-action=cancel]")).to_have_count(0)
    expect(answer).not_to_contain_text(txn.public_id)
    screenshot(page, "chat-route-zh-close-account-390", full_page=False)
    ask(page, "取消那笔转账")
    flow = panel.locator(".chat-bot").nth(2)
    expect(flow).to_contain_text("我们一步一步来看")
    expect(flow).to_contain_text(txn.public_id)
    expect(flow.locator("button[data-action=cancel]")).to_contain_text("¥200.00")
    screenshot(page, "chat-route-zh-cancel-transfer-390", full_page=False)
    page.context.close()


def test_en_refund_flow_offers_the_refund_on_the_payment_named(browser, servers, alice, shop) -> None:  # type: ignore[no-untyped-def]
    from okpay.merchants import services as merchants

    load()
    vocabulary.invalidate()
    topup_create(user=alice, amount=100_000)
    tea = merchants.merchant_create(user=shop, name="Tea House", refund_window_days=30)
    books = merchants.merchant_create(user=user_create("books@example.com", name="Books", role="merchant"),
                                      name="Book Nook", refund_window_days=30)
    merchants.intent_confirm(intent_id=merchants.intent_create(merchant=tea, amount=8_800).public_id, customer=alice)
    book_txn = merchants.intent_confirm(intent_id=merchants.intent_create(merchant=books, amount=4_500).public_id,
                                        customer=alice)
    (server,) = servers(1)
    page, panel = open_widget(browser, server, locale="en-US", user=alice)
    ask(page, "I want my money back from Book Nook")
    answer = panel.locator(".chat-bot").nth(1)
    expect(answer).to_contain_text("Step 1, the policy")
    expect(answer).to_contain_text(book_txn.public_id)
    expect(answer).not_to_contain_text("Tea House")
    refund_link = answer.locator("a", has_text="Ask for a refund")
    expect(refund_link).to_have_count(1)
    expect(refund_link).to_contain_text("¥45.00, Book Nook")
    expect(refund_link).to_have_attribute("href", f"/wallet/transactions/{book_txn.public_id}/refund-request/")
    screenshot(page, "chat-route-en-refund-390", full_page=False)
    page.context.close()
