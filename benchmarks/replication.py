"""Transfers past one database: pgbouncer's transaction pooling with 200 client connections, and
the price of a synchronous standby (``synchronous_commit = on`` against ``remote_apply``).

The same ``POST /api/v1/transfers`` load as benchmarks/payments.py (wrk, a unique
``Idempotency-Key`` per request, ``okpay serve --no-worker --processes 2``), on a private
PostgreSQL primary with a synchronous standby (tests/fault/replication.py: ``initdb``,
``pg_basebackup``, each on its own port), so that 200 backends and the replication settings
disturb nobody else:

- **200 client connections**: wrk holds 200 HTTP connections, the two web processes hold 200
  database connections (100 threads and a pool of 100 each); straight to PostgreSQL (200
  backends) against through pgbouncer (``pool_mode = transaction``, ``default_pool_size = 20``).
- **synchronous standby**: 16 connections, the standby acknowledging each commit once flushed
  (``on``) against once applied (``remote_apply``), and against no synchronous standby at all.

Each pair runs twice, alternating, in one run; other work on the machine moves the absolute
figures, so read the ratios.
``python -m benchmarks replication`` (or ``--quick``); writes nothing unless every benchmark runs.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from pathlib import Path

from tests.fault.replication import Pgbouncer, Replicated, pgbouncer_available

from benchmarks.payments import LUA, _child, _env
from benchmarks.util import BIN, free_port, okpay, server, wrk

SECTION = "Past one database: pgbouncer and the synchronous standby"


def _serve(env: dict[str, str], script: Path, *, connections: int, seconds: int) -> float:
    """Transfers per second (wrk waits up to 30 s for an answer: 200 connections queue)."""
    port = free_port()
    argv = [str(BIN / "okpay"), "serve", "--no-worker", "--no-migrate", "--processes", "2", "--port", str(port)]
    with server(argv, env=env, port=port) as srv:
        wrk(srv.url + "/api/v1/transfers", seconds=2, connections=connections, script=str(script),
            timeout=30)  # warm up
        result = wrk(srv.url + "/api/v1/transfers", seconds=seconds, connections=connections, script=str(script),
                     timeout=30)
    print(f"  {connections} connections: {result.requests_per_second:.0f} req/s, p50 {result.p50_ms:.0f} ms, "
          f"p99 {result.p99_ms:.0f} ms, {result.errors} errors", flush=True)
    if result.errors:
        raise RuntimeError(f"{result.errors} failed requests")
    return result.requests_per_second


def _pairs(first: Callable[[], float], second: Callable[[], float]) -> tuple[float, float]:
    """Alternate the two configurations twice (A B B A) and keep each one's mean."""
    a1, b1 = first(), second()
    b2, a2 = second(), first()
    return (a1 + a2) / 2, (b1 + b2) / 2


def main(report) -> None:  # type: ignore[no-untyped-def]
    seconds = 5 if report.quick else 12
    if not pgbouncer_available():
        raise RuntimeError("this benchmark needs pgbouncer: apt-get install pgbouncer")
    ha = Replicated(max_connections=300)
    bouncer = Pgbouncer(ha.primary.port, max_client_conn=400, pool_size=20)
    home = tempfile.mkdtemp(prefix="okpay-bench-replication-")
    try:
        env = _env(ha.primary.url, home)
        okpay("migrate", "--no-input", "-v", "0", env=env)
        cast = json.loads(_child(env, "setup"))
        script = Path(home) / "transfers.lua"
        script.write_text(LUA % {"tokens": ", ".join(f'"{t}"' for t in cast["tokens"]),
                                 "recipients": ", ".join(f'"{r}"' for r in cast["recipients"])})
        _child(env, "analyze")

        wide = {**env, "OKPAY_HTTP_THREADS": "100", "OKPAY_DB_POOL_MIN": "100", "OKPAY_DB_POOL_MAX": "100"}
        pooled = {**wide, "OKPAY_DATABASE_URL": f"postgres://postgres@127.0.0.1:{bouncer.port}/okpay_bank",
                  "OKPAY_DB_TRANSACTION_POOLING": "true"}
        _serve(wide, script, connections=200, seconds=seconds)  # discarded: the first run finds cold caches
        direct, through = _pairs(lambda: _serve(wide, script, connections=200, seconds=seconds),
                                 lambda: _serve(pooled, script, connections=200, seconds=seconds))
        report.add(SECTION, "transfers, 200 client connections, through pgbouncer (transaction pooling, 20 "
                   "server connections)", f"{through:.0f} req/s",
                   baseline=f"the same 200 connections straight to PostgreSQL (200 backends): {direct:.0f} req/s",
                   ratio=through / direct)

        def commit_mode(mode: str) -> Callable[[], float]:
            def run() -> float:
                ha.primary.sql(f"ALTER SYSTEM SET synchronous_commit = '{mode}'")
                ha.primary.sql("SELECT pg_reload_conf()")
                return _serve(env, script, connections=16, seconds=seconds)
            return run

        on, apply = _pairs(commit_mode("on"), commit_mode("remote_apply"))
        ha.primary.sql("ALTER SYSTEM SET synchronous_standby_names = ''")
        alone = commit_mode("on")()
        report.add(SECTION, "transfers, 16 connections, synchronous standby, synchronous_commit = remote_apply",
                   f"{apply:.0f} req/s", baseline=f"synchronous_commit = on (flushed on the standby): {on:.0f} req/s",
                   ratio=apply / on)
        report.add(SECTION, "transfers, 16 connections, synchronous standby, synchronous_commit = on",
                   f"{on:.0f} req/s", baseline=f"no synchronous standby: {alone:.0f} req/s", ratio=on / alone)
        report.note(SECTION, "One machine: the primary, the standby, wrk and the web processes share 2 CPUs, and "
                             "the standby's network round trip is a loopback one. Between machines, each commit "
                             "waits one more network round trip with `on`, and the standby's replay too with "
                             "`remote_apply`.")
    finally:
        bouncer.close()
        ha.close()
