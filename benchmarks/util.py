"""Helpers shared by the benchmarks: start and stop servers, run wrk, read peak RSS."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_http(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"server at {url} did not come up")


def peak_rss_mb(pid: int) -> float:
    """Peak resident set size (VmHWM) of a process and its children, in MB."""
    total = 0
    for candidate in [pid, *children(pid)]:
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):
            status = Path(f"/proc/{candidate}/status").read_text()
            match = re.search(r"VmHWM:\s+(\d+) kB", status)
            if match:
                total = max(total, int(match.group(1)))
    return total / 1024


def cpu_seconds(pid: int) -> float:
    """User + system CPU time consumed so far by a process and its children (``/proc/<pid>/stat``),
    in seconds: read before and after a load run, the difference over the requests served is the
    web processes' CPU time per request."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for candidate in [pid, *children(pid)]:
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):
            fields = Path(f"/proc/{candidate}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return total / tick


def wait_tcp(host: str, port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=2):
            return
        time.sleep(0.2)
    raise RuntimeError(f"nothing listens on {host}:{port}")


def rss_mb(pid: int) -> float:
    """Current resident set size (VmRSS) of one process, in MB."""
    status = Path(f"/proc/{pid}/status").read_text()
    match = re.search(r"VmRSS:\s+(\d+) kB", status)
    return int(match.group(1)) / 1024 if match else 0.0


def children(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True, check=False)
    return [int(line) for line in out.stdout.split()]


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    url: str

    def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


@contextlib.contextmanager
def server(argv: list[str], *, env: dict[str, str], port: int,
           ready_path: str | None = "/healthz") -> Iterator[Server]:
    """``ready_path=None``: ready when the port accepts connections (a server with no GET route)."""
    process = subprocess.Popen(argv, env={**os.environ, **env}, cwd=ROOT, start_new_session=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    srv = Server(process, f"http://127.0.0.1:{port}")
    try:
        if ready_path is None:
            wait_tcp("127.0.0.1", port)
        else:
            wait_http(srv.url + ready_path)
        yield srv
    finally:
        srv.stop()


@dataclass
class WrkResult:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    errors: int
    requests: int = 0


def _ms(value: str) -> float:
    match = re.match(r"([\d.]+)(us|ms|s|m)$", value)
    if match is None:
        return float("nan")
    number, unit = match.groups()
    return float(number) * {"us": 0.001, "ms": 1, "s": 1000, "m": 60000}[unit]


def wrk(url: str, *, connections: int = 16, seconds: int = 10, threads: int = 2,
        script: str | None = None, timeout: int | None = None) -> WrkResult:
    """``timeout``: seconds before wrk gives up on a request (its default is 2)."""
    if not shutil.which("wrk"):
        raise RuntimeError("wrk is not installed: apt-get install wrk")
    argv = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", url]
    if timeout is not None:
        argv[1:1] = ["--timeout", f"{timeout}s"]
    if script:
        argv[1:1] = ["-s", script]
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    rps_match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p50_match, p99_match = re.search(r"50%\s+(\S+)", out), re.search(r"99%\s+(\S+)", out)
    if not (rps_match and p50_match and p99_match):
        raise RuntimeError(f"unexpected wrk output:\n{out}")
    rps, p50, p99 = float(rps_match.group(1)), _ms(p50_match.group(1)), _ms(p99_match.group(1))
    errors = 0
    for pattern in (r"Non-2xx or 3xx responses: (\d+)",
                    r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)"):
        match = re.search(pattern, out)
        if match:
            errors += sum(int(g) for g in match.groups())
    count_match = re.search(r"(\d+) requests in", out)
    return WrkResult(rps, p50, p99, errors, int(count_match.group(1)) if count_match else 0)


def okpay(*args: str, env: dict[str, str]) -> None:
    subprocess.run([str(BIN / "okpay"), *args], env={**os.environ, **env}, cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL)


PG_ADMIN = os.environ.get("OKPAY_BENCH_PG", "postgres://postgres@127.0.0.1:5432/postgres")


def run_child(module: str, *args: str, env: dict[str, str]) -> dict[str, object]:
    """Run ``python -m benchmarks.<module> --child ARGS`` (a fresh Django per database) and return
    the JSON object it prints on its last line."""
    import json

    out = subprocess.run([sys.executable, "-m", f"benchmarks.{module}", "--child", *args], cwd=ROOT,
                         env={**os.environ, "DJANGO_SETTINGS_MODULE": "okpay.settings", **env},
                         capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"{module} benchmark child failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def scratch_postgres(name: str) -> dict[str, str] | None:
    """(Re)create an empty PostgreSQL database ``name``; its OKPAY_DATABASE_URL, or None if unreachable."""
    import psycopg

    try:
        with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name}")
            conn.execute(f"CREATE DATABASE {name}")
    except psycopg.Error:
        return None
    return {"OKPAY_DATABASE_URL": f"{PG_ADMIN.rsplit('/', 1)[0]}/{name}"}


def drop_postgres(name: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name}")
