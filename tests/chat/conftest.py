from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from typing import Any

import pytest
from channels.testing import WebsocketCommunicator
from django.core.cache import cache
from django.test import Client

from okpay.identity.models import User


@pytest.fixture(autouse=True)
def _chat_settings(settings):  # type: ignore[no-untyped-def]
    settings.OKPAY_WITHDRAWAL_FAILURE_PERCENT = 0
    settings.OKPAY_RISK_VELOCITY_PER_HOUR = 1000
    cache.clear()


def run(fn: Callable[[], Coroutine[Any, Any, Any]]) -> Any:
    """Run a coroutine in a fresh thread with its own loop (Playwright may hold one in this thread)."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = asyncio.run(fn())
        except BaseException as exc:  # re-raised below, in the test's thread
            box["error"] = exc

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box.get("value")


def session_cookie(user: User) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


def application() -> Any:
    from okpay.asgi import application as app

    return app


def communicator(path: str = "/ws/chat/", *, cookie: str | None = None,
                 origin: str = "http://127.0.0.1:8000") -> WebsocketCommunicator:
    """A WebSocket client on the full ASGI stack (origin check, session auth); ``cookie`` is a
    session id from :func:`session_cookie` (made outside the event loop)."""
    headers = [(b"origin", origin.encode()), (b"host", b"127.0.0.1:8000")]
    if cookie is not None:
        headers.append((b"cookie", f"sessionid={cookie}".encode()))
    return WebsocketCommunicator(application(), path, headers=headers)


async def receive_until(comm: WebsocketCommunicator, kind: str, *, timeout: float = 5, **match: Any) -> dict:
    """Frames until one of ``type == kind`` (and the given fields) arrives; others are skipped."""
    while True:
        frame = await comm.receive_json_from(timeout=timeout)
        if frame.get("type") == kind and all(frame.get(k) == v for k, v in match.items()):
            return frame


async def drain(comm: WebsocketCommunicator) -> list[dict]:
    frames = []
    while not await comm.receive_nothing(timeout=0.2):
        frames.append(await comm.receive_json_from())
    return frames
