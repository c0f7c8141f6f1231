"""Online backups and restores of OKPay's database and uploads.

SQLite: the sqlite3 online backup API (a consistent copy while OKPay keeps running).
PostgreSQL: ``pg_dump --format=custom`` and ``pg_restore --clean --if-exists``.

Uploads (support attachments) live in the database by default (``okpay.core.storage``), so the
copy of the database holds them. When ``OKPAY_MEDIA_URL`` puts them elsewhere (S3, a directory),
the backup also writes ``<file>.media.tar`` beside the database copy with every stored file that a
row refers to, and ``restore`` puts back those the storage lacks.
"""

from __future__ import annotations

import io
import os
import shutil
import sqlite3
import subprocess  # argument lists, never a shell  # nosec B404
import tarfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connections, models


class BackupError(Exception):
    pass


def _database() -> dict[str, Any]:
    return dict(settings.DATABASES["default"])


def is_sqlite() -> bool:
    return str(_database()["ENGINE"]).endswith("sqlite3")


def default_path() -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    suffix = "sqlite3" if is_sqlite() else "dump"
    return Path(settings.VAR_DIR) / "backups" / f"okpay-{stamp}.{suffix}"


def _pg_env() -> dict[str, str]:
    db = _database()
    env = dict(os.environ)
    env.update({"PGHOST": str(db.get("HOST") or "localhost"), "PGPORT": str(db.get("PORT") or 5432),
                "PGUSER": str(db.get("USER") or ""), "PGDATABASE": str(db["NAME"])})
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = str(db["PASSWORD"])
    # A multi-host URL (primary, standby): libpq's own variables take the same lists; dump from and
    # restore into whichever accepts writes.
    attrs = db.get("OPTIONS", {}).get("target_session_attrs")
    if attrs:
        env["PGTARGETSESSIONATTRS"] = str(attrs)
    return env


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(f"{name} is not installed (Debian: apt-get install postgresql-client)")
    return path


def media_in_database() -> bool:
    default: dict[str, Any] = settings.STORAGES["default"]  # type: ignore[assignment]
    return default["BACKEND"] == "okpay.core.storage.DatabaseStorage"


def media_path(path: Path) -> Path:
    return path.with_name(path.name + ".media.tar")


def _stored_names() -> Iterator[str]:
    """The name of every stored file that a row refers to."""
    for model in apps.get_models():
        for field in model._meta.get_fields():
            if isinstance(field, models.FileField):
                names = model._default_manager.exclude(**{field.name: ""}).values_list(field.name, flat=True)
                yield from names.order_by("pk").iterator(chunk_size=500)


def _media_backup(target: Path) -> None:
    with tarfile.open(target, "w") as tar:
        for name in _stored_names():
            with default_storage.open(name, "rb") as fh:
                data = fh.read()
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), int(time.time()), 0o600
            tar.addfile(info, io.BytesIO(data))


def _media_restore(source: Path) -> int:
    restored = 0
    with tarfile.open(source, "r") as tar:
        for member in tar:
            if not member.isfile() or member.name.startswith("/") or ".." in member.name.split("/"):
                raise BackupError(f"{source}: unexpected entry {member.name!r}")
            if default_storage.exists(member.name):
                continue
            extracted = tar.extractfile(member)
            assert extracted is not None  # a regular file
            default_storage.save(member.name, ContentFile(extracted.read()))
            restored += 1
    return restored


def prune(directory: Path, *, keep_days: int) -> list[Path]:
    """Delete the backups (``okpay-*``) in ``directory`` older than ``keep_days`` days."""
    limit = time.time() - timedelta(days=keep_days).total_seconds()
    gone = []
    for old in sorted(directory.glob("okpay-*")):
        if old.is_file() and old.stat().st_mtime < limit:
            old.unlink()
            gone.append(old)
    return gone


def backup(path: Path) -> list[Path]:
    """The database (and, when uploads are not in it, their archive); returns the files written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() or media_path(path).exists():
        raise BackupError(f"{path} already exists; choose another path")
    if is_sqlite():
        source = sqlite3.connect(str(_database()["NAME"]))
        target = sqlite3.connect(str(path))
        try:
            with target:
                source.backup(target)
        finally:
            target.close()
            source.close()
    else:
        result = subprocess.run([_tool("pg_dump"), "--format=custom", "--no-owner", "--file", str(path)],  # noqa: S603  # nosec B603
                                env=_pg_env(), capture_output=True, text=True, check=False)
        if result.returncode != 0:
            path.unlink(missing_ok=True)
            raise BackupError(f"pg_dump failed: {result.stderr.strip()}")
    os.chmod(path, 0o600)
    if media_in_database():
        return [path]
    media = media_path(path)
    try:
        _media_backup(media)
    except OSError as exc:
        media.unlink(missing_ok=True)
        raise BackupError(f"copying the uploads failed: {exc}") from None
    os.chmod(media, 0o600)
    return [path, media]


def restore(path: Path) -> int:
    """Replace the database with the backup; put back the uploads of its media archive (if any)
    that the storage lacks, and return how many."""
    if not path.is_file():
        raise BackupError(f"{path} is not a file")
    connections.close_all()
    if is_sqlite():
        try:
            source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
            source.execute("PRAGMA schema_version").fetchone()
        except sqlite3.DatabaseError as exc:
            raise BackupError(f"{path} is not an SQLite backup: {exc}") from None
        target = sqlite3.connect(str(_database()["NAME"]))
        try:
            with target:
                source.backup(target)
        finally:
            target.close()
            source.close()
    else:
        result = subprocess.run(  # noqa: S603  # nosec B603
            [_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--single-transaction",
             "--dbname", str(_database()["NAME"]), str(path)],
            env=_pg_env(), capture_output=True, text=True, check=False,
        )
        if result.returncode != 0:
            raise BackupError(f"pg_restore failed: {result.stderr.strip()}")
    media = media_path(path)
    return _media_restore(media) if media.is_file() else 0
