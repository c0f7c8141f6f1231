"""The chat's WebSocket edges: ``ws/chat/`` (customer) and ``ws/agent/`` (desk).

Frames are JSON objects with a ``type``. The server answers errors as
``{"type": "error", "code", "message", "ref"}`` and never closes a connection for a bad frame,
except an oversized one (close code 1009) or a flood beyond the rate limit (1008 after warnings).
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _

from okpay.chat import push, services
from okpay.chat.models import Conversation, Message
from okpay.core import sockets
from okpay.core.errors import OkpayError

log = logging.getLogger(__name__)


def db(fn: Any) -> Any:
    """Run a service in the thread pool: conversations do not wait for each other's database work
    (``database_sync_to_async`` alone runs every call of the process in one thread)."""
    return database_sync_to_async(fn, thread_sensitive=False)


class TokenBucket:
    """``rate`` frames a minute, in bursts of at most ``burst``."""

    def __init__(self, rate: int, burst: int) -> None:
        self.rate, self.capacity = rate / 60.0, float(burst)
        self.tokens, self.at = float(burst), time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


def max_frame() -> int:
    return settings.OKPAY_CHAT_MAX_CHARS * 4 + 2048


class BaseChatConsumer(AsyncWebsocketConsumer):
    strikes = 0

    async def connect(self) -> None:
        self.user = self.scope.get("user")
        if self.user is not None and not self.user.is_authenticated:
            self.user = None
        self.lang = "zh-hans"
        rate = settings.OKPAY_CHAT_RATE_PER_MINUTE
        self.bucket = TokenBucket(rate, burst=max(5, rate // 4))
        self.groups_joined: set[str] = set()
        if not await self.allowed():
            await self.close(code=4403)
            return
        await self.accept()
        if self.user is not None:  # signing out elsewhere (or everywhere) closes this socket
            session = self.scope.get("session")
            self.session = sockets.session_tag(getattr(session, "session_key", None))
            await self.join(sockets.user_group(self.user.public_id))

    async def allowed(self) -> bool:
        return True

    async def disconnect(self, code: int) -> None:
        for group in list(getattr(self, "groups_joined", ())):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def join(self, group: str) -> None:
        if group not in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
            self.groups_joined.add(group)

    async def leave(self, group: str) -> None:
        if group in self.groups_joined:
            await self.channel_layer.group_discard(group, self.channel_name)
            self.groups_joined.discard(group)

    async def send_json(self, content: dict[str, Any]) -> None:
        await self.send(text_data=json.dumps(content, ensure_ascii=False))

    async def error(self, code: str, message: str, ref: Any = None, param: str | None = None) -> None:
        await self.send_json({"type": "error", "code": code, "message": message, "param": param, "ref": ref})

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if text_data is None or len(text_data) > max_frame():
            await self.close(code=1009)
            return
        if not self.bucket.take():
            self.strikes += 1
            if self.strikes > 10:
                await self.close(code=1008)
                return
            await self.error("rate_limited", _("You are sending too fast. Wait a moment."))
            return
        try:
            frame = json.loads(text_data)
        except ValueError:
            await self.error("invalid_json", _("The frame is not JSON."))
            return
        if not isinstance(frame, dict) or not isinstance(frame.get("type"), str):
            await self.error("invalid_frame", _("A frame is an object with a type."))
            return
        handler = getattr(self, "on_" + frame["type"], None) if frame["type"].isidentifier() else None
        if handler is None:
            await self.error("unknown_type", _("Unknown frame type."), ref=frame.get("type"))
            return
        with translation.override(self.lang):
            try:
                await handler(frame)
            except OkpayError as exc:
                await self.error(exc.code, str(_(exc.message)) if exc.message else exc.code,
                                 ref=frame.get("client_id") or frame.get("type"), param=exc.param)

    async def on_ping(self, frame: dict[str, Any]) -> None:
        await self.send_json({"type": "pong"})

    async def session_ended(self, event: dict[str, Any]) -> None:
        """The session this socket was opened with was revoked, expired or signed out everywhere."""
        if getattr(self, "session", None) in event["sessions"]:
            await self.close(code=sockets.SIGNED_OUT)


class CustomerConsumer(BaseChatConsumer):
    """The widget. ``hello`` opens or resumes; then ``message``, ``typing``, ``read``, ``action``,
    ``handoff``, ``leave_message``, ``rate``, ``transcript``, ``end``."""

    conversation: Conversation | None = None

    async def need(self) -> Conversation:
        if self.conversation is None:
            raise NotHelloed()
        return self.conversation

    async def on_hello(self, frame: dict[str, Any]) -> None:
        self.lang = services._lang(str(frame.get("lang") or "zh-hans"))
        translation.activate(self.lang)
        public_id, token = frame.get("conversation"), str(frame.get("token") or "")
        last_seq = frame.get("last_seq") or 0
        if not isinstance(last_seq, int) or last_seq < 0:
            last_seq = 0
        new_token = None
        if public_id:
            conv = await db(services.conversation_access)(
                public_id=public_id, user=self.user, token=token)
            await db(services.conversation_lang_set)(conversation=conv, lang=self.lang)
        else:
            client = self.scope.get("client") or [None]
            opened = await db(services.conversation_open)(
                user=self.user, guest_email=str(frame.get("email") or ""), lang=self.lang, ip=client[0])
            conv, new_token = opened.conversation, opened.token
        if self.conversation is not None:
            await self.leave(push.conversation_group(self.conversation.public_id))
        self.conversation = conv
        await self.join(push.conversation_group(conv.public_id))
        messages = await db(services.messages_after)(conv, last_seq)
        state = await db(services.state_of)(conv)
        await self.send_json({
            "type": "welcome", "conversation": conv.public_id, "token": new_token,
            "signed_in": self.user is not None, "state": state,
            "agent_read_seq": conv.agent_read_seq,
            "messages": [services.serialize(m) for m in messages],
        })

    async def on_message(self, frame: dict[str, Any]) -> None:
        conv = await self.need()
        message, created = await db(services.customer_message_store)(
            conversation=conv, body=frame.get("body"), client_id=frame.get("client_id"), user=self.user)
        await self.send_json({"type": "ack", "client_id": message.client_id, "seq": message.seq,
                              "id": message.public_id, "duplicate": not created})
        if created:  # stored and acknowledged; now the assistant's turn (pushed to the group)
            client = self.scope.get("client") or [None]
            await db(services.assistant_turn)(conversation=conv, message=message, ip=client[0])

    async def on_typing(self, frame: dict[str, Any]) -> None:
        conv = await self.need()
        await self.channel_layer.group_send(push.conversation_group(conv.public_id), {
            "type": "chat.typing", "side": "customer", "typing": bool(frame.get("typing")),
            "origin": self.channel_name, "conversation": conv.public_id})

    async def on_read(self, frame: dict[str, Any]) -> None:
        conv = await self.need()
        seq = await db(services.read_mark)(conversation=conv, side="customer",
                                                                seq=frame.get("seq"))
        await self.send_json({"type": "read_ok", "seq": seq})

    async def on_action(self, frame: dict[str, Any]) -> None:
        conv = await self.need()
        result = await db(services.customer_action)(
            conversation=conv, user=self.user, action=str(frame.get("action") or ""),
            target=str(frame.get("target") or ""), key=str(frame.get("key") or ""))
        await self.send_json({"type": "action_ok", "action": frame.get("action"), "key": frame.get("key"),
                              **result})

    async def on_handoff(self, frame: dict[str, Any]) -> None:
        conv = await self.need()
        state = await db(services.handoff_request)(
            conversation=conv, category=str(frame.get("category") or ""))
        await self.send_json({"type": "state", **state})

    async def on_leave_message(self, frame: dict[str, Any]) -> None:
        conv = await self.need()
        number = await db(services.leave_message)(
            conversation=conv, body=str(frame.get("body") or ""), email=str(frame.get("email") or ""))
        await self.send_json({"type": "left_message", "ticket": number})

    async def on_rate(self, frame: dict[str, Any]) -> None:
        conv = await self.need()
        await db(services.conversation_rate)(
            conversation=conv, score=frame.get("score"), comment=str(frame.get("comment") or ""))
        await self.send_json({"type": "rated", "score": frame.get("score")})

    async def on_transcript(self, frame: dict[str, Any]) -> None:
        conv = await self.need()
        sent = await db(services.transcript_send)(conversation=conv)
        # confirm: only a link went to the address (a guest's, or an unverified one); the transcript follows it
        await self.send_json({"type": "transcript_sent", "to": sent.to, "confirm": sent.confirm})

    async def on_end(self, frame: dict[str, Any]) -> None:
        conv = await self.need()
        await db(services.conversation_end)(conversation=conv, actor=self.user or "customer")

    # --- group events -------------------------------------------------------------------------

    async def chat_message(self, event: dict[str, Any]) -> None:
        if event["message"]["kind"] != Message.Kind.NOTE:
            await self.send_json({"type": "message", "message": event["message"]})

    async def chat_typing(self, event: dict[str, Any]) -> None:
        if event["origin"] != self.channel_name and event["side"] != "customer":
            await self.send_json({"type": "typing", "side": event["side"], "typing": event["typing"]})

    async def chat_read(self, event: dict[str, Any]) -> None:
        if event["side"] != "customer":
            await self.send_json({"type": "read", "side": event["side"], "seq": event["seq"]})

    async def chat_state(self, event: dict[str, Any]) -> None:
        await self.send_json({"type": "state", **event["state"]})


class NotHelloed(OkpayError):
    status = 409
    code = "hello_first"
    default_message = "Say hello first."


class AgentConsumer(BaseChatConsumer):
    """The desk's chat panel: the queue, several chats at once. ``pick``, ``open`` (transcript and
    wallet context), ``message`` (``internal`` for a note), ``typing``, ``read``, ``transfer``, ``end``."""

    async def allowed(self) -> bool:
        return self.user is not None and await db(services.is_agent)(self.user)

    async def connect(self) -> None:
        await super().connect()
        if self.user is None:
            return
        self.lang = services._lang(getattr(self.user, "locale", "") or "zh-hans")
        await self.join(push.AGENTS)
        await self.join(push.agent_group(self.user.public_id))
        mine = await db(services.agent_overview)(agent=self.user)
        for item in mine["mine"]:
            await self.join(push.conversation_group(item["conversation"]))
        await self.send_json({"type": "overview", **mine})

    async def conv(self, frame: dict[str, Any]) -> Conversation:
        return await db(services.agent_conversation)(
            agent=self.user, public_id=str(frame.get("conversation") or ""))

    async def on_overview(self, frame: dict[str, Any]) -> None:
        await self.send_json({"type": "overview", **await db(services.agent_overview)(
            agent=self.user)})

    async def on_pick(self, frame: dict[str, Any]) -> None:
        conv = await db(services.agent_pick)(agent=self.user,
                                                                 public_id=str(frame.get("conversation") or ""))
        await self.join(push.conversation_group(conv.public_id))
        await self.on_open({"conversation": conv.public_id})

    async def on_open(self, frame: dict[str, Any]) -> None:
        conv = await self.conv(frame)
        detail = await db(services.agent_detail)(agent=self.user, conversation=conv)
        if conv.agent_id == self.user.pk:
            await self.join(push.conversation_group(conv.public_id))
        await self.send_json({"type": "conversation", **detail})

    async def on_message(self, frame: dict[str, Any]) -> None:
        conv = await self.conv(frame)
        message, created = await db(services.agent_says)(
            agent=self.user, conversation=conv, body=frame.get("body"), client_id=frame.get("client_id"),
            internal=bool(frame.get("internal")))
        await self.send_json({"type": "ack", "conversation": conv.public_id, "client_id": message.client_id,
                              "seq": message.seq, "id": message.public_id, "duplicate": not created})

    async def on_typing(self, frame: dict[str, Any]) -> None:
        conv = await self.conv(frame)
        await self.channel_layer.group_send(push.conversation_group(conv.public_id), {
            "type": "chat.typing", "side": "agent", "typing": bool(frame.get("typing")),
            "origin": self.channel_name, "conversation": conv.public_id})

    async def on_read(self, frame: dict[str, Any]) -> None:
        conv = await self.conv(frame)
        seq = await db(services.read_mark)(conversation=conv, side="agent",
                                                                seq=frame.get("seq"))
        await self.send_json({"type": "read_ok", "conversation": conv.public_id, "seq": seq})

    async def on_canned(self, frame: dict[str, Any]) -> None:
        conv = await self.conv(frame)
        text = await db(services.canned_for)(agent=self.user, conversation=conv, canned_id=frame.get("canned"))
        await self.send_json({"type": "canned", "conversation": conv.public_id, "body": text})

    async def on_transfer(self, frame: dict[str, Any]) -> None:
        conv = await self.conv(frame)
        await db(services.conversation_transfer)(
            agent=self.user, conversation=conv, to=str(frame.get("to") or ""))
        await self.send_json({"type": "transferred", "conversation": conv.public_id, "to": frame.get("to")})

    async def on_end(self, frame: dict[str, Any]) -> None:
        conv = await self.conv(frame)
        await db(services.conversation_end)(conversation=conv, actor=self.user)

    # --- group events -------------------------------------------------------------------------

    async def chat_message(self, event: dict[str, Any]) -> None:
        await self.send_json({"type": "message", "conversation": event["conversation"],
                              "message": event["message"]})

    async def chat_typing(self, event: dict[str, Any]) -> None:
        if event["origin"] != self.channel_name and event["side"] == "customer":
            await self.send_json({"type": "typing", "conversation": event.get("conversation"),
                                  "side": "customer", "typing": event["typing"]})

    async def chat_read(self, event: dict[str, Any]) -> None:
        if event["side"] == "customer":
            await self.send_json({"type": "read", "conversation": event["conversation"], "side": "customer",
                                  "seq": event["seq"]})

    async def chat_state(self, event: dict[str, Any]) -> None:
        await self.send_json({"type": "state", **event["state"]})

    async def chat_queue(self, event: dict[str, Any]) -> None:
        await self.send_json({"type": "queue", "size": event["size"]})

    async def chat_assigned(self, event: dict[str, Any]) -> None:
        await self.join(push.conversation_group(event["conversation"]))
        await self.send_json({"type": "assigned", "conversation": event["conversation"]})

    async def chat_released(self, event: dict[str, Any]) -> None:
        await self.leave(push.conversation_group(event["conversation"]))
        await self.send_json({"type": "released", "conversation": event["conversation"]})
