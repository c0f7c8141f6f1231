"""Live chat over WebSockets, one ``okpay serve`` process (SQLite, in-memory channel layer):

1. Idle connections held: chat connections that said ``hello`` (a conversation row and the
   assistant's greeting each), opened in waves up to the process's limit
   (``OKPAY_WS_MAX_CONNECTIONS``, 1,400 by default), after one question to the assistant (so the
   help-centre segmenter is loaded, as in any process that has answered one). The server's RSS
   after 500, 1,000 and 1,400 connections, the same for bare echo connections (``/ws/ping/``) in
   a fresh server process, and how many chat connections fit the rule that one web process stays
   under 200 MB (the line through the last two steps). Then more connections than the limit are
   attempted: each is refused with 503 and the process stays under 200 MB; every held one is
   pinged to prove it is still alive.
   Full mode also holds 5,000 idle chat connections on ``okpay serve --processes 4`` with Redis,
   a refused client retrying as the widget does, and reads every process's peak RSS.
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
from dataclasses import dataclass, field
from pathlib import Path
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


async def warm(base: str) -> None:
    """One question answered by the assistant: the help-centre search and its segmenter loaded."""
    (ws,) = (await open_many(base, "/ws/chat/", 1, hello=True)).conns
    await ws.send(json.dumps({"type": "message", "client_id": "warm", "body": "我的转账为什么还在处理中"}))
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), 60))
        if frame["type"] == "message" and frame["message"]["kind"] == "bot":
            break
    await ws.close()


async def _open(uri: str, origin: str) -> Any:
    from websockets.asyncio.client import connect

    return await connect(uri, origin=origin, open_timeout=60, max_queue=None, ping_interval=None)


async def _hello(ws: Any, i: int) -> None:
    await ws.send(json.dumps({"type": "hello", "email": f"bench{i}@example.com", "lang": "zh-hans"}))
    while json.loads(await ws.recv())["type"] != "welcome":
        pass


@dataclass
class Opened:
    """What a wave of handshakes gave: the connections (those that said ``hello`` were welcomed),
    the handshakes refused (their HTTP status → count) and the other failures."""

    conns: list[Any] = field(default_factory=list)
    refused: dict[int, int] = field(default_factory=dict)
    failed: int = 0


async def open_many(base: str, path: str, n: int, *, hello: bool, wave: int = 100) -> Opened:
    from websockets.exceptions import InvalidStatus

    origin = base.replace("ws://", "http://")
    out = Opened()
    for start in range(0, n, wave):
        batch = await asyncio.gather(*[_open(base + path, origin) for _ in range(start, min(n, start + wave))],
                                     return_exceptions=True)
        ok = []
        for item in batch:
            if isinstance(item, InvalidStatus):
                out.refused[item.response.status_code] = out.refused.get(item.response.status_code, 0) + 1
            elif isinstance(item, BaseException):
                out.failed += 1
            else:
                ok.append(item)
        if hello:
            results = await asyncio.gather(*[_hello(c, start + k) for k, c in enumerate(ok)], return_exceptions=True)
            out.failed += sum(isinstance(r, BaseException) for r in results)
            ok = [c for c, r in zip(ok, results, strict=True) if not isinstance(r, BaseException)]
        out.conns.extend(ok)
    return out


async def alive(conns: list[Any], *, chat: bool) -> int:
    async def one(ws: Any) -> bool:
        try:
            await ws.send(json.dumps({"type": "ping"}) if chat else "x")
            while True:
                frame = await asyncio.wait_for(ws.recv(), 30)
                if not chat or json.loads(frame)["type"] == "pong":
                    return True
        except Exception as exc:  # a dead connection counts as not alive
            print(f"  not alive: {exc!r}", flush=True)
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
                     pid: int) -> tuple[dict[int, float], list[Any], int, float]:
    """Open idle connections up to each step (chat ones say hello) and read the server's RSS at
    each. Returns ({step: RSS MB}, the connections, failed, seconds); the connections stay open."""
    chat = path == "/ws/chat/"
    if chat:
        await warm(base)
    rss: dict[int, float] = {0: rss_mb(pid)}
    conns: list[Any] = []
    failed = 0
    t0 = time.perf_counter()
    for step in steps:
        more = await open_many(base, path, step - len(conns), hello=chat)
        conns.extend(more.conns)
        failed += more.failed + sum(more.refused.values())
        await asyncio.sleep(1)  # let the hellos' database work settle
        rss[step] = rss_mb(pid)
    return rss, conns, failed, time.perf_counter() - t0


async def beyond_limit(base: str, extra: int) -> dict[int, int]:
    """Try ``extra`` more chat handshakes: {HTTP status of each refusal (0 = accepted): count}."""
    opened = await open_many(base, "/ws/chat/", extra, hello=False)
    await close_all(opened.conns)
    return {**opened.refused, 0: len(opened.conns)}


async def hold_across(base: str, n: int, deadline: float) -> tuple[list[Any], int, int]:
    """Hold ``n`` chat connections on a server of several processes: a refused handshake is
    tried again (as the widget does, here without its backoff) until ``deadline``. Returns (the
    connections, refusals, other failures)."""
    conns: list[Any] = []
    refusals = failures = 0
    while len(conns) < n and time.monotonic() < deadline:
        more = await open_many(base, "/ws/chat/", min(100, n - len(conns)), hello=True)
        conns.extend(more.conns)
        refusals += sum(more.refused.values())
        failures += more.failed
    return conns, refusals, failures


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
    _, line = fits(chat)
    _, eline = fits(echo)
    report.add(SECTION, f"idle chat connections one process could hold under {RSS_LIMIT_MB:.0f} MB RSS",
               f"~{line} by the line through the last two steps (the limit is set below it)",
               baseline=f"echo ~{eline}", ratio=line / eline if eline else None)


def rss_row(report: Report, name: str, value: str, peak: float) -> None:
    report.add(SECTION, name, value, baseline=f"rule: one web process under {RSS_LIMIT_MB:.0f} MB",
               ratio=peak / RSS_LIMIT_MB, target=1.0, higher_is_better=False,
               if_missed="Why: an idle chat socket weighs ~35 KB in the server stack (uvicorn's wsproto "
                         "protocol, Channels' middleware scopes and consumer tasks) and the limit "
                         "OKPAY_WS_MAX_CONNECTIONS is above what fits. Plan: lower the default limit to the "
                         "measured line above; docs/chat.md, \"Memory\".")


def main(report: Report) -> None:
    load = 500
    rounds = 3 if report.quick else 10
    message_rounds = 2 if report.quick else 4
    home = tempfile.mkdtemp(prefix="okpay-bench-chat-")
    env = {"OKPAY_HOME": home, "OKPAY_DEBUG": "false", "OKPAY_LOG_LEVEL": "WARNING",
           "OKPAY_CHAT_RATE_PER_MINUTE": "6000", "OKPAY_CHAT_GUESTS_PER_HOUR": "1000000"}
    for key in ("OKPAY_DATABASE_URL", "OKPAY_REDIS_URL", "OKPAY_WS_MAX_CONNECTIONS"):
        os.environ.pop(key, None)
    okpay("migrate", "--no-input", "-v", "0", env=env)
    okpay("demo", env=env)  # the help centre the assistant answers from
    port = port_in_range()
    argv = [str(BIN / "okpay"), "serve", "--no-worker", "--no-migrate", "--port", str(port)]
    limit = 1400  # OKPAY_WS_MAX_CONNECTIONS's default
    steps = [500, 1000, limit]
    with server(argv, env=env, port=port) as srv:  # bare echo connections: the stack's own cost
        async def echo_idle() -> dict[int, float]:
            rss, conns, _, _ = await idle_steps(f"ws://127.0.0.1:{port}", "/ws/ping/", steps, srv.process.pid)
            await close_all(conns)
            return rss
        echo_rss = asyncio.run(echo_idle())
    with server(argv, env=env, port=port) as srv:
        base = f"ws://127.0.0.1:{port}"

        async def chat_idle() -> tuple[dict[int, float], int, int, float, dict[int, int], int]:
            rss, conns, failed, seconds = await idle_steps(base, "/ws/chat/", steps, srv.process.pid)
            outcomes = await beyond_limit(base, 500 if report.quick else 1000)
            live = await alive(conns, chat=True)
            await close_all(conns)
            return rss, len(conns), failed, seconds, outcomes, live

        chat_rss, opened, failed, seconds, outcomes, live = asyncio.run(chat_idle())
        peak = peak_rss_mb(srv.process.pid)
        tried = sum(outcomes.values())
        rss_row(report, f"idle chat connections held by one process (limit {limit}), then {tried} more tried",
                f"{live} alive of {opened} opened ({failed} failed, {opened / seconds:.0f} hellos/s); of the "
                f"{tried} more: {outcomes.get(503, 0)} refused with 503, {outcomes.get(0, 0)} accepted, "
                f"{tried - outcomes.get(503, 0) - outcomes.get(0, 0)} other; peak RSS {peak:.0f} MB", peak)
        idle_rows(report, chat_rss, echo_rss)

        async def loaded() -> dict[str, list[float]]:
            out = {}
            echo = (await open_many(base, "/ws/ping/", load, hello=False)).conns
            out["echo"] = await round_trips(echo, rounds, "echo")
            await close_all(echo)
            chat = (await open_many(base, "/ws/chat/", load, hello=True)).conns
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
    if not report.quick:
        scale_out(report, env, argv)
    report.note(SECTION, "One server process on SQLite with the in-memory channel layer (the scale-out row: "
                         "four processes with Redis); the client shares the machine. Ratios compare within "
                         "the run only.")


def scale_out(report: Report, env: dict[str, str], argv: list[str], n: int = 5000, processes: int = 4) -> None:
    """``n`` idle chat connections on ``okpay serve --processes 4`` (Redis channel layer)."""
    import redis

    redis_url = os.environ.get("OKPAY_BENCH_REDIS_URL", "redis://127.0.0.1:6379/9")
    try:
        redis.Redis.from_url(redis_url).flushdb()
    except redis.RedisError:
        report.note(SECTION, f"scale-out row skipped: no Redis at {redis_url}")
        return
    port = port_in_range()
    many = [*argv[:-1], str(port), "--processes", str(processes)]
    with server(many, env={**env, "OKPAY_REDIS_URL": redis_url}, port=port) as srv:
        async def hold() -> tuple[int, int, int, int]:
            conns, refusals, failures = await hold_across(f"ws://127.0.0.1:{port}", n, time.monotonic() + 300)
            await asyncio.sleep(1)
            live = await alive(conns, chat=True)
            await close_all(conns)
            return len(conns), refusals, failures, live

        held, refusals, failures, live = asyncio.run(hold())
        from benchmarks.util import children

        workers = [pid for pid in children(srv.process.pid)
                   if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()]  # not the resource tracker
        peaks = sorted(peak_rss_mb(pid) for pid in workers)
        worst = max(peaks, default=0.0)
        rss_row(report, f"idle chat connections held by {processes} processes with Redis (target {n})",
                f"{live} alive of {held} held ({refusals} handshakes refused at a full process and tried "
                f"again, {failures} failed); peak RSS per process {', '.join(f'{p:.0f}' for p in peaks)} MB",
                worst)
