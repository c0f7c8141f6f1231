"""``okpay serve``: migrate, then serve HTTP and WebSockets (and, unless ``--no-worker``, the worker)."""

from __future__ import annotations

import argparse
import ipaddress
import logging
import os

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

logger = logging.getLogger("okpay.serve")


def port_number(value: str) -> int:
    try:
        port = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a port number") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not between 1 and 65535")
    return port


def process_count(value: str) -> int:
    try:
        count = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number") from None
    if not 1 <= count <= 64:
        raise argparse.ArgumentTypeError(f"{count} is not between 1 and 64")
    return count


def served_base_url(host: str, port: int) -> str:
    """The address links in emails point to when ``OKPAY_BASE_URL`` is unset: the one this server
    listens on (a wildcard address is reached through the loopback one on this machine)."""
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        address = None  # a host name
    if address is not None and address.is_unspecified:
        host = "::1" if address.version == 6 else "127.0.0.1"
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{port}"


def follow_served_address(host: str, port: int) -> None:
    """Without ``OKPAY_BASE_URL``, reset, invitation and notification links follow ``--host``/``--port``
    (the environment variable carries it into uvicorn's worker processes and the worker thread)."""
    if os.environ.get("OKPAY_BASE_URL", "").strip():
        return
    base_url = served_base_url(host, port)
    os.environ["OKPAY_BASE_URL"] = base_url
    settings.OKPAY_BASE_URL = base_url
    settings.CSRF_TRUSTED_ORIGINS = [*settings.CSRF_TRUSTED_ORIGINS, base_url]


class Command(BaseCommand):
    help = "Apply migrations, then serve OKPay over HTTP and WebSockets (with the worker unless --no-worker)."

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
        parser.add_argument("--port", type=port_number, default=8000, help="port to listen on (default 8000)")
        parser.add_argument("--no-worker", action="store_true", help="do not run the background worker in this process")
        parser.add_argument("--no-migrate", action="store_true", help="do not apply migrations first")
        parser.add_argument("--processes", type=process_count, default=1,
                            help="web processes sharing the port (default 1; more than 1 needs OKPAY_REDIS_URL "
                                 "so that WebSocket messages reach every process)")

    def handle(self, *args: object, host: str, port: int, no_worker: bool, no_migrate: bool, processes: int,
               **options: object) -> None:
        import uvicorn

        if processes > 1 and not settings.OKPAY_REDIS_URL:
            raise CommandError("--processes above 1 needs OKPAY_REDIS_URL: the in-memory channel layer "
                               "cannot carry chat messages between processes")

        follow_served_address(host, port)
        if not no_migrate:
            call_command("migrate", interactive=False, verbosity=0)
        if not no_worker:
            from okpay.core.worker import start_thread

            start_thread()
        self.stdout.write(f"OKPay serving on http://{host}:{port}/ (worker: {'off' if no_worker else 'on'}, "
                          f"web processes: {processes})")
        uvicorn.run(
            "okpay.asgi:application",
            host=host,
            port=port,
            lifespan="off",
            proxy_headers=bool(settings.SECURE_PROXY_SSL_HEADER),
            server_header=False,
            log_config=None,
            access_log=False,
            ws="wsproto",  # lighter per socket than websockets (docs/chat.md, "Memory")
            ws_max_size=64 * 1024,
            # No permessage-deflate: its zlib state costs ~34 KB per open socket (half of what an idle
            # chat connection weighed) to shrink frames of a few hundred bytes. docs/chat.md, "Memory".
            ws_per_message_deflate=False,
            timeout_keep_alive=30,
            workers=processes,
        )
