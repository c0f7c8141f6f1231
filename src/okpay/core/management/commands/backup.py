"""``okpay backup [--output PATH]``: a consistent copy of the database while OKPay runs."""

from __future__ import annotations

import argparse
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from okpay.core.backup import BackupError, backup, default_path


class Command(BaseCommand):
    help = "Back up the database (SQLite online backup, or pg_dump for PostgreSQL)."

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--output", type=Path, default=None, help="file to write (default var/backups/…)")

    def handle(self, *args: object, output: Path | None, **options: object) -> None:
        try:
            path = backup(output or default_path())
        except BackupError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(str(path))
