"""``python -m benchmarks payments --quick`` runs end to end (issue 20): the three legs (pgbench on
the reference transfer, the bare service, OKPay's POST /api/v1/transfers), the captured statements
and the ledger check after the run. Its figures are not asserted (never wall-clock times): only
that each row is there, that the transfers went through and that the ledger still balances.

Needs PostgreSQL (the run of the suite with ``OKPAY_DATABASE_URL`` on PostgreSQL), Redis
(``OKPAY_REDIS_URL``: two web processes), wrk and pgbench; skipped otherwise. Its databases are
``<test database>_bench`` and ``…_bench_ref``, dropped and made again."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
DATABASE_URL = os.environ.get("OKPAY_DATABASE_URL", "")
REDIS_URL = os.environ.get("OKPAY_REDIS_URL", "")


@pytest.mark.skipif(not DATABASE_URL.startswith(("postgres://", "postgresql://")), reason="needs PostgreSQL")
@pytest.mark.skipif(not REDIS_URL, reason="two web processes need OKPAY_REDIS_URL")
@pytest.mark.skipif(not (shutil.which("wrk") and shutil.which("pgbench")), reason="needs wrk and pgbench")
def test_quick_payments_benchmark_runs(tmp_path: Path) -> None:
    parts = urlsplit(DATABASE_URL)
    bench_url = urlunsplit(parts._replace(path=parts.path + "_bench"))
    env = {**os.environ, "OKPAY_BENCH_PAYMENTS_PG_URL": bench_url, "OKPAY_BENCH_REDIS_URL": REDIS_URL,
           "OKPAY_BENCH_SECONDS": "2", "OKPAY_HOME": str(tmp_path)}
    env.pop("OKPAY_BENCH_PROFILE", None)
    out = subprocess.run([sys.executable, "-m", "benchmarks", "payments", "--quick", "--no-write"], cwd=ROOT,
                         env=env, capture_output=True, text=True, timeout=900, check=False)
    assert out.returncode == 0, out.stderr[-3000:]
    text = out.stdout
    for row in ("pgbench, reference transfer", "bare Python service", "OKPay POST /api/v1/transfers",
                "CPU time of the web processes per request", "peak RSS of one OKPay web process"):
        assert row in text, text
    statements = re.search(r"SQL statements per OKPay transfer \(captured[^:]*: (\d+)", text)
    assert statements is not None and int(statements.group(1)) >= 3, text
    check = re.search(r"after the run: (\d+) transfers, ledger check (\w+)", text)
    assert check is not None and int(check.group(1)) > 0 and check.group(2) == "passed", text
