"""At most ``OKPAY_WS_MAX_CONNECTIONS`` open WebSockets per web process.

An idle chat socket costs its process ~30 KB (docs/chat.md, "Memory"), so the number a process
holds is what keeps it within its memory budget (200 MB per web process). One more handshake
than the limit is refused before it is accepted — HTTP 503 with ``Retry-After`` where the server
supports the ASGI ``websocket.http.response`` extension (uvicorn does), close code 1013 "try
again later" otherwise — and nothing of it is kept. The chat widget reconnects with backoff;
with several processes (``okpay serve --processes N``, or nginx's ``proxy_next_upstream
http_503``) the retry lands on a process with room. More sockets: more processes
(docs/deploy.md).
"""

from __future__ import annotations

from typing import Any

from okpay.core.metrics import WEBSOCKETS_OPEN, WEBSOCKETS_REFUSED

TRY_AGAIN_LATER = 1013
RETRY_AFTER_SECONDS = 5


class SocketLimit:
    def __init__(self, app: Any, limit: int) -> None:
        self.app = app
        self.limit = limit
        self.open = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "websocket":
            await self.app(scope, receive, send)
            return
        if self.open >= self.limit:
            WEBSOCKETS_REFUSED.inc()
            await refuse(scope, receive, send)
            return
        self.open += 1
        WEBSOCKETS_OPEN.inc()
        try:
            await self.app(scope, receive, send)
        finally:
            self.open -= 1
            WEBSOCKETS_OPEN.dec()


async def refuse(scope: Any, receive: Any, send: Any) -> None:
    message = await receive()
    if message["type"] != "websocket.connect":
        return
    if "websocket.http.response" in scope.get("extensions", {}):
        await send({"type": "websocket.http.response.start", "status": 503,
                    "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                                (b"retry-after", str(RETRY_AFTER_SECONDS).encode())]})
        await send({"type": "websocket.http.response.body",
                    "body": b"This server holds as many live connections as it may; try again shortly.\n"})
    else:
        await send({"type": "websocket.close", "code": TRY_AGAIN_LATER})
