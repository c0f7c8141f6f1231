"""``okpay media-migrate [--from DIR]``: copy uploads written by an older OKPay under ``var/media``
(or DIR) into the configured storage (the database by default, or ``OKPAY_MEDIA_URL``).

Every file field of every model is walked; a file already in the storage is left alone, so the
command can run again after an interruption. Exit status 1 when a file is missing from DIR.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.core.management.base import BaseCommand, CommandError
from django.db import models, transaction


class Command(BaseCommand):
    help = "Copy uploads from the old media directory into the configured storage (database or S3)."

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--from", dest="source", type=Path, default=None,
                            help="the old media directory (default OKPAY_HOME/var/media)")

    def handle(self, *args: object, source: Path | None, **options: object) -> None:
        source = (source or Path(settings.VAR_DIR) / "media").resolve()
        if not source.is_dir():
            raise CommandError(f"{source} is not a directory")
        moved = present = 0
        missing: list[str] = []
        for model in apps.get_models():
            fields = [f for f in model._meta.get_fields() if isinstance(f, models.FileField)]
            for field in fields:
                names = (model._default_manager.exclude(**{field.name: ""})
                         .values_list(field.name, flat=True).order_by("pk"))
                for name in names:
                    if default_storage.exists(name):
                        present += 1
                        continue
                    path = (source / name).resolve()
                    if not path.is_relative_to(source) or not path.is_file():
                        missing.append(name)
                        continue
                    with transaction.atomic(), path.open("rb") as fh:
                        saved = default_storage.save(name, File(fh, name=name))
                        if saved != name:  # the storage chose another name: keep the row pointing at it
                            model._default_manager.filter(**{field.name: name}).update(**{field.name: saved})
                    moved += 1
        self.stdout.write(f"moved {moved}, already in storage {present}, missing {len(missing)}")
        if missing:
            raise CommandError("missing from " + str(source) + ": " + ", ".join(missing[:20]))
