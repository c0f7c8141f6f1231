"""Chromium: an agent on duty has the desk open; the phone system reports a call from a customer's
verified number; the pop-up says the caller ID is only a claim (no customer, none of her tickets),
one click makes a phone ticket of the call, and the agent proves the caller with a code sent by SMS
that the caller reads out: then the ticket is hers. Screenshots in test-artifacts/hotline-*.png."""

from __future__ import annotations

import json
import re
import urllib.request

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from okpay.core import signing
from okpay.identity.models import OutboundSms
from okpay.support.models import Channel, Ticket
from okpay.support.services import Requester, agent_duty_set, ticket_create
from tests.chat.test_browser import context_for
from tests.conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

SECRET = "cti-secret-for-the-browser-test"


def test_incoming_call_pops_up_on_the_desk_and_becomes_a_ticket(browser, servers, alice, agent, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    alice.phone, alice.phone_verified_at = "+8613800138000", timezone.now()
    alice.save(update_fields=["phone", "phone_verified_at"])
    open_ticket = ticket_create(requester=Requester(user=alice), channel=Channel.WEB, category="payment",
                                subject="退款还没到账", body="…")
    agent_duty_set(user=agent, on_duty=True)
    monkeypatch.setenv("OKPAY_CTI_SECRET", SECRET)
    (server,) = servers(1)

    page = context_for(browser, server, agent).new_page()
    page.goto("/desk/")
    # pop.js marks the page once its WebSocket is open (it reconnects with backoff if it drops)
    page.wait_for_selector("body[data-call-pop-ready]", state="attached", timeout=20000)
    body = json.dumps({"call_id": "pbx-1", "event": "ringing", "from": "+86 138 0013 8000"}).encode()
    request = urllib.request.Request(server.url + "/hooks/phone/calls", data=body, method="POST", headers={  # noqa: S310
        "Content-Type": "application/json", "OKPay-Signature": signing.sign(SECRET, body)})
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (our own server)
        assert json.load(response)["popped"] is True

    pop = page.locator(".call-pop")
    expect(pop).to_be_visible()
    expect(pop).to_contain_text("来电")
    expect(pop).to_contain_text("+8613800138000")
    expect(pop).to_contain_text("来电号码仅为声称")  # caller ID is a claim (issue 16.9)
    expect(pop).not_to_contain_text("Alice")
    expect(pop.locator(f"a:has-text('{open_ticket.number}')")).to_have_count(0)
    screenshot(page, "hotline-screen-pop", full_page=False)

    pop.locator("button[type=submit]").click()
    expect(page.locator("#calls")).to_contain_text("+8613800138000")
    ticket = Ticket.objects.get(calls__external_id="pbx-1")
    assert page.url.endswith(f"/desk/t/{ticket.public_id}/")
    assert (ticket.channel, ticket.priority, ticket.requester_id) == ("phone", "urgent", None)
    claim = page.locator("[data-caller-claim]")
    expect(claim).to_be_visible()
    claim.locator("button[value=sms]").click()
    expect(page.locator("[data-caller-sent]")).to_be_visible()
    code = re.search(r"\b(\d{6})\b", OutboundSms.objects.get(to="+8613800138000").body).group(1)  # type: ignore[union-attr]
    page.fill("#caller-code", code)
    screenshot(page, "hotline-caller-code", full_page=False)
    page.locator("[data-caller-claim] button.btn-primary").click()
    expect(page.locator("[data-caller-claim]")).to_have_count(0)
    ticket.refresh_from_db()
    assert (ticket.requester_id, ticket.requester_link) == (alice.pk, "verified_phone")
