"""PostgreSQL as a payment operator runs it, on this machine: a primary with a synchronous standby
and an asynchronous read replica (``initdb`` / ``pg_basebackup``, streaming replication, each on
its own port and data directory), pgbouncer in transaction pooling mode in front of a node, the
primary's machine lost (SIGKILL of every process of that cluster) and the standby promoted
(``pg_ctl promote``). Used by tests/fault/test_failover.py and tests/fault/test_replicas.py.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from tests.fault.bank import _as_postgres, free_port, postgres_bin

DATABASE = "okpay_bank"


def _run(argv: list[str], *, timeout: float = 120) -> str:
    out = subprocess.run(_as_postgres(argv), capture_output=True, text=True, timeout=timeout, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[:2])} failed: {out.stdout}{out.stderr}")
    return out.stdout


class Node:
    """One PostgreSQL server: its data directory, port and log."""

    def __init__(self, root: Path, name: str) -> None:
        bindir = postgres_bin()
        assert bindir is not None
        self.bin, self.name = bindir, name
        self.data = root / name
        self.port = free_port()
        self.log = root / f"{name}.log"
        self.socket_dir = root

    def conf(self, **settings: str | int) -> None:
        with open(self.data / "postgresql.auto.conf", "a") as fh:
            for key, value in settings.items():
                fh.write(f"{key} = '{value}'\n")

    def start(self) -> None:
        try:
            _run([str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w", "-t", "90",
                  "-o", f"-p {self.port} -k {self.socket_dir} -c listen_addresses=127.0.0.1", "start"])
        except RuntimeError as failed:  # pg_ctl only says "examine the log output": show it
            tail = self.log.read_text(errors="replace")[-4000:] if self.log.exists() else "(no log)"
            raise RuntimeError(f"{failed}\n--- {self.log} ---\n{tail}") from None

    def stop(self, mode: str = "fast") -> None:
        with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
            _run([str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop"], timeout=60)

    def promote(self) -> None:
        _run([str(self.bin / "pg_ctl"), "-D", str(self.data), "-w", "-t", "60", "promote"])

    def lose(self) -> None:
        """The machine is gone: SIGKILL the postmaster and every process it started, no shutdown."""
        try:
            pid = int((self.data / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return
        children = [int(p) for p in _children(pid)]
        for victim in [pid, *children]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(_alive(p) for p in [pid, *children]):
            time.sleep(0.05)
        # A killed postmaster leaves its socket lock behind, and in a container whose init does not
        # reap orphans its pid stays a zombie, which a restart on this port reads as "another
        # postmaster is running". The machine is gone, so is its /tmp.
        for leftover in self.socket_dir.glob(f".s.PGSQL.{self.port}*"):
            leftover.unlink(missing_ok=True)

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{DATABASE}"

    def sql(self, query: str, *, database: str = DATABASE) -> str:
        """One statement through psql, its rows as unaligned text."""
        psql = shutil.which("psql") or str(self.bin / "psql")
        out = subprocess.run([psql, "-X", "-qtA", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
                              "-d", database, "-c", query], capture_output=True, text=True, timeout=60, check=False)
        if out.returncode != 0:
            raise RuntimeError(f"psql on {self.name}: {out.stderr.strip()}")
        return out.stdout.strip()


def _children(pid: int) -> list[str]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True, check=False)
    return out.stdout.split()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (its parent has not reaped it yet) is dead for our purpose.
    with contextlib.suppress(OSError):
        return "zombie" not in Path(f"/proc/{pid}/status").read_text().lower()
    return False


class Replicated:
    """A primary, a synchronous standby (``standby``) and optionally an asynchronous replica
    (``replica``), all streaming from the primary. ``synchronous_commit`` on the primary is
    ``on`` by default (a COMMIT returns once the standby has flushed the WAL: docs/deploy.md says
    why not ``remote_apply``)."""

    def __init__(self, *, replica: bool = False, synchronous_commit: str = "on", max_connections: int = 200) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="okpay-ha-"))
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
        self.primary = Node(self.root, "primary")
        self.standby = Node(self.root, "standby")
        self.replica = Node(self.root, "replica") if replica else None
        _run([str(self.primary.bin / "initdb"), "-D", str(self.primary.data), "-A", "trust", "-U", "postgres",
              "-E", "UTF8", "--no-sync", "--no-instructions"])
        # A hot standby needs max_connections >= the primary's: the base backups copy this setting.
        self.primary.conf(max_connections=max_connections, synchronous_commit=synchronous_commit,
                          wal_keep_size="256MB")
        self.primary.start()
        self.primary.sql(f"CREATE DATABASE {DATABASE}", database="postgres")
        for node in (self.standby, self.replica):
            if node is None:
                continue
            _run([str(node.bin / "pg_basebackup"), "-h", "127.0.0.1", "-p", str(self.primary.port), "-U", "postgres",
                  "-D", str(node.data), "-X", "stream", "-c", "fast", "--no-sync"], timeout=300)
            (node.data / "standby.signal").touch()
            node.conf(primary_conninfo=self.conninfo(self.primary, node.name), hot_standby="on",
                      synchronous_standby_names="")
            node.start()
        # Synchronous from here on (CREATE DATABASE and the base backups would wait for it).
        self.primary.sql("ALTER SYSTEM SET synchronous_standby_names = 'standby'")
        self.primary.sql("SELECT pg_reload_conf()")
        self.wait_streaming()

    @staticmethod
    def conninfo(upstream: Node, name: str) -> str:
        return f"host=127.0.0.1 port={upstream.port} user=postgres application_name={name}"

    def wait_streaming(self, timeout: float = 60) -> None:
        """Until the standby is the primary's synchronous standby (and the replica streams)."""
        want = {"standby": "sync"} | ({"replica": "async"} if self.replica else {})
        deadline = time.monotonic() + timeout
        while True:
            rows = self.primary.sql("SELECT application_name, sync_state FROM pg_stat_replication "
                                    "WHERE state = 'streaming'")
            seen = dict(line.split("|") for line in rows.splitlines() if line)
            if all(seen.get(name) == state for name, state in want.items()):
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"replication did not start: {seen}")
            time.sleep(0.2)

    def multi_host_url(self, ports: list[int] | None = None) -> str:
        """libpq's multi-host URL over the primary and the standby (or pgbouncers in front of
        them): whichever accepts writes is used."""
        ports = ports or [self.primary.port, self.standby.port]
        hosts = ",".join(f"127.0.0.1:{port}" for port in ports)
        return f"postgres://postgres@{hosts}/{DATABASE}?target_session_attrs=read-write&connect_timeout=3"

    def follow_new_primary(self) -> None:
        """After the standby's promotion, point the replica at it (it follows the new timeline)."""
        if self.replica is not None:
            self.replica.sql(f"ALTER SYSTEM SET primary_conninfo = '{self.conninfo(self.standby, 'replica')}'")
            self.replica.sql("SELECT pg_reload_conf()")

    def close(self) -> None:
        for node in (self.replica, self.standby, self.primary):
            if node is not None:
                node.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


class Pgbouncer:
    """pgbouncer (Debian's package) in ``pool_mode = transaction`` in front of one server, as
    docs/deploy.md configures it."""

    def __init__(self, server_port: int, *, max_client_conn: int = 500, pool_size: int = 20) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="okpay-pgbouncer-"))
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        self.port = free_port()
        self.ini = self.dir / "pgbouncer.ini"
        (self.dir / "users.txt").write_text('"postgres" ""\n')
        self.ini.write_text(f"""[databases]
* = host=127.0.0.1 port={server_port}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {self.port}
unix_socket_dir =
auth_type = trust
auth_file = {self.dir / 'users.txt'}
pool_mode = transaction
max_client_conn = {max_client_conn}
default_pool_size = {pool_size}
reserve_pool_size = 5
server_reset_query =
server_check_query = select 1
server_check_delay = 10
server_connect_timeout = 3
server_login_retry = 1
ignore_startup_parameters = extra_float_digits,options
logfile = {self.dir / 'pgbouncer.log'}
pidfile = {self.dir / 'pgbouncer.pid'}
admin_users = postgres
""")
        if os.geteuid() == 0:
            for path in self.dir.iterdir():
                shutil.chown(path, "postgres", "postgres")
        self.start()

    def start(self) -> None:
        binary = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
        _run([binary, "-d", str(self.ini)])
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket_to(self.port):
                return
            time.sleep(0.1)
        raise RuntimeError(f"pgbouncer did not start: {self.log_tail()}")

    def admin(self, command: str) -> str:
        """A command on pgbouncer's admin console (``RECONNECT``, ``SHOW POOLS``…)."""
        psql = shutil.which("psql") or "psql"
        out = subprocess.run([psql, "-X", "-qtA", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
                              "-d", "pgbouncer", "-c", command], capture_output=True, text=True, timeout=30,
                             check=False)
        if out.returncode != 0:
            raise RuntimeError(f"pgbouncer {command}: {out.stderr.strip()}")
        return out.stdout.strip()

    def log_tail(self) -> str:
        with contextlib.suppress(OSError):
            return (self.dir / "pgbouncer.log").read_text(errors="replace")[-2000:]
        return ""

    def close(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            pid = int((self.dir / "pgbouncer.pid").read_text().strip())
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and _alive(pid):
                time.sleep(0.05)
        shutil.rmtree(self.dir, ignore_errors=True)


@contextlib.contextmanager
def socket_to(port: int):  # type: ignore[no-untyped-def]
    import socket

    with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
        yield sock


def pgbouncer_available() -> bool:
    return shutil.which("pgbouncer") is not None or Path("/usr/sbin/pgbouncer").exists()


class Pooled:
    """A bank database (tests/fault/bank.py) reached through pgbouncer in transaction pooling mode:
    the OKPay processes get pgbouncer's URL and ``OKPAY_DB_TRANSACTION_POOLING=true``; crashing the
    database (when it may) crashes the server behind pgbouncer, which stays up."""

    def __init__(self, database: Any) -> None:
        self.database = database
        self.can_crash = database.can_crash
        parts = urlsplit(database.url)
        self.bouncer = Pgbouncer(parts.port or 5432)
        self.url = urlunsplit(parts._replace(netloc=f"{parts.username}@127.0.0.1:{self.bouncer.port}"))
        self.direct_url = database.url

    def crash(self) -> None:
        self.database.crash()

    def start(self) -> None:
        self.database.start()

    def close(self) -> None:
        self.bouncer.close()
        self.database.close()
