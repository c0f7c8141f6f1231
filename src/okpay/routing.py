"""WebSocket routes (``/ws/...``). Each domain adds its consumers here."""

from django.urls import path

from okpay.chat.consumers import AgentConsumer, CustomerConsumer
from okpay.core.consumers import PingConsumer
from okpay.hotline.consumers import CallPopConsumer
from okpay.payments.consumers import WalletConsumer

websocket_urlpatterns = [
    path("ws/ping/", PingConsumer.as_asgi()),
    path("ws/chat/", CustomerConsumer.as_asgi()),
    path("ws/agent/", AgentConsumer.as_asgi()),
    path("ws/desk/calls/", CallPopConsumer.as_asgi()),
    path("ws/wallet/", WalletConsumer.as_asgi()),
]
