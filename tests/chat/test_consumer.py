"""The customer's WebSocket (``ws/chat/``): every frame type and error, resume without loss or
duplicates, limits and the origin check."""

from __future__ import annotations

import json

import pytest

from okpay.chat.models import Conversation, Message
from tests.chat.conftest import communicator, drain, receive_until, run, session_cookie

pytestmark = pytest.mark.django_db(transaction=True)


async def hello(comm, **fields):  # type: ignore[no-untyped-def]
    connected, _ = await comm.connect()
    assert connected
    await comm.send_json_to({"type": "hello", **fields})
    return await receive_until(comm, "welcome")


def test_guest_needs_an_email_then_chats_and_resumes_with_the_token(db) -> None:  # type: ignore[no-untyped-def]
    async def scenario():  # type: ignore[no-untyped-def]
        comm = communicator()
        await comm.connect()
        await comm.send_json_to({"type": "hello", "lang": "en"})
        error = await receive_until(comm, "error")
        assert (error["code"], error["param"]) == ("invalid_request", "email")
        await comm.send_json_to({"type": "hello", "lang": "en", "email": "Guest@Example.com"})
        welcome = await receive_until(comm, "welcome")
        assert welcome["token"] and welcome["signed_in"] is False and welcome["state"]["state"] == "bot"
        assert [m["kind"] for m in welcome["messages"]] == ["bot"]
        await comm.send_json_to({"type": "message", "client_id": "c1", "body": "hello there"})
        ack = await receive_until(comm, "ack")
        assert (ack["client_id"], ack["seq"], ack["duplicate"]) == ("c1", 2, False)
        await receive_until(comm, "message")  # the assistant's answer is stored (no race with the resume)
        await comm.disconnect()
        # Another connection: the wrong token finds nothing, the right one resumes after seq 1.
        comm2 = communicator()
        await comm2.connect()
        await comm2.send_json_to({"type": "hello", "conversation": welcome["conversation"], "token": "nope"})
        assert (await receive_until(comm2, "error"))["code"] == "not_found"
        await comm2.send_json_to({"type": "hello", "conversation": welcome["conversation"],
                                  "token": welcome["token"], "last_seq": 1})
        resumed = await receive_until(comm2, "welcome")
        await comm2.disconnect()
        return welcome, resumed

    welcome, resumed = run(scenario)
    assert resumed["token"] is None
    assert [(m["seq"], m["kind"], m["client_id"]) for m in resumed["messages"]] == [
        (2, "customer", "c1"), (3, "bot", None)]
    conv = Conversation.objects.get(public_id=welcome["conversation"])
    assert (conv.guest_email, conv.user_id, conv.last_seq) == ("guest@example.com", None, 3)
    assert len(conv.guest_token_hash) == 64 and welcome["token"] not in conv.guest_token_hash


def test_signed_in_customer_is_identified_and_resends_are_deduplicated(alice) -> None:  # type: ignore[no-untyped-def]
    ca = session_cookie(alice)
    async def scenario():  # type: ignore[no-untyped-def]
        comm = communicator(cookie=ca)
        welcome = await hello(comm, lang="zh-hans")
        for _ in range(2):  # the client did not see the first ack and resends
            await comm.send_json_to({"type": "message", "client_id": "m-1", "body": "你好"})
        first = await receive_until(comm, "ack")
        second = await receive_until(comm, "ack")
        # A new connection of the same customer resumes the same conversation, after seq 0.
        comm2 = communicator(cookie=ca)
        again = await hello(comm2, last_seq=0)
        await comm.disconnect()
        await comm2.disconnect()
        return welcome, first, second, again

    welcome, first, second, again = run(scenario)
    assert welcome["signed_in"] is True and welcome["token"] is None
    assert (first["seq"], first["duplicate"]) == (2, False)
    assert (second["seq"], second["duplicate"]) == (2, True)
    assert again["conversation"] == welcome["conversation"]
    assert [m["seq"] for m in again["messages"]] == [1, 2, 3]
    assert Message.objects.filter(client_id="m-1").count() == 1
    assert Conversation.objects.get().user == alice


def test_messages_reach_every_connection_of_the_conversation_with_typing_and_read(alice) -> None:  # type: ignore[no-untyped-def]
    ca = session_cookie(alice)
    async def scenario():  # type: ignore[no-untyped-def]
        a = communicator(cookie=ca)
        await hello(a)
        b = communicator(cookie=ca)
        await hello(b)
        await a.send_json_to({"type": "message", "client_id": "x1", "body": "怎么充值"})
        got = [await receive_until(b, "message"), await receive_until(b, "message")]
        await a.send_json_to({"type": "typing", "typing": True})
        typing_seen_by_b = await b.receive_nothing(timeout=0.3)  # the customer's own typing is not echoed
        await a.send_json_to({"type": "read", "seq": 99})
        read = await receive_until(a, "read_ok")
        await a.send_json_to({"type": "read", "seq": "x"})
        bad = await receive_until(a, "error")
        await a.disconnect()
        await b.disconnect()
        return got, typing_seen_by_b, read, bad

    got, nothing, read, bad = run(scenario)
    assert [m["message"]["kind"] for m in got] == ["customer", "bot"]
    assert got[0]["message"]["body"] == "怎么充值"
    assert nothing is True
    assert read["seq"] == 3  # never beyond the last message
    assert Conversation.objects.get().customer_read_seq == 3
    assert (bad["code"], bad["param"]) == ("invalid_request", "seq")


def test_frame_errors(alice, settings) -> None:  # type: ignore[no-untyped-def]
    ca = session_cookie(alice)
    settings.OKPAY_CHAT_MAX_CHARS = 100

    async def scenario():  # type: ignore[no-untyped-def]
        comm = communicator(cookie=ca)
        await comm.connect()
        out = {}
        await comm.send_json_to({"type": "message", "client_id": "a", "body": "x"})
        out["before_hello"] = await receive_until(comm, "error")
        await comm.send_to(text_data="not json")
        out["json"] = await receive_until(comm, "error")
        await comm.send_json_to(["a list"])
        out["frame"] = await receive_until(comm, "error")
        await comm.send_json_to({"type": "__class__"})
        out["unknown"] = await receive_until(comm, "error")
        await comm.send_json_to({"type": "hello"})
        await receive_until(comm, "welcome")
        await comm.send_json_to({"type": "message", "body": "no id"})
        out["no_client_id"] = await receive_until(comm, "error")
        await comm.send_json_to({"type": "message", "client_id": "a b c", "body": "bad id"})
        out["bad_client_id"] = await receive_until(comm, "error")
        await comm.send_json_to({"type": "message", "client_id": "e", "body": "   "})
        out["empty"] = await receive_until(comm, "error")
        await comm.send_json_to({"type": "message", "client_id": "l", "body": "长" * 101})
        out["long"] = await receive_until(comm, "error")
        await comm.send_json_to({"type": "ping"})
        out["pong"] = await receive_until(comm, "pong")
        await comm.send_json_to({"type": "rate", "score": 5})
        out["rate_too_early"] = await receive_until(comm, "error")
        await comm.send_to(text_data=json.dumps({"type": "message", "body": "x" * 5000}))
        out["closed"] = await comm.receive_output(timeout=2)
        await comm.wait()
        return out

    out = run(scenario)
    assert out["before_hello"]["code"] == "hello_first"
    assert out["json"]["code"] == "invalid_json"
    assert out["frame"]["code"] == "invalid_frame"
    assert out["unknown"]["code"] == "unknown_type"
    assert (out["no_client_id"]["code"], out["no_client_id"]["param"]) == ("invalid_request", "client_id")
    assert out["bad_client_id"]["param"] == "client_id"
    assert out["empty"]["param"] == "body"
    assert out["long"]["param"] == "body"
    assert out["rate_too_early"]["code"] == "chat_not_ended"
    assert out["closed"] == {"type": "websocket.close", "code": 1009}
    assert Message.objects.filter(kind="customer").count() == 0


def test_rate_limit_per_connection(alice, settings) -> None:  # type: ignore[no-untyped-def]
    ca = session_cookie(alice)
    settings.OKPAY_CHAT_RATE_PER_MINUTE = 20  # bursts of 5

    async def scenario():  # type: ignore[no-untyped-def]
        comm = communicator(cookie=ca)
        await hello(comm)  # 1 frame
        for i in range(8):
            await comm.send_json_to({"type": "ping", "n": i})
        frames = await drain(comm)
        await comm.disconnect()
        return frames

    frames = run(scenario)
    assert [f["type"] for f in frames].count("pong") == 4
    limited = [f for f in frames if f["type"] == "error"]
    assert len(limited) == 4 and {f["code"] for f in limited} == {"rate_limited"}


def test_foreign_origin_is_refused_and_others_conversations_are_invisible(alice, bob) -> None:  # type: ignore[no-untyped-def]
    ca = session_cookie(alice)
    cb = session_cookie(bob)
    async def scenario():  # type: ignore[no-untyped-def]
        evil = communicator(cookie=ca, origin="https://evil.example")
        refused, _ = await evil.connect()
        comm = communicator(cookie=ca)
        welcome = await hello(comm)
        await comm.send_json_to({"type": "message", "client_id": "s1", "body": "secret"})
        await receive_until(comm, "ack")
        await comm.disconnect()
        spy = communicator(cookie=cb)
        await spy.connect()
        await spy.send_json_to({"type": "hello", "conversation": welcome["conversation"]})
        error = await receive_until(spy, "error")
        anonymous = communicator()
        await anonymous.connect()
        await anonymous.send_json_to({"type": "hello", "conversation": welcome["conversation"], "token": ""})
        error2 = await receive_until(anonymous, "error")
        await spy.disconnect()
        await anonymous.disconnect()
        return refused, error, error2

    refused, error, error2 = run(scenario)
    assert refused is False
    assert error["code"] == "not_found" and error2["code"] == "not_found"


def test_customer_cannot_reach_the_agent_socket(alice) -> None:  # type: ignore[no-untyped-def]
    ca = session_cookie(alice)
    async def scenario():  # type: ignore[no-untyped-def]
        comm = communicator("/ws/agent/", cookie=ca)
        connected, code = await comm.connect()
        anonymous = communicator("/ws/agent/")
        connected2, code2 = await anonymous.connect()
        return connected, code, connected2, code2

    assert run(scenario) == (False, 4403, False, 4403)


def test_guest_chats_per_address_are_limited(db, settings) -> None:  # type: ignore[no-untyped-def]
    settings.OKPAY_CHAT_GUESTS_PER_HOUR = 2

    async def scenario():  # type: ignore[no-untyped-def]
        answers = []
        for i in range(3):
            comm = communicator()
            await comm.connect()
            await comm.send_json_to({"type": "hello", "email": f"g{i}@example.com"})
            answers.append(await comm.receive_json_from(timeout=5))
            await comm.disconnect()
        return answers

    answers = run(scenario)
    assert [a["type"] for a in answers] == ["welcome", "welcome", "error"]
    assert answers[2]["code"] == "rate_limited"
    assert Conversation.objects.count() == 2


def test_chats_give_their_database_connections_back(db) -> None:  # type: ignore[no-untyped-def]
    """Regression (okpay.core.asyncdb): each chat kept the pooled connections its consumer's
    database calls opened, and on PostgreSQL the pool ran dry after a dozen chats."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("the pool is PostgreSQL's")

    async def one_chat(n: int):  # type: ignore[no-untyped-def]
        comm = communicator()
        await hello(comm, lang="en", email=f"pool{n}@example.com")
        await comm.send_json_to({"type": "message", "client_id": "c1", "body": "hello there"})
        await receive_until(comm, "ack")
        await receive_until(comm, "message")
        await comm.disconnect()

    for n in range(12):
        run(lambda n=n: one_chat(n))
    stats = connection.pool.get_stats()
    assert stats["pool_size"] - stats.get("pool_available", 0) <= 2, stats  # this test's own, at most
