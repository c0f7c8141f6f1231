"""Customer transfers over HTTP against a fixed yardstick, in one run on one PostgreSQL (issue #20).

Three legs at 16 connections, one after the other:

1. pgbench on the reference transfer (``benchmarks/reference/reference_transfer.sql``, ten
   statements with BEGIN and COMMIT, on its own ``ref_*`` tables in ``<db>_ref``): the floor for
   this work with no application at all.
2. The bare reference service (``benchmarks/reference/bare_transfer_app.py``: the same ten
   statements from raw psycopg, no framework) under the server layout ``okpay serve --processes 2``
   uses (uvicorn, 2 processes, HTTP → WSGI through a2wsgi's thread pool), driven by wrk with
   ``bare_transfer.lua``: what a Python web process can do with this work here.
3. OKPay's ``POST /api/v1/transfers`` (bearer token, unique ``Idempotency-Key`` per request)
   served by ``okpay serve --no-worker --processes 2`` on PostgreSQL + Redis: the whole product
   path (token auth, idempotency claim and stored response, limits and risk, step-up rules, the
   ledger, both parties' transactions with their timelines, in-app notices).

Printed: OKPay / bare and bare / pgbench, p50/p99 of each leg, the statements one OKPay transfer
sends (captured from psycopg's cursor while a real transfer runs, not counted by hand), the web
processes' CPU time per request (``/proc/<pid>/stat`` before and after the measured run) and
their peak RSS. The reference tables are filled again before each leg so that sizes match.

Databases (dropped and created again): ``OKPAY_BENCH_PAYMENTS_PG_URL`` (default
``postgres://postgres@127.0.0.1:5432/okpay_bench_payments``) and its sibling ``…_ref``.
Redis: ``OKPAY_BENCH_REDIS_URL`` (default ``redis://127.0.0.1:6379/9``).
``OKPAY_BENCH_SECONDS``: seconds per measured leg (default 15, ``--quick`` 3).
``OKPAY_BENCH_PROFILE=DIR``: also record the OKPay web processes with py-spy (if installed) during
the measured run, into ``DIR/okpay.txt`` (collapsed stacks) and print the top frames.

``python -m benchmarks.payments statements`` (with OKPAY_DATABASE_URL set to a scratch
PostgreSQL database) prints the statements of one transfer.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from benchmarks.util import BIN, ROOT, cpu_seconds, free_port, okpay, peak_rss_mb, server, wrk

SECTION = "Payments: POST /api/v1/transfers vs the reference transfer"
REFERENCE = ROOT / "benchmarks" / "reference"
# Payers and payees drawn at random for each request, as the reference draws from 10,000: with a
# handful, concurrent requests queue on the same payer's usage row and wallet (row locks held to
# the commit) and the run measures lock waits rather than the work of a transfer.
SENDERS = 200
RECIPIENTS = 200
CONNECTIONS = 16

LUA = r"""
local tokens = {%(tokens)s}
local recipients = {%(recipients)s}
local counter = 0
local ids = 0

function setup(thread)
  ids = ids + 1
  thread:set("thread_id", ids)
end

function init(args)
  math.randomseed(thread_id * 7919 + os.time())
end

function request()
  counter = counter + 1
  local token = tokens[math.random(1, #tokens)]
  local to = recipients[math.random(1, #recipients)]
  local headers = {}
  headers["Authorization"] = "Bearer " .. token
  headers["Content-Type"] = "application/json"
  headers["Idempotency-Key"] = string.format("bench-%%d-%%d-%%d", thread_id, counter, math.random(1, 2000000000))
  local body = string.format('{"to": "%%s", "amount": 1, "currency": "CNY", "note": "bench"}', to)
  return wrk.format("POST", "/api/v1/transfers", headers, body)
end
"""

MISSED = (
    "Why: OKPay's transfer makes more round trips than the reference's ten statements (the captured list is in "
    "the note below: the ledger's own transfer row and balance updates, both parties' rows, notices, push "
    "subscriptions) and runs Django, django-ninja and pydantic around them: the CPU time per request of the web "
    "processes (row above) against the bare service's says how much more work that is. Done and next: "
    "docs/decisions 0003 and 0004 (profile before and after, the cuts, the candidates left)."
)


def _pg_url() -> str:
    return os.environ.get("OKPAY_BENCH_PAYMENTS_PG_URL", "postgres://postgres@127.0.0.1:5432/okpay_bench_payments")


def _sibling(url: str, suffix: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=parts.path + suffix))


def _recreate(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def _pg_args(url: str) -> list[str]:
    parts = urlsplit(url)
    return ["-h", parts.hostname or "127.0.0.1", "-p", str(parts.port or 5432), "-U", parts.username or "postgres"]


def _ref_init(url: str) -> None:
    """(Re)fill the reference tables: before each leg, so that both legs start from the same sizes."""
    subprocess.run(["psql", *_pg_args(url), "-q", "-v", "ON_ERROR_STOP=1", "-f",
                    str(REFERENCE / "reference_transfer_init.sql"), urlsplit(url).path.lstrip("/")],
                   check=True, capture_output=True)


def _env(url: str, home: str) -> dict[str, str]:
    return {
        "OKPAY_HOME": home, "OKPAY_DATABASE_URL": url, "OKPAY_DEBUG": "false", "OKPAY_LOG_LEVEL": "WARNING",
        "OKPAY_REDIS_URL": os.environ.get("OKPAY_BENCH_REDIS_URL", "redis://127.0.0.1:6379/9"),
        "OKPAY_DB_POOL_MAX": "20", "DJANGO_SETTINGS_MODULE": "okpay.settings",
        # The benchmark measures the work of a transfer, not the guards that stop a customer sending
        # thousands of them: limits and the velocity rule are set out of reach.
        "OKPAY_LIMIT_EMAIL_DAILY": str(10**12), "OKPAY_LIMIT_EMAIL_PER_TXN": str(10**12),
        "OKPAY_RISK_VELOCITY_PER_HOUR": str(10**9),
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }


def _child(env: dict[str, str], *args: str) -> str:
    out = subprocess.run([sys.executable, "-m", "benchmarks.payments", *args], cwd=ROOT, env={**os.environ, **env},
                         capture_output=True, text=True, check=False, timeout=1800)
    if out.returncode != 0:
        raise RuntimeError(f"benchmarks.payments {' '.join(args)} failed:\n{out.stderr[-3000:]}")
    return out.stdout.strip().splitlines()[-1]


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1] if len(values) > 1 else values[0]


def _pgbench_reference(url: str, home: str, seconds: int) -> dict[str, float]:
    """pgbench on the reference script; p50/p99 from its per-transaction log (latency in µs)."""
    if not shutil.which("pgbench"):
        raise RuntimeError("pgbench is not installed: apt-get install postgresql-client")
    logs = Path(home) / "pgbench"
    logs.mkdir(exist_ok=True)
    out = subprocess.run(["pgbench", *_pg_args(url), "-n", "-c", str(CONNECTIONS), "-j", "4", "-T", str(seconds),
                          "-l", "--log-prefix", str(logs / "log"), "-f", str(REFERENCE / "reference_transfer.sql"),
                          urlsplit(url).path.lstrip("/")], capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"pgbench (reference) failed:\n{out.stdout}\n{out.stderr}")
    match = re.search(r"tps = ([\d.]+) \((without|excluding)", out.stdout)
    if match is None:
        raise RuntimeError(f"unexpected pgbench output:\n{out.stdout}")
    latencies = [int(line.split()[2]) / 1000 for log in logs.iterdir() for line in log.read_text().splitlines()
                 if line.strip()]
    return {"tps": float(match.group(1)), "p50": _percentile(latencies, 50), "p99": _percentile(latencies, 99)}


def _profile_start(pid: int, seconds: int) -> subprocess.Popen[bytes] | None:
    folder = os.environ.get("OKPAY_BENCH_PROFILE")
    spy = shutil.which("py-spy") or (str(BIN / "py-spy") if (BIN / "py-spy").exists() else None)
    if not folder or not spy:
        return None
    Path(folder).mkdir(parents=True, exist_ok=True)
    return subprocess.Popen([spy, "record", "--pid", str(pid), "--subprocesses", "--duration", str(seconds),
                             "--rate", "200", "--format", "raw", "--nonblocking", "-o",
                             str(Path(folder) / "okpay.txt")], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def top_frames(collapsed: Path, *, limit: int = 25) -> list[tuple[str, float, float]]:
    """(frame, % of samples with it on the stack, % with it on top) from py-spy's collapsed stacks,
    counting samples of the request threads only (stacks through a2wsgi's worker)."""
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if "a2wsgi" not in stack or not count.isdigit():
            continue
        frames = [f.split(" (")[0] + " (" + f.split(" (")[-1].split(":")[0].rsplit("/", 1)[-1] + ")"
                  for f in stack.split(";")]
        n = int(count)
        total += n
        for frame in set(frames):
            inclusive[frame] += n
        own[frames[-1]] += n
    if not total:
        return []
    return [(frame, 100 * n / total, 100 * own[frame] / total) for frame, n in inclusive.most_common(limit)]


def _okpay_leg(url: str, home: str, seconds: int, *, people: int) -> tuple[dict[str, float], dict[str, object]]:
    env = _env(url, home)
    okpay("migrate", "--no-input", "-v", "0", env=env)
    cast = json.loads(_child(env, "setup", str(people)))
    script = Path(home) / "transfers.lua"
    script.write_text(LUA % {"tokens": ", ".join(f'"{t}"' for t in cast["tokens"]),
                             "recipients": ", ".join(f'"{r}"' for r in cast["recipients"])})
    port = free_port()
    argv = [str(BIN / "okpay"), "serve", "--no-worker", "--no-migrate", "--processes", "2", "--port", str(port)]
    with server(argv, env=env, port=port) as srv:
        wrk(srv.url + "/api/v1/transfers", seconds=3, script=str(script))  # warm up, fill the tables
        _child(env, "analyze")
        profiler = _profile_start(srv.process.pid, seconds)
        before = cpu_seconds(srv.process.pid)
        result = wrk(srv.url + "/api/v1/transfers", seconds=seconds, script=str(script))
        cpu = cpu_seconds(srv.process.pid) - before
        rss = peak_rss_mb(srv.process.pid)
        if profiler is not None:
            profiler.wait(timeout=seconds + 60)
    check = json.loads(_child(env, "check"))
    statements = json.loads(_child(env, "statements-json"))
    figures = {"rps": result.requests_per_second, "p50": result.p50_ms, "p99": result.p99_ms,
               "errors": result.errors, "cpu_ms": 1000 * cpu / max(result.requests, 1), "rss": rss}
    return figures, {"check": check, "statements": statements}


def _bare_leg(url: str, home: str, seconds: int) -> dict[str, float]:
    port = free_port()
    argv = [str(BIN / "uvicorn"), "benchmarks.reference.bare_asgi:application", "--workers", "2", "--host",
            "127.0.0.1", "--port", str(port), "--lifespan", "off", "--no-access-log", "--log-level", "warning"]
    env = {"REF_DSN": url, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    lua = str(REFERENCE / "bare_transfer.lua")
    with server(argv, env=env, port=port, ready_path=None) as srv:
        wrk(srv.url + "/", seconds=3, script=lua)  # warm up: both processes' pools open
        before = cpu_seconds(srv.process.pid)
        result = wrk(srv.url + "/", seconds=seconds, script=lua)
        cpu = cpu_seconds(srv.process.pid) - before
        rss = peak_rss_mb(srv.process.pid)
    return {"rps": result.requests_per_second, "p50": result.p50_ms, "p99": result.p99_ms, "errors": result.errors,
            "cpu_ms": 1000 * cpu / max(result.requests, 1), "rss": rss}


def main(report) -> None:  # type: ignore[no-untyped-def]
    seconds = int(os.environ.get("OKPAY_BENCH_SECONDS", 3 if report.quick else 15))
    url = _pg_url()
    ref_url = _sibling(url, "_ref")
    home = tempfile.mkdtemp(prefix="okpay-bench-payments-")
    _recreate(ref_url)
    _ref_init(ref_url)
    pg = _pgbench_reference(ref_url, home, seconds)
    _ref_init(ref_url)
    bare = _bare_leg(ref_url, home, seconds)
    _recreate(url)
    ours, extra = _okpay_leg(url, home, seconds, people=40 if report.quick else SENDERS)
    check = extra["check"]
    statements: list[str] = extra["statements"]  # type: ignore[assignment]
    errors = lambda leg: f", {leg['errors']:.0f} errors" if leg["errors"] else ""  # noqa: E731
    report.add(SECTION, f"pgbench, reference transfer (10 statements with BEGIN/COMMIT), {CONNECTIONS} clients",
               f"{pg['tps']:.0f} tps, p50 {pg['p50']:.1f} ms, p99 {pg['p99']:.1f} ms")
    report.add(SECTION, "bare Python service, same SQL, uvicorn → WSGI, 2 processes, wrk",
               f"{bare['rps']:.0f} req/s, p50 {bare['p50']:.1f} ms, p99 {bare['p99']:.1f} ms{errors(bare)}; "
               f"CPU {bare['cpu_ms']:.2f} ms/request; peak RSS {bare['rss']:.0f} MB",
               baseline=f"pgbench {pg['tps']:.0f} tps", ratio=bare["rps"] / pg["tps"])
    report.add(SECTION, f"OKPay POST /api/v1/transfers, {CONNECTIONS} connections, okpay serve --processes 2",
               f"{ours['rps']:.0f} req/s, p50 {ours['p50']:.1f} ms, p99 {ours['p99']:.1f} ms{errors(ours)}",
               baseline=f"bare service {bare['rps']:.0f} req/s", ratio=ours["rps"] / bare["rps"], target=0.5,
               if_missed=MISSED)
    report.add(SECTION, "OKPay p99 against the bare service's p99", f"{ours['p99']:.1f} ms",
               baseline=f"{bare['p99']:.1f} ms", ratio=ours["p99"] / bare["p99"], target=2.0, higher_is_better=False,
               if_missed=MISSED)
    report.add(SECTION, "OKPay against pgbench on the reference", f"{ours['rps']:.0f} req/s",
               baseline=f"{pg['tps']:.0f} tps", ratio=ours["rps"] / pg["tps"])
    report.add(SECTION, "CPU time of the web processes per request (/proc)", f"{ours['cpu_ms']:.2f} ms",
               baseline=f"bare service {bare['cpu_ms']:.2f} ms", ratio=ours["cpu_ms"] / bare["cpu_ms"])
    report.add(SECTION, "peak RSS of one OKPay web process under this load", f"{ours['rss']:.0f} MB",
               baseline=f"bare service {bare['rss']:.0f} MB; rule: under 200 MB", ratio=ours["rss"] / 200, target=1.0,
               higher_is_better=False)
    report.add(SECTION, "SQL statements per OKPay transfer (captured, BEGIN and COMMIT included)",
               f"{len(statements)}", baseline="reference: 10")
    report.add(SECTION, "after the run", f"{check['transfers']} transfers, ledger check "  # type: ignore[index]
               + ("passed" if check["ok"] else f"FAILED: {check['violations'][:3]}"))  # type: ignore[index]
    report.note(SECTION, f"{seconds} s per leg after a 3 s warm-up; legs run one after the other on one "
                         "PostgreSQL, the reference tables filled again before each. The machine is shared with other "
                         "work: absolute figures swing, compare the ratios within one run. The emails are written "
                         "later by the worker (not running here).")
    report.note(SECTION, "One OKPay transfer's statements, as psycopg sent them: "
                + "; ".join(f"({n}) {_short(sql)}" for n, sql in enumerate(statements, 1)))
    folder = os.environ.get("OKPAY_BENCH_PROFILE")
    if folder and (Path(folder) / "okpay.txt").exists():
        print("  py-spy top frames of the request threads (% of samples on the stack / on top):")
        for frame, inclusive, own in top_frames(Path(folder) / "okpay.txt"):
            print(f"    {inclusive:5.1f}% {own:5.1f}%  {frame}")


def _short(sql: str) -> str:
    """The head of a statement, enough to tell which it is."""
    words = sql.split()
    head = " ".join(words[:6])
    for keyword in ("FROM", "INTO", "UPDATE"):
        if keyword in words:
            i = words.index(keyword)
            head = " ".join([*words[:2], "…", *words[i:i + 2]]) if i > 2 else " ".join(words[: i + 2])
            break
    return head.replace('"', "")


# --- children (run inside Django) ------------------------------------------------------------------

def _setup(*, senders: int = SENDERS, recipients: int = RECIPIENTS, prefix: str = "bench") -> dict[str, list[str]]:
    from django.contrib.auth.models import Group
    from django.utils import timezone

    from okpay.identity.models import User
    from okpay.identity.services import api_token_create
    from okpay.payments.services import topup_create

    group = Group.objects.get_or_create(name="customer")[0]
    tokens, emails = [], []
    for i in range(senders + recipients):
        user = User.objects.create_user(f"{prefix}{i}@example.com", None, display_name=f"Bench {i}",
                                        email_verified_at=timezone.now())
        user.groups.add(group)
        if i < senders:
            topup_create(user=user, amount=5_000_000)
            tokens.append(api_token_create(user=user)[0])
        else:
            emails.append(user.email)
    return {"tokens": tokens, "recipients": emails}


def _statements() -> list[str]:
    """What one transfer sends to PostgreSQL: every statement psycopg
    executes for a ``POST /api/v1/transfers``, the ledger's own driver cursor included, then the
    commit (psycopg sends BEGIN by itself, before the first statement of the transaction). A first
    transfer opens the wallets and the usage row, as the warm-up of the benchmark does.

    ``OKPAY_DATABASE_URL=postgres://…/scratch python -m benchmarks.payments statements`` (it migrates)."""
    import uuid

    import psycopg
    from django.conf import settings
    from django.core.management import call_command
    from django.test import Client

    call_command("migrate", verbosity=0)
    settings.ALLOWED_HOSTS = ["*"]
    cast = _setup(senders=1, recipients=1, prefix=f"stmt{uuid.uuid4().hex[:8]}-")
    client = Client(headers={"Authorization": f"Bearer {cast['tokens'][0]}"})
    body = {"to": cast["recipients"][0], "amount": 1, "currency": "CNY", "note": "bench"}
    log: list[str] = []
    capturing = False
    execute, commit = psycopg.Cursor.execute, psycopg.Connection.commit

    def logged_execute(self, query, *args, **kwargs):  # type: ignore[no-untyped-def]
        if capturing:
            text = query if isinstance(query, str) else query.decode() if isinstance(query, bytes) else str(query)
            log.append(" ".join(text.split()))
        return execute(self, query, *args, **kwargs)

    def logged_commit(self):  # type: ignore[no-untyped-def]
        if capturing:
            log.append("COMMIT")
        return commit(self)

    psycopg.Cursor.execute, psycopg.Connection.commit = logged_execute, logged_commit  # type: ignore[method-assign]
    try:
        for first in (True, False):
            capturing = not first
            answer = client.post("/api/v1/transfers", body, content_type="application/json",
                                 headers={"Idempotency-Key": uuid.uuid4().hex})
            if answer.status_code != 201:
                raise RuntimeError(f"the transfer failed: {answer.status_code} {answer.content[:300]!r}")
    finally:
        psycopg.Cursor.execute, psycopg.Connection.commit = execute, commit  # type: ignore[method-assign]
    return log


def _profile(count: int = 300) -> None:
    """Where a transfer's CPU goes in the web process: ``count`` transfers through the whole Django
    path (middleware, django-ninja, idempotency, services, ledger, on-commit work) with Django's
    test client under cProfile, in one thread; prints CPU ms per transfer and the functions with
    the most cumulative time. The HTTP server (uvicorn, a2wsgi) is left out: the bare service pays
    for it too. ``OKPAY_DATABASE_URL=postgres://…/scratch python -m benchmarks.payments profile``."""
    import cProfile
    import io
    import pstats
    import random
    import time
    import uuid

    from django.conf import settings
    from django.core.management import call_command
    from django.test import Client

    call_command("migrate", verbosity=0)
    settings.ALLOWED_HOSTS = ["*"]
    cast = _setup(senders=20, recipients=20, prefix=f"prof{uuid.uuid4().hex[:8]}-")
    clients = [Client(headers={"Authorization": f"Bearer {token}"}) for token in cast["tokens"]]

    def one() -> None:
        body = {"to": random.choice(cast["recipients"]), "amount": 1, "currency": "CNY", "note": "bench"}
        answer = random.choice(clients).post("/api/v1/transfers", body, content_type="application/json",
                                             headers={"Idempotency-Key": uuid.uuid4().hex})
        if answer.status_code != 201:
            raise RuntimeError(f"the transfer failed: {answer.status_code} {answer.content[:300]!r}")

    for _ in range(50):  # warm up: wallets, usage rows, plans
        one()
    started = time.process_time()
    profiler = cProfile.Profile(time.process_time)  # CPU time: waits for the database do not count
    profiler.enable()
    for _ in range(count):
        one()
    profiler.disable()
    cpu = time.process_time() - started
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(r"okpay|ninja|pydantic|a2wsgi|django/(db|core|test)", 60)
    stats.sort_stats("tottime").print_stats(25)
    print(out.getvalue())
    print(f"CPU per transfer under cProfile: {1000 * cpu / count:.2f} ms ({count} transfers)")
    started = time.process_time()
    for _ in range(count):
        one()
    print(f"CPU per transfer without the profiler: {1000 * (time.process_time() - started) / count:.2f} ms")


def _child_main(argv: list[str]) -> int:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "okpay.settings")
    django.setup()
    from django.db import connection

    if argv[0] == "setup":
        people = int(argv[1]) if len(argv) > 1 else SENDERS
        print(json.dumps(_setup(senders=people, recipients=people)))
    elif argv[0] == "statements-json":
        print(json.dumps(_statements()))
    elif argv[0] == "statements":
        if connection.vendor != "postgresql":
            raise SystemExit("statements: set OKPAY_DATABASE_URL to a PostgreSQL database")
        for number, sql in enumerate(_statements(), 1):
            print(f"{number:2d}. {sql}")
    elif argv[0] == "profile":
        _profile(int(argv[1]) if len(argv) > 1 else 300)
    elif argv[0] == "analyze":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        print("{}")
    elif argv[0] == "check":
        from okpay.ledger.checks import ledger_check
        from okpay.payments.models import Transaction

        result = ledger_check()
        print(json.dumps({"ok": result.ok, "violations": result.violations,
                          "transfers": Transaction.objects.filter(type="transfer", direction="debit").count()}))
    return 0


if __name__ == "__main__":
    sys.exit(_child_main(sys.argv[1:]))
