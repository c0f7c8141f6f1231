"""``okpay worker``: run background tasks and periodic sweeps until stopped."""

from __future__ import annotations

import argparse
import signal
import threading

from django.core.management.base import BaseCommand

from okpay.core import worker


class Command(BaseCommand):
    help = "Run the background worker (tasks and periodic sweeps). Any number may run at once."

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--once", action="store_true", help="run what is due once, then exit")
        parser.add_argument("--interval", type=float, default=None,
                            help="seconds between polls (default OKPAY_WORKER_INTERVAL)")

    def handle(self, *args: object, once: bool, interval: float | None, **options: object) -> None:
        if once:
            worker.run_once()
            return
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        worker.run(stop, interval=interval)
