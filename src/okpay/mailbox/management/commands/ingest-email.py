"""``okpay ingest-email``: one RFC 5322 message on standard input, for an MTA pipe.

Exit status (sysexits, which MTAs understand): 0 stored (or a duplicate / loop, dropped);
65 (EX_DATAERR) refused for good, the reason on stderr (the MTA bounces it); 75 (EX_TEMPFAIL)
try again later (rate limit, database unavailable).
"""

from __future__ import annotations

import argparse
import sys

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import DatabaseError

from okpay.mailbox.services import MailRefused, inbound_email_receive

EX_DATAERR = 65
EX_TEMPFAIL = 75


class Command(BaseCommand):
    help = "Read one email message on stdin (from an MTA pipe) and file it in the support desk."

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--recipient", action="append", default=[], help="envelope recipient (informational)")

    def handle(self, *args: object, recipient: list[str], **options: object) -> None:
        raw = sys.stdin.buffer.read(settings.OKPAY_MAIL_MAX_BYTES + 1)
        try:
            received = inbound_email_receive(raw, rcpt_tos=recipient)
        except MailRefused as exc:
            sys.stderr.write(f"okpay ingest-email: {exc.smtp}\n")
            raise SystemExit(EX_DATAERR if exc.permanent else EX_TEMPFAIL) from None
        except DatabaseError as exc:
            sys.stderr.write(f"okpay ingest-email: 451 4.3.0 temporary failure ({type(exc).__name__})\n")
            raise SystemExit(EX_TEMPFAIL) from None
        self.stdout.write(received.smtp)
