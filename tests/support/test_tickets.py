"""Tickets: numbers, requesters of every channel, messages, sanitising, attachments, the status
machine with reopen and follow-up, CSAT, NPS, feedback, callbacks, the complaint rule."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from okpay.core.errors import Conflict, InvalidRequest, NotFound
from okpay.identity.models import OutboundEmail
from okpay.support import services as s
from okpay.support.models import Rating, Status, Ticket, TicketEvent, TicketMessage
from tests.support.helpers import web_ticket

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def test_number_is_ok_year_sequence_and_ack_email_promises_first_response(alice, fake_clock):
    first = web_ticket(alice)
    second = web_ticket(alice, subject="另一个问题")
    assert first.number == "OK-2026-000001"
    assert second.number == "OK-2026-000002"
    assert first.public_id.startswith("tkt_")
    assert first.status == Status.NEW
    # web × normal: the seed's promise, first reply within 24 hours
    assert (first.first_response_due - first.created_at).total_seconds() == 24 * 3600
    acks = [m for m in OutboundEmail.objects.order_by("pk") if "OK-2026-000001" in m.subject]
    assert len(acks) == 1 and acks[0].to == ["alice@example.com"]
    assert "OK-2026-000001" in acks[0].body_text
    assert "2026" in acks[0].body_text.split("OK-2026-000001", 1)[1]  # the promised first-response time
    assert list(TicketEvent.objects.filter(ticket=first).values_list("kind", flat=True)) == ["created"]


def test_requester_can_be_only_an_email_phone_or_handle(db, fake_clock):
    by_mail = s.ticket_create(requester=s.Requester(email="x@example.org"), channel="email", category="technical",
                              subject="App crashes", body_html="<p>Hello<script>alert(1)</script></p>")
    by_social = s.ticket_create(requester=s.Requester(handle="telegram:@carol"), channel="social",
                                category="account", subject="Hi", body="hello")
    assert by_mail.requester is None and by_mail.requester_email == "x@example.org"
    assert by_social.requester_handle == "telegram:@carol"
    assert "<script" not in by_mail.messages.get().body_html
    assert by_mail.messages.get().body_text == "Hello"
    with pytest.raises(InvalidRequest):
        s.ticket_create(requester=s.Requester(), channel="web", category="account", subject="x", body="y")
    assert Ticket.objects.count() == 2


def test_html_is_sanitised(alice, fake_clock):
    t = web_ticket(alice, body_html='<p onclick="x()">Hi <a href="javascript:alert(1)">x</a>'
                                    '<img src=x onerror=alert(1)><a href="https://okpay.example/">ok</a></p>')
    body = t.messages.get().body_html
    assert "onclick" not in body and "javascript" not in body and "<img" not in body
    assert 'href="https://okpay.example/"' in body and "noopener" in body


def test_plain_text_is_escaped(alice, fake_clock):
    t = web_ticket(alice, body="<b>bold</b>\nline two")
    assert t.messages.get().body_html == "<p>&lt;b&gt;bold&lt;/b&gt;<br>line two</p>"


def test_attachments_are_type_and_size_limited(alice, fake_clock, settings):
    settings.OKPAY_SUPPORT_ATTACHMENT_MAX_BYTES = 1024
    ok = web_ticket(alice, attachments=[
        SimpleUploadedFile("shot.png", PNG, content_type="image/png"),
        SimpleUploadedFile("notes.txt", "付款记录".encode(), content_type="text/plain")])
    atts = list(ok.messages.get().attachments.order_by("pk"))
    assert [(a.name, a.content_type) for a in atts] == [("shot.png", "image/png"), ("notes.txt", "text/plain")]
    before = Ticket.objects.count()
    with pytest.raises(InvalidRequest) as big:
        web_ticket(alice, attachments=[SimpleUploadedFile("big.png", PNG + b"\x00" * 2000, content_type="image/png")])
    assert big.value.code == "attachment_refused"
    with pytest.raises(InvalidRequest):  # an executable calling itself a PNG
        exe = SimpleUploadedFile("x.png", b"MZ\x90\x00\x03\x00\x00\x00", content_type="image/png")
        web_ticket(alice, attachments=[exe])
    assert Ticket.objects.count() == before


@pytest.mark.parametrize(("path", "ok"), [
    (["open"], True), (["waiting"], True), (["on_hold"], True), (["solved"], True), (["closed"], True),
    (["open", "waiting", "open"], True), (["open", "on_hold", "waiting"], True), (["open", "solved", "open"], True),
    (["open", "solved", "closed"], True), (["open", "new"], False), (["closed", "open"], False),
    (["solved", "waiting"], False), (["open", "closed"], False), (["waiting", "closed"], False),
])
def test_status_transitions(alice, agent, fake_clock, path, ok):
    t = web_ticket(alice)
    *steps, last = path
    for status in steps:
        s.ticket_status_set(ticket=t, actor=agent, status=status)
    t.refresh_from_db()
    before = t.status
    if ok:
        s.ticket_status_set(ticket=t, actor=agent, status=last)
        t.refresh_from_db()
        assert t.status == last
    else:
        with pytest.raises(Conflict) as exc:
            s.ticket_status_set(ticket=t, actor=agent, status=last)
        assert exc.value.code == "invalid_transition"
        t.refresh_from_db()
        assert t.status == before


def test_reply_on_solved_ticket_reopens_within_7_days_then_makes_a_follow_up(alice, agent, fake_clock):
    t = web_ticket(alice)
    s.agent_reply(ticket=t, agent=agent, body="已处理", status="solved")
    fake_clock.advance(days=6, hours=23)
    s.customer_reply(ticket=t, user=alice, body="还是不行")
    t.refresh_from_db()
    assert t.status == Status.OPEN and t.solved_at is None
    assert TicketEvent.objects.filter(ticket=t, kind="reopened").count() == 1
    s.agent_reply(ticket=t, agent=agent, body="再次处理", status="solved")
    fake_clock.advance(days=7, seconds=1)
    message = s.customer_reply(ticket=t, user=alice, body="又出现了")
    t.refresh_from_db()
    assert t.status == Status.SOLVED
    follow_up = message.ticket
    assert follow_up.pk != t.pk and follow_up.follow_up_of == t and follow_up.status == Status.NEW
    assert follow_up.category == t.category and follow_up.subject == t.subject


def test_closed_ticket_reply_makes_a_follow_up_and_sweep_closes_solved(alice, agent, fake_clock):
    t = web_ticket(alice)
    s.agent_reply(ticket=t, agent=agent, body="ok", status="solved")
    fake_clock.advance(days=6)
    assert s.solved_tickets_close() == 0
    fake_clock.advance(days=1, seconds=1)
    assert s.solved_tickets_close() == 1
    assert s.solved_tickets_close() == 0
    t.refresh_from_db()
    assert t.status == Status.CLOSED
    msg = s.customer_reply(ticket=t, user=alice, body="new issue")
    assert msg.ticket.follow_up_of_id == t.pk


def test_customer_close_and_rate_once(alice, bob, agent, fake_clock):
    t = web_ticket(alice)
    with pytest.raises(Conflict) as early:
        s.rating_create(ticket=t, user=alice, score=5)
    assert early.value.code == "not_ratable"
    s.customer_close(ticket=t, user=alice)
    with pytest.raises(NotFound):
        s.rating_create(ticket=t, user=bob, score=1)
    with pytest.raises(InvalidRequest):
        s.rating_create(ticket=t, user=alice, score=6)
    s.rating_create(ticket=t, user=alice, score=5, comment="很快")
    with pytest.raises(Conflict):
        s.rating_create(ticket=t, user=alice, score=1)
    assert list(Rating.objects.values_list("score", "comment")) == [(5, "很快")]


def test_internal_notes_and_customer_view(alice, agent, fake_clock):
    from okpay.support.selectors import public_messages

    t = web_ticket(alice)
    s.agent_reply(ticket=t, agent=agent, body="客户可能是被钓鱼", internal=True)
    s.agent_reply(ticket=t, agent=agent, body="您好，已收到")
    assert [m.body_text for m in public_messages(t)] == ["付款显示待处理，怎么办？", "您好，已收到"]
    t.refresh_from_db()
    assert t.first_responded_at == fake_clock.now and t.status == Status.OPEN and t.assignee == agent


def test_ticket_events_are_append_only(alice, fake_clock):
    t = web_ticket(alice)
    e = TicketEvent.objects.get(ticket=t)
    e.kind = "edited"
    with pytest.raises(RuntimeError):
        e.save()
    with pytest.raises(RuntimeError):
        e.delete()
    assert TicketEvent.objects.get(ticket=t).kind == "created"


def test_complaint_rule(alice, supervisor, fake_clock):
    t = web_ticket(alice, category="complaint", subject="投诉：客服态度")
    assert t.priority == "high"
    assert (t.resolution_due - t.created_at).total_seconds() == 48 * 3600  # web × high, under the 72 h rule
    assert TicketEvent.objects.filter(ticket=t, kind="complaint_rule").exists()
    alerts = [m for m in OutboundEmail.objects.all() if m.to == ["supervisor@example.com"]]
    assert len(alerts) == 1 and t.number in alerts[0].subject


def test_callback_is_an_urgent_phone_ticket(alice, fake_clock):
    t = s.callback_request(phone="+86 138 0013 8000", topic="payment", preferred_time="今天下午", user=alice)
    assert (t.channel, t.priority, t.category) == ("phone", "urgent", "payment")
    assert t.requester_phone == "+8613800138000"
    assert (t.first_response_due - t.created_at).total_seconds() == 3600
    with pytest.raises(InvalidRequest):
        s.callback_request(phone="abc", topic="x")


def test_nps_at_most_once_a_quarter(alice, agent, fake_clock):
    assert not s.nps_due(alice)  # nobody asks before a ticket was solved
    t = web_ticket(alice)
    s.agent_reply(ticket=t, agent=agent, body="ok", status="solved")
    assert s.nps_due(alice)
    s.nps_answer(user=alice, score=9)
    assert not s.nps_due(alice)
    with pytest.raises(Conflict):
        s.nps_answer(user=alice, score=10)
    fake_clock.advance(days=40)  # 2027Q1
    assert s.nps_due(alice)


def test_feedback_without_ticket(alice, db):
    f = s.feedback_create(body="希望支持更多银行", kind="idea", user=alice, page="/help/")
    assert f.user == alice and Ticket.objects.count() == 0
    with pytest.raises(InvalidRequest):
        s.feedback_create(body=" ")


def test_linked_transaction_must_be_the_customers(alice, bob, fake_clock):
    with pytest.raises(InvalidRequest):
        web_ticket(alice, transaction_id="txn_doesnotexist")
    assert Ticket.objects.count() == 0
    assert TicketMessage.objects.count() == 0


@pytest.mark.parametrize("status", ["new", "open", "waiting", "on_hold", "solved"])
def test_customer_can_close_from_any_status_but_closed(alice, agent, fake_clock, status):
    t = web_ticket(alice)
    if status != "new":
        s.ticket_status_set(ticket=t, actor=agent, status=status)
    s.customer_close(ticket=t, user=alice)
    t.refresh_from_db()
    assert t.status == "closed" and t.closed_at == fake_clock.now and t.sla_paused_at is None
    with pytest.raises(Conflict):
        s.customer_close(ticket=t, user=alice)


def test_email_only_requester_gets_acknowledgement_and_replies_by_email(agent, fake_clock):
    t = s.ticket_create(requester=s.Requester(email="visitor@example.org", name="Visitor"), channel="email",
                        category="technical", subject="App crashes", body="on start", lang="en")
    s.agent_reply(ticket=t, agent=agent, body="Please update to the latest version.")
    mails = [m for m in OutboundEmail.objects.order_by("pk") if m.to == ["visitor@example.org"]]
    assert [m.subject for m in mails] == [f"OKPay · We received your request [{t.number}]",
                                          f"OKPay · New reply on your ticket [{t.number}]"]
    assert "Please update to the latest version." in mails[1].body_text
    s.agent_reply(ticket=t, agent=agent, body="internal only", internal=True)
    assert len([m for m in OutboundEmail.objects.all() if m.to == ["visitor@example.org"]]) == 2


def test_csat_survey_email_when_solved_by_support_only(alice, agent, fake_clock):
    t = web_ticket(alice)
    s.agent_reply(ticket=t, agent=agent, body="已处理", status="solved")
    surveys = [m for m in OutboundEmail.objects.all() if "满意" in m.subject and m.to == ["alice@example.com"]]
    assert len(surveys) == 1 and f"/support/tickets/{t.public_id}/#rating" in surveys[0].body_text
    own = web_ticket(alice, subject="自己解决了")
    s.customer_close(ticket=own, user=alice)  # the customer closed it: no survey about it
    assert len([m for m in OutboundEmail.objects.all() if "满意" in m.subject]) == 1


def test_a_call_back_ticket_names_its_topic_in_words(alice, fake_clock):
    from okpay.support import services as support

    ticket = support.callback_request(phone="+8613800138000", topic="security", user=alice)
    assert ticket.subject == "回电请求：安全"  # not the code "security"
