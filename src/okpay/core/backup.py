"""Online backups and restores of OKPay's database.

SQLite: the sqlite3 online backup API (a consistent copy while OKPay keeps running).
PostgreSQL: ``pg_dump --format=custom`` and ``pg_restore --clean --if-exists``.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess  # argument lists, never a shell  # nosec B404
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connections


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
    return env


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(f"{name} is not installed (Debian: apt-get install postgresql-client)")
    return path


def backup(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
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
    return path


def restore(path: Path) -> None:
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
