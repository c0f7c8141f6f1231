"""Concurrent confirms of one intent charge once; concurrent partial refunds never exceed the payment."""

from __future__ import annotations

import threading

import pytest
from django.db import OperationalError, close_old_connections

from okpay.core.errors import OkpayError
from okpay.ledger.checks import ledger_check
from okpay.merchants import services
from okpay.merchants.models import Refund
from okpay.payments.models import Transaction
from tests.merchants.conftest import available

pytestmark = [pytest.mark.django_db(transaction=True)]


def run_threads(n: int, work) -> list[object]:  # type: ignore[no-untyped-def]
    results: list[object] = []
    barrier = threading.Barrier(n)

    def target() -> None:
        barrier.wait()
        for _attempt in range(20):
            try:
                results.append(work())
                break
            except OperationalError:  # SQLite "database is locked": the API retries the same way
                continue
            except OkpayError as exc:
                results.append(exc)
                break
        close_old_connections()

    threads = [threading.Thread(target=target) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_concurrent_confirms_charge_once(merchant, funded) -> None:
    intent = services.intent_create(merchant=merchant, amount=7_000)
    results = run_threads(6, lambda: services.intent_confirm(intent_id=intent.public_id, customer=funded).pk)
    assert len(results) == 6 and len(set(results)) == 1
    assert Transaction.objects.filter(user=funded, type="payment").count() == 1
    assert available(funded) == 93_000 and available(merchant.user) == 7_000
    assert ledger_check().ok


def test_concurrent_partial_refunds_never_exceed(merchant, funded) -> None:
    intent = services.intent_create(merchant=merchant, amount=10_000)
    services.intent_confirm(intent_id=intent.public_id, customer=funded)
    results = run_threads(8, lambda: services.refund_create(merchant=merchant, intent_id=intent.public_id,
                                                             amount=3_000).public_id)
    refused = [r for r in results if isinstance(r, OkpayError)]
    assert len(results) == 8 and len(refused) == 5
    assert {r.code for r in refused} == {"refund_exceeds_payment"}
    assert Refund.objects.filter(intent=intent, status="succeeded").count() == 3
    intent.refresh_from_db()
    assert intent.amount_refunded == 9_000 and available(funded) == 99_000
    assert ledger_check().ok


def test_concurrent_bill_refund_requests_never_exceed_and_are_answered_once(funded, settings) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from okpay.merchants.bill_refunds import bill_refund_requests_decide_due
    from okpay.merchants.models import RefundRequest
    from okpay.payments.billers import billers_seed
    from okpay.payments.services import bill_payment_create, payments_sweep

    settings.OKPAY_BILL_SUBMIT_SECONDS = settings.OKPAY_BILL_CONFIRM_SECONDS = 0
    billers_seed()
    bill = bill_payment_create(user=funded, biller="state-grid-sh", account_reference="1234567897", amount=8_800)
    payments_sweep()
    results = run_threads(8, lambda: services.refund_request_create(customer=funded, txn_id=bill.public_id,
                                                                     reason="重复缴费", amount=3_000).public_id)
    refused = [r for r in results if isinstance(r, OkpayError)]
    assert len(results) == 8 and len(refused) == 6 and {r.code for r in refused} == {"refund_exceeds_payment"}
    assert RefundRequest.objects.filter(bill_txn=bill, status="pending").count() == 2
    RefundRequest.objects.update(decide_after=timezone.now() - timedelta(seconds=1))
    run_threads(3, bill_refund_requests_decide_due)  # three workers at once: each request answered once
    assert set(RefundRequest.objects.values_list("status", flat=True)) == {"approved"}
    from okpay.ledger.models import Transfer

    assert Transfer.objects.filter(code="refund").count() == 2
    bill.refresh_from_db()
    assert (bill.status, bill.refunded_amount) == ("partially_refunded", 6_000)
    assert available(funded) == 100_000 - 8_800 + 6_000
    assert Transaction.objects.filter(user=funded, type="refund", status="succeeded").count() == 2
    assert ledger_check().ok
