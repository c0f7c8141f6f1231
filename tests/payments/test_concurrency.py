"""Many OS processes at once on one database: customers make transfers (also to unregistered
emails), bill payments, withdrawals and cancellations while sweepers settle, reject and return;
two processes pay from each wallet, against a daily limit they reach. Afterwards the ledger's
invariants hold, every transaction agrees with its ledger transfers, and each payer's usage row
equals today's debits that still count, within the limit.

``OKPAY_TEST_PAYMENTS_SECONDS`` (default 20) and ``OKPAY_TEST_PAYMENTS_PROCS`` (customer processes,
default 6) size the run; 2 sweepers run beside them.
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
from django.db.models import Sum

from okpay.ledger.checks import ledger_check
from okpay.ledger.selectors import account_balance
from okpay.payments import services
from okpay.payments.billers import billers_seed
from okpay.payments.models import Status, Transaction
from tests.factories import user_create
from tests.payments.conftest import assert_status_agrees_with_ledger, assert_usage_agrees, counted_today

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
ROOT = Path(__file__).resolve().parents[2]
SECONDS = float(os.environ.get("OKPAY_TEST_PAYMENTS_SECONDS", "20"))
PROCS = int(os.environ.get("OKPAY_TEST_PAYMENTS_PROCS", "6"))
DAILY = 400_000


def child_env() -> dict[str, str]:
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
    env.update({
        "OKPAY_TESTING": "true", "PYTHONPATH": os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]),
        "OKPAY_BILL_SUBMIT_SECONDS": "0", "OKPAY_BILL_CONFIRM_SECONDS": "1", "OKPAY_WITHDRAWAL_SUBMIT_SECONDS": "1",
        "OKPAY_WITHDRAWAL_SETTLE_SECONDS": "0", "OKPAY_WITHDRAWAL_FAILURE_PERCENT": "30",
        "OKPAY_LIMIT_EMAIL_DAILY": str(DAILY), "OKPAY_RISK_VELOCITY_PER_HOUR": "100000",
        "OKPAY_RISK_REVIEW_AMOUNT": "2900", "OKPAY_RISK_NEW_RECIPIENT_AMOUNT": "100000000",
    })
    return env


def spawn(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "tests.payments.payments_worker", *args], cwd=ROOT,
                            env=child_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_concurrent_payments_cancels_and_sweeps_keep_ledger_and_statuses_in_step(settings) -> None:  # type: ignore[no-untyped-def]
    billers_seed()
    users = [user_create(f"mp{i}@example.com") for i in range(max(PROCS // 2, 2))]
    for user in users:
        services.topup_create(user=user, amount=200_000)
    ids = [str(u.pk) for u in users]
    children = [spawn("customer", str(seed), str(SECONDS), *ids) for seed in range(PROCS)]
    children += [spawn("sweeper", str(100 + i), str(SECONDS + 3)) for i in range(2)]
    counts: Counter[str] = Counter()
    for child in children:
        out, err = child.communicate(timeout=SECONDS + 300)
        assert child.returncode == 0, err[-3000:]
        counts.update(json.loads(out.strip().splitlines()[-1]))
    print(dict(counts))
    assert counts["busy"] == 0, counts
    assert counts["transfer"] > 0 and counts["bill"] > 0 and counts["cancel"] > 0 and counts["swept"] > 0, counts
    assert set(counts) <= {"transfer", "invite", "bill", "withdrawal", "cancel", "nothing_to_cancel",
                           "insufficient_funds", "limit_exceeded", "not_cancellable", "sweeps", "swept",
                           "sweep_busy"}, counts

    # Settle what is due now (reviews and unclaimed transfers stay pending), like the worker would.
    settings.OKPAY_BILL_SUBMIT_SECONDS = settings.OKPAY_BILL_CONFIRM_SECONDS = 0
    settings.OKPAY_WITHDRAWAL_SUBMIT_SECONDS = settings.OKPAY_WITHDRAWAL_SETTLE_SECONDS = 0
    services.payments_sweep()
    services.payments_sweep()

    assert ledger_check().violations == []
    assert_status_agrees_with_ledger()
    # Each wallet equals its transactions: money in minus money out (succeeded), held = pending out.
    for user in users:
        mine = Transaction.objects.filter(user=user)
        credit = mine.filter(direction="credit", status=Status.SUCCEEDED).aggregate(s=Sum("amount"))["s"] or 0
        debit = mine.filter(direction="debit", status=Status.SUCCEEDED).aggregate(s=Sum("amount"))["s"] or 0
        pending = mine.filter(direction="debit", status=Status.PENDING).aggregate(s=Sum("amount"))["s"] or 0
        balance = account_balance(services.wallet(user))
        assert (balance.total, balance.held) == (credit - debit, pending), user
        assert balance.available >= 0
        assert_usage_agrees(user)
        assert counted_today(user) <= DAILY
    # Pending ones are only those that wait for people (review, claim); no duplicate ledger moves.
    assert set(Transaction.objects.filter(status="pending").values_list("pending_reason", flat=True)) <= {
        "risk_review", "awaiting_claim"}
    # Every transfer that reached its recipient has exactly the recipient's side.
    sent = Transaction.objects.filter(type="transfer", direction="debit", status="succeeded")
    received = Transaction.objects.filter(type="transfer", direction="credit")
    assert sent.count() == received.count()
    assert sent.exclude(pk__in=received.values("peer_id")).count() == 0
