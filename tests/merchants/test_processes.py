"""The same races with OS processes (STYLE.md): concurrent confirms of one intent charge once,
concurrent partial refunds never exceed the payment."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import Counter

import pytest

from okpay.ledger.checks import ledger_check
from okpay.merchants import services
from okpay.merchants.models import Refund
from okpay.payments.models import Transaction
from tests.merchants.conftest import available
from tests.payments.test_concurrency import ROOT, child_env

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def run(args_list: list[list[str]]) -> list[dict[str, str]]:
    children = [subprocess.Popen([sys.executable, "-m", "tests.merchants.merchants_worker", *args], cwd=ROOT,
                                 env=child_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                for args in args_list]
    results = []
    for child in children:
        out, err = child.communicate(timeout=300)
        assert child.returncode == 0, err[-3000:]
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


def test_processes_confirm_once_and_refund_within_payment(merchant, funded) -> None:
    intent = services.intent_create(merchant=merchant, amount=7_000)
    start = str(time.time() + 4)
    results = run([["confirm", start, intent.public_id, str(funded.pk)] for _ in range(6)])
    assert len({r["ok"] for r in results}) == 1, results
    assert Transaction.objects.filter(user=funded, type="payment").count() == 1
    assert available(funded) == 93_000 and available(merchant.user) == 7_000

    start = str(time.time() + 4)
    results = run([["refund", start, intent.public_id, str(merchant.pk), "2000"] for _ in range(6)])
    outcomes = Counter("ok" if "ok" in r else r["error"] for r in results)
    assert outcomes == Counter({"ok": 3, "refund_exceeds_payment": 3}), results
    assert Refund.objects.filter(intent=intent, status="succeeded").count() == 3
    intent.refresh_from_db()
    assert intent.amount_refunded == 6_000 and available(funded) == 99_000
    assert ledger_check().ok
