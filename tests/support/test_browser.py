"""Chromium: a customer files a payment ticket about a pending withdrawal; an agent sees it beside the
customer's wallet, answers with a canned reply and cancels the pending transaction with a reason;
the customer sees the reply and the money back and rates 5; the supervisor dashboard shows it."""

from __future__ import annotations

import re

import pytest
from django.conf import settings as dj_settings
from playwright.sync_api import expect

from okpay.audit.models import AuditRecord
from okpay.ledger.selectors import balances_for_owner
from okpay.payments import services as payments
from okpay.support.models import Rating, Ticket, TicketEvent
from tests.conftest import screenshot
from tests.factories import session_cookie

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in(browser, live_server, user):  # type: ignore[no-untyped-def]
    context = browser.new_context(locale="zh-CN", base_url=live_server.url, viewport={"width": 1366, "height": 900})
    session = session_cookie(user)  # staff: with the second factor proved
    context.add_cookies([{"name": dj_settings.SESSION_COOKIE_NAME, "value": session, "url": live_server.url}])
    return context.new_page()


def available(user) -> int:  # type: ignore[no-untyped-def]
    return sum(b.available for b in balances_for_owner(user))


def test_payment_ticket_from_filing_to_dashboard(browser, live_server, alice, agent, supervisor):
    from okpay.helpcenter import seed

    seed.load()
    payments.topup_create(user=alice, amount=50_000)
    txn = payments.withdrawal_create(user=alice, amount=20_000)  # pending: awaiting the bank
    assert available(alice) == 30_000

    # 1. The customer files a payment ticket and attaches the pending withdrawal.
    customer = sign_in(browser, live_server, alice)
    customer.goto("/support/new/")
    customer.get_by_label("问题类型").select_option("payment")
    customer.get_by_label("标题").fill("提现一直显示待处理")
    customer.get_by_label("问题描述").fill("我昨天提现 200 元，一直显示待处理，能取消吗？")
    customer.get_by_label("相关交易（可选）").select_option(txn.public_id)
    customer.locator("#suggestions a").first.wait_for()  # help articles suggested while typing
    screenshot(customer, "support-1-customer-new-ticket-zh")
    customer.get_by_role("button", name="发送").click()
    customer.wait_for_url("**/support/tickets/tkt_*/?created=1")
    ticket = Ticket.objects.get()
    assert ticket.number in customer.content()
    assert customer.locator(".alert-ok").count() == 1
    screenshot(customer, "support-2-customer-ticket-created-zh")

    # 2. The agent opens it from the unassigned queue, with the customer's wallet beside it.
    desk = sign_in(browser, live_server, agent)
    desk.goto("/desk/?queue=unassigned")
    screenshot(desk, "support-2b-desk-unassigned-queue-zh")
    desk.keyboard.press("j")  # keyboard-friendly: j moves to the first ticket, Enter opens it
    desk.keyboard.press("Enter")
    desk.wait_for_url(f"**/desk/t/{ticket.public_id}/")
    context = desk.locator("#context")
    context.locator(f"[data-txn='{txn.public_id}']").wait_for()
    assert "al***@example.com" in context.inner_text()
    assert "¥300.00" in context.inner_text() and "¥200.00" in context.inner_text()
    screenshot(desk, "support-3-desk-ticket-with-wallet-zh")

    # 3. It cancels the pending withdrawal with a reason (below the four-eyes amount: at once).
    desk.get_by_label("操作类型").select_option("transaction_cancel")
    desk.get_by_label("交易（针对交易的操作）").select_option(txn.public_id)
    desk.get_by_label("原因（必填，记入审计日志）").fill("客户要求取消尚未提交给银行的提现")
    with desk.expect_navigation():  # the same address again: wait for the new page, not the old one
        desk.get_by_role("button", name="执行").click()
    txn.refresh_from_db()
    assert txn.status == "cancelled" and available(alice) == 50_000

    # 4. ... and answers with the seed's canned reply about pending transactions, marking it solved.
    desk.locator("[data-canned='pending-transaction']").click()
    reply = desk.locator("#reply-body")
    expect(reply).to_have_value(re.compile("Alice您好"))
    assert txn.public_id in reply.input_value()
    reply.fill(reply.input_value() + "\n\n该笔提现已为您取消，200 元已退回您的钱包余额。")
    desk.get_by_label("然后将状态设为").select_option("solved")
    screenshot(desk, "support-4-desk-canned-reply-zh")
    with desk.expect_navigation():
        desk.locator("#reply-form").get_by_role("button", name="发送").click()
    assert "已退回您的钱包余额" in desk.locator("#live").inner_text()
    screenshot(desk, "support-5-desk-after-reply-zh")
    assert AuditRecord.objects.filter(action="support.view.customer_context", actor=agent.public_id).exists()
    assert AuditRecord.objects.filter(action="support.action.transaction_cancel", actor=agent.public_id).exists()
    assert TicketEvent.objects.filter(ticket=ticket, kind="message", detail__canned="pending-transaction").exists()

    # 5. The customer sees the reply and the money back, and rates 5.
    customer.goto(f"/support/tickets/{ticket.public_id}/")
    page_text = customer.content()
    assert "已退回您的钱包余额" in page_text and "已解决" in page_text
    assert customer.locator(f"[data-txn='{txn.public_id}']").inner_text().count("已取消") == 1
    customer.get_by_label("5").check()
    customer.get_by_label("评论（可选）").fill("很快就解决了，谢谢！")
    customer.mouse.wheel(0, -10_000)  # back to the top before the full-page photo (sticky header)
    screenshot(customer, "support-6-customer-reply-and-rating-zh")
    customer.get_by_role("button", name="评价").click()
    customer.locator("#rating .alert-ok").wait_for()
    assert Rating.objects.get().score == 5
    customer.goto("/wallet/")
    screenshot(customer, "support-7-customer-wallet-money-back-zh")
    assert "500.00" in customer.content()

    # 6. The supervisor's dashboard counts the ticket, its first response and the 5-star rating.
    boss = sign_in(browser, live_server, supervisor)
    boss.goto("/desk/dashboard/")
    assert boss.locator("#kpi-tickets").inner_text() == "1"
    assert boss.locator("#kpi-csat").inner_text() == "5.00"
    assert boss.locator("svg.sp-chart").count() == 7  # NPS by week too
    screenshot(boss, "support-8-supervisor-dashboard-zh")


def test_desk_and_customer_pages_in_english(browser, live_server, alice, agent, supervisor):
    from okpay.support import services as s

    t = s.ticket_create(requester=s.Requester(user=alice), channel="email", category="complaint",
                        subject="Nobody answered the hotline", body="I called three times yesterday.")
    s.callback_request(phone="+8613800138000", topic="security", user=alice)
    s.agent_reply(ticket=t, agent=agent, body="Sorry for the wait — we are looking into it.", status="waiting")
    for user, url, name in ((agent, "/desk/?queue=all_open", "support-en-desk-queue"),
                            (agent, f"/desk/t/{t.public_id}/", "support-en-desk-ticket"),
                            (alice, f"/support/tickets/{t.public_id}/", "support-en-customer-ticket")):
        page = sign_in(browser, live_server, user)
        page.context.add_cookies([{"name": "django_language", "value": "en", "url": live_server.url}])
        page.goto(url)
        if "/desk/t/" in url:
            page.locator("#context [data-level]").wait_for()
        assert "Nobody answered the hotline" in page.content()
        screenshot(page, name)
    queue = sign_in(browser, live_server, agent)
    queue.context.add_cookies([{"name": "django_language", "value": "en", "url": live_server.url}])
    queue.goto("/desk/?queue=complaints")
    assert queue.locator("[data-row]").count() == 1 and "Complaints" in queue.content()
