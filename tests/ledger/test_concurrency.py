"""Concurrency with separate OS processes against the test database (SQLite or PostgreSQL).

``OKPAY_TEST_LEDGER_PROCS`` × ``OKPAY_TEST_LEDGER_OPS`` random operations (default 8 × 1,000:
about 10-30 s per database on two cores) among 20 accounts, then ``okpay ledger check`` passes
and no money appeared or vanished.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db.models import F, Sum

from okpay.ledger.checks import ledger_check
from okpay.ledger.models import Account, Transfer
from okpay.ledger.selectors import account_balance, pending_status
from okpay.ledger.services import account_open, pending_create, system_account, transfer_create

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
ROOT = Path(__file__).resolve().parents[2]
PROCS = int(os.environ.get("OKPAY_TEST_LEDGER_PROCS", "8"))
OPS = int(os.environ.get("OKPAY_TEST_LEDGER_OPS", "1000"))


def child_env() -> dict[str, str]:
    """The environment of a child process: the same settings, pointed at the test database."""
    db = settings.DATABASES["default"]
    env = dict(os.environ)
    if db["ENGINE"].endswith("sqlite3"):
        env["OKPAY_DATABASE_URL"] = f"sqlite:///{db['NAME']}"
    else:
        auth = quote(db["USER"] or "postgres") + (f":{quote(db['PASSWORD'])}" if db.get("PASSWORD") else "")
        env["OKPAY_DATABASE_URL"] = (f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/"
                                     f"{db['NAME']}")
        env["OKPAY_DB_POOL_MIN"] = "1"
        env["OKPAY_DB_POOL_MAX"] = "2"
    env["OKPAY_TESTING"] = "true"
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    return env


def spawn(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "tests.ledger.ledger_worker", *args], cwd=ROOT, env=child_env(),
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def money(accounts: list[Account]) -> tuple[int, int]:
    totals = Account.objects.filter(pk__in=[a.pk for a in accounts]).aggregate(
        total=Sum(F("credits_posted") - F("debits_posted")), held=Sum("debits_pending"))
    return totals["total"], totals["held"]


def test_random_transfers_and_holds_from_many_processes_keep_the_ledger_sound() -> None:
    funding = system_account("funding", "CNY")
    accounts = [account_open(owner=None, kind=f"mp{i}", currency="CNY", debits_must_not_exceed_credits=True)
                for i in range(20)]
    for account in accounts:
        transfer_create(debit_account=funding, credit_account=account, amount=100_000, currency="CNY")
    before = money(accounts)
    assert before == (2_000_000, 0)

    ids = [str(a.pk) for a in accounts]
    children = [spawn("random", str(seed), str(OPS), *ids) for seed in range(PROCS)]
    counts: Counter[str] = Counter()
    for child in children:
        out, err = child.communicate(timeout=600)
        assert child.returncode == 0, err
        counts.update(json.loads(out.strip().splitlines()[-1]))

    # Every operation ended in a success or a typed refusal; contention never surfaced.
    assert counts["busy"] == 0, counts
    assert sum(counts.values()) == PROCS * OPS
    assert counts["transfer"] > 0 and counts["hold"] > 0 and counts["post"] + counts["void"] > 0, counts
    assert set(counts) <= {"transfer", "hold", "post", "void", "insufficient_funds", "pending_already_posted",
                           "pending_already_voided", "skipped", "busy"}, counts

    after_total, after_held = money(accounts)
    assert after_total == 2_000_000  # no money created or lost among the 20
    assert account_balance(funding).total == -2_000_000
    assert after_held == sum(t.amount for t in Transfer.objects.filter(kind="pending", hold__isnull=False))
    assert ledger_check().violations == []
    cli = subprocess.run([sys.executable, "-m", "okpay", "ledger", "check"], cwd=ROOT, env=child_env(),
                         capture_output=True, text=True, timeout=300)
    assert cli.returncode == 0, cli.stdout + cli.stderr
    assert "ledger check passed" in cli.stdout


@pytest.mark.parametrize("mix", ["post", "post_and_void"])
def test_concurrent_resolutions_of_one_hold_have_exactly_one_winner(mix: str) -> None:
    funding = system_account("funding", "CNY")
    a = account_open(owner=None, kind="payer", currency="CNY", debits_must_not_exceed_credits=True)
    b = account_open(owner=None, kind="payee", currency="CNY")
    transfer_create(debit_account=funding, credit_account=a, amount=1_000, currency="CNY")
    hold = pending_create(debit_account=a, credit_account=b, amount=800, currency="CNY")
    n = 6
    actions = ["post"] * n if mix == "post" else ["post", "void"] * (n // 2)
    children = [spawn("resolve", action, hold.public_id, f"resolve-{i}") for i, action in enumerate(actions)]
    for child in children:
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
    for child in children:  # start them together
        assert child.stdin is not None
        child.stdin.write("go\n")
        child.stdin.flush()
    outcomes = []
    for child in children:
        out, err = child.communicate(timeout=120)
        assert child.returncode == 0, err
        outcomes.append(json.loads(out.strip().splitlines()[-1])["outcome"])
    assert outcomes.count("ok") == 1, outcomes
    winner = actions[outcomes.index("ok")]
    loser_code = "pending_already_posted" if winner == "post" else "pending_already_voided"
    assert sorted(outcomes) == sorted(["ok"] + [loser_code] * (n - 1))
    assert pending_status(hold) == ("posted" if winner == "post" else "voided")
    assert Transfer.objects.filter(pending=hold).count() == 1
    expected = 200 if winner == "post" else 1_000
    assert account_balance(a).total == expected and account_balance(a).held == 0
    assert ledger_check().violations == []
