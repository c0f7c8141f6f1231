"""``okpay restore PATH --yes``: replace the database's contents with a backup."""

from __future__ import annotations

import argparse
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from okpay.core.backup import BackupError, restore


class Command(BaseCommand):
    help = "Restore the database from a file written by `okpay backup` (stop OKPay first)."

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("path", type=Path)
        parser.add_argument("--yes", action="store_true", help="confirm that the current data may be replaced")

    def handle(self, *args: object, path: Path, yes: bool, **options: object) -> None:
        if not yes:
            raise CommandError("restoring replaces every row of the current database; add --yes to confirm")
        try:
            files = restore(path)
        except BackupError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"restored {path}" + (f" and {files} uploaded files" if files else ""))
