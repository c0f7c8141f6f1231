"""At most OKPAY_WS_MAX_CONNECTIONS open sockets per web process (okpay.core.socket_limit): the
next handshake is refused (503 + Retry-After from a real server, 1013 where the server has no
HTTP-response extension), nothing of it is kept, and a freed place is taken again."""

from __future__ import annotations

import asyncio
import urllib.request

import pytest
from channels.testing import WebsocketCommunicator
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from okpay.core.consumers import PingConsumer
from okpay.core.metrics import WEBSOCKETS_OPEN, WEBSOCKETS_REFUSED
from okpay.core.socket_limit import TRY_AGAIN_LATER, SocketLimit
from tests.chat.conftest import run


def value(metric: object) -> float:
    return metric._value.get()  # type: ignore[attr-defined]


@pytest.mark.django_db
def test_one_more_socket_than_the_limit_is_closed_try_again_later() -> None:
    app = SocketLimit(PingConsumer.as_asgi(), limit=2)
    refused_before, open_before = value(WEBSOCKETS_REFUSED), value(WEBSOCKETS_OPEN)

    async def scenario() -> None:
        first, second, third = (WebsocketCommunicator(app, "/ws/ping/") for _ in range(3))
        assert (await first.connect())[0] and (await second.connect())[0]
        assert app.open == 2
        assert value(WEBSOCKETS_OPEN) == open_before + 2  # what /metrics shows
        assert await third.connect() == (False, TRY_AGAIN_LATER)
        assert app.open == 2
        await first.send_to(text_data="still here")
        assert await first.receive_from() == "still here"
        await first.disconnect()
        await asyncio.sleep(0)
        assert app.open == 1
        again = WebsocketCommunicator(app, "/ws/ping/")
        assert (await again.connect())[0]
        await again.disconnect()
        await second.disconnect()

    run(scenario)
    assert app.open == 0
    assert value(WEBSOCKETS_OPEN) == open_before
    assert value(WEBSOCKETS_REFUSED) == refused_before + 1


def test_http_is_never_limited() -> None:
    calls: list[str] = []

    async def http_app(scope: object, receive: object, send: object) -> None:
        calls.append("http")

    app = SocketLimit(http_app, limit=1)
    app.open = 1
    run(lambda: app({"type": "http"}, None, None))
    assert calls == ["http"]


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_real_server_answers_503_with_retry_after_at_its_limit(servers) -> None:  # type: ignore[no-untyped-def]
    (server,) = servers(1, OKPAY_WS_MAX_CONNECTIONS="2")

    async def scenario() -> None:
        a = await connect(server.ws + "/ws/ping/", origin=server.url, open_timeout=10)
        b = await connect(server.ws + "/ws/ping/", origin=server.url, open_timeout=10)
        with pytest.raises(InvalidStatus) as refused:
            await connect(server.ws + "/ws/ping/", origin=server.url, open_timeout=10)
        response = refused.value.response
        assert response.status_code == 503
        assert response.headers["Retry-After"] == "5"
        await a.send("x")
        assert await a.recv() == "x"  # those held are untouched
        await a.close()
        await asyncio.sleep(0.3)
        c = await connect(server.ws + "/ws/ping/", origin=server.url, open_timeout=10)  # the freed place
        await c.send("y")
        assert await c.recv() == "y"
        await asyncio.gather(b.close(), c.close())

    run(scenario)
    with urllib.request.urlopen(server.url + "/readyz", timeout=5) as response:  # noqa: S310 (our own server)
        assert response.status == 200  # HTTP is not counted


def test_the_served_application_enforces_the_configured_limit() -> None:
    from django.conf import settings

    from okpay.asgi import application

    websocket = application.application_mapping["websocket"]
    assert isinstance(websocket, SocketLimit)
    assert websocket.limit == settings.OKPAY_WS_MAX_CONNECTIONS == 1400


def test_the_redis_layer_waits_for_a_connection_and_reads_past_its_blocking_pop() -> None:
    from redis.asyncio import BlockingConnectionPool

    from okpay.core.channel_layer import RedisChannelLayer

    layer = RedisChannelLayer(hosts=["redis://127.0.0.1:6379/10"], max_connections=7)
    pool = layer.create_pool(0)
    assert isinstance(pool, BlockingConnectionPool)
    assert pool.max_connections == 7
    assert pool.connection_kwargs["socket_timeout"] > layer.brpop_timeout
