"""``ws/desk/calls/``: an agent's desk listens for incoming calls the phone system reports."""

from __future__ import annotations

import json
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from okpay.hotline import push
from okpay.support.permissions import can


class CallPopConsumer(AsyncWebsocketConsumer):
    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated or not await database_sync_to_async(can)(user, "view_desk"):
            await self.close(code=4403)
            return
        self.group = push.agent_group(user.public_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        return  # nothing to say from the desk side

    async def hotline_call(self, event: dict[str, Any]) -> None:
        await self.send(text_data=json.dumps({"type": "call", **event["call"]}, ensure_ascii=False))
