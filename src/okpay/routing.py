"""WebSocket routes (``/ws/...``). Each domain adds its consumers here."""

from django.urls import path

from okpay.core.consumers import PingConsumer

websocket_urlpatterns = [
    path("ws/ping/", PingConsumer.as_asgi()),
]
