"""Keyboard only (issue 22 item 4): an agent answers a chat on the desk — takes the waiting chat,
types a reply and sends it — with Tab, typing, and Enter or Space; every stop shows a visible focus
indicator. Controls are found by role and accessible name (never by CSS class), so the journey
holds through a redesign of the desk."""

from __future__ import annotations

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from okpay.chat import services
from okpay.chat.models import Conversation, Message
from okpay.support.services import agent_duty_set
from tests.chat.conftest import session_cookie
from tests.keyboard import tab_to

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_agent_answers_a_chat_with_the_keyboard_only(browser, servers, alice, agent) -> None:  # type: ignore[no-untyped-def]
    profile = agent_duty_set(user=agent, on_duty=True, capacity=1)
    busy = Conversation.objects.create(guest_email="g@example.com", state="active", agent=agent,  # full: alice waits
                                       created_at=timezone.now(), updated_at=timezone.now())
    conv = services.conversation_open(user=alice).conversation
    services.customer_says(conversation=conv, body="我的转账还没到账", client_id="k1", user=alice)
    services.handoff_request(conversation=conv)
    conv.refresh_from_db()
    assert conv.state == "queued" and profile.capacity == 1 and busy.pk
    (server,) = servers(1)
    context = browser.new_context(locale="en-US", base_url=server.url, viewport={"width": 1280, "height": 900})
    context.add_cookies([{"name": "sessionid", "value": session_cookie(agent), "url": server.url},
                         {"name": "django_language", "value": "en", "url": server.url}])
    page = context.new_page()
    page.goto("/desk/chat/")
    take = page.get_by_role("button", name="Take")
    expect(take).to_have_count(1)
    tab_to(page, take)
    page.keyboard.press("Enter")
    log = page.get_by_role("log")
    expect(log).to_contain_text("我的转账还没到账")
    reply = page.get_by_role("textbox", name="Reply")
    expect(reply).to_be_visible()
    tab_to(page, reply)
    page.keyboard.type("The transfer is on its way; it arrives within 2 hours.")
    tab_to(page, page.get_by_role("button", name="Send", exact=True))
    page.keyboard.press("Space")
    expect(log).to_contain_text("it arrives within 2 hours")
    conv.refresh_from_db()
    assert (conv.state, conv.agent) == ("active", agent)
    assert Message.objects.filter(conversation=conv, author=agent, body__contains="within 2 hours").exists()
    context.close()
