"""The wallet socket (``/ws/wallet/``, issue 22): a signed-in customer's open pages hear that their
wallet changed (``okpay.payments.alerts``). Read-only: the socket takes no commands. Signing out
(or a revoked session) closes it, as the chat's sockets are closed."""

from __future__ import annotations

from typing import Any

from channels.generic.websocket import AsyncJsonWebsocketConsumer

from okpay.core import sockets
from okpay.payments.alerts import wallet_group


class WalletConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=sockets.SIGNED_OUT)
            return
        self.user = user
        self.session = sockets.session_tag(getattr(self.scope.get("session"), "session_key", None))
        self.joined = [wallet_group(user.pk), sockets.user_group(user.public_id)]
        for group in self.joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        for group in getattr(self, "joined", []):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        """Nothing to ask: a client that talks is answered with a close."""
        await self.close(code=4400)

    async def wallet_changed(self, event: dict[str, Any]) -> None:
        await self.send_json({"type": "wallet", "kind": event["kind"], "transaction": event["transaction"],
                              "title": event["title"], "money_in": event["money_in"]})

    async def session_ended(self, event: dict[str, Any]) -> None:
        if self.session in event["sessions"]:
            await self.close(code=sockets.SIGNED_OUT)
