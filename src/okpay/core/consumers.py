"""A bare echo consumer: a liveness probe for WebSockets and the baseline of the chat benchmark."""

from channels.generic.websocket import AsyncWebsocketConsumer

MAX_MESSAGE = 4096


class PingConsumer(AsyncWebsocketConsumer):
    async def connect(self) -> None:
        await self.accept()

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if text_data is not None and len(text_data) <= MAX_MESSAGE:
            await self.send(text_data=text_data)
        else:
            await self.close(code=1009)
