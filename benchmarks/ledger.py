"""Ledger throughput and read cost, against raw SQL through the same driver, in the same run.

- Transfers per second through ``okpay.ledger.services.transfer_create`` at 1 and 4 processes on
  SQLite and PostgreSQL, beside a raw-SQL baseline doing the same writes through the same driver
  (psycopg 3 / sqlite3): lock the two account rows in id order, update both counters, insert the
  transfer row, commit. Ratio = ledger / raw.
- The hot-account case (every transfer credits one merchant account) as a ratio to the uniform
  case, at 4 processes on PostgreSQL.
- The cost of reading a balance and a history page (20 rows) at 10 thousand and at 1 million
  transfers (100 thousand with ``--quick``), bulk-loaded with one ``INSERT … SELECT`` into two
  databases that are then read in alternating rounds (best round of each).

Every process is a separate OS process (``python -m benchmarks.ledger child …``) with its own
settings pointing at the benchmark database: ``OKPAY_BENCH_PG_URL`` (default
``postgres://postgres@127.0.0.1:5432/okpay_bench_ledger``, plus ``…_small`` beside it, created when
missing; its ledger tables are emptied) and SQLite files under ``$OKPAY_HOME/var/``. Sizes:
``OKPAY_BENCH_LEDGER_OPS`` (transfers per process).
"""

from __future__ import annotations

import json
import os
import random
import secrets
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
SECTION = "Ledger"
UNIFORM_ACCOUNTS = 1000
READ_ACCOUNTS = 100


# --- the parent ------------------------------------------------------------------------------

def _pg_url() -> str:
    return os.environ.get("OKPAY_BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432/okpay_bench_ledger")


def _sqlite_url(name: str = "bench-ledger") -> str:
    home = Path(os.environ.get("OKPAY_HOME") or ROOT)
    path = home / "var" / f"{name}.sqlite3"
    path.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    return f"sqlite:///{path}"


def _small_pg_url(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=parts.path.rstrip("/") + "_small"))


def _ensure_pg_database(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def _env(url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(OKPAY_DATABASE_URL=url, DJANGO_SETTINGS_MODULE="okpay.settings", OKPAY_DB_POOL_MIN="1",
               OKPAY_DB_POOL_MAX="2", OKPAY_LOG_LEVEL="WARNING",
               PYTHONPATH=os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]))
    return env


def _child(url: str, *args: str, stdin: bool = False) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "benchmarks.ledger", "child", *args], cwd=ROOT, env=_env(url),
                            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL, stdout=subprocess.PIPE,
                            text=True)


def _call(url: str, *args: str) -> dict[str, Any]:
    proc = _child(url, *args)
    out, _ = proc.communicate(timeout=3600)
    if proc.returncode != 0:
        raise RuntimeError(f"benchmark child {args} failed ({proc.returncode})")
    return json.loads(out.strip().splitlines()[-1])


def _throughput(url: str, mode: str, procs: int, ops: int, hot: bool, seed: int) -> tuple[int, float]:
    """``procs`` processes doing ``ops`` transfers each, started together: (transfers, seconds)."""
    children = [_child(url, "run", mode, str(ops), "1" if hot else "0", str(seed * 100 + n), stdin=True)
                for n in range(procs)]
    for child in children:
        assert child.stdout is not None
        if child.stdout.readline().strip() != "ready":
            raise RuntimeError("benchmark child did not start")
    started = time.perf_counter()
    for child in children:
        assert child.stdin is not None
        child.stdin.write("go\n")
        child.stdin.flush()
    done = 0
    for child in children:
        out, _ = child.communicate(timeout=3600)
        if child.returncode != 0:
            raise RuntimeError(f"benchmark child {mode} failed")
        done += json.loads(out.strip().splitlines()[-1])["done"]
    return done, time.perf_counter() - started


def _compare(url: str, procs: int, ops: int, hot: bool, rounds: int) -> dict[str, float]:
    """Raw SQL and the ledger, interleaved over several rounds so that both see the same disk (fsync
    times drift a lot on a virtual disk); the rate of each is its total transfers / total time."""
    totals = {"raw": [0, 0.0], "ledger": [0, 0.0]}
    for round_ in range(rounds):
        for mode in ("raw", "ledger") if round_ % 2 == 0 else ("ledger", "raw"):
            done, seconds = _throughput(url, mode, procs, max(ops // rounds, 20), hot, round_)
            print(f"    {procs} proc{'s' if procs > 1 else ''}{' hot' if hot else ''} round {round_ + 1} {mode}: "
                  f"{done / seconds:,.0f}/s", flush=True)
            totals[mode][0] += done
            totals[mode][1] += seconds
    return {mode: done / seconds for mode, (done, seconds) in totals.items()}


def main(report: Any) -> None:
    quick = bool(getattr(report, "quick", False))
    ops = int(os.environ.get("OKPAY_BENCH_LEDGER_OPS", "300" if quick else "2000"))
    big = 100_000 if quick else 1_000_000
    rounds = 2 if quick else 6
    pg = _pg_url()
    _ensure_pg_database(pg)
    for backend, url in (("SQLite", _sqlite_url()), ("PostgreSQL", pg)):
        _call(url, "setup")
        rates: dict[tuple[str, int, bool], float] = {}
        plan = [(1, False), (4, False)] + ([(4, True)] if backend == "PostgreSQL" else [])
        for procs, hot in plan:
            per_proc = ops if procs == 1 else max(ops // 2, 50)
            for mode, rate in _compare(url, procs, per_proc, hot, rounds).items():
                rates[(mode, procs, hot)] = rate
        for procs in (1, 4):
            ledger, raw = rates[("ledger", procs, False)], rates[("raw", procs, False)]
            target = 0.7 if (backend == "PostgreSQL" and procs == 4) or (backend == "SQLite" and procs == 1) else None
            report.add(SECTION, f"{backend}: transfers/s at {procs} process{'es' if procs > 1 else ''}",
                       f"{ledger:,.0f}/s", baseline=f"raw SQL {raw:,.0f}/s", ratio=ledger / raw, target=target)
        if backend == "PostgreSQL":
            hot, uniform = rates[("ledger", 4, True)], rates[("ledger", 4, False)]
            report.add(SECTION, "PostgreSQL: hot account (every transfer credits one merchant), 4 processes",
                       f"{hot:,.0f}/s", baseline=f"uniform {uniform:,.0f}/s", ratio=hot / uniform, target=0.5)
            raw_hot = rates[("raw", 4, True)]
            report.note(SECTION, f"PostgreSQL raw SQL with the hot account at 4 processes: {raw_hot:,.0f}/s "
                                 f"({raw_hot / rates[('raw', 4, False)]:.2f} of raw uniform).")
        # The 10k and the 1M ledgers live side by side (a second database) and are read in
        # alternating rounds, so that other work on the machine weighs on both alike.
        small_url = _sqlite_url("bench-ledger-small") if backend == "SQLite" else _small_pg_url(url)
        if backend == "PostgreSQL":
            _ensure_pg_database(small_url)
        small_load = _call(small_url, "reads-load", "10000")
        large_load = _call(url, "reads-load", str(big))
        best: dict[str, dict[str, float]] = {"small": {}, "large": {}}
        for round_ in range(4):
            for size, target_url in (("small", small_url), ("large", url))[:: 1 if round_ % 2 == 0 else -1]:
                measured = _call(target_url, "reads-measure")
                for what, value in measured.items():
                    best[size][what] = min(best[size].get(what, value), value)
        small, large = best["small"], best["large"]
        label = f"{big // 1000:,}k" if big < 1_000_000 else "1M"
        for what in ("balance", "history"):
            report.add(SECTION, f"{backend}: {what} read at {label} transfers",
                       f"{large[what]:.0f} µs", baseline=f"{small[what]:.0f} µs at 10k",
                       ratio=large[what] / small[what], target=1.2, higher_is_better=False)
        report.note(SECTION, f"{backend}: {large_load['load_seconds']:.1f} s to bulk-load {big:,} transfers; "
                             f"`okpay ledger check` over them: {large_load['check_seconds']:.1f} s, "
                             f"ok={large_load['check_ok'] and small_load['check_ok']}.")
    report.note(SECTION, f"{ops} transfers per process at 1 process, {max(ops // 2, 50)} per process at 4, "
                         f"raw and ledger interleaved in {rounds} rounds; "
                         f"{UNIFORM_ACCOUNTS} accounts in the uniform case; reads over {READ_ACCOUNTS} accounts.")


# --- the children ----------------------------------------------------------------------------

def _setup_django() -> None:
    import django

    django.setup()


def child_setup() -> dict[str, Any]:
    from django.core.management import call_command
    from django.db import connection

    from okpay.ledger.services import TransferSpec, account_open, system_account, transfers_post

    call_command("migrate", verbosity=0, interactive=False)
    with connection.cursor() as cursor:  # the benchmark database starts empty (SQLite: a new file)
        if connection.vendor == "postgresql":
            cursor.execute("TRUNCATE ledger_pendinghold, ledger_transfer, ledger_account CASCADE")
        else:
            for table in ("ledger_pendinghold", "ledger_transfer", "ledger_account"):
                cursor.execute(f"DELETE FROM {table}")
    funding = system_account("funding", "CNY")
    accounts = [account_open(owner=None, kind=f"bench{i}", currency="CNY", debits_must_not_exceed_credits=True)
                for i in range(UNIFORM_ACCOUNTS)]
    account_open(owner=None, kind="bench_hot", currency="CNY")
    for start in range(0, len(accounts), 200):
        transfers_post([TransferSpec(funding, a, 10**12, "CNY") for a in accounts[start:start + 200]])
    _analyze()
    return {"accounts": len(accounts)}


def _analyze() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def _accounts() -> tuple[list[int], int]:
    from okpay.ledger.models import Account

    ids = list(Account.objects.filter(kind__startswith="bench").exclude(kind="bench_hot")
               .filter(kind__regex=r"^bench[0-9]+$").order_by("id").values_list("id", flat=True))
    hot = Account.objects.get(kind="bench_hot").pk
    return ids, hot


class _Raw:
    """The baseline: the same writes through the bare driver, no Django."""

    def __init__(self) -> None:
        from django.conf import settings

        db = settings.DATABASES["default"]
        self.pg = not db["ENGINE"].endswith("sqlite3")
        if self.pg:
            import psycopg

            self.conn = psycopg.connect(os.environ["OKPAY_DATABASE_URL"], autocommit=True)
            self.p = "%s"
        else:
            import sqlite3

            self.conn = sqlite3.connect(db["NAME"], isolation_level=None, timeout=60)
            for pragma in ("journal_mode=WAL", "synchronous=FULL", "foreign_keys=ON", "busy_timeout=60000"):
                self.conn.execute(f"PRAGMA {pragma}")
            self.p = "?"

    def transfer(self, debit: int, credit: int, amount: int) -> None:
        p, conn = self.p, self.conn
        created = datetime.now(UTC)
        if self.pg:
            with conn.transaction():
                conn.execute(f"SELECT id FROM ledger_account WHERE id IN ({p}, {p}) ORDER BY id FOR UPDATE",
                             [debit, credit])
                self._writes(conn, debit, credit, amount, created)
        else:
            conn.execute("BEGIN IMMEDIATE")
            try:
                self._writes(conn, debit, credit, amount, created.replace(tzinfo=None).isoformat(" "))
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    def _writes(self, conn: Any, debit: int, credit: int, amount: int, created: Any) -> None:
        p = self.p
        first, second = sorted((debit, credit))
        for pk in (first, second):
            column = "debits_posted" if pk == debit else "credits_posted"
            conn.execute(f"UPDATE ledger_account SET {column} = {column} + {p}, updated_at = {p} WHERE id = {p}",
                         [amount, created, pk])
        conn.execute(
            "INSERT INTO ledger_transfer (public_id, kind, debit_account_id, credit_account_id, amount, currency, "
            f"code, expires_at, reference, actor, note, created_at) VALUES ({p}, 'single', {p}, {p}, {p}, 'CNY', "
            f"'transfer', NULL, '', '', '', {p})", ["raw_" + secrets.token_hex(10), debit, credit, amount, created])


def child_run(mode: str, ops: int, hot: bool, seed: int) -> dict[str, Any]:
    from django.db import connection

    from okpay.ledger.services import transfer_create

    ids, hot_id = _accounts()
    rng = random.Random(seed)
    raw = _Raw() if mode == "raw" else None
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    pairs = []
    for _ in range(ops):
        debit = rng.choice(ids)
        credit = hot_id if hot else rng.choice(ids)
        while credit == debit:
            credit = rng.choice(ids)
        pairs.append((debit, credit, rng.randint(1, 10_000)))
    print("ready", flush=True)
    sys.stdin.readline()
    started = time.perf_counter()
    for debit, credit, amount in pairs:
        if raw is not None:
            raw.transfer(debit, credit, amount)
        else:
            transfer_create(debit_account=debit, credit_account=credit, amount=amount, currency="CNY")
    return {"done": ops, "seconds": time.perf_counter() - started}


def _read_accounts() -> tuple[int, int]:
    from okpay.ledger.services import account_open

    accounts = [account_open(owner=None, kind=f"read{i}", currency="CNY") for i in range(READ_ACCOUNTS)]
    first, n = accounts[0].pk, len(accounts)
    assert [a.pk for a in accounts] == list(range(first, first + n)), "read accounts must have consecutive ids"
    return first, n


def child_reads_load(size: int) -> dict[str, Any]:
    """Make the read accounts of this database hold ``size`` transfers among themselves."""
    from django.core.management import call_command
    from django.db import connection

    from okpay.ledger.checks import ledger_check

    call_command("migrate", verbosity=0, interactive=False)
    first, n = _read_accounts()
    pg = connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM ledger_transfer WHERE public_id LIKE 'bulk_%%'")
        have = cursor.fetchone()[0]
    started = time.perf_counter()
    if size > have:
        now = "now()" if pg else "strftime('%%Y-%%m-%%d %%H:%%M:%%f', 'now')"
        debit = f"{first} + (g %% {n})"
        credit = f"{first} + ((g + 1 + (g / {n}) %% {n - 1}) %% {n})"
        select = (f"SELECT 'bulk_' || g, 'single', {debit}, {credit}, 1 + g %% 997, 'CNY', 'transfer', '', '', '', "
                  f"{now}")
        columns = ("INSERT INTO ledger_transfer (public_id, kind, debit_account_id, credit_account_id, amount, "
                   "currency, code, reference, actor, note, created_at) ")
        with connection.cursor() as cursor:
            if pg:
                cursor.execute(columns + select + " FROM generate_series(%s, %s) AS g", [have + 1, size])
            else:
                cursor.execute(f"WITH RECURSIVE s(g) AS (SELECT %s UNION ALL SELECT g + 1 FROM s WHERE g < %s) "
                               f"{columns} {select} FROM s", [have + 1, size])
            # The counters follow the transfers, so that the ledger stays provably sound.
            for side, column in (("debit_account_id", "debits_posted"), ("credit_account_id", "credits_posted")):
                cursor.execute(
                    f"UPDATE ledger_account SET {column} = (SELECT COALESCE(SUM(amount), 0) FROM ledger_transfer t "
                    f"WHERE t.{side} = ledger_account.id AND t.kind IN ('single', 'post_pending')) "
                    f"WHERE id BETWEEN %s AND %s", [first, first + n - 1])
            # Steady state, as autovacuum would leave it: statistics and the visibility map.
            cursor.execute("VACUUM ANALYZE ledger_transfer" if pg else "ANALYZE")
    load_seconds = time.perf_counter() - started
    t0 = time.perf_counter()
    report = ledger_check()
    check_seconds = time.perf_counter() - t0
    return {"load_seconds": load_seconds, "check_seconds": check_seconds, "check_ok": report.ok}


def child_reads_measure() -> dict[str, Any]:
    """Microseconds per balance read and per history page (20 rows), best of three rounds."""
    from okpay.ledger.selectors import account_balance, account_history

    first, n = _read_accounts()
    rng = random.Random(first)
    picks = [rng.randrange(first, first + n) for _ in range(300)]
    for pk in picks[:100]:  # warm up
        account_balance(pk)
        account_history(pk, limit=20)
    balance = history = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        for pk in picks:
            account_balance(pk)
        balance = min(balance, (time.perf_counter() - t0) / len(picks) * 1e6)
        t0 = time.perf_counter()
        for pk in picks:
            page = account_history(pk, limit=20)
            assert len(page) == 20
        history = min(history, (time.perf_counter() - t0) / len(picks) * 1e6)
    return {"balance": balance, "history": history}


def child(argv: list[str]) -> None:
    _setup_django()
    command = argv[0]
    if command == "setup":
        result = child_setup()
    elif command == "run":
        result = child_run(argv[1], int(argv[2]), argv[3] == "1", int(argv[4]))
    elif command == "reads-load":
        result = child_reads_load(int(argv[1]))
    elif command == "reads-measure":
        result = child_reads_measure()
    else:
        raise SystemExit(f"unknown child command {command!r}")
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "child":
        child(sys.argv[2:])
    else:
        from benchmarks.report import Report

        main(Report(quick="--quick" in sys.argv))
