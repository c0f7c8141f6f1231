"""Live chat over WebSockets, one ``okpay serve`` process (SQLite, in-memory channel layer):

1. Idle connections held: chat connections that said ``hello`` (a conversation row and the
   assistant's greeting each), opened in waves until the target; then every one is pinged to
   prove it is still alive. The server's RSS after 500, 1,000, 2,000 and 5,000 connections, the
   same for bare echo connections (``/ws/ping/``) in a fresh server process, and how many chat
   connections fit the rule that one web process stays under 200 MB (from the measured steps:
   the last step under the limit, and the line through the last two steps).
2. Round trip at 500 connections: each connection sends messages one after another and waits for
   the answer; all 500 at once. Against the bare echo consumer ``/ws/ping/`` in the same run, same
   client, same load (ratio = chat p50 / echo p50, lower is better).
   - chat ``ping`` → ``pong``: the chat consumer's frame path (JSON, rate limit, dispatch), no database;
   - chat ``message`` → ``ack``: stored (row lock, seq, unique client id), at a person's pace
     (a message every ~10 s per connection, ~50/s offered in all);
   - chat ``message`` → the assistant's answer (help-centre search, stored, pushed to the group).

The client runs in this process (asyncio + websockets); on a small machine it shares the CPUs
with the server, so only ratios within a run compare.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import statistics
import tempfile
import time
from typing import Any

from benchmarks.report import Report
from benchmarks.util import BIN, okpay, peak_rss_mb, rss_mb, server

SECTION = "Live chat (okpay.chat)"
PACE = 10.0  # seconds between one person's messages
RSS_LIMIT_MB = 200.0  # one web process under benchmark load (PERFORMANCE rule)


def port_in_range() -> int:
    for port in range(8400, 8450):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in 8400-8449")


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def _open(uri: str, origin: str) -> Any:
    from websockets.asyncio.client import connect

    return await connect(uri, origin=origin, open_timeout=60, max_queue=None, ping_interval=None)


async def _hello(ws: Any, i: int) -> None:
    await ws.send(json.dumps({"type": "hello", "email": f"bench{i}@example.com", "lang": "zh-hans"}))
    while json.loads(await ws.recv())["type"] != "welcome":
        pass


async def open_many(base: str, path: str, n: int, *, hello: bool, wave: int = 100) -> tuple[list[Any], int]:
    origin = base.replace("ws://", "http://")
    conns: list[Any] = []
    failed = 0
    for start in range(0, n, wave):
        batch = await asyncio.gather(*[_open(base + path, origin) for _ in range(start, min(n, start + wave))],
                                     return_exceptions=True)
        ok = [c for c in batch if not isinstance(c, BaseException)]
        failed += len(batch) - len(ok)
        if hello:
            results = await asyncio.gather(*[_hello(c, start + k) for k, c in enumerate(ok)], return_exceptions=True)
            failed += sum(isinstance(r, BaseException) for r in results)
        conns.extend(ok)
    return conns, failed


async def alive(conns: list[Any], *, chat: bool) -> int:
    async def one(ws: Any) -> bool:
        try:
            await ws.send(json.dumps({"type": "ping"}) if chat else "x")
            while True:
                frame = await asyncio.wait_for(ws.recv(), 30)
                if not chat or json.loads(frame)["type"] == "pong":
                    return True
        except Exception:  # a dead connection counts as not alive
            return False
    return sum(await asyncio.gather(*[one(c) for c in conns]))


async def round_trips(conns: list[Any], rounds: int, kind: str, answers: list[float] | None = None) -> list[float]:
    """Each connection: ``rounds`` round trips, one after another. Echo and ping frames follow each
    other after 50 ms; chat messages come every PACE s ± 25 % per connection (a person typing): at
    500 connections and PACE = 10 s about 50 messages a second are offered."""
    import random

    latencies: list[float] = []

    async def one(k: int, ws: Any) -> None:
        for r in range(rounds):
            if kind == "echo":
                payload = f"m{k}-{r}"
                t0 = time.perf_counter()
                await ws.send(payload)
                while await ws.recv() != payload:
                    pass
            elif kind == "ping":
                t0 = time.perf_counter()
                await ws.send('{"type":"ping"}')
                while json.loads(await ws.recv())["type"] != "pong":
                    pass
            else:
                cid = f"b{k}-{r}"
                await asyncio.sleep(random.uniform(0, PACE) if r == 0 else random.uniform(PACE * 0.75, PACE * 1.25))
                t0 = time.perf_counter()
                await ws.send(json.dumps({"type": "message", "client_id": cid, "body": "我的转账为什么还在处理中"}))
                seq = None
                while True:
                    frame = json.loads(await ws.recv())
                    if frame["type"] == "ack" and frame["client_id"] == cid:
                        seq = frame["seq"]
                        latencies.append((time.perf_counter() - t0) * 1000)
                    elif (frame["type"] == "message" and frame["message"]["kind"] == "bot" and seq is not None
                          and frame["message"]["data"].get("reply_to") == seq):
                        if answers is not None:
                            answers.append((time.perf_counter() - t0) * 1000)
                        break
                continue
            latencies.append((time.perf_counter() - t0) * 1000)
            await asyncio.sleep(0.05)
    await asyncio.gather(*[one(k, c) for k, c in enumerate(conns)])
    return latencies


async def close_all(conns: list[Any]) -> None:
    await asyncio.gather(*[c.close() for c in conns], return_exceptions=True)


async def idle_steps(base: str, path: str, steps: list[int],
                     pid: int) -> tuple[dict[int, float], int, int, int, float]:
    """Open idle connections up to each step (chat ones say hello) and read the server's RSS at
    each; then ping every one. Returns ({step: RSS MB}, opened, failed, alive, seconds)."""
    chat = path == "/ws/chat/"
    rss: dict[int, float] = {0: rss_mb(pid)}
    conns: list[Any] = []
    failed = 0
    t0 = time.perf_counter()
    for step in steps:
        more, bad = await open_many(base, path, step - len(conns), hello=chat)
        conns.extend(more)
        failed += bad
        await asyncio.sleep(1)  # let the hellos' database work settle
        rss[step] = rss_mb(pid)
    seconds = time.perf_counter() - t0
    live = await alive(conns, chat=chat)
    await close_all(conns)
    return rss, len(conns), failed, live, seconds


def fits(rss: dict[int, float], limit: float = RSS_LIMIT_MB) -> tuple[int, int]:
    """(the largest measured step under ``limit``, the count the line through the last two steps
    reaches at ``limit``)."""
    under = max((n for n, mb in rss.items() if mb <= limit), default=0)
    (n1, r1), (n2, r2) = sorted(rss.items())[-2:]
    per = (r2 - r1) / (n2 - n1) if n2 > n1 else 0.0
    return under, int(n2 + (limit - r2) / per) if per > 0 else n2


def idle_rows(report: Report, chat: dict[int, float], echo: dict[int, float]) -> None:
    steps = sorted(n for n in chat if n)
    for n in steps:
        per = (chat[n] - chat[0]) / n * 1024
        eper = (echo[n] - echo[0]) / n * 1024 if n in echo else 0.0
        report.add(SECTION, f"server RSS with {n} idle chat connections",
                   f"{chat[n]:.0f} MB ({per:.1f} KB per connection over {chat[0]:.0f} MB at rest)",
                   baseline=f"echo {echo.get(n, 0):.0f} MB ({eper:.1f} KB per connection)",
                   ratio=(chat[n] - chat[0]) / (echo[n] - echo[0]) if echo.get(n, 0) > echo[0] else None,
                   higher_is_better=False)
    under, line = fits(chat)
    eunder, eline = fits(echo)
    report.add(SECTION, f"idle chat connections one process holds under {RSS_LIMIT_MB:.0f} MB RSS",
               f"{under} measured, ~{line} by the line through the last two steps",
               baseline=f"echo {eunder} measured, ~{eline} by the line")


def main(report: Report) -> None:
    idle_target = 1000 if report.quick else 5000
    load = 500
    rounds = 3 if report.quick else 10
    message_rounds = 2 if report.quick else 4
    home = tempfile.mkdtemp(prefix="okpay-bench-chat-")
    env = {"OKPAY_HOME": home, "OKPAY_DEBUG": "false", "OKPAY_LOG_LEVEL": "WARNING",
           "OKPAY_CHAT_RATE_PER_MINUTE": "6000", "OKPAY_CHAT_GUESTS_PER_HOUR": "1000000"}
    for key in ("OKPAY_DATABASE_URL", "OKPAY_REDIS_URL"):
        os.environ.pop(key, None)
    okpay("migrate", "--no-input", "-v", "0", env=env)
    port = port_in_range()
    argv = [str(BIN / "okpay"), "serve", "--no-worker", "--no-migrate", "--port", str(port)]
    steps = [n for n in (500, 1000, 2000, 5000) if n <= idle_target]
    with server(argv, env=env, port=port) as srv:  # bare echo connections: the stack's own cost
        echo_rss = asyncio.run(idle_steps(f"ws://127.0.0.1:{port}", "/ws/ping/", steps, srv.process.pid))[0]
    with server(argv, env=env, port=port) as srv:
        base = f"ws://127.0.0.1:{port}"
        chat_rss, opened, failed, live, seconds = asyncio.run(
            idle_steps(base, "/ws/chat/", steps, srv.process.pid))
        rss = peak_rss_mb(srv.process.pid)
        report.add(SECTION, f"idle chat connections held by one process (target {idle_target})",
                   f"{live} alive of {opened} opened ({failed} failed), peak RSS {rss:.0f} MB, "
                   f"{opened / seconds:.0f} hellos/s")
        idle_rows(report, chat_rss, echo_rss)

        async def loaded() -> dict[str, list[float]]:
            out = {}
            echo, _ = await open_many(base, "/ws/ping/", load, hello=False)
            out["echo"] = await round_trips(echo, rounds, "echo")
            await close_all(echo)
            chat, _ = await open_many(base, "/ws/chat/", load, hello=True)
            out["ping"] = await round_trips(chat, rounds, "ping")
            answers: list[float] = []
            out["message"] = await round_trips(chat, message_rounds, "message", answers)
            out["answer"] = answers
            await close_all(chat)
            return out

        result = asyncio.run(loaded())
    echo = result["echo"]
    e50, e99 = statistics.median(echo), pct(echo, 99)
    report.add(SECTION, f"bare echo /ws/ping/ round trip at {load} connections",
               f"p50 {e50:.1f} ms, p99 {e99:.1f} ms ({len(echo)} frames)")
    for kind, label in (("ping", "chat ping → pong"), ("message", "chat message → ack (stored)"),
                        ("answer", "chat message → assistant's answer")):
        values = result[kind]
        p50, p99 = statistics.median(values), pct(values, 99)
        report.add(SECTION, f"{label} at {load} connections", f"p50 {p50:.1f} ms, p99 {p99:.1f} ms",
                   baseline=f"echo p50 {e50:.1f} ms", ratio=p50 / e50 if e50 else None, higher_is_better=False)
    report.note(SECTION, "One server process on SQLite with the in-memory channel layer; the client shares the "
                         "machine. Ratios compare within the run only.")
