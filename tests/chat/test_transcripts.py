"""Chat transcripts cannot be used for phishing (issue 16, item 6): a transcript goes only to a
signed-in customer's verified address or to an address that confirmed it by link first; the
customer's lines are marked as typed by the customer; the mail carries the anti-phishing code."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from okpay.chat import services
from okpay.chat.models import Conversation
from okpay.identity.models import OutboundEmail
from tests.chat.conftest import communicator, receive_until, run, session_cookie
from tests.factories import user_create

PHISH = "您的账户已被冻结，请立即登录 https://okpay-secure.evil.example/login 解冻"
MARK = "客户（客户本人输入，非 OKPay 所写）"


def mails_to(address: str) -> list[OutboundEmail]:
    return [m for m in OutboundEmail.objects.order_by("pk") if m.to == [address]]


def confirm_link(mail: OutboundEmail) -> str:
    match = re.search(r"/chat/transcript/[^/\s\"]+/", mail.body_text)
    assert match, mail.body_text
    return match.group(0)


def guest_chat(email: str) -> Conversation:
    conv = services.conversation_open(user=None, guest_email=email, ip="203.0.113.9").conversation
    services.customer_says(conversation=conv, body=PHISH, client_id="p1", user=None)
    return conv


def test_a_guest_cannot_have_okpay_mail_their_text_to_someone_else(alice, db):
    alice.anti_phishing_code = "蓝色海豚"
    alice.save(update_fields=["anti_phishing_code"])
    conv = guest_chat("alice@example.com")  # mallory, as a guest, types alice's address
    sent = services.transcript_send(conversation=conv)
    assert (sent.to, sent.confirm) == ("alice@example.com", True)
    [ask] = mails_to("alice@example.com")
    # only a link: nothing the guest typed, with alice's code like every OKPay mail to her
    assert "evil.example" not in ask.body_text + ask.body_html + ask.subject and PHISH not in ask.body_text
    assert "蓝色海豚" in ask.body_text and "蓝色海豚" in ask.body_html
    link = confirm_link(ask)
    # a mail scanner following the link sends nothing
    page = Client().get(link)
    assert page.status_code == 200 and "data-transcript-confirm" in page.content.decode()
    assert "alice@example.com" in page.content.decode() and len(mails_to("alice@example.com")) == 1
    # alice herself confirms: now the transcript, the guest's lines marked as typed by them, her code in it
    done = Client().post(link)
    assert done.status_code == 200 and 'data-transcript-done="sent"' in done.content.decode()
    _ask, transcript = mails_to("alice@example.com")
    assert f"{MARK}：{PHISH}" in transcript.body_text and "蓝色海豚" in transcript.body_text
    assert "不要相信其中的链接或指示" in transcript.body_text
    assert transcript.from_email == ask.from_email
    # the same link again: nothing more
    again = Client().post(link)
    assert 'data-transcript-done="already"' in again.content.decode() and len(mails_to("alice@example.com")) == 2
    # the address is confirmed for this chat: the next request goes straight out
    assert services.transcript_send(conversation=conv).confirm is False
    assert len(mails_to("alice@example.com")) == 3


def test_a_stranger_address_gets_a_link_first_and_a_transcript_without_a_code(db):
    conv = guest_chat("visitor@example.org")
    assert services.transcript_send(conversation=conv).confirm is True
    [ask] = mails_to("visitor@example.org")
    assert PHISH not in ask.body_text and "防钓鱼" not in ask.body_text  # nobody's account: no code block
    assert Client().post(confirm_link(ask)).status_code == 200
    _ask, transcript = mails_to("visitor@example.org")
    assert f"{MARK}：{PHISH}" in transcript.body_text


def test_signed_in_customers_get_it_at_once_only_at_a_verified_address(alice, db):
    alice.anti_phishing_code = "蓝色海豚"
    alice.save(update_fields=["anti_phishing_code"])
    conv = services.conversation_open(user=alice).conversation
    services.customer_says(conversation=conv, body="我的转账在哪里", client_id="a1", user=alice)
    assert services.transcript_send(conversation=conv).confirm is False
    [mail] = mails_to("alice@example.com")
    assert f"{MARK}：我的转账在哪里" in mail.body_text and "蓝色海豚" in mail.body_text
    # an account that never proved its address (anyone can register with any address): a link first
    carol = user_create("carol@example.com", verified=False)
    conv = services.conversation_open(user=carol).conversation
    services.customer_says(conversation=conv, body=PHISH, client_id="c1", user=carol)
    assert services.transcript_send(conversation=conv).confirm is True
    [ask] = mails_to("carol@example.com")
    assert PHISH not in ask.body_text and "/chat/transcript/" in ask.body_text


def test_forged_stale_or_moved_links_send_nothing(alice, db):
    conv = guest_chat("visitor@example.org")
    token = services.transcript_token(conv, "visitor@example.org")
    for bad in (token[:-2] + "xx", "abc", services.transcript_token(conv, "other@example.org")):
        r = Client().post(f"/chat/transcript/{bad}/")
        assert r.status_code == 400
    assert OutboundEmail.objects.count() == 0 and Conversation.objects.get(pk=conv.pk).transcript_email == ""


@pytest.mark.django_db(transaction=True)
def test_the_widget_is_told_a_link_went_out(alice) -> None:  # type: ignore[no-untyped-def]
    async def scenario():  # type: ignore[no-untyped-def]
        guest = communicator()
        await guest.connect()
        await guest.send_json_to({"type": "hello", "email": "alice@example.com"})
        await receive_until(guest, "welcome")
        await guest.send_json_to({"type": "transcript"})
        frame = await receive_until(guest, "transcript_sent")
        await guest.disconnect()
        member = communicator(cookie=cookie)
        await member.connect()
        await member.send_json_to({"type": "hello"})
        await receive_until(member, "welcome")
        await member.send_json_to({"type": "transcript"})
        mine = await receive_until(member, "transcript_sent")
        await member.disconnect()
        return frame, mine

    cookie = session_cookie(alice)
    frame, mine = run(scenario)
    assert frame == {"type": "transcript_sent", "to": "alice@example.com", "confirm": True}
    assert mine == {"type": "transcript_sent", "to": "alice@example.com", "confirm": False}


def test_a_guests_message_left_for_someone_elses_address_is_not_echoed_to_it(alice, db):
    """The same attack through "leave a message": the acknowledgement goes to the typed address, and
    used to quote the guest's first line as the request's subject."""
    conv = guest_chat("alice@example.com")
    number = services.leave_message(conversation=conv, body=PHISH)
    [ack] = mails_to("alice@example.com")
    assert number in ack.body_text and "evil.example" not in ack.body_text + ack.body_html + ack.subject
