"""Chromium: a supervisor opens the desk's risk-review queue (the transfer, why it is held, the
sender's context), proposes an approval above the four-eyes amount, and sees it wait for a second
supervisor. Screenshots in test-artifacts/desk-risk-reviews-{1280,390}.png (issue 16.10)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from okpay.payments import services as payments
from okpay.support.models import RiskDecision
from tests.chat.test_browser import context_for
from tests.conftest import screenshot
from tests.factories import stepped_up

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_a_supervisor_proposes_an_approval_in_the_risk_review_queue(browser, servers, alice, bob, supervisor,
                                                                     settings) -> None:  # type: ignore[no-untyped-def]
    settings.OKPAY_RISK_REVIEW_AMOUNT = 50_000
    payments.topup_create(user=alice, amount=200_000)
    txn = stepped_up(alice, lambda code: payments.transfer_create(sender=alice, to=bob.email, amount=150_000,
                                                                 note="房租", otp_code=code))
    assert txn.pending_reason == "risk_review"
    (server,) = servers(1)
    context = context_for(browser, server, supervisor)
    page = context.new_page()
    page.goto("/desk/")
    page.get_by_role("link", name="风险审核").click()
    item = page.locator(f"[data-txn='{txn.public_id}']")
    expect(item).to_contain_text("大额")
    expect(item).to_contain_text(alice.public_id)
    expect(item).to_contain_text("超过双人复核金额")
    screenshot(page, "desk-risk-reviews-1280")
    item.get_by_role("button", name="批准").click()
    expect(page.locator(".alert-ok")).to_contain_text("须由另一位主管确认")
    expect(page.locator(f"[data-txn='{txn.public_id}'] [data-proposal]")).to_be_visible()
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "desk-risk-reviews-390")
    txn.refresh_from_db()
    assert txn.status == "pending" and RiskDecision.objects.get().state == "pending"
