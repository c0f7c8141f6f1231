"""Chromium: the desk in three panes at 1280 px and one pane at a time at 390 px, in zh-Hans and en
(issue 18): the view on the left, the conversation in the middle (customer, reply, internal note and
OKPay's own note each look different), the customer on the right; keyboard-friendly; axe finds no
violation of any impact on the desk, ticket and chat desk pages; the chat desk says in words that
nobody is waiting and no chat is selected. Screenshots go to test-artifacts/desk-*.png."""

from __future__ import annotations

import pytest
from django.conf import settings as dj_settings

from okpay.payments import services as payments
from okpay.support import actions
from okpay.support import services as s
from tests.axe import axe_violations
from tests.conftest import screenshot
from tests.factories import session_cookie
from tests.support.helpers import web_ticket

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ALL_IMPACTS = ("minor", "moderate", "serious", "critical")
WORDS = {"zh-CN": {"customer": "客户", "none": "未选择聊天", "nobody": "现在没有客户在等待聊天", "history": "分配给"},
         "en-US": {"customer": "Customer", "none": "No chat selected",
                   "nobody": "No one is waiting for a chat right now", "history": "Assigned to"}}


def desk_world(alice, agent, supervisor):  # type: ignore[no-untyped-def]
    payments.topup_create(user=alice, amount=50_000)
    txn = payments.withdrawal_create(user=alice, amount=20_000)
    web_ticket(alice, subject="上周的账单支付失败了")
    ticket = web_ticket(alice, subject="提现一直显示待处理", body="我昨天提现 200 元，一直显示待处理，能取消吗？")
    s.ticket_assign(ticket=ticket, actor=supervisor, assignee=agent)
    s.ticket_link_transaction(ticket=ticket, actor=agent, transaction_id=txn.public_id)
    s.agent_reply(ticket=ticket, agent=agent, body="您好，我们正在查看这笔提现。")
    s.agent_reply(ticket=ticket, agent=agent, body="先确认银行是否已受理。", internal=True)
    actions.action_request(ticket=ticket, agent=agent, kind="transaction_cancel", reason="客户要求取消",
                           transaction_id=txn.public_id)
    return ticket


def open_page(browser, live_server, user, locale: str, width: int):  # type: ignore[no-untyped-def]
    context = browser.new_context(locale=locale, base_url=live_server.url, viewport={"width": width, "height": 900})
    context.add_cookies([{"name": dj_settings.SESSION_COOKIE_NAME, "value": session_cookie(user),
                          "url": live_server.url}])
    return context, context.new_page()


def settle(page) -> None:  # type: ignore[no-untyped-def]
    """The page and the panes htmx loads after it (the customer's wallet, the phone calls)."""
    page.wait_for_load_state("load")
    page.locator("#context h2").wait_for(state="attached", timeout=10_000)
    page.wait_for_load_state("networkidle")


@pytest.mark.parametrize("width", [1280, 390])
@pytest.mark.parametrize("locale", ["zh-CN", "en-US"])
def test_desk_three_panes(browser, live_server, alice, agent, supervisor, locale, width):  # type: ignore[no-untyped-def]
    ticket = desk_world(alice, agent, supervisor)
    words, lang = WORDS[locale], ("zh" if locale == "zh-CN" else "en")
    context, page = open_page(browser, live_server, agent, locale, width)
    found = {}

    page.goto("/desk/?queue=all_open")
    page.wait_for_load_state("load")
    found["/desk/"] = axe_violations(page, impacts=ALL_IMPACTS)
    screenshot(page, f"desk-queue-{width}-{lang}")
    page.keyboard.press("j")
    page.keyboard.press("Enter")
    page.wait_for_url("**/desk/t/tkt_*/")

    page.goto(f"/desk/t/{ticket.public_id}/")
    settle(page)
    panes = page.evaluate("""() => ['#pane-queue', '#pane-conversation', '#pane-customer'].map(
        s => { const r = document.querySelector(s).getBoundingClientRect(); return r.width > 0 && r.height > 0; })""")
    assert words["history"] in (page.locator(".desk-history").text_content() or "")
    kinds = page.locator(".desk-thread [data-kind]").evaluate_all("els => els.map(e => e.dataset.kind)")
    assert {"customer", "reply", "note", "system"} <= set(kinds)
    backgrounds = page.locator(".desk-thread [data-kind]").evaluate_all(
        "els => Object.fromEntries(els.map(e => [e.dataset.kind, getComputedStyle(e).backgroundColor]))")
    assert len(set(backgrounds.values())) == 4, backgrounds  # four kinds of line, four looks
    if width == 1280:
        assert panes == [True, True, True]
        assert page.locator("#pane-queue [aria-current='page']").count() == 1
    else:
        assert panes == [False, True, False]  # one pane at a time, the conversation first
        assert page.locator(".desk3-back").is_visible()
        scroll, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert scroll <= inner
    found["/desk/t/"] = axe_violations(page, impacts=ALL_IMPACTS)
    screenshot(page, f"desk-ticket-{width}-{lang}", full_page=width < 900)  # wide: each pane scrolls itself
    if width == 390:
        page.get_by_role("button", name=words["customer"], exact=True).click()
        assert page.locator("#pane-customer").is_visible() and not page.locator("#live").is_visible()
        page.locator("#context .balances").wait_for()
        found["/desk/t/ customer"] = axe_violations(page, impacts=ALL_IMPACTS)
        scroll, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert scroll <= inner
        screenshot(page, f"desk-ticket-customer-{width}-{lang}")
        page.keyboard.press("r")  # the reply key brings the conversation back and focuses the reply
        assert page.locator("#live").is_visible() and not page.locator("#pane-customer").is_visible()
        assert page.evaluate("document.activeElement.id") == "reply-body"

    page.goto("/desk/chat/")
    page.wait_for_load_state("load")
    assert words["none"] in page.locator("#desk-chat-none").inner_text()
    assert words["nobody"] in page.locator("#desk-chat-queue").inner_text()
    found["/desk/chat/"] = axe_violations(page, impacts=ALL_IMPACTS)
    scroll, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert scroll <= inner
    screenshot(page, f"desk-chat-{width}-{lang}")
    context.close()
    assert {k: v for k, v in found.items() if v} == {}
