"""Real ``okpay serve`` processes sharing Redis: the customer on one process and the agent on
another talk normally; killing the customer's process mid-conversation loses and duplicates
nothing once the client reconnects (to another process) and resends what was not acknowledged."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from websockets.asyncio.client import connect

from okpay.chat.models import Conversation, Message
from okpay.support.services import agent_duty_set
from tests.chat.conftest import run, session_cookie

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


class Peer:
    """A WebSocket client that keeps every frame it has seen."""

    def __init__(self, server: Any, path: str, cookie: str) -> None:
        self.server, self.path, self.cookie = server, path, cookie
        self.frames: list[dict[str, Any]] = []
        self.ws: Any = None

    async def open(self) -> Peer:
        self.ws = await connect(self.server.ws + self.path, origin=self.server.url,
                                additional_headers={"Cookie": f"sessionid={self.cookie}"}, open_timeout=10)
        return self

    async def send(self, **frame: Any) -> None:
        await self.ws.send(json.dumps(frame))

    async def until(self, kind: str, timeout: float = 15, **match: Any) -> dict[str, Any]:
        async def wait() -> dict[str, Any]:
            while True:
                frame = json.loads(await self.ws.recv())
                self.frames.append(frame)
                if frame.get("type") == kind and all(frame.get(k) == v for k, v in match.items()):
                    return frame
        return await asyncio.wait_for(wait(), timeout)


def test_customer_and_agent_on_different_processes(servers, alice, agent) -> None:  # type: ignore[no-untyped-def]
    agent_duty_set(user=agent, on_duty=True, capacity=2)
    a, b = servers(2)
    ca, cg = session_cookie(alice), session_cookie(agent)

    async def scenario() -> dict[str, Any]:
        desk = await Peer(b, "/ws/agent/", cg).open()
        await desk.until("overview")
        customer = await Peer(a, "/ws/chat/", ca).open()
        await customer.send(type="hello", lang="zh-hans")
        welcome = await customer.until("welcome")
        await customer.send(type="message", client_id="c1", body="我要找人工")
        await customer.until("ack", client_id="c1")
        assigned = await desk.until("assigned")
        await desk.send(type="open", conversation=welcome["conversation"])
        await desk.until("conversation")
        await customer.send(type="typing", typing=True)
        typing = await desk.until("typing")
        await desk.send(type="message", conversation=welcome["conversation"], client_id="g1", body="您好，我是客服")
        reply = await customer.until("message", timeout=15)
        while reply["message"]["kind"] != "agent":
            reply = await customer.until("message")
        await customer.send(type="message", client_id="c2", body="谢谢")
        seen_by_agent = await desk.until("message")
        while seen_by_agent["message"].get("client_id") != "c2":
            seen_by_agent = await desk.until("message")
        await customer.ws.close()
        await desk.ws.close()
        return {"welcome": welcome, "assigned": assigned, "typing": typing, "reply": reply,
                "seen": seen_by_agent}

    out = run(scenario)
    assert out["assigned"]["conversation"] == out["welcome"]["conversation"]
    assert out["typing"]["side"] == "customer"
    assert out["reply"]["message"]["body"] == "您好，我是客服" and out["reply"]["message"]["author"] == "Agent"
    assert out["seen"]["message"]["body"] == "谢谢"
    conv = Conversation.objects.get(public_id=out["welcome"]["conversation"])
    assert (conv.state, conv.agent) == ("active", agent)


def test_killing_the_customers_process_loses_and_duplicates_nothing(servers, alice, agent) -> None:  # type: ignore[no-untyped-def]
    agent_duty_set(user=agent, on_duty=True, capacity=2)
    a, b = servers(2)
    ca, cg = session_cookie(alice), session_cookie(agent)

    async def scenario() -> dict[str, Any]:
        desk = await Peer(b, "/ws/agent/", cg).open()
        await desk.until("overview")
        customer = await Peer(a, "/ws/chat/", ca).open()
        await customer.send(type="hello")
        welcome = await customer.until("welcome")
        conv_id = welcome["conversation"]
        seen: dict[int, dict[str, Any]] = {m["seq"]: m for m in welcome["messages"]}
        await customer.send(type="handoff", category="payment")
        await desk.until("assigned")
        await desk.send(type="open", conversation=conv_id)
        await desk.until("conversation")
        unacked: dict[str, str] = {}
        for i in range(5):
            unacked[f"k{i}"] = f"第{i}条"
            await customer.send(type="message", client_id=f"k{i}", body=f"第{i}条")
            ack = await customer.until("ack", client_id=f"k{i}")
            unacked.pop(ack["client_id"])
        # Two more messages go out and the process dies before the client reads any answer.
        for i in (5, 6):
            unacked[f"k{i}"] = f"第{i}条"
            await customer.send(type="message", client_id=f"k{i}", body=f"第{i}条")
        a.kill()
        for frame in customer.frames:
            if frame.get("type") == "message":
                seen[frame["message"]["seq"]] = frame["message"]
        # While the customer is away the agent answers.
        await desk.send(type="message", conversation=conv_id, client_id="g-away", body="您还在吗？")
        await desk.until("ack", client_id="g-away")
        # The widget reconnects (to the surviving process), resumes after its last seq, resends.
        last = max(seen)
        again = await Peer(b, "/ws/chat/", ca).open()
        await again.send(type="hello", conversation=conv_id, last_seq=last)
        resumed = await again.until("welcome")
        for m in resumed["messages"]:
            assert m["seq"] not in seen, "replayed a message the client already had"
            seen[m["seq"]] = m
        duplicates = []
        for cid, body in sorted(unacked.items()):
            await again.send(type="message", client_id=cid, body=body)
            ack = await again.until("ack", client_id=cid)
            duplicates.append(ack["duplicate"])
            if ack["seq"] not in seen:
                seen[ack["seq"]] = {"seq": ack["seq"], "client_id": cid, "kind": "customer", "body": body}
        await desk.send(type="message", conversation=conv_id, client_id="g-back", body="好的")
        await desk.until("ack", client_id="g-back")
        back = await again.until("message")
        while back["message"]["body"] != "好的":
            seen[back["message"]["seq"]] = back["message"]
            back = await again.until("message")
        seen[back["message"]["seq"]] = back["message"]
        await again.ws.close()
        await desk.ws.close()
        return {"seen": seen, "unacked": sorted(unacked), "duplicates": duplicates, "conv": conv_id}

    out = run(scenario)
    conv = Conversation.objects.get(public_id=out["conv"])
    stored = list(Message.objects.filter(conversation=conv).exclude(kind="note").order_by("seq"))
    assert [m.seq for m in stored] == list(range(1, conv.last_seq + 1))
    assert sorted(out["seen"]) == [m.seq for m in stored]  # the client has every message, each once
    customer_ids = [m.client_id for m in stored if m.kind == "customer"]
    assert customer_ids == [f"k{i}" for i in range(7)]  # in order, none lost, none twice
    assert out["unacked"] and set(out["unacked"]) <= {"k5", "k6"}
    assert [m.body for m in stored if m.kind == "agent"] == ["您还在吗？", "好的"]


def test_a_burst_of_sockets_on_one_process_all_live(servers) -> None:  # type: ignore[no-untyped-def]
    """200 chat sockets saying hello at the same moment (a restart's reconnect storm) on one process
    with Redis: each is welcomed and still answers afterwards. Before the waiting pool
    (okpay.core.channel_layer), consumers past redis-py's 100 pooled connections died with
    "Too many connections" and the sockets closed without a close frame."""
    (server,) = servers(1, OKPAY_CHAT_GUESTS_PER_HOUR="1000000", OKPAY_CHAT_RATE_PER_MINUTE="6000")

    async def one(i: int) -> bool:
        async with connect(server.ws + "/ws/chat/", origin=server.url, open_timeout=30) as ws:
            await ws.send(json.dumps({"type": "hello", "email": f"burst{i}@example.com", "lang": "en"}))
            while json.loads(await asyncio.wait_for(ws.recv(), 60))["type"] != "welcome":
                pass
            await asyncio.sleep(1)  # every socket is open while the others say hello
            await ws.send(json.dumps({"type": "ping"}))
            while json.loads(await asyncio.wait_for(ws.recv(), 60))["type"] != "pong":
                pass
            return True

    async def scenario() -> list[bool | BaseException]:
        return await asyncio.gather(*[one(i) for i in range(200)], return_exceptions=True)

    outcomes = run(scenario)
    assert [o for o in outcomes if o is not True] == []
    assert server.proc.poll() is None
    assert "Exception in ASGI application" not in server.stop_and_read_log()
