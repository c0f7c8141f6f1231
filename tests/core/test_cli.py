"""The `okpay` command: serve (HTTP + WebSockets + worker in one process), demo, Django commands."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.smtp import free_port

OKPAY = str(Path(sys.executable).with_name("okpay"))


def run_async(coroutine):  # type: ignore[no-untyped-def]
    """asyncio.run in a thread of its own: Playwright's sync API may keep a loop in this one."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("OKPAY_") and k not in {"DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE"}}
    return {**env, "OKPAY_HOME": str(home), "OKPAY_DEBUG": "true"}


def test_demo_is_idempotent_and_prints_logins(tmp_path: Path) -> None:
    env = _env(tmp_path)
    subprocess.run([OKPAY, "migrate", "--no-input", "-v", "0"], env=env, check=True, timeout=300)
    first = subprocess.run([OKPAY, "demo"], env=env, capture_output=True, text=True, check=True, timeout=300)
    second = subprocess.run([OKPAY, "demo"], env=env, capture_output=True, text=True, check=True, timeout=300)
    for output in (first.stdout, second.stdout):
        assert "alice@okpay.example" in output
        assert "supervisor@okpay.example" in output
        assert "OKPay-demo-2026!" in output
    count = subprocess.run(
        [OKPAY, "shell", "-c", "from okpay.identity.models import User; print(User.objects.count())"],
        env=env, capture_output=True, text=True, check=True, timeout=120,
    )
    assert count.stdout.strip().splitlines()[-1] == "6"
    # Staff sign in with a second factor: the demo prints each one's TOTP secret (the same every run),
    # and a code made from the printed secret is what OKPay accepts.
    secrets = [dict(re.findall(r"^  \w+ +(\S+@okpay\.example) +TOTP secret (\w+)$", output, re.M))
               for output in (first.stdout, second.stdout)]
    assert secrets[0] == secrets[1] and sorted(secrets[0]) == ["admin@okpay.example", "agent@okpay.example",
                                                               "supervisor@okpay.example"]
    assert f"otpauth://totp/OKPay%3Aagent%40okpay.example?secret={secrets[0]['agent@okpay.example']}" in first.stdout
    import base64

    from django_otp.oath import TOTP

    secret = secrets[0]["agent@okpay.example"]
    totp = TOTP(base64.b32decode(secret + "=" * (-len(secret) % 8)))
    totp.time = time.time()
    check = subprocess.run(
        [OKPAY, "shell", "-c", "from django_otp.plugins.otp_totp.models import TOTPDevice; "
         f"print(TOTPDevice.objects.get(user__email='agent@okpay.example').verify_token({totp.token()}))"],
        env=env, capture_output=True, text=True, check=True, timeout=120)
    assert check.stdout.strip().splitlines()[-1] == "True"


def test_every_django_command_works_through_okpay(tmp_path: Path) -> None:
    result = subprocess.run([OKPAY, "help"], env=_env(tmp_path), capture_output=True, text=True, timeout=120)
    assert result.returncode == 0
    for command in ("serve", "worker", "demo", "migrate", "createsuperuser"):
        assert command in result.stdout


def test_serve_rejects_a_bad_port_and_processes_without_redis(tmp_path: Path) -> None:
    bad = subprocess.run([OKPAY, "serve", "--port", "99999"], env=_env(tmp_path), capture_output=True,
                         text=True, timeout=120)
    assert bad.returncode != 0
    assert "not between 1 and 65535" in bad.stderr
    many = subprocess.run([OKPAY, "serve", "--processes", "2", "--no-migrate"], env=_env(tmp_path),
                          capture_output=True, text=True, timeout=120)
    assert many.returncode != 0
    assert "needs OKPAY_REDIS_URL" in many.stderr


@pytest.mark.slow
def test_serve_migrates_and_answers_http_websockets_and_runs_the_worker(tmp_path: Path) -> None:
    import websockets

    port = free_port()
    env = _env(tmp_path)
    process = subprocess.Popen([OKPAY, "serve", "--port", str(port)], env=env, start_new_session=True,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert process.poll() is None, process.stdout.read().decode() if process.stdout else ""
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.3)
        assert "如何联系OKPay钱包官网客服" in httpx.get(base + "/").text
        health = httpx.get(base + "/api/v1/health").json()
        assert health["status"] == "ok"

        async def echo() -> str:
            async with websockets.connect(f"ws://127.0.0.1:{port}/ws/ping/", origin=base) as ws:
                await ws.send(json.dumps({"hello": "世界"}))
                return str(await ws.recv())

        assert json.loads(run_async(echo())) == {"hello": "世界"}

        # The in-process worker delivers mail: queue one, then wait for the outbox to show it handled.
        code = (
            "from django.core.mail import send_mail; send_mail('hi', 'body', None, ['a@example.com']);"
            "from okpay.core.models import PeriodicJob; print(PeriodicJob.objects.count())"
        )
        subprocess.run([OKPAY, "shell", "-c", code], env=env, check=True, timeout=120, capture_output=True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            out = subprocess.run(
                [OKPAY, "shell", "-c", "from okpay.core.models import PeriodicJob; "
                 "print(PeriodicJob.objects.filter(runs__gte=1).count())"],
                env=env, capture_output=True, text=True, timeout=120,
            )
            if int(out.stdout.strip().splitlines()[-1]) >= 1:
                break
            time.sleep(1)
        else:
            pytest.fail("the in-process worker never ran a sweep")
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


@pytest.mark.django_db(transaction=True)
def test_websocket_from_a_foreign_origin_is_refused(tmp_path: Path) -> None:
    from channels.testing import WebsocketCommunicator

    from okpay.asgi import application

    async def connect(origin: bytes) -> bool:
        communicator = WebsocketCommunicator(application, "/ws/ping/", headers=[(b"origin", origin),
                                                                               (b"host", b"127.0.0.1")])
        connected, _ = await communicator.connect()
        await communicator.disconnect()
        return connected

    assert run_async(connect(b"http://127.0.0.1")) is True
    assert run_async(connect(b"https://evil.example")) is False
