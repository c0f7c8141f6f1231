"""Chromium at 390 px (a phone): the assistant's guided flows in the chat widget, one per language.
zh-Hans: a signed-in customer's pending payment — what, why, until when, then cancel on click.
en: a guest's password reset — the address asked for, then the reset email sent by the identity
app's own reset. Screenshots in test-artifacts/chat-flow-*.png."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from okpay.helpcenter.search import vocabulary
from okpay.helpcenter.seed import load
from okpay.payments.models import Transaction
from okpay.payments.services import topup_create, transfer_create
from tests.chat.conftest import ask, open_widget
from tests.conftest import run_worker_until_idle, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]



def test_zh_pending_payment_flow_step_by_step_then_cancel(browser, servers, alice) -> None:  # type: ignore[no-untyped-def]
    load()
    vocabulary.invalidate()
    topup_create(user=alice, amount=100_000)
    txn = transfer_create(sender=alice, to="newcomer@example.com", amount=20_000)
    (server,) = servers(1)
    page, panel = open_widget(browser, server, locale="zh-CN", user=alice)
    ask(page, "付款一直pending，怎么回事")
    answer = panel.locator(".chat-bot").nth(1)
    expect(answer).to_contain_text("我们一步一步来看")
    expect(answer).to_contain_text(txn.public_id)
    expect(answer).to_contain_text("收款人还没有 OKPay 账户")
    expect(answer).to_contain_text("联系客服")
    expect(answer.locator("a", has_text="联系客服")).to_have_attribute("href", "/contact/")
    expect(answer.locator(".chat-articles a").first).to_contain_text("待处理")
    cancel = answer.locator("button[data-action=cancel]")
    expect(cancel).to_contain_text("¥200.00")
    screenshot(page, "chat-flow-zh-pending-390", full_page=False)
    cancel.click()
    answer.locator("[data-chat-confirm-yes]").click()  # money buttons ask first
    expect(panel.locator(".chat-bot").nth(2)).to_contain_text("已取消")
    assert Transaction.objects.get(pk=txn.pk).status == "cancelled"
    screenshot(page, "chat-flow-zh-pending-cancelled-390", full_page=False)
    page.context.close()


def test_en_password_reset_flow_for_a_guest_sends_the_reset_email(browser, servers, alice) -> None:  # type: ignore[no-untyped-def]
    from okpay.identity.models import OutboundEmail

    load()
    vocabulary.invalidate()
    (server,) = servers(1)
    page, panel = open_widget(browser, server, locale="en-US")
    page.locator("#okpay-chat-email").fill("visitor@example.com")
    ask(page, "forgot my password")
    step = panel.locator(".chat-bot").nth(1)
    expect(step).to_contain_text("Step 1 of 3")
    expect(step.locator("a", has_text="Reset on the web page")).to_have_attribute("href", "/account/password-reset/")
    ask(page, "alice@example.com")
    sent = panel.locator(".chat-bot").nth(2)
    expect(sent).to_contain_text("Step 2 of 3")
    expect(sent).to_contain_text("Step 3 of 3")
    expect(sent).to_contain_text("spam folder")
    screenshot(page, "chat-flow-en-reset-390", full_page=False)
    run_worker_until_idle()
    mails = [m for m in OutboundEmail.objects.all() if "alice@example.com" in m.to]
    assert len(mails) == 1 and "/account/password-reset/t/" in mails[0].body_text
    page.context.close()
