"""Chromium: the supervisor dashboard's overdue promises, in both languages at 1280 and 390 px, and
the customer's transaction page that links the ticket customer service opened (issue 17, item 3)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings as dj_settings
from django.utils import timezone

from okpay.payments.models import Transaction
from okpay.payments.services import overdue_flag_due, topup_create, withdrawal_create
from okpay.support import promises
from okpay.support.models import Ticket
from okpay.support.services import Requester, ticket_create
from tests.conftest import ARTIFACTS, screenshot
from tests.factories import session_cookie

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _page(browser, live_server, user, *, lang: str, width: int):  # type: ignore[no-untyped-def]
    context = browser.new_context(locale="zh-CN" if lang == "zh-hans" else "en-US", base_url=live_server.url,
                                  viewport={"width": width, "height": 900})
    url = live_server.url
    context.add_cookies([{"name": dj_settings.SESSION_COOKIE_NAME, "value": session_cookie(user), "url": url},
                         {"name": "django_language", "value": lang, "url": url}])
    return context.new_page()


def test_overdue_promises_on_the_dashboard_and_the_customer_page(browser, live_server, alice, bob, supervisor,
                                                                  settings):
    settings.OKPAY_RISK_VELOCITY_PER_HOUR = 1000
    topup_create(user=alice, amount=100_000)
    late = withdrawal_create(user=alice, amount=20_000)
    Transaction.objects.filter(pk=late.pk).update(expected_by=timezone.now() - timedelta(hours=30))
    mail = ticket_create(requester=Requester(email="carol@example.com", name="Carol"), channel="email",
                         category="payment", subject="付款问题", body="两天没有回复")
    Ticket.objects.filter(pk=mail.pk).update(first_response_due=timezone.now() - timedelta(minutes=45))
    overdue_flag_due()
    promises.promises_sweep()
    alert_ticket = Ticket.objects.exclude(pk=mail.pk).get()
    for lang in ("zh-hans", "en"):
        for width in (1280, 390):
            page = _page(browser, live_server, supervisor, lang=lang, width=width)
            page.goto("/desk/dashboard/")
            rows = page.locator("#overdue-promises tbody tr")
            assert rows.count() == 2
            assert rows.nth(0).get_attribute("data-ref") == late.public_id
            assert rows.nth(1).get_attribute("data-ref") == mail.number
            assert page.locator("#overdue-count").inner_text() == "2"
            assert rows.nth(0).locator("[data-age]").inner_text() == ("30.0 小时" if lang == "zh-hans" else "30.0 h")
            heading = "逾期的承诺" if lang == "zh-hans" else "Overdue promises"
            assert heading in page.locator("#overdue-promises h2").inner_text()
            # narrow screens: the table stacks, nothing wider than the screen
            page.locator("#overdue-promises").scroll_into_view_if_needed()
            shot = ARTIFACTS / f"promises-overdue-list-{lang}-{width}.png"
            page.locator("#overdue-promises").screenshot(path=str(shot))
            screenshot(page, f"promises-dashboard-{lang}-{width}")
            wide = page.evaluate("""w => [...document.querySelectorAll('#overdue-promises *')]
                .filter(e => !e.closest('thead') && e.getBoundingClientRect().right > w + 1)
                .map(e => e.tagName + '.' + e.className)""", width)
            assert wide == []
            page.context.close()
    customer = _page(browser, live_server, alice, lang="zh-hans", width=390)
    customer.goto(f"/wallet/transactions/{late.public_id}/")
    assert alert_ticket.number in customer.get_by_test_id("overdue-followup").inner_text()
    screenshot(customer, "promises-customer-transaction-zh-390")
    customer.get_by_test_id("followup-ticket").click()
    customer.wait_for_url(f"**/support/tickets/{alert_ticket.public_id}/")
    assert late.public_id in customer.content()
    screenshot(customer, "promises-customer-ticket-zh-390")
    customer.context.close()
