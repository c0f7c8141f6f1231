"""Chromium: a customer chats in Chinese, the assistant explains a pending transfer and cancels it
on click, the customer asks for a person, an agent in a second browser context answers from the
desk, ends the chat, and the customer rates it. Screenshots in test-artifacts/chat-*.png."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from okpay.chat.models import Conversation
from okpay.helpcenter.search import vocabulary
from okpay.helpcenter.seed import load
from okpay.payments.models import Transaction
from okpay.payments.services import topup_create, transfer_create
from okpay.support.services import agent_duty_set
from tests.chat.conftest import session_cookie
from tests.conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def context_for(browser, server, user):  # type: ignore[no-untyped-def]
    context = browser.new_context(locale="zh-CN", base_url=server.url, viewport={"width": 1280, "height": 900})
    context.add_cookies([{"name": "sessionid", "value": session_cookie(user), "url": server.url}])
    return context


def test_customer_chat_cancel_handoff_agent_answer_and_rating(browser, servers, alice, agent) -> None:  # type: ignore[no-untyped-def]
    load()
    vocabulary.invalidate()
    topup_create(user=alice, amount=100_000)
    txn = transfer_create(sender=alice, to="newcomer@example.com", amount=20_000)
    agent_duty_set(user=agent, on_duty=True, capacity=3)
    (server,) = servers(1)

    customer_ctx = context_for(browser, server, alice)
    page = customer_ctx.new_page()
    page.goto(reverse("helpcenter:contact"))
    page.locator("[data-chat-open]").click()  # the contact page's button opens the widget
    panel = page.locator("#okpay-chat-panel")
    expect(panel).to_be_visible()
    expect(panel.locator(".chat-bot").first).to_contain_text("OKPay 智能助手")
    page.locator("#okpay-chat-input").fill("我的转账为什么还没到账？")
    page.keyboard.press("Enter")
    answer = panel.locator(".chat-bot").nth(1)
    expect(answer).to_contain_text(txn.public_id)
    expect(answer).to_contain_text("¥200.00")
    expect(answer).to_contain_text("n***@example.com")
    expect(answer).to_contain_text("收款人还没有 OKPay 账户")
    cancel = answer.locator("button[data-action=cancel]")
    expect(cancel).to_contain_text("取消给 n***@example.com 的 ¥200.00")
    screenshot(page, "chat-1-assistant-explains", full_page=False)
    cancel.click()  # a money button asks first (issue 18, item 4): nothing happens yet
    ask = answer.locator("[data-chat-confirm]")
    expect(ask).to_contain_text("确定要取消给 n***@example.com 的 ¥200.00 吗？")
    ask.locator("[data-chat-confirm-no]").click()  # "not now": nothing moved, the button is back
    expect(ask).to_have_count(0)
    txn.refresh_from_db()
    assert txn.status == "pending"
    cancel.click()
    screenshot(page, "chat-1b-asks-first", full_page=False)
    answer.locator("[data-chat-confirm-yes]").dblclick()  # a double click still cancels once
    expect(panel.locator(".chat-bot").nth(2)).to_contain_text("已取消")
    expect(cancel).to_be_disabled()
    txn.refresh_from_db()
    assert txn.status == "cancelled"
    expect(panel.locator(".chat-bot")).to_have_count(3)  # one answer to the double click
    screenshot(page, "chat-2-cancelled", full_page=False)

    panel.locator("[data-chat-handoff]").click()
    expect(panel.locator(".chat-status")).to_contain_text("客服 Agent 正在为您服务")
    expect(panel.locator("[data-chat-handoff]")).to_be_hidden()
    conv = Conversation.objects.get(user=alice)
    assert (conv.state, conv.agent, conv.ticket.channel) == ("active", agent, "chat")

    agent_ctx = context_for(browser, server, agent)
    desk = agent_ctx.new_page()
    desk.goto("/desk/chat/")
    desk.locator("#desk-chat-mine button").first.click()
    expect(desk.locator("#desk-chat-log")).to_contain_text("我的转账为什么还没到账？")
    expect(desk.locator("#desk-chat-wallet")).to_contain_text(txn.public_id)
    desk.locator("#desk-chat-input").fill("您好，转账已经取消，钱已退回可用余额。还有什么可以帮您？")
    desk.locator("#desk-chat-form button[type=submit]").click()
    expect(panel.locator(".chat-agent")).to_contain_text("钱已退回可用余额")
    screenshot(desk, "chat-3-desk")
    screenshot(page, "chat-4-agent-answer", full_page=False)

    desk.locator("#desk-chat-end").click()
    rate = panel.locator(".chat-rate")
    expect(rate).to_be_visible()
    expect(page.locator("#okpay-chat-input")).to_be_disabled()
    rate.locator("button[data-score='5']").click()
    expect(rate).to_contain_text("感谢您的评价")
    screenshot(page, "chat-5-rated", full_page=False)
    conv.refresh_from_db()
    assert (conv.state, conv.rating) == ("ended", 5)
    assert conv.ticket.status == "solved"
    assert Transaction.objects.get(pk=txn.pk).status == "cancelled"
    assert re.search("已结束", panel.locator(".chat-status").inner_text())
    agent_ctx.close()
    customer_ctx.close()


def test_guest_in_english_gets_articles_and_leaves_a_message_when_nobody_is_on_duty(browser, servers) -> None:  # type: ignore[no-untyped-def]
    from okpay.support.models import Ticket

    load()
    vocabulary.invalidate()
    (server,) = servers(1)
    context = browser.new_context(locale="en-US", base_url=server.url, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto("/")
    page.locator("[data-chat-launcher]").click()
    panel = page.locator("#okpay-chat-panel")
    expect(panel.locator("#okpay-chat-email")).to_be_focused()
    page.locator("#okpay-chat-email").fill("visitor@example.com")
    page.locator("#okpay-chat-input").fill("How do I top up my wallet?")
    page.keyboard.press("Enter")
    answer = panel.locator(".chat-bot").nth(1)
    expect(answer).to_contain_text("help articles")
    expect(answer.locator(".chat-articles a").first).to_have_attribute("href", re.compile("/help/"))
    panel.locator("[data-chat-handoff]").click()
    expect(panel.locator(".chat-system")).to_contain_text("within 24 hours")
    panel.locator(".chat-leave textarea").fill("Please call me about my top-up.")
    panel.locator(".chat-leave button").click()
    expect(panel.locator(".chat-system").last).to_contain_text("visitor@example.com")
    screenshot(page, "chat-6-guest-left-message", full_page=False)
    ticket = Ticket.objects.get(channel="email")
    assert ticket.requester_email == "visitor@example.com" and ticket.requester is None
    context.close()
