"""``okpay backup [--output PATH] [--keep-days N]``: a consistent copy of the database (uploads
included) while OKPay runs; ``--keep-days`` then deletes this directory's backups older than N days."""

from __future__ import annotations

import argparse
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from okpay.core.backup import BackupError, backup, default_path, prune


class Command(BaseCommand):
    help = "Back up the database and the uploads (SQLite online backup, or pg_dump for PostgreSQL)."

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--output", type=Path, default=None, help="file to write (default var/backups/…)")
        parser.add_argument("--keep-days", type=int, default=None,
                            help="after a good backup, delete okpay-* backups in its directory older than this")

    def handle(self, *args: object, output: Path | None, keep_days: int | None, **options: object) -> None:
        if keep_days is not None and keep_days < 1:
            raise CommandError("--keep-days must be at least 1")
        try:
            written = backup(output or default_path())
        except BackupError as exc:
            raise CommandError(str(exc)) from None
        for path in written:
            self.stdout.write(str(path))
        if keep_days is not None:
            for old in prune(written[0].parent, keep_days=keep_days):
                self.stderr.write(f"deleted {old} (older than {keep_days} days)")
