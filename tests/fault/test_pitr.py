"""Point-in-time recovery with WAL archiving, as docs/deploy.md tells an operator to run it.

A private PostgreSQL cluster with ``archive_mode = on`` (``archive_command`` copies each WAL
segment to an archive directory) and a base backup (``pg_basebackup``). Money moves (operator
credits), the time is noted, more money moves (the mistake), then the cluster is destroyed
(SIGKILL, data directory deleted). The base backup is restored with ``restore_command`` from the
archive and ``recovery_target_time`` = the noted time: the first credits are there, the later
ones are not, and ``okpay ledger check`` and ``okpay audit verify`` pass.

Runs in the suite's PostgreSQL run (it needs PostgreSQL's server binaries).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from tests.fault import bank
from tests.fault.replication import DATABASE, Node, _run
from tests.fault.test_bank import on_postgres

pytestmark = [pytest.mark.slow, pytest.mark.fault]

CREDIT = "call_command('wallet', 'credit', '--email', 'bank00@example.com', '--amount', '{}', '--operator', 'ci')"
MOVES = "\n".join([
    "import time", "from django.core.management import call_command", "from django.db import connection",
    CREDIT.format(111),
    "with connection.cursor() as c: c.execute('SELECT now()'); target = c.fetchone()[0]",
    "time.sleep(1.1)",  # the next commits are later than the target
    CREDIT.format(222), CREDIT.format(333),
    "with connection.cursor() as c: c.execute('SELECT pg_walfile_name(pg_switch_wal())'); last = c.fetchone()[0]",
    "print(target.isoformat(), last)",
])
CHECKS = "\n".join([
    "from django.core.management import call_command",
    "from okpay.identity.models import User", "from okpay.ledger.selectors import account_balance",
    "from okpay.payments.services import wallet",
    "call_command('ledger', 'check')", "call_command('audit', 'verify')",
    "print(account_balance(wallet(User.objects.get(email='bank00@example.com'))).total)",
])


def test_point_in_time_recovery_from_the_wal_archive(tmp_path: Path) -> None:
    if not on_postgres():
        pytest.skip("runs in the suite's PostgreSQL run (OKPAY_DATABASE_URL=postgres://...)")
    if bank.postgres_bin() is None:
        pytest.skip("PostgreSQL's server binaries (/usr/lib/postgresql/*/bin/initdb) are not installed")
    root = Path(tempfile.mkdtemp(prefix="okpay-pitr-"))  # PostgreSQL's own user must reach it
    archive, base = root / "archive", root / "base"
    archive.mkdir()
    if os.geteuid() == 0:
        for path in (root, archive):
            shutil.chown(path, "postgres", "postgres")
    try:
        _pitr(root, archive, base, tmp_path)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _pitr(root: Path, archive: Path, base: Path, tmp_path: Path) -> None:
    node = Node(root, "data")
    _run([str(node.bin / "initdb"), "-D", str(node.data), "-A", "trust", "-U", "postgres", "-E", "UTF8",
          "--no-sync", "--no-instructions"])
    node.conf(archive_mode="on", archive_command=f"test ! -f {archive}/%f && cp %p {archive}/%f",
              archive_timeout=0)
    node.start()
    try:
        node.sql(f"CREATE DATABASE {DATABASE}", database="postgres")
        env = bank.process_env(node.url, None, tmp_path)
        migrated = bank.okpay("migrate", "--no-input", "-v", "0", env=env, timeout=600)
        assert migrated.returncode == 0, migrated.stderr[-3000:]
        bank.module("bank_db", "setup", "1", "10000", env=env)
        _run([str(node.bin / "pg_basebackup"), "-h", "127.0.0.1", "-p", str(node.port), "-U", "postgres",
              "-D", str(base), "-X", "stream", "-c", "fast", "--no-sync"], timeout=300)

        # One process: credit 111, note the time, credit 222 and 333 (the mistake), switch WAL.
        moved = bank.okpay("shell", "-c", MOVES, env=env)
        assert moved.returncode == 0, moved.stderr[-3000:]
        target, last = moved.stdout.split()[-2:]
        target = target.replace("T", " ")
        deadline = time.monotonic() + 60
        while not (archive / last).exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert (archive / last).exists(), sorted(p.name for p in archive.iterdir())
    finally:
        node.lose()
    shutil.rmtree(node.data)  # the disk is gone

    shutil.copytree(base, node.data)
    if os.geteuid() == 0:
        subprocess.run(["chown", "-R", "postgres:postgres", str(node.data)], check=True)
    (node.data / "postgresql.auto.conf").write_text(
        f"restore_command = 'cp {archive}/%f %p'\nrecovery_target_time = '{target}'\n"
        "recovery_target_action = 'promote'\narchive_mode = 'off'\n")
    (node.data / "recovery.signal").touch()
    os.chmod(node.data, 0o700)
    node.start()
    try:
        deadline = time.monotonic() + 120
        while node.sql("SELECT pg_is_in_recovery()") != "f" and time.monotonic() < deadline:
            time.sleep(0.2)
        assert node.sql("SELECT pg_is_in_recovery()") == "f"
        checked = bank.okpay("shell", "-c", CHECKS, env=env)
        assert checked.returncode == 0, checked.stdout + checked.stderr
        assert checked.stdout.split()[-1] == str(10_000 + 111), checked.stdout
        assert "ledger check passed" in checked.stdout, checked.stdout
    finally:
        node.stop("immediate")
