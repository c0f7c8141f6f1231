"""The widget on every page and the desk's chat console."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.factories import sign_in

pytestmark = pytest.mark.django_db


def test_every_page_carries_the_widget_without_inline_script(alice) -> None:  # type: ignore[no-untyped-def]
    anonymous = Client().get("/")
    assert anonymous.status_code == 200
    html = anonymous.content.decode()
    assert 'id="okpay-chat"' in html and 'data-signed-in=""' in html and "chat/widget.js" in html
    client = Client()
    client.force_login(alice)
    html = client.get("/wallet/").content.decode()
    assert 'data-signed-in="1"' in html and "chat/widget.js" in html
    assert "<script>" not in html


def test_desk_chat_console_is_for_agents(alice, agent) -> None:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(alice)
    assert client.get("/desk/chat/").status_code == 403
    sign_in(agent, client)
    page = client.get("/desk/chat/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "chat/desk.js" in html and 'id="desk-chat-canned"' in html
    assert Client().get("/desk/chat/").status_code == 302


def test_the_desk_links_to_the_chat_console_with_the_waiting_count(alice, bob, agent) -> None:  # type: ignore[no-untyped-def]
    from django.utils import timezone

    from okpay.chat.models import Conversation
    from okpay.support.services import Requester, ticket_create

    client = sign_in(agent)
    html = client.get("/desk/").content.decode()
    assert 'href="/desk/chat/" data-desk-chat-link' in html and 'hx-get="/desk/chat/waiting/"' in html
    assert 'data-waiting="0"' in client.get("/desk/chat/waiting/").content.decode()
    now = timezone.now()
    for user in (alice, bob):
        ticket = ticket_create(requester=Requester(user=user), channel="chat", category="payment", subject="转账",
                               body="转账待处理")
        Conversation.objects.create(user=user, state="queued", ticket=ticket, created_at=now, updated_at=now,
                                    queued_at=now)
    assert 'data-waiting="2"' in client.get("/desk/chat/waiting/").content.decode()
    client.force_login(alice)
    assert client.get("/desk/chat/waiting/").status_code == 403
