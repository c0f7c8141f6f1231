"""Queue and hand-off: priority (security first), position and wait, assignment to free capacity
or an agent's pick, the agent's socket (transcript, wallet context, replies, notes, typing, read,
transfer, end), the chat ticket with its transcript and SLA, leave-a-message when nobody is on
duty, rating and the transcript email."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from okpay.audit.models import AuditRecord
from okpay.chat import services
from okpay.chat.models import Conversation, Message
from okpay.identity.models import OutboundEmail
from okpay.support.models import Ticket, TicketMessage
from okpay.support.services import agent_duty_set
from tests.chat.conftest import communicator, receive_until, run, session_cookie
from tests.factories import sign_in

pytestmark = pytest.mark.django_db(transaction=True)


def say(conv: Conversation, text: str, cid: str) -> None:
    services.customer_says(conversation=conv, body=text, client_id=cid, user=conv.user)


def test_nobody_on_duty_leaves_a_message_as_an_email_ticket(alice) -> None:  # type: ignore[no-untyped-def]
    conv = services.conversation_open(user=alice).conversation
    say(conv, "我要找人工客服", "a")
    offer = Message.objects.filter(conversation=conv, kind="system").get()
    assert offer.data == {"leave_message": True} and "24" in offer.body
    conv.refresh_from_db()
    assert conv.state == "bot" and conv.ticket_id is None
    number = services.leave_message(conversation=conv, body="提现三天没到账，请回复我")
    ticket = Ticket.objects.get(number=number)
    assert (ticket.channel, ticket.requester, ticket.status) == ("email", alice, "new")
    assert ticket.first_response_due is not None  # SLA applied by support
    assert "提现三天没到账" in ticket.messages.get().body_text
    conv.refresh_from_db()
    assert conv.state == "ended" and conv.ticket == ticket
    assert OutboundEmail.objects.filter(to__icontains="alice@example.com").exists()


def test_queue_security_first_with_position_and_wait(alice, bob, mallory, agent) -> None:  # type: ignore[no-untyped-def]
    agent_duty_set(user=agent, on_duty=True, capacity=1)
    # An earlier chat took 10 minutes: the estimate uses it.
    past = timezone.now() - timedelta(hours=1)
    Conversation.objects.create(user=mallory, state="ended", created_at=past, updated_at=past,
                                assigned_at=past, ended_at=past + timedelta(minutes=10))
    busy = services.conversation_open(user=mallory).conversation
    say(busy, "talk to a person", "m")
    busy.refresh_from_db()
    assert (busy.state, busy.agent) == ("active", agent)
    pay = services.conversation_open(user=alice).conversation
    say(pay, "我的转账待处理", "p1")
    services.handoff_request(conversation=pay)
    sec = services.conversation_open(user=bob).conversation
    say(sec, "我的账户被盗了", "s1")
    state = services.handoff_request(conversation=sec)
    pay.refresh_from_db()
    sec.refresh_from_db()
    assert (pay.category, sec.category) == ("payment", "security")
    assert (state["state"], state["position"], state["wait_minutes"]) == ("queued", 1, 10)
    assert services.state_of(pay)["position"] == 2 and services.state_of(pay)["wait_minutes"] == 20
    assert sec.ticket.priority == "high" and sec.ticket.channel == "chat"
    assert "我的账户被盗了" in sec.ticket.messages.get().body_text  # the bot transcript
    # The agent ends the busy chat: the security chat (queued later) is next.
    services.conversation_end(conversation=busy, actor=agent)
    sec.refresh_from_db()
    pay.refresh_from_db()
    assert (sec.state, sec.agent, pay.state) == ("active", agent, "queued")
    assert Ticket.objects.get(pk=sec.ticket_id).assignee == agent


def test_agent_socket_end_to_end(alice, agent, supervisor) -> None:  # type: ignore[no-untyped-def]
    from okpay.payments.services import topup_create, transfer_create

    topup_create(user=alice, amount=50_000)
    txn = transfer_create(sender=alice, to="newcomer@example.com", amount=20_000)
    agent_duty_set(user=agent, on_duty=True, capacity=3)
    ca, cg, cs = session_cookie(alice), session_cookie(agent), session_cookie(supervisor)
    from okpay.support.models import CannedReply

    reply = CannedReply.objects.create(key="chat-hello", lang="zh-hans", title="问候",
                                       body="{customer_name}您好，我是{agent_name}，工单 {ticket_number}。")
    canned_pk = reply.pk

    async def scenario():  # type: ignore[no-untyped-def]
        desk = communicator("/ws/agent/", cookie=cg)
        ok, _ = await desk.connect()
        assert ok
        overview = await receive_until(desk, "overview")
        customer = communicator(cookie=ca)
        await customer.connect()
        await customer.send_json_to({"type": "hello"})
        welcome = await receive_until(customer, "welcome")
        conv_id = welcome["conversation"]
        await customer.send_json_to({"type": "message", "client_id": "c1", "body": "我的转账为什么待处理"})
        await receive_until(customer, "ack")
        await customer.send_json_to({"type": "handoff", "category": "payment"})
        state = await receive_until(customer, "state", state="active")
        assigned = await receive_until(desk, "assigned")
        await desk.send_json_to({"type": "open", "conversation": conv_id})
        detail = await receive_until(desk, "conversation")
        await desk.send_json_to({"type": "canned", "conversation": conv_id, "canned": canned_pk})
        canned = await receive_until(desk, "canned")
        await desk.send_json_to({"type": "typing", "conversation": conv_id, "typing": True})
        typing = await receive_until(customer, "typing")
        await desk.send_json_to({"type": "message", "conversation": conv_id, "client_id": "n1",
                                 "body": "客户很着急", "internal": True})
        await receive_until(desk, "ack", client_id="n1")
        await desk.send_json_to({"type": "message", "conversation": conv_id, "client_id": "r1",
                                 "body": "您好，我来帮您查看"})
        reply = await receive_until(customer, "message")
        await customer.send_json_to({"type": "read", "seq": reply["message"]["seq"]})
        read = await receive_until(desk, "read")
        await customer.send_json_to({"type": "typing", "typing": True})
        ctyping = await receive_until(desk, "typing")
        # Transfer to the supervisor, who gets it on their own socket.
        boss = communicator("/ws/agent/", cookie=cs)
        await boss.connect()
        await receive_until(boss, "overview")
        await desk.send_json_to({"type": "transfer", "conversation": conv_id, "to": supervisor.public_id})
        await receive_until(desk, "released")
        await receive_until(boss, "assigned")
        await desk.send_json_to({"type": "message", "conversation": conv_id, "client_id": "r2", "body": "late"})
        refused = await receive_until(desk, "error")
        await boss.send_json_to({"type": "message", "conversation": conv_id, "client_id": "b1", "body": "已为您处理"})
        boss_reply = await receive_until(customer, "message", )
        await boss.send_json_to({"type": "end", "conversation": conv_id})
        ended = await receive_until(customer, "state", state="ended")
        await customer.send_json_to({"type": "rate", "score": 5, "comment": "很快"})
        rated = await receive_until(customer, "rated")
        for _ in range(3):
            await customer.send_json_to({"type": "transcript"})
            await receive_until(customer, "transcript_sent")
        await customer.send_json_to({"type": "transcript"})
        limited = await receive_until(customer, "error")
        notes_seen = [f for f in await drain_all(customer) if f.get("message", {}).get("kind") == "note"]
        for c in (desk, boss, customer):
            await c.disconnect()
        return locals()

    out = run(scenario)
    assert out["overview"]["mine"] == []
    assert out["state"]["agent"] == "Agent"
    detail = out["detail"]
    assert [m["kind"] for m in detail["messages"]][:3] == ["bot", "customer", "bot"]
    assert txn.public_id in detail["messages"][2]["body"]
    # The wallet panel is support's own context for the ticket: same page, same audit record.
    ticket = Conversation.objects.get(public_id=out["conv_id"]).ticket
    assert detail["wallet"] == {"signed_in": True, "linked": True,
                                "context": f"/desk/t/{ticket.public_id}/context/"}
    desk_client = sign_in(agent)
    panel = desk_client.get(detail["wallet"]["context"])
    assert panel.status_code == 200
    assert txn.public_id in panel.content.decode() and "al***@example.com" in panel.content.decode()
    assert AuditRecord.objects.filter(action="support.view.customer_context", actor=agent.public_id,
                                      target_id=ticket.public_id).count() == 1
    assert out["typing"] == {"type": "typing", "side": "agent", "typing": True}
    assert out["canned"]["body"] == f"Alice您好，我是Agent，工单 {Conversation.objects.get().ticket.number}。"
    assert out["reply"]["message"]["kind"] == "agent" and out["reply"]["message"]["author"] == "Agent"
    assert out["read"]["seq"] == out["reply"]["message"]["seq"]
    assert out["ctyping"]["side"] == "customer"
    assert out["refused"]["code"] == "forbidden"
    assert out["rated"]["score"] == 5
    assert out["limited"]["code"] == "rate_limited"
    assert out["notes_seen"] == []
    conv = Conversation.objects.get(public_id=out["conv_id"])
    assert (conv.state, conv.agent, conv.rating, conv.transcripts_sent) == ("ended", supervisor, 5, 3)
    assert Message.objects.filter(conversation=conv, kind="note").count() == 1
    ticket = conv.ticket
    assert (ticket.channel, ticket.status, ticket.assignee) == ("chat", "solved", supervisor)
    assert (ticket.rating.score, ticket.rating.comment) == (5, "很快")  # the desk's CSAT counts chats
    assert ticket.first_responded_at is not None
    # The first reply went on the ticket through support's reply service, without an email.
    public = TicketMessage.objects.filter(ticket=ticket, visibility="public", author_kind="agent")
    assert [(m.author, m.body_text) for m in public] == [(agent, "您好，我来帮您查看")]
    assert not OutboundEmail.objects.filter(subject__contains=f"您的工单 {ticket.number} 有新回复").exists()
    transcript = TicketMessage.objects.filter(ticket=ticket, visibility="internal").last().body_text
    assert "您好，我来帮您查看" in transcript and "客户很着急" in transcript and "已为您处理" in transcript
    mails = OutboundEmail.objects.filter(to__icontains="alice@example.com", subject__contains="OKPay")
    assert mails.count() >= 3


async def drain_all(comm):  # type: ignore[no-untyped-def]
    frames = []
    while not await comm.receive_nothing(timeout=0.2):
        frames.append(await comm.receive_json_from())
    return frames


def test_agent_picks_from_the_queue(alice, agent) -> None:  # type: ignore[no-untyped-def]
    profile = agent_duty_set(user=agent, on_duty=True, capacity=1)
    conv = services.conversation_open(user=alice).conversation
    say(conv, "hello", "h")
    # Full: an active chat elsewhere.
    profile.capacity = 1
    profile.save(update_fields=["capacity"])
    other = Conversation.objects.create(guest_email="g@example.com", state="active", agent=agent,
                                        created_at=timezone.now(), updated_at=timezone.now())
    services.handoff_request(conversation=conv)
    conv.refresh_from_db()
    assert conv.state == "queued"
    services.agent_pick(agent=agent, public_id=conv.public_id)
    conv.refresh_from_db()
    assert (conv.state, conv.agent) == ("active", agent)
    with pytest.raises(services.BusinessRuleError):
        services.agent_pick(agent=agent, public_id=conv.public_id)
    assert other.pk


def test_a_guests_chat_shows_no_wallet_context(alice, agent) -> None:  # type: ignore[no-untyped-def]
    """A guest who types a customer's email address does not get that customer's wallet shown."""
    agent_duty_set(user=agent, on_duty=True, capacity=1)
    opened = services.conversation_open(user=None, guest_email="alice@example.com", ip="203.0.113.5")
    services.handoff_request(conversation=opened.conversation, category="payment")
    conv = Conversation.objects.select_related("ticket", "user", "agent").get(pk=opened.conversation.pk)
    assert conv.state == "active" and conv.ticket.requester is None
    detail = services.agent_detail(agent=agent, conversation=conv)
    assert detail["wallet"] == {"signed_in": False, "linked": False}


def test_money_taken_by_someone_else_hands_off_at_once_with_the_article(alice, agent) -> None:  # type: ignore[no-untyped-def]
    from okpay.helpcenter.search import vocabulary
    from okpay.helpcenter.seed import load

    load()
    vocabulary.invalidate()
    agent_duty_set(user=agent, on_duty=True, capacity=1)
    conv = services.conversation_open(user=alice).conversation
    say(conv, "我账户里的钱被人转走了，不是我操作的", "u1")
    conv.refresh_from_db()
    bot = Message.objects.filter(conversation=conv, kind="bot").order_by("-seq").first()
    assert bot.data["handoff"] is True and bot.data["intent"] == "security"
    assert (conv.state, conv.category, conv.agent) == ("active", "security", agent)
    ticket = conv.ticket
    assert ticket.priority == "high" and ticket.channel == "chat"
    first = ticket.messages.order_by("pk").first().body_text
    assert "我账户里的钱被人转走了" in first  # the conversation
    assert ticket.meta["article"] == bot.data["articles"][0]["slug"]  # and the matched article
    assert bot.data["articles"][0]["title"] in first


def test_unsure_then_talk_to_a_person_attaches_the_closest_article(alice, agent) -> None:  # type: ignore[no-untyped-def]
    from okpay.helpcenter.search import vocabulary
    from okpay.helpcenter.seed import load

    load()
    vocabulary.invalidate()
    agent_duty_set(user=agent, on_duty=True, capacity=1)
    conv = services.conversation_open(user=alice).conversation
    say(conv, "cancel my okpay account", "c1")  # not a pending payment: the closing article
    bot = Message.objects.filter(conversation=conv, kind="bot").order_by("-seq").first()
    assert "flow" not in bot.data and bot.data["articles"][0]["slug"] == "close-account"
    say(conv, "zzqqxx", "c2")
    unsure = Message.objects.filter(conversation=conv, kind="bot").order_by("-seq").first()
    assert unsure.data.get("unsure") is True and unsure.data["actions"][-1]["action"] == "handoff"
    services.customer_action(conversation=conv, user=alice, action="handoff", target="", key="")
    conv.refresh_from_db()
    assert conv.state == "active"
    body = conv.ticket.messages.order_by("pk").first().body_text
    assert "cancel my okpay account" in body and "zzqqxx" in body
    assert conv.ticket.meta["article"] == "close-account"
