"""The bank fault test's machinery: databases, real OKPay processes, clients, faults and checks.

A *cluster* is a database (a SQLite file, a private PostgreSQL cluster that the test may crash, or
a scratch database on the shared PostgreSQL), optionally Redis, W ``okpay serve --no-worker``
processes and K ``okpay worker`` processes. Sixteen client threads move money through the HTTP
API with idempotency keys while a fault thread SIGKILLs and restarts processes (and crashes the
private database). :func:`check` then compares what the clients were told with what the database
holds. Nothing here touches the test's own database connection.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import itertools
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

ROOT = Path(__file__).resolve().parents[2]
CUSTOMERS = 20
FUNDING = 100_000  # ¥1,000.00 each
THREADS = 16
BILLER, GOOD_REF, BAD_REF = "state-grid-sh", "1234567897", "1234567890"  # the sandbox accepts / rejects


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- databases ------------------------------------------------------------------------------------

class SqliteDatabase:
    can_crash = False

    def __init__(self, workdir: Path) -> None:
        self.url = f"sqlite:///{workdir / 'bank.sqlite3'}"

    def close(self) -> None:
        pass


def _as_postgres(argv: list[str]) -> list[str]:
    """PostgreSQL's tools refuse to run as root: run them as the ``postgres`` user then."""
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


def postgres_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


class PrivatePostgres:
    """A PostgreSQL cluster of the test's own (initdb in a temp dir, trust auth, a free port), so
    that crashing it (``pg_ctl stop -m immediate``) disturbs nobody else."""

    can_crash = True

    def __init__(self) -> None:
        bindir = postgres_bin()
        assert bindir is not None
        self.bin = bindir
        self.dir = Path(tempfile.mkdtemp(prefix="okpay-fault-pg-"))
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        self.data = self.dir / "data"
        self.port = free_port()
        self.log = self.dir / "postgres.log"
        self._run([str(self.bin / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8",
                   "--no-sync", "--no-instructions"])
        self.start()
        self._run([str(self.bin / "createdb") if (self.bin / "createdb").exists() else "createdb",
                   "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "okpay_bank"])
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/okpay_bank"

    def _run(self, argv: list[str]) -> None:
        out = subprocess.run(_as_postgres(argv), capture_output=True, text=True, timeout=120, check=False)
        if out.returncode != 0:
            raise RuntimeError(f"{argv[0]} failed: {out.stdout}{out.stderr}")

    def start(self) -> None:
        self._run([str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60",
                   "-o", f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c max_connections=100",
                   "start"])

    def crash(self) -> None:
        self._run([str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"])

    def close(self) -> None:
        with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
            self._run([str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"])
        shutil.rmtree(self.dir, ignore_errors=True)


class ScratchPostgres:
    """A fresh database on the shared PostgreSQL server (``admin_url`` names it); never crashed."""

    can_crash = False

    def __init__(self, admin_url: str, name: str) -> None:
        import psycopg

        parts = urlsplit(admin_url)
        self.admin = urlunsplit(parts._replace(path="/postgres"))
        self.name = name
        with psycopg.connect(self.admin, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {name}")
        self.url = urlunsplit(parts._replace(path=f"/{name}"))

    def close(self) -> None:
        import psycopg

        with psycopg.connect(self.admin, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")


# --- processes ------------------------------------------------------------------------------------

def process_env(database_url: str, redis_url: str | None, home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("OKPAY_", "DJANGO_ALLOW_ASYNC_UNSAFE", "PYTEST_"))}
    env.update({
        "DJANGO_SETTINGS_MODULE": "okpay.settings", "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
        "OKPAY_HOME": str(home), "OKPAY_DATABASE_URL": database_url, "OKPAY_TESTING": "true",
        "OKPAY_SECRET_KEY": "bank-fault-test-secret-key-0123456789abcdef", "OKPAY_LOG_LEVEL": "WARNING",
        "OKPAY_DB_POOL_MIN": "1", "OKPAY_DB_POOL_MAX": "8", "OKPAY_WORKER_INTERVAL": "1",
        # Bill payments settle within seconds; transfers from ¥45 wait for a risk review (so there
        # is something to cancel); no velocity review or daily limit gets in the way.
        "OKPAY_BILL_SUBMIT_SECONDS": "2", "OKPAY_BILL_CONFIRM_SECONDS": "2",
        "OKPAY_RISK_REVIEW_AMOUNT": "4500", "OKPAY_RISK_NEW_RECIPIENT_AMOUNT": "100000000",
        "OKPAY_RISK_VELOCITY_PER_HOUR": "1000000", "OKPAY_LIMIT_EMAIL_DAILY": "1000000000",
        "OKPAY_LIMIT_EMAIL_PER_TXN": "1000000",
        # No step-up code by email for large or first payments: the clients do not read mail, and
        # step-up has tests of its own (tests/payments/test_step_up.py).
        "OKPAY_STEP_UP_AMOUNT": "1000000000", "OKPAY_STEP_UP_NEW_PAYEE_AMOUNT": "1000000000",
    })
    if redis_url:
        env["OKPAY_REDIS_URL"] = redis_url
    return env


def okpay(*args: str, env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "okpay", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout, check=False)


def module(name: str, *args: str, env: dict[str, str], timeout: float = 300) -> Any:
    """Run ``python -m tests.fault.<name> ARGS`` and return the JSON it prints last."""
    out = subprocess.run([sys.executable, "-m", f"tests.fault.{name}", *args], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=timeout, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"tests.fault.{name} {' '.join(args)} failed:\n{out.stderr[-4000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


@dataclass
class Proc:
    """One restartable OKPay process: a web server (``port`` set) or a worker."""

    name: str
    env: dict[str, str]
    logdir: Path
    port: int = 0
    popen: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def argv(self) -> list[str]:
        if self.port:
            return [sys.executable, "-m", "okpay", "serve", "--no-worker", "--no-migrate", "--host", "127.0.0.1",
                    "--port", str(self.port)]
        return [sys.executable, "-m", "okpay", "worker"]

    def start(self, *, wait: bool = True) -> None:
        self.starts += 1
        log = open(self.logdir / f"{self.name}.log", "ab")  # noqa: SIM115 - handed to the child
        try:
            self.popen = subprocess.Popen(self.argv(), cwd=ROOT, env=self.env, stdout=log, stderr=log,
                                          start_new_session=True)
        finally:
            log.close()
        if wait and self.port:
            self.wait_ready()

    def wait_ready(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.popen is not None
            if self.popen.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.popen.returncode}: {self.log_tail()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.url + "/healthz", timeout=2).status_code == 200:
                    return
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} did not come up: {self.log_tail()}")

    def log_tail(self, chars: int = 3000) -> str:
        with contextlib.suppress(OSError):
            return (self.logdir / f"{self.name}.log").read_text(errors="replace")[-chars:]
        return ""

    def kill(self) -> None:
        if self.popen is not None and self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout=30)

    def stop(self) -> None:
        if self.popen is None or self.popen.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGTERM)
        try:
            self.popen.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.kill()


class Cluster:
    def __init__(self, database: Any, *, web: int, workers: int, redis_url: str | None = None) -> None:
        self.database = database
        self.home = Path(tempfile.mkdtemp(prefix="okpay-fault-"))
        self.env = process_env(database.url, redis_url, self.home)
        self.webs = [Proc(f"web{i}", self.env, self.home, port=free_port()) for i in range(web)]
        self.workers = [Proc(f"worker{i}", self.env, self.home) for i in range(workers)]
        self.lock = threading.Lock()  # the fault thread and the final checks do not restart at once

    @property
    def procs(self) -> list[Proc]:
        return [*self.webs, *self.workers]

    def migrate_and_setup(self) -> dict[str, Any]:
        out = okpay("migrate", "--no-input", "-v", "0", env=self.env, timeout=600)
        if out.returncode != 0:
            raise RuntimeError("okpay migrate failed:\n" + out.stderr[-4000:])
        return module("bank_db", "setup", str(CUSTOMERS), str(FUNDING), env=self.env)  # type: ignore[no-any-return]

    def start(self) -> None:
        for proc in self.procs:
            proc.start(wait=False)
        for proc in self.webs:
            proc.wait_ready()

    def ensure_up(self) -> list[str]:
        """Start any process that is not running; returns those that had died by themselves (the
        fault thread restarts its own victims at once), with the end of their log."""
        died = []
        with self.lock:
            for proc in self.procs:
                if proc.popen is None or proc.popen.poll() is not None:
                    died.append(f"{proc.name} exited with {proc.popen and proc.popen.returncode}: "
                                f"{proc.log_tail(800)}")
                    proc.start()
            for proc in self.webs:
                proc.wait_ready()
        return died

    def stop(self) -> None:
        for proc in self.procs:
            proc.stop()

    def close(self) -> None:
        self.stop()
        self.database.close()
        shutil.rmtree(self.home, ignore_errors=True)

    def logs(self) -> str:
        return "\n".join(f"--- {p.name} (started {p.starts}x)\n{p.log_tail(1500)}" for p in self.procs)


# --- faults ---------------------------------------------------------------------------------------

class Faults(threading.Thread):
    """SIGKILL a random process at random moments and start it again; now and then crash the
    database (``pg_ctl stop -m immediate``) and start it again, when it is the test's own."""

    def __init__(self, cluster: Cluster, rng: random.Random, *, db_crashes: bool, at_least: int = 0) -> None:
        super().__init__(daemon=True, name="faults")
        self.cluster, self.rng, self.db_crashes = cluster, rng, db_crashes
        self.stop_event = threading.Event()
        self.done: Counter[str] = Counter()
        # Set once ``at_least`` faults have struck: the clients keep the traffic going until then, so
        # a slow machine (processes take longer to come back) still sees every fault it was promised.
        self.enough = threading.Event()
        if at_least <= 0:
            self.enough.set()
        self.at_least = at_least
        self.error: BaseException | None = None
        # Every process gets its turn (in a seeded order); on the test's own PostgreSQL every third
        # fault, starting with the second, crashes the database instead.
        self.order = rng.sample(cluster.procs, len(cluster.procs))
        self.kills = 0

    def run(self) -> None:
        try:
            while not self.stop_event.wait(self.rng.uniform(2.0, 6.0)):
                with self.cluster.lock:
                    if self.db_crashes and sum(self.done.values()) % 3 == 1:
                        self.cluster.database.crash()
                        time.sleep(self.rng.uniform(0.0, 2.0))
                        self.cluster.database.start()
                        self.done["database"] += 1
                        self._count()
                        continue
                    victim = self.order[self.kills % len(self.order)]
                    self.kills += 1
                    victim.kill()
                    self.done[victim.name] += 1
                    time.sleep(self.rng.uniform(0.0, 1.0))
                    victim.start(wait=False)
                if victim.port:
                    victim.wait_ready()
                self._count()
        except BaseException as exc:  # reported by the test
            self.error = exc

    def _count(self) -> None:
        if sum(self.done.values()) >= self.at_least:
            self.enough.set()


# --- clients --------------------------------------------------------------------------------------

@dataclass
class Op:
    kind: str  # transfer | invite | bill | cancel
    key: str
    user: str
    amount: int = 0
    target: str = ""  # the transaction a cancel is about
    outcome: str = "ambiguous"  # ok | refused | ambiguous
    status: int = 0
    code: str = ""
    txn_id: str = ""
    txn_status: str = ""
    attempts: list[str] = field(default_factory=list)  # what each try got, for the failure message
    sent_at: float = 0.0  # time.monotonic() of the first try (takeover time)
    answered_at: float = 0.0  # and of the definite answer


@dataclass
class Book:
    ops: list[Op] = field(default_factory=list)
    server_errors: list[str] = field(default_factory=list)
    died: list[str] = field(default_factory=list)  # processes that exited without being killed
    negative_reads: list[str] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def note(self, what: str) -> None:
        with self.lock:
            self.counts[what] += 1


RETRYABLE = (httpx.TransportError,)
OWED_GRACE = 180.0  # the longest the traffic runs past its deadline for faults still to come


class Client(threading.Thread):
    def __init__(self, index: int, seed: int, customers: list[dict[str, str]], urls: list[str], book: Book,
                 deadline: float, bill_amounts: itertools.count[int],
                 owed: threading.Event | None = None) -> None:
        super().__init__(daemon=True, name=f"client{index}")
        self.index, self.customers, self.urls, self.book = index, customers, urls, book
        self.rng = random.Random(seed * 1000 + index)
        self.deadline = deadline
        self.owed = owed  # set when the faults the run promised have struck (None: do not wait)
        self.bill_amounts = bill_amounts
        self.http = httpx.Client(timeout=httpx.Timeout(8.0, connect=2.0))
        self.pending: list[tuple[dict[str, str], str]] = []  # (customer, txn id) that may be cancellable
        self.n = 0
        self.error: BaseException | None = None
        self.seed = seed

    def post(self, op: Op, customer: dict[str, str], path: str, body: dict[str, Any], *, budget: float) -> None:
        """POST with ``op.key`` until a definite answer or ``budget`` seconds pass (then ambiguous)."""
        give_up = time.monotonic() + budget
        op.sent_at = op.sent_at or time.monotonic()
        headers = {"Authorization": f"Bearer {customer['token']}", "Idempotency-Key": op.key}
        while time.monotonic() < give_up:
            url = self.rng.choice(self.urls)
            try:
                response = self.http.post(url + path, json=body, headers=headers)
            except RETRYABLE as exc:
                op.attempts.append(f"{url[-5:]} {type(exc).__name__}")
                self.book.note("transport_error")
                time.sleep(self.rng.uniform(0.1, 0.4))
                continue
            status = response.status_code
            try:
                payload = response.json()
            except ValueError:
                payload = {}
            code = (payload.get("error") or {}).get("code", "") if isinstance(payload, dict) else ""
            op.attempts.append(f"{url[-5:]} {status} {code} replayed={response.headers.get('Idempotent-Replayed')}")
            if status >= 500:
                with self.book.lock:
                    self.book.server_errors.append(f"{status} POST {path} {response.text[:300]}")
                time.sleep(self.rng.uniform(0.2, 0.5))
                continue
            if status == 429 or (status == 409 and code in {"idempotency_key_in_use", "conflict"}):
                self.book.note(code or "429")
                time.sleep(self.rng.uniform(0.3, 1.0))
                continue
            op.status, op.code, op.answered_at = status, code, time.monotonic()
            if status < 300:
                op.outcome, op.txn_id, op.txn_status = "ok", payload["id"], payload["status"]
                if response.headers.get("Idempotent-Replayed") == "true":
                    self.book.note("replayed")
            else:
                op.outcome = "refused"
            return

    def read(self, customer: dict[str, str]) -> None:
        headers = {"Authorization": f"Bearer {customer['token']}"}
        url = self.rng.choice(self.urls)
        try:
            if self.rng.random() < 0.7 or not self.pending:
                response = self.http.get(url + "/api/v1/wallet/balances", headers=headers)
                if response.status_code == 200:
                    for row in response.json()["data"]:
                        if row["available"] < 0 or row["held"] < 0:
                            with self.book.lock:
                                self.book.negative_reads.append(f"{customer['email']} {row}")
            else:
                owner, txn = self.rng.choice(self.pending)
                response = self.http.get(url + f"/api/v1/transactions/{txn}",
                                         headers={"Authorization": f"Bearer {owner['token']}"})
            if response.status_code >= 500:
                with self.book.lock:
                    self.book.server_errors.append(f"{response.status_code} GET {response.text[:300]}")
            self.book.note("read")
        except RETRYABLE:
            self.book.note("transport_error")

    def one(self) -> None:
        self.n += 1
        key = f"bank-{self.seed}-{self.index}-{self.n}"
        me = self.rng.choice(self.customers)
        roll = self.rng.random()
        if roll < 0.40:
            other = self.rng.choice([c for c in self.customers if c is not me])
            amount = self.rng.randint(100, 6_000) if self.rng.random() < 0.9 else self.rng.randint(50_000, 200_000)
            op = Op("transfer", key, me["email"], amount)
            to = other["email"] if self.rng.random() < 0.5 else other["wallet_id"]
            self.record(op, me, "/api/v1/transfers", {"to": to, "amount": amount, "currency": "CNY", "note": key})
        elif roll < 0.48:
            amount = self.rng.randint(100, 3_000)
            op = Op("invite", key, me["email"], amount)
            to = f"guest{self.rng.randint(1, 9)}@example.com"
            self.record(op, me, "/api/v1/transfers", {"to": to, "amount": amount, "currency": "CNY", "note": key})
        elif roll < 0.62:
            amount = next(self.bill_amounts)  # unique: how the check finds this bill payment
            op = Op("bill", key, me["email"], amount)
            reference = GOOD_REF if self.rng.random() < 0.8 else BAD_REF
            self.record(op, me, "/api/v1/bill-payments",
                        {"biller": BILLER, "account_reference": reference, "amount": amount, "currency": "CNY"})
        elif roll < 0.74 and self.pending:
            owner, txn = self.pending.pop(self.rng.randrange(len(self.pending)))
            op = Op("cancel", key, owner["email"], target=txn)
            self.record(op, owner, f"/api/v1/transactions/{txn}/cancel", {})
        else:
            self.read(me)

    def record(self, op: Op, customer: dict[str, str], path: str, body: dict[str, Any]) -> None:
        with self.book.lock:
            self.book.ops.append(op)
        op_paths[op.key] = (customer, path, body)
        self.post(op, customer, path, body, budget=12.0)
        self.book.note(f"{op.kind}:{op.outcome}")
        if op.outcome == "ok" and op.kind != "cancel" and op.txn_status == "pending":
            self.pending.append((customer, op.txn_id))

    def going(self) -> bool:
        """Until the deadline, and past it (by at most OWED_GRACE seconds) while faults are owed."""
        now = time.monotonic()
        if now < self.deadline:
            return True
        return self.owed is not None and not self.owed.is_set() and now < self.deadline + OWED_GRACE

    def run(self) -> None:
        try:
            while self.going():
                self.one()
        except BaseException as exc:  # reported by the test
            self.error = exc
        finally:
            self.http.close()


# Each op's request, so that unresolved ones can be retried after the faults stop.
op_paths: dict[str, tuple[dict[str, str], str, dict[str, Any]]] = {}


def resolve_ambiguous(book: Book, urls: list[str], seed: int, *, budget: float = 45.0) -> None:
    """After the faults: retry every ambiguous request with its key until it is answered (a lease
    left by a killed process runs out after 30 s; then the retry takes over)."""
    todo = [op for op in book.ops if op.outcome == "ambiguous"]
    if not todo:
        return
    helper = Client(99, seed, [], urls, book, 0, itertools.count())
    give_up = time.monotonic() + budget
    for op in todo:
        customer, path, body = op_paths[op.key]
        helper.post(op, customer, path, body, budget=max(1.0, give_up - time.monotonic()))
        book.note(f"resolved:{op.outcome}")
    helper.http.close()


# --- the run and its checks -----------------------------------------------------------------------

@dataclass
class Result:
    seed: int
    book: Book
    faults: Counter[str]
    facts: dict[str, Any]
    ledger_check: subprocess.CompletedProcess[str]
    seconds: dict[str, float]


def bank_run(cluster: Cluster, customers: list[dict[str, str]], *, seed: int, seconds: float,
             db_crashes: bool, faults: bool = True, fault: Any = None, at_least: int = 0) -> Result:
    """``fault``: a thread to run instead of :class:`Faults` (``stop_event``, ``done``, ``error``).
    ``at_least``: the traffic runs on past ``seconds`` until that many faults have struck."""
    clock = [time.monotonic()]
    seconds_of: dict[str, float] = {}

    def lap(name: str) -> None:
        now = time.monotonic()
        seconds_of[name] = round(now - clock[0], 1)
        clock[0] = now

    book = Book()
    urls = [p.url for p in cluster.webs]
    deadline = time.monotonic() + seconds
    bill_amounts = itertools.count(1_000)
    fault = fault or Faults(cluster, random.Random(seed + 1), db_crashes=db_crashes, at_least=at_least)
    owed = getattr(fault, "enough", None) if faults else None
    clients = [Client(i, seed, customers, urls, book, deadline, bill_amounts, owed) for i in range(THREADS)]
    for client in clients:
        client.start()
    if faults:
        fault.start()
    for client in clients:
        client.join(timeout=seconds + OWED_GRACE + 120)
    fault.stop_event.set()
    if faults:
        fault.join(timeout=180)
    for thread in (*clients, fault):
        if thread.error is not None:
            raise RuntimeError(f"{thread.name} failed (seed {seed})") from thread.error
    lap("traffic")
    book.died += cluster.ensure_up()
    resolve_ambiguous(book, urls, seed)
    lap("resolve")
    facts = settled_facts(cluster, book.died)
    lap("settle")
    ledger = okpay("ledger", "check", env=cluster.env)
    lap("ledger_check")
    return Result(seed, book, fault.done, facts, ledger, seconds_of)


def settled_facts(cluster: Cluster, died: list[str], *, wait: float = 45.0) -> dict[str, Any]:
    """The database's facts once the workers have run their sweeps (nothing pending is overdue),
    or after ``wait`` seconds, whichever comes first."""
    give_up = time.monotonic() + wait
    while True:
        facts: dict[str, Any] = module("bank_db", "facts", env=cluster.env)
        if (not facts["overdue"] and not facts["holds_overdue"]) or time.monotonic() > give_up:
            return facts
        died += cluster.ensure_up()
        time.sleep(2)


def check(result: Result, *, allow_unavailable: bool = False) -> list[str]:
    """Every anomaly the run shows, as sentences (empty: all is well). ``allow_unavailable``: a
    503 while the database is down is an honest answer; any other 5xx is a bug."""
    problems: list[str] = []
    facts, book = result.facts, result.book
    txns = facts["transactions"]
    debit = [t for t in txns if t["direction"] == "debit"]
    by_note = Counter(t["note"] for t in debit if t["type"] == "transfer")
    by_bill = Counter(t["amount"] for t in debit if t["type"] == "bill_payment")
    status_of = {t["id"]: t["status"] for t in txns}
    keys = set()
    expected_refusals = {"insufficient_funds", "not_cancellable"}
    for op in book.ops:
        if op.outcome == "refused" and op.code not in expected_refusals:
            _customer, path, body = op_paths[op.key]
            sent = json.dumps(body, separators=(",", ":")).encode()
            expected = hashlib.sha256(b"POST\0" + path.encode() + b"\0" + sent).hexdigest()
            problems.append(f"{op.kind} {op.key} ({op.target}) refused with {op.status} {op.code!r}, which this run "
                            f"never asks for; attempts: {op.attempts}; its key's record: "
                            f"{facts.get('keys', {}).get(op.key)}; this request's fingerprint: {expected}")
        if op.kind == "cancel":
            if op.outcome == "ok" and status_of.get(op.target) != "cancelled":
                problems.append(f"cancel {op.key} of {op.target} answered 200 but it is {status_of.get(op.target)}")
            continue
        found = by_note[op.key] if op.kind in {"transfer", "invite"} else by_bill[op.amount]
        keys.add(op.key)
        if op.outcome == "ok" and found != 1:
            problems.append(f"{op.kind} {op.key} acknowledged ({op.status} {op.txn_id}) but stored {found} times; "
                            f"attempts: {op.attempts}")
        elif op.outcome == "ok" and op.txn_id not in status_of:
            problems.append(f"{op.kind} {op.key} acknowledged as {op.txn_id}, which does not exist")
        elif op.outcome == "refused" and found != 0:
            problems.append(f"{op.kind} {op.key} refused ({op.status} {op.code}) but stored {found} times")
        elif op.outcome == "ambiguous" and found > 1:
            problems.append(f"{op.kind} {op.key} unanswered but stored {found} times")
    strangers = [note for note in by_note if note not in keys]
    if strangers:
        problems.append(f"transfers nobody asked for: {strangers[:5]}")
    for w in facts["wallets"]:
        if w["available"] < 0 or w["total"] < 0 or w["held"] < 0:
            problems.append(f"negative balance: {w}")
        if (w["total"], w["held"]) != (w["expected_total"], w["expected_held"]):
            problems.append(f"wallet disagrees with its transactions: {w}")
    initial = CUSTOMERS * FUNDING
    wallets_total = sum(w["total"] for w in facts["wallets"])
    billed = sum(t["amount"] for t in debit if t["type"] == "bill_payment" and t["status"] == "succeeded")
    if wallets_total + billed != initial:
        problems.append(f"money changed: wallets {wallets_total} + paid bills {billed} != {initial}; "
                        f"other accounts: {facts.get('others')}")
    for currency, money in facts["money"].items():
        if money["sum"] != 0:
            problems.append(f"{currency}: the ledger's balances add up to {money['sum']}, not 0")
    if facts["money"].get("CNY", {}).get("funding") != -initial:
        problems.append(f"funding account moved: {facts['money'].get('CNY')}")
    if facts["overdue"]:
        problems.append(f"pending past their expected time after the sweeps: {facts['overdue'][:5]}")
    if facts["holds_overdue"]:
        problems.append(f"{facts['holds_overdue']} ledger holds past their expiry")
    if result.ledger_check.returncode != 0 or "ledger check passed" not in result.ledger_check.stdout:
        output = result.ledger_check.stdout + result.ledger_check.stderr
        problems.append("okpay ledger check failed: " + output[-2000:])
    if book.died:
        problems.append(f"processes died without being killed: {book.died}")
    if book.negative_reads:
        problems.append(f"negative balances read: {book.negative_reads[:5]}")
    errors = [e for e in book.server_errors if not (allow_unavailable and e.startswith("503 "))]
    if errors:
        problems.append(f"{len(errors)} server errors (5xx), e.g. {errors[:3]}")
    return problems


def summary(result: Result) -> str:
    outcomes = Counter(f"{op.kind}:{op.outcome}" + (f":{op.code}" if op.code else "") for op in result.book.ops)
    return (f"seed={result.seed} seconds={result.seconds} ops={dict(sorted(outcomes.items()))} "
            f"faults={dict(result.faults)} events={dict(result.book.counts)} 5xx={len(result.book.server_errors)} "
            f"transactions={len(result.facts['transactions'])}")
