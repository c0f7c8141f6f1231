from __future__ import annotations

import uuid

import pytest

from okpay.ledger.checks import ledger_check
from okpay.ledger.selectors import account_balance
from okpay.payments.billers import billers_seed
from okpay.payments.models import Transaction
from okpay.payments.services import topup_create, wallet


@pytest.fixture(autouse=True)
def _payments_settings(settings):  # type: ignore[no-untyped-def]
    from django.core.cache import cache

    settings.OKPAY_WITHDRAWAL_FAILURE_PERCENT = 0
    settings.OKPAY_RISK_VELOCITY_PER_HOUR = 1000
    # Used TOTP codes and rate-limit counters live in the cache, keyed by user pk: a test starts clean.
    cache.clear()


@pytest.fixture
def billers(db: None) -> None:
    billers_seed()


@pytest.fixture
def funded(alice):  # type: ignore[no-untyped-def]
    """alice with ¥1,000.00 in her wallet."""
    topup_create(user=alice, amount=100_000)
    return alice


def available(user, currency: str = "CNY") -> int:  # type: ignore[no-untyped-def]
    return account_balance(wallet(user, currency)).available


def held(user, currency: str = "CNY") -> int:  # type: ignore[no-untyped-def]
    return account_balance(wallet(user, currency)).held


def assert_ledger_ok() -> None:
    report = ledger_check()
    assert report.violations == []


def assert_status_agrees_with_ledger() -> None:
    """Every transaction's status matches its ledger transfers (the hold and its resolution)."""
    from okpay.ledger.models import Transfer

    for txn in Transaction.objects.select_related("hold_transfer", "settle_transfer"):
        if txn.hold_transfer_id is None:
            assert txn.status in ("succeeded", "failed", "created") or txn.type == "transfer", txn
            continue
        resolution = Transfer.objects.filter(pending_id=txn.hold_transfer_id).values_list("kind", flat=True).first()
        if txn.status == "pending":
            assert resolution is None, (txn, resolution)
        elif txn.status == "succeeded":
            assert resolution == "post_pending", (txn, resolution)
        else:
            assert resolution in ("void_pending",), (txn, resolution)


def key() -> str:
    return uuid.uuid4().hex


def counted_today(user) -> int:  # type: ignore[no-untyped-def]
    """What the daily limit counts, added up from the transactions (as it was before usage rows):
    the customer's outgoing debits created today that still count."""
    from datetime import datetime, time

    from django.db.models import Sum
    from django.utils import timezone

    from okpay.payments.services import COUNTED, OUTGOING, local_day

    start = datetime.combine(local_day(timezone.now()), time(), tzinfo=timezone.get_default_timezone())
    total = Transaction.objects.filter(user=user, direction="debit", type__in=OUTGOING, status__in=COUNTED,
                                       created_at__gte=start).aggregate(s=Sum("amount"))["s"]
    return int(total or 0)


def used_today(user) -> int:  # type: ignore[no-untyped-def]
    """What the usage row says today's payments used (``limits_for``)."""
    from okpay.payments.services import limits_for

    return limits_for(user).used_today


def assert_usage_agrees(user) -> None:  # type: ignore[no-untyped-def]
    assert used_today(user) == counted_today(user), user
