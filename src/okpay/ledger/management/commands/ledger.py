"""``okpay ledger check``: verify the ledger's invariants; exits 1 on any violation."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from okpay.ledger.checks import ledger_check
from okpay.ledger.services import pending_expire_due


class Command(BaseCommand):
    help = "Ledger operations: `check` proves the invariants, `expire` expires due holds now."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        check = sub.add_parser("check", help="verify balances, counters, flags and hold resolutions")
        check.add_argument("--max-violations", type=int, default=100)
        sub.add_parser("expire", help="expire every pending transfer whose time has passed")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "expire":
            count = pending_expire_due(limit=10**9)
            self.stdout.write(f"expired {count} pending transfer(s)")
            return
        report = ledger_check(max_violations=options["max_violations"])
        self.stdout.write(f"accounts: {report.accounts}  transfers: {report.transfers}  "
                          f"open holds: {report.open_holds}")
        for currency, summary in sorted(report.currencies.items()):
            self.stdout.write(f"{currency}: {summary.accounts} accounts, posted {summary.posted}, "
                              f"pending {summary.pending}, funding account balance {summary.funding_balance}")
        if not report.ok:
            for violation in report.violations:
                self.stderr.write(f"VIOLATION: {violation}")
            raise CommandError(f"ledger check failed: {len(report.violations)} violation(s)", returncode=1)
        self.stdout.write(self.style.SUCCESS("ledger check passed"))
