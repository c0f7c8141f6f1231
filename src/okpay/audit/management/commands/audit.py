"""``okpay audit verify``: prove the audit log is intact (exit 1 on any edited or deleted record)."""

from __future__ import annotations

import argparse
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from okpay.audit.models import AuditChainHead
from okpay.audit.services import audit_verify


class Command(BaseCommand):
    help = "Audit log operations. `verify` checks the hash chain from the first record to the last."

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("verify", help="check every record's hash and the chain's continuity")

    def handle(self, *args: Any, **options: Any) -> None:
        problems = list(audit_verify())
        head = AuditChainHead.objects.filter(pk=1).first()
        count = head.last_seq if head else 0
        if problems:
            for problem in problems[:50]:
                where = f"#{problem.seq}" if problem.seq is not None else "chain"
                self.stderr.write(f"{where}: {problem.message}")
            raise CommandError(f"audit log verification FAILED: {len(problems)} problem(s)", returncode=1)
        self.stdout.write(f"audit log OK: {count} records, chain intact")
