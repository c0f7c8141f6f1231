"""Inbound email over a real SMTP session into `okpay smtpd` (issue 9, item 1)."""

from __future__ import annotations

import smtplib
from email import message_from_bytes, policy

import pytest

from okpay.identity.models import OutboundEmail
from okpay.mailbox.models import InboundEmail
from okpay.support import services as s
from okpay.support.models import Attachment, EmailMessageId, Ticket, TicketMessage, UndeliverableAddress
from tests.factories import sign_in
from tests.mailbox.conftest import SUPPORT, Smtpd, mail, passed

PNG = b"\x89PNG\r\n\x1a\n" + b"0" * 64


def headers_of(row: OutboundEmail):  # type: ignore[no-untyped-def]
    return message_from_bytes(bytes(row.message), policy=policy.default)


def acks(to: str) -> list[OutboundEmail]:
    """The acknowledgements mailed to ``to`` (automatic answers to a message: RFC 3834)."""
    return [m for m in OutboundEmail.objects.order_by("pk")
            if m.to == [to] and headers_of(m)["Auto-Submitted"] == "auto-replied"]


def test_new_mail_opens_an_email_ticket_linked_through_the_verified_address(smtpd, our_mta, alice):
    # linked only because our MTA says DMARC passed (issue 16 item 3: without it, unverified)
    msg = mail("Alice <alice@example.com>", "转账还没到账", "我昨天的转账一直显示待处理，请帮忙查一下。",
               Authentication_Results=passed())
    assert smtpd.send(msg) == {}
    t = Ticket.objects.get()
    assert (t.channel, t.category, t.requester, t.requester_link, t.subject) == (
        "email", "payment", alice, "verified_email", "转账还没到账")
    assert t.messages.get().body_text == "我昨天的转账一直显示待处理，请帮忙查一下。"
    assert EmailMessageId.objects.get(direction="in").message_id == msg["Message-ID"]
    row = InboundEmail.objects.get()
    assert (row.outcome, row.ticket, row.sender, row.authentication) == ("created", t, "alice@example.com", "pass")
    [ack] = acks("alice@example.com")
    assert f"[{t.number}]" in ack.subject
    h = headers_of(ack)
    assert h["In-Reply-To"] == msg["Message-ID"] and h["References"] == msg["Message-ID"]
    assert h["Auto-Submitted"] == "auto-replied" and h["Reply-To"] == SUPPORT and h["X-Loop"] == SUPPORT
    assert "24" in ack.body_text and t.number in ack.body_text


def test_stranger_is_unlinked_and_a_failed_authentication_is_never_linked(smtpd, our_mta, alice):
    smtpd.send(mail("visitor@example.org", "Cannot sign in", "I forgot my password"))
    smtpd.send(mail("alice@example.com", "Please freeze my account", "hacked!",
                    Authentication_Results="mx.okpay.example; spf=fail smtp.mailfrom=example.com; dkim=none; "
                                           "dmarc=fail header.from=example.com"))
    visitor, forged = Ticket.objects.order_by("pk")
    assert (visitor.requester, visitor.requester_link, visitor.category) == (None, "", "security")
    assert (forged.requester, forged.meta["unverified"]) == (None, "authentication_failed")
    assert InboundEmail.objects.get(ticket=forged).authentication == "fail"


def test_replies_thread_by_headers_and_by_subject_and_duplicates_are_ignored(smtpd, alice):
    first = mail("alice@example.com", "Refund question", "Where is my refund?")
    smtpd.send(first)
    t = Ticket.objects.get()
    ack_id = str(headers_of(acks("alice@example.com")[0])["Message-ID"]).strip()
    # by In-Reply-To of our acknowledgement, quoted history cut off
    smtpd.send(mail("alice@example.com", "Re: whatever", "It was order 42.\n\nOn Monday OKPay wrote:\n> old text",
                    In_Reply_To=ack_id, References=f"{first['Message-ID']} {ack_id}"))
    # by the ticket number in the subject alone
    by_subject = mail("alice@example.com", f"Re: [{t.number}] Refund question", "Any news?")
    smtpd.send(by_subject)
    assert list(t.messages.order_by("pk").values_list("body_text", flat=True)) == [
        "Where is my refund?", "It was order 42.", "Any news?"]
    # the same message again (an MTA retry): nothing new
    smtpd.send(by_subject)
    assert TicketMessage.objects.count() == 3 and Ticket.objects.count() == 1
    assert InboundEmail.objects.count() == 3
    # someone else quoting the number gets a ticket of their own, not alice's
    smtpd.send(mail("bob@example.com", f"Re: [{t.number}]", "let me see alice's ticket"))
    assert Ticket.objects.count() == 2 and t.messages.count() == 3
    assert len(acks("alice@example.com")) == 1  # replies are not acknowledged again


def test_automatic_mail_gets_no_acknowledgement_and_our_own_mail_is_dropped(smtpd, agent):
    smtpd.send(mail("ooo@example.org", "Out of office", "I am away", Auto_Submitted="auto-replied"))
    smtpd.send(mail("news@example.org", "Newsletter", "Big news", Precedence="bulk"))
    smtpd.send(mail("human@example.org", "Hello", "A question", Auto_Submitted="no"))
    assert Ticket.objects.count() == 3
    assert acks("ooo@example.org") == [] and acks("news@example.org") == []
    [ack] = acks("human@example.org")
    assert "anti-phishing" not in ack.body_text and "防钓鱼" not in ack.body_text  # no customer, no code
    # an out-of-office answer to a closed ticket: a follow-up ticket, still not acknowledged
    ooo = Ticket.objects.get(requester_email="ooo@example.org")
    s.ticket_status_set(ticket=ooo, actor=agent, status="closed")
    smtpd.send(mail("ooo@example.org", f"Re: [{ooo.number}]", "Still away", Auto_Submitted="auto-replied"))
    assert Ticket.objects.filter(follow_up_of=ooo).count() == 1 and acks("ooo@example.org") == []
    assert Ticket.objects.count() == 4
    smtpd.send(mail("loop@example.org", "Re: looping", "again", X_Loop=SUPPORT))
    smtpd.send(mail(f"OKPay <{SUPPORT}>", "Our own mail", "echo"))
    assert Ticket.objects.count() == 4
    assert list(InboundEmail.objects.filter(outcome="loop").values_list("sender", flat=True).order_by("pk")) == [
        "loop@example.org", SUPPORT]


def test_html_is_sanitised_and_remote_images_dropped(smtpd):
    html = ('<p>Hello <b>there</b></p><script>alert("x")</script><img src="https://evil.example/t.png">'
            '<a href="javascript:alert(1)">click</a><a href="https://okpay.example/help">help</a>')
    smtpd.send(mail("html@example.org", "HTML mail", html=html))
    body = TicketMessage.objects.get().body_html
    assert "<script" not in body and "alert" not in body and "<img" not in body and "evil.example" not in body
    assert "<b>there</b>" in body and 'href="https://okpay.example/help"' in body and "javascript" not in body


def test_attachments_are_stored_and_limited(smtpd):
    msg = mail("files@example.org", "Screenshot", "See attached")
    msg.add_attachment(PNG, maintype="image", subtype="png", filename="screen.png")
    msg.add_attachment(b"MZ\x90\x00binary", maintype="application", subtype="octet-stream", filename="tool.exe")
    smtpd.send(msg)
    [att] = Attachment.objects.all()
    assert (att.name, att.content_type, att.size) == ("screen.png", "image/png", len(PNG))
    note = TicketMessage.objects.get(author_kind="system")
    assert "tool.exe" in note.body_text and note.visibility == "internal"
    too_many = mail("files@example.org", "Many", "six files")
    for i in range(6):
        too_many.add_attachment(PNG, maintype="image", subtype="png", filename=f"{i}.png")
    with pytest.raises(smtplib.SMTPDataError) as refused:
        smtpd.send(too_many)
    assert refused.value.smtp_code == 552 and b"Too many attachments" in refused.value.smtp_error
    assert Ticket.objects.count() == 1 and Attachment.objects.count() == 1


def test_oversized_message_is_refused_in_the_smtp_session(transactional_db, settings):
    settings.OKPAY_MAIL_MAX_BYTES = 20_000
    server = Smtpd()
    server.controller.start()
    try:
        big = mail("big@example.org", "Huge", ("x" * 70 + "\n") * 430)
        with pytest.raises(smtplib.SMTPSenderRefused) as refused:  # refused at MAIL FROM (SIZE=…)
            server.send(big)
        assert refused.value.smtp_code == 552
        with smtplib.SMTP("127.0.0.1", server.port, timeout=10) as client:  # a client that does not say SIZE
            client.ehlo()
            client.mail("big@example.org")
            client.rcpt(SUPPORT)
            code, _text = client.data(big.as_string())
        assert code == 552
        # a recipient that is not ours
        with pytest.raises(smtplib.SMTPRecipientsRefused):
            server.send(mail("big@example.org", "hi", "small"), to="ceo@okpay.example")
    finally:
        server.controller.stop()
    assert Ticket.objects.count() == 0 and InboundEmail.objects.count() == 0


def test_a_bounce_marks_the_address_undeliverable_and_stops_mail_to_it(smtpd, agent):
    smtpd.send(mail("gone@example.org", "Help", "please"))
    t = Ticket.objects.get()
    [ack] = acks("gone@example.org")
    ack_id = str(headers_of(ack)["Message-ID"]).strip()
    dsn = (
        "From: Mail Delivery System <MAILER-DAEMON@mx.example.org>\r\n"
        f"To: {SUPPORT}\r\nSubject: Undelivered Mail Returned to Sender\r\n"
        "Message-ID: <dsn-1@mx.example.org>\r\nAuto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
        "--B\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
        "--B\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.example.org\r\n\r\n"
        "Final-Recipient: rfc822; gone@example.org\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 user unknown\r\n"
        "--B\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"From: {SUPPORT}\r\nTo: gone@example.org\r\nMessage-ID: {ack_id}\r\nSubject: {ack.subject}\r\n"
        "--B--\r\n").encode()
    smtpd.send(dsn, sender="")
    assert Ticket.objects.count() == 1
    bad = UndeliverableAddress.objects.get()
    assert (bad.address, bad.bounced_message_id) == ("gone@example.org", ack_id) and "5.1.1" in bad.reason
    assert t.events.filter(kind="email_bounced").count() == 1
    assert InboundEmail.objects.get(message_id="<dsn-1@mx.example.org>").outcome == "bounce"
    desk = sign_in(agent)
    assert "data-undeliverable" in desk.get(f"/desk/t/{t.public_id}/").content.decode()
    before = OutboundEmail.objects.count()
    s.agent_reply(ticket=t, agent=agent, body="Could you send the order number?")
    assert OutboundEmail.objects.count() == before  # not mailed to a dead address
    assert desk.post(f"/desk/t/{t.public_id}/deliverable/").status_code == 302  # the agent fixed it
    assert "data-undeliverable" not in desk.get(f"/desk/t/{t.public_id}/").content.decode()
    s.agent_reply(ticket=t, agent=agent, body="Second try")
    assert OutboundEmail.objects.count() == before + 1
    # a forged bounce about a message we never sent changes nothing
    forged = dsn.replace(b"dsn-1", b"dsn-2").replace(ack_id.encode(), b"<never@okpay.example>")
    smtpd.send(forged, sender="")
    assert not UndeliverableAddress.objects.exists()


def test_per_sender_rate_limit_answers_451(smtpd, settings):
    from okpay.mailbox.services import sender_limit

    settings.OKPAY_MAIL_SENDER_LIMIT = 2
    sender_limit().reset("flood@example.org")
    smtpd.send(mail("flood@example.org", "one", "1", Auto_Submitted="auto-generated"))
    smtpd.send(mail("flood@example.org", "two", "2", Auto_Submitted="auto-generated"))
    with pytest.raises(smtplib.SMTPDataError) as refused:
        smtpd.send(mail("flood@example.org", "three", "3", Auto_Submitted="auto-generated"))
    assert refused.value.smtp_code == 451
    assert Ticket.objects.count() == 2
    sender_limit().reset("flood@example.org")
