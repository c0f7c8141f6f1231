"""Chromium, at phone and desktop widths: the two confirmation pages of issue 16 (items 6 and 7) show
what they are about before the button — the proof link (ticket number, subject, address; no
button for another signed-in account) and the chat transcript link (address; sent once)."""

from __future__ import annotations

import pytest
from django.conf import settings as dj_settings

from okpay.chat import services as chat
from okpay.identity.models import OutboundEmail
from okpay.support import services as s
from okpay.support.models import Ticket
from tests.conftest import screenshot
from tests.factories import session_cookie

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def page_for(browser, live_server, width: int, user=None):  # type: ignore[no-untyped-def]
    context = browser.new_context(locale="zh-CN", base_url=live_server.url, viewport={"width": width, "height": 800})
    if user is not None:
        context.add_cookies([{"name": dj_settings.SESSION_COOKIE_NAME, "value": session_cookie(user),
                              "url": live_server.url}])
    return context.new_page()


@pytest.mark.parametrize("width", [390, 1280])
def test_proof_and_transcript_pages(browser, live_server, alice, mallory, width):  # type: ignore[no-untyped-def]
    t = s.ticket_create(requester=s.requester_for(email="alice@example.com", unverified="authentication_missing"),
                        channel="email", category="payment", subject="提现三天还没到账", body="…")
    link = f"/support/prove/{s.proof_token(t)}/"
    thief = page_for(browser, live_server, width, mallory)
    thief.goto(link)
    assert thief.locator("[data-other-account]").count() == 1 and thief.locator("[data-proof-confirm]").count() == 0
    assert thief.locator("[data-proof-email]").inner_text() == "alice@example.com"
    screenshot(thief, f"sec-mail-proof-other-account-{width}")
    owner = page_for(browser, live_server, width, alice)
    owner.goto(link)
    assert owner.locator("[data-proof-subject]").inner_text() == "提现三天还没到账"
    screenshot(owner, f"sec-mail-proof-owner-{width}")
    owner.locator("[data-proof-confirm]").click()
    owner.wait_for_url(f"**/support/tickets/{t.public_id}/")
    assert Ticket.objects.get(pk=t.pk).requester == alice

    conv = chat.conversation_open(user=None, guest_email="visitor@example.org").conversation
    chat.customer_says(conversation=conv, body="你好", client_id="g1", user=None)
    chat.transcript_send(conversation=conv)
    guest = page_for(browser, live_server, width)
    guest.goto(f"/chat/transcript/{chat.transcript_token(conv, 'visitor@example.org')}/")
    screenshot(guest, f"sec-mail-transcript-confirm-{width}")
    guest.locator("[data-transcript-confirm]").click()
    guest.locator('[data-transcript-done="sent"]').wait_for()
    screenshot(guest, f"sec-mail-transcript-sent-{width}")
    assert OutboundEmail.objects.filter(to=["visitor@example.org"]).count() == 2
