"""How to serve HTTP: the same Django views under four servers, measured with wrk.

1. ``okpay serve`` as shipped: uvicorn, HTTP through one thread hop into Django's WSGI handler (a2wsgi).
2. ``okpay serve`` with ``OKPAY_HTTP_MODE=asgi``: Django's own ASGI handler (sync middleware in threads).
3. gunicorn, 2 sync worker processes (PERFORMANCE.md's baseline), and gunicorn gthread, 1 process × 8 threads.

Routes: ``/readyz`` (through every middleware, one ``SELECT 1``) and ``/`` (the home page template).
"""

from __future__ import annotations

import os
import tempfile

from benchmarks.report import Report
from benchmarks.util import BIN, free_port, okpay, peak_rss_mb, server, wrk

SECTION = "Serving HTTP (decision 0001)"


def main(report: Report) -> None:
    seconds = 4 if report.quick else 10
    home = tempfile.mkdtemp(prefix="okpay-bench-http-")
    env = {"OKPAY_HOME": home, "OKPAY_DEBUG": "false", "OKPAY_LOG_LEVEL": "WARNING"}
    env.pop("OKPAY_DATABASE_URL", None)
    for key in ("OKPAY_DATABASE_URL", "OKPAY_REDIS_URL"):
        os.environ.pop(key, None)
    okpay("migrate", "--no-input", "-v", "0", env=env)
    variants = {
        "okpay serve (uvicorn → WSGI, one hop)": ([str(BIN / "okpay"), "serve", "--no-worker", "--no-migrate"], {}),
        "okpay serve, OKPAY_HTTP_MODE=asgi": ([str(BIN / "okpay"), "serve", "--no-worker", "--no-migrate"],
                                             {"OKPAY_HTTP_MODE": "asgi"}),
        "okpay serve --processes 2 (Redis)": ([str(BIN / "okpay"), "serve", "--no-worker", "--no-migrate",
                                               "--processes", "2"], {"OKPAY_REDIS_URL": "redis://127.0.0.1:6379/9"}),
        "gunicorn 2 sync workers": ([str(BIN / "gunicorn"), "-w", "2", "okpay.wsgi:application"], {}),
        "gunicorn gthread 1×8": ([str(BIN / "gunicorn"), "-w", "1", "-k", "gthread", "--threads", "8",
                                  "okpay.wsgi:application"], {}),
    }
    results: dict[str, dict[str, float]] = {}
    for name, (argv, extra) in variants.items():
        port = free_port()
        listen = ["-b", f"127.0.0.1:{port}"] if "gunicorn" in argv[0] else ["--port", str(port)]
        argv = [*argv, *listen]
        with server(argv, env={**env, **extra}, port=port) as srv:
            wrk(srv.url + "/readyz", seconds=2)  # warm up
            ready = wrk(srv.url + "/readyz", seconds=seconds)
            page = wrk(srv.url + "/", seconds=seconds)
            rss = peak_rss_mb(srv.process.pid)
        results[name] = {"ready": ready.requests_per_second, "page": page.requests_per_second}
        report.add(SECTION, f"{name}: /readyz",
                   f"{ready.requests_per_second:.0f} req/s, p99 {ready.p99_ms:.1f} ms"
                   + (f", {ready.errors} errors" if ready.errors else ""))
        report.add(SECTION, f"{name}: / (home page)",
                   f"{page.requests_per_second:.0f} req/s, p99 {page.p99_ms:.1f} ms, peak RSS {rss:.0f} MB")
    shipped = results["okpay serve (uvicorn → WSGI, one hop)"]
    asgi = results["okpay serve, OKPAY_HTTP_MODE=asgi"]
    gunicorn = results["gunicorn 2 sync workers"]
    report.add(SECTION, "shipped vs Django ASGI handler (/readyz)", f"{shipped['ready']:.0f} req/s",
               baseline=f"{asgi['ready']:.0f} req/s", ratio=shipped["ready"] / asgi["ready"])
    two = results["okpay serve --processes 2 (Redis)"]
    report.add(SECTION, "shipped, 2 processes vs gunicorn 2 sync workers (/readyz)", f"{two['ready']:.0f} req/s",
               baseline=f"{gunicorn['ready']:.0f} req/s", ratio=two["ready"] / gunicorn["ready"])
    report.add(SECTION, "shipped, 2 processes vs gunicorn 2 sync workers (/)", f"{two['page']:.0f} req/s",
               baseline=f"{gunicorn['page']:.0f} req/s", ratio=two["page"] / gunicorn["page"])
