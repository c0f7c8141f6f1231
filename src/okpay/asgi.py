"""The ASGI application ``okpay serve`` runs: HTTP and WebSockets in one process.

HTTP goes to Django's WSGI handler through one thread hop (a2wsgi) rather than through Django's
ASGI handler, which hands every sync middleware to a thread of its own; the measurement behind
that is in docs/decisions/0001-serving-http.md. ``OKPAY_HTTP_MODE=asgi`` switches back, for
comparison. WebSockets go to Channels consumers.
"""

import os
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "okpay.settings")

from django.core.asgi import get_asgi_application

django_asgi = get_asgi_application()  # sets Django up before the imports below

from a2wsgi import WSGIMiddleware  # noqa: E402
from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402

from okpay.core.socket_limit import SocketLimit  # noqa: E402
from okpay.identity.staff import StaffSocketGuard  # noqa: E402
from okpay.routing import websocket_urlpatterns  # noqa: E402

HTTP_MODE = os.environ.get("OKPAY_HTTP_MODE", "wsgi")
if HTTP_MODE not in {"wsgi", "asgi"}:
    raise RuntimeError(f"OKPAY_HTTP_MODE={HTTP_MODE!r} must be wsgi or asgi")



class ClientDisconnected(OSError):
    """The client went away before its request body had arrived in full."""


class WholeBodyOrNothing:
    """Between uvicorn and a2wsgi: a request whose client disconnected before the body was read
    must not reach Django as a request with an empty body. uvicorn answers ``receive()`` with
    ``http.disconnect`` once the client is gone, even when the body was already buffered, and
    a2wsgi reads that as the end of the body; a client that timed out while the server was busy
    then had, e.g., its cancel run with an empty body, stored under its Idempotency-Key with
    another fingerprint, and its retry refused as ``idempotency_key_reused`` (found by the bank
    fault test). Now reading such a body raises (Django: ``UnreadablePostError``) and the view
    never runs, as with Django's own ASGI handler."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        complete = False

        async def whole_body_receive() -> Any:
            nonlocal complete
            message = await receive()
            if message["type"] == "http.request":
                complete = complete or not message.get("more_body", False)
            elif message["type"] == "http.disconnect" and not complete:
                raise ClientDisconnected("the client disconnected before its request body was complete")
            return message

        await self.app(scope, whole_body_receive, send)


http_app = (
    WholeBodyOrNothing(WSGIMiddleware(get_wsgi_application(), workers=settings.OKPAY_HTTP_THREADS))  # type: ignore[arg-type]
    if HTTP_MODE == "wsgi"
    else django_asgi
)

application = ProtocolTypeRouter(
    {
        "http": http_app,
        # StaffSocketGuard: staff sockets need a session that proved a second factor (okpay.identity.staff).
        "websocket": SocketLimit(
            AllowedHostsOriginValidator(AuthMiddlewareStack(StaffSocketGuard(URLRouter(websocket_urlpatterns)))),
            limit=settings.OKPAY_WS_MAX_CONNECTIONS),
    }
)
