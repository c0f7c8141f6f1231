"""Keyboard only (issue 22 item 4): a signed-in customer opens a ticket from the help centre —
help centre, "Contact us", "Submit a request", the form, "Send" — with Tab, arrow keys in the
category list, typing, and Enter or Space; every stop shows a visible focus indicator. Controls are
found by role and accessible name."""

from __future__ import annotations

import re

import pytest
from django.conf import settings as django_settings
from playwright.sync_api import expect

from okpay.support.models import Ticket
from tests.factories import session_cookie
from tests.keyboard import tab_to

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("width", [1280, 390])
def test_open_a_ticket_with_the_keyboard_only(browser, live_server, alice, width: int) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context(locale="en-US", base_url=live_server.url, viewport={"width": width, "height": 900})
    context.add_cookies([{"name": django_settings.SESSION_COOKIE_NAME, "value": session_cookie(alice),
                          "url": live_server.url},
                         {"name": django_settings.LANGUAGE_COOKIE_NAME, "value": "en", "url": live_server.url}])
    page = context.new_page()
    page.goto("/help/")
    main = page.get_by_role("main")
    if width < 720:  # on a phone the site menu folds behind its button
        tab_to(page, page.get_by_role("button", name="Menu"))
        page.keyboard.press("Enter")
    tab_to(page, page.get_by_role("navigation", name="Main").get_by_role("link", name="Contact us"))
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url.endswith("/contact/")
    tab_to(page, main.get_by_role("link", name="Submit a request"))
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url.endswith("/support/new/")
    category = main.get_by_role("combobox", name="What is it about?")
    tab_to(page, category)
    page.keyboard.press("ArrowDown")  # the first category
    assert category.input_value() != ""
    tab_to(page, main.get_by_role("textbox", name="Subject"))
    page.keyboard.type("My transfer has not arrived")
    tab_to(page, main.get_by_role("textbox", name="Description"))
    page.keyboard.type("I sent 12.30 to Bob yesterday and he has not received it.")
    tab_to(page, main.get_by_role("button", name="Send"))
    with page.expect_navigation():
        page.keyboard.press("Space")
    assert re.search(r"/support/tickets/tkt_\w+/\?created=1$", page.url), page.url
    ticket = Ticket.objects.get(requester=alice, subject="My transfer has not arrived")
    expect(page.get_by_role("main")).to_contain_text(ticket.number)
    context.close()
