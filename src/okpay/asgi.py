"""The ASGI application ``okpay serve`` runs: HTTP and WebSockets in one process.

HTTP goes to Django's WSGI handler through one thread hop (a2wsgi) rather than through Django's
ASGI handler, which hands every sync middleware to a thread of its own; the measurement behind
that is in docs/decisions/0001-serving-http.md. ``OKPAY_HTTP_MODE=asgi`` switches back, for
comparison. WebSockets go to Channels consumers.
"""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "okpay.settings")

from django.core.asgi import get_asgi_application

django_asgi = get_asgi_application()  # sets Django up before the imports below

from a2wsgi import WSGIMiddleware  # noqa: E402
from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402

from okpay.routing import websocket_urlpatterns  # noqa: E402

HTTP_MODE = os.environ.get("OKPAY_HTTP_MODE", "wsgi")
if HTTP_MODE not in {"wsgi", "asgi"}:
    raise RuntimeError(f"OKPAY_HTTP_MODE={HTTP_MODE!r} must be wsgi or asgi")

http_app = (
    WSGIMiddleware(get_wsgi_application(), workers=settings.OKPAY_HTTP_THREADS)  # type: ignore[arg-type]
    if HTTP_MODE == "wsgi"
    else django_asgi
)

application = ProtocolTypeRouter(
    {
        "http": http_app,
        "websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)
