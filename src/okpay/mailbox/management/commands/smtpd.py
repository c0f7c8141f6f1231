"""``okpay smtpd``: receive support mail over SMTP until stopped (see okpay/mailbox/README.md)."""

from __future__ import annotations

import argparse
import signal
import threading

from django.conf import settings
from django.core.management.base import BaseCommand

from okpay.mailbox.smtpd import controller


class Command(BaseCommand):
    help = "Run the SMTP server that turns mail to the support addresses into tickets."

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--host", default=None, help="address to listen on (default OKPAY_SMTPD_HOST)")
        parser.add_argument("--port", type=int, default=None, help="port (default OKPAY_SMTPD_PORT)")

    def handle(self, *args: object, host: str | None, port: int | None, **options: object) -> None:
        server = controller(host, port)
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        server.start()
        self.stdout.write(f"okpay smtpd: listening on {server.hostname}:{server.port} for "
                          f"{', '.join(settings.OKPAY_MAIL_ADDRESSES)}", ending="\n")
        self.stdout.flush()
        try:
            stop.wait()
        finally:
            server.stop()
