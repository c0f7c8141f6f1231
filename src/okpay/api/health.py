"""``GET /api/v1/health``: the database and the channel layer answer."""

from __future__ import annotations

import logging
import secrets

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import connection
from django.http import HttpRequest
from ninja import Status

from okpay import __version__
from okpay.api.router import OkpayRouter
from okpay.api.schemas import HealthOut

logger = logging.getLogger("okpay.health")
router = OkpayRouter(tags=["health"])


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except Exception:  # the health check reports any failure instead of raising it
        logger.warning("health: database check failed", exc_info=True)
        return False


async def _layer_roundtrip() -> bool:
    layer = get_channel_layer()
    if layer is None:
        return False
    channel = await layer.new_channel("health.")
    nonce = secrets.token_hex(8)
    await layer.send(channel, {"type": "health.ping", "nonce": nonce})
    message = await layer.receive(channel)
    return message.get("nonce") == nonce


def _channel_layer_ok() -> bool:
    try:
        return bool(async_to_sync(_layer_roundtrip)())
    except Exception:  # the health check reports any failure instead of raising it
        logger.warning("health: channel layer check failed", exc_info=True)
        return False


@router.get("/health", response={200: HealthOut, 503: HealthOut}, auth=None)
def health(request: HttpRequest) -> Status:
    """Liveness and readiness: 200 when the database and the channel layer answer, else 503."""
    database = _database_ok()
    layer = _channel_layer_ok()
    ok = database and layer
    body = HealthOut(status="ok" if ok else "degraded", database="ok" if database else "error",
                     channel_layer="ok" if layer else "error", version=__version__)
    return Status(200 if ok else 503, body)
