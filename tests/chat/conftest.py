from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from typing import Any

import pytest
from channels.testing import WebsocketCommunicator
from django.core.cache import cache

from tests.factories import session_cookie


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


# --- real server processes (okpay serve) -----------------------------------------------------------

REDIS_URL = __import__("os").environ.get("OKPAY_TEST_CHAT_REDIS_URL", "redis://127.0.0.1:6379/10")
# this app's port range on shared machines; OKPAY_TEST_CHAT_PORTS=9800-9849 moves it (parallel worktrees)
_PORTS = __import__("os").environ.get("OKPAY_TEST_CHAT_PORTS", "8400-8449").split("-")
PORTS = range(int(_PORTS[0]), int(_PORTS[1]) + 1)


def redis_or_skip() -> str:
    import redis

    try:
        client = redis.Redis.from_url(REDIS_URL)
        client.ping()
        client.flushdb()  # our own database number: channel layer leftovers of an earlier run
    except redis.RedisError:
        pytest.skip(f"Redis is not reachable at {REDIS_URL}")
    return REDIS_URL


def free_port() -> int:
    import socket

    for port in PORTS:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {PORTS.start}-{PORTS.stop - 1}")


class Server:
    """One ``okpay serve --no-worker`` process on the test database and Redis."""

    def __init__(self, redis_url: str, env: dict[str, str] | None = None) -> None:
        self.redis_url = redis_url
        self.extra_env = env or {}
        self.proc: Any = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def start(self) -> Server:
        import subprocess
        import sys
        import time
        import urllib.request

        from tests.ledger.test_concurrency import child_env

        env = child_env()
        env["OKPAY_REDIS_URL"] = self.redis_url
        env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        env.update(self.extra_env)
        self.port = free_port()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "okpay", "serve", "--no-worker", "--no-migrate", "--port", str(self.port)],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("okpay serve exited: " + self.proc.stderr.read()[-2000:])
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=1):  # noqa: S310 (our own server)
                    return self
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("okpay serve did not start")

    def stop_and_read_log(self) -> str:
        """Stop the server and return what it wrote to stderr (its log)."""
        self.stop()
        return self.proc.stderr.read() if self.proc is not None else ""

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        import subprocess

        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:  # a server that ignores SIGTERM is killed
                self.proc.kill()


@pytest.fixture
def servers():  # type: ignore[no-untyped-def]
    """``servers(n)`` starts n server processes sharing the test database and one Redis."""
    started: list[Server] = []
    redis_url = redis_or_skip()

    def start(n: int = 1, **env: str) -> list[Server]:
        new = [Server(redis_url, env).start() for _ in range(n)]
        started.extend(new)
        return new

    yield start
    for server in started:
        server.stop()


# --- the chat widget in Chromium ---------------------------------------------------------------------

PHONE = {"width": 390, "height": 844}


def open_widget(browser: Any, server: Any, *, locale: str, user: Any = None) -> tuple[Any, Any]:
    """A phone-sized page on ``server`` (signed in as ``user`` if given) with the chat panel open:
    ``(page, panel)``."""
    from playwright.sync_api import expect

    context = browser.new_context(locale=locale, base_url=server.url, viewport=PHONE)
    if user is not None:
        context.add_cookies([{"name": "sessionid", "value": session_cookie(user), "url": server.url}])
    page = context.new_page()
    page.goto("/")
    page.locator("[data-chat-launcher]").click()
    panel = page.locator("#okpay-chat-panel")
    expect(panel).to_be_visible()
    return page, panel


def ask(page: Any, text: str) -> None:
    """Type ``text`` into the open chat panel and send it."""
    page.locator("#okpay-chat-input").fill(text)
    page.keyboard.press("Enter")
