"""`okpay backup` and `okpay restore`, the restore drill: a copy restored into a fresh database
passes `okpay ledger check` and `okpay audit verify` with the same money, and a customer's
attachment opens from it through the customer's checked door with the same bytes."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.conf import settings

OKPAY = str(Path(sys.executable).with_name("okpay"))
BALANCE = (
    "from okpay.identity.models import User; from okpay.ledger.models import Account;"
    "a = Account.objects.get(owner=User.objects.get(email='alice@okpay.example'), currency='CNY');"
    "print(a.credits_posted - a.debits_posted)"
)
# A ticket with an attachment (kept in the database by default), printed as ticket id, file id.
ATTACH = (
    "from django.core.files.uploadedfile import SimpleUploadedFile;"
    "from okpay.identity.models import User; from okpay.support.services import Requester, ticket_create;"
    "u = User.objects.get(email='alice@okpay.example');"
    "t = ticket_create(requester=Requester(user=u), channel='web', category='payment', subject='回执',"
    " body='附件是回执', attachments=[SimpleUploadedFile('r.png', b'\\x89PNG\\r\\n\\x1a\\n' + bytes(range(256)))]);"
    "print(t.public_id, t.messages.get().attachments.get().public_id)"
)
# The attachment through the customer's own checked door: the sha256 of what it holds.
OPEN = (
    "import hashlib; from okpay.identity.models import User;"
    "from okpay.support.permissions import access_customer_attachment;"
    "a = access_customer_attachment(User.objects.get(email='alice@okpay.example'), '{}', '{}');"
    "print(hashlib.sha256(a.file.open('rb').read()).hexdigest())"
)


def okpay(*args: str, env: dict[str, str], check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run([OKPAY, *args], env=env, capture_output=True, text=True, timeout=300, check=check)


def base_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("OKPAY_") and k not in {"DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE"}}
    return {**env, "OKPAY_HOME": str(home)}


def _round_trip(source: dict[str, str], target: dict[str, str], backup_file: Path) -> None:
    okpay("migrate", "--no-input", "-v", "0", env=source)
    okpay("demo", env=source)
    okpay("wallet", "credit", "--email", "alice@okpay.example", "--amount", "123456", "--reason", "backup test",
          env=source)
    balance = okpay("shell", "-c", BALANCE, env=source).stdout.strip().splitlines()[-1]
    ticket_id, file_id = okpay("shell", "-c", ATTACH, env=source).stdout.split()[-2:]
    digest = okpay("shell", "-c", OPEN.format(ticket_id, file_id), env=source).stdout.split()[-1]
    assert okpay("backup", "--output", str(backup_file), env=source).stdout.strip() == str(backup_file)
    assert backup_file.stat().st_size > 0
    assert oct(backup_file.stat().st_mode & 0o777) == "0o600"
    refused = okpay("restore", str(backup_file), env=target, check=False)
    assert refused.returncode != 0
    assert "--yes" in refused.stderr
    okpay("restore", str(backup_file), "--yes", env=target)
    check = okpay("ledger", "check", env=target, check=False)
    assert check.returncode == 0, check.stdout + check.stderr
    audit = okpay("audit", "verify", env=target, check=False)
    assert audit.returncode == 0, audit.stdout + audit.stderr
    assert okpay("shell", "-c", BALANCE, env=target).stdout.strip().splitlines()[-1] == balance
    assert int(balance) >= 123456
    assert okpay("shell", "-c", OPEN.format(ticket_id, file_id), env=target).stdout.split()[-1] == digest


def test_sqlite_backup_restores_into_a_fresh_home(tmp_path: Path) -> None:
    source = base_env(tmp_path / "a")
    target = base_env(tmp_path / "b")
    _round_trip(source, target, tmp_path / "okpay.sqlite3.bak")


def test_restore_refuses_a_file_that_is_not_a_backup(tmp_path: Path) -> None:
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"not a database at all" * 100)
    result = okpay("restore", str(junk), "--yes", env=base_env(tmp_path), check=False)
    assert result.returncode != 0
    assert "is not an SQLite backup" in result.stderr


@pytest.mark.skipif(not settings.DATABASES["default"]["ENGINE"].endswith("postgresql"),
                    reason="runs in the PostgreSQL pass of CI")
def test_postgresql_backup_restores_into_a_fresh_database(tmp_path: Path) -> None:
    import psycopg

    db = settings.DATABASES["default"]
    server = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
    names = [f"okpay_bk_{uuid.uuid4().hex[:10]}" for _ in range(2)]
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        for name in names:
            conn.execute(f'CREATE DATABASE "{name}"')
    try:
        source = {**base_env(tmp_path), "OKPAY_DATABASE_URL": f"{server}/{names[0]}"}
        target = {**base_env(tmp_path), "OKPAY_DATABASE_URL": f"{server}/{names[1]}"}
        _round_trip(source, target, tmp_path / "okpay.dump")
    finally:
        with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
            for name in names:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_keep_days_prunes_only_old_backups(tmp_path: Path) -> None:
    import time as clock

    from okpay.core.backup import prune

    old, new, other = tmp_path / "okpay-20260101T031500Z.dump", tmp_path / "okpay-20261207T031500Z.dump", \
        tmp_path / "notes.txt"
    for path in (old, new, other):
        path.write_bytes(b"x")
    month_ago = clock.time() - 30 * 86400
    os.utime(old, (month_ago, month_ago))
    os.utime(other, (month_ago, month_ago))
    assert prune(tmp_path, keep_days=14) == [old]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([new.name, other.name])


def test_keep_days_must_be_positive(tmp_path: Path) -> None:
    result = okpay("backup", "--keep-days", "0", env=base_env(tmp_path), check=False)
    assert result.returncode != 0
    assert "--keep-days must be at least 1" in result.stderr
    assert not (tmp_path / "var" / "backups").exists()
