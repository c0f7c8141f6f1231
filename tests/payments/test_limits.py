"""The daily limit and the velocity rule, kept on one usage row per customer
(``services.core.limits_take``): the row always says what the transactions say (today's outgoing
debits that still count), every path that makes a payment stop counting gives its amount back in
the same transaction, the limit holds exactly under concurrent payments, and a freeze and a
payment never overlap."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta

import pytest
from django.db import connection, connections, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from okpay.identity.models import User
from okpay.identity.services import account_freeze
from okpay.payments import services
from okpay.payments.errors import AccountFrozen, LimitExceeded
from okpay.payments.models import PayerUsage, Transaction
from tests.factories import user_create
from tests.payments.conftest import (
    assert_ledger_ok,
    assert_status_agrees_with_ledger,
    assert_usage_agrees,
    available,
    counted_today,
    used_today,
)

pytestmark = pytest.mark.django_db
AMOUNT = 7_000


@pytest.fixture(autouse=True)
def _limits(settings):  # type: ignore[no-untyped-def]
    settings.OKPAY_LIMIT_EMAIL_PER_TXN = 50_000
    settings.OKPAY_LIMIT_EMAIL_DAILY = 60_000
    settings.OKPAY_RISK_REVIEW_AMOUNT = 20_000
    settings.OKPAY_BILL_SUBMIT_SECONDS = settings.OKPAY_BILL_CONFIRM_SECONDS = 0
    settings.OKPAY_WITHDRAWAL_SUBMIT_SECONDS = settings.OKPAY_WITHDRAWAL_SETTLE_SECONDS = 0


def test_every_kind_of_payment_counts_and_the_limit_is_exact(funded, bob, billers):
    services.transfer_create(sender=funded, to=bob.email, amount=10_000)
    services.transfer_create(sender=funded, to="guest@example.com", amount=15_000)  # held for the claim
    services.withdrawal_create(user=funded, amount=20_000)
    services.bill_payment_create(user=funded, biller="sh-water", account_reference="12345674", amount=10_000)
    services.topup_create(user=funded, amount=1_000)  # money in: not counted
    assert used_today(funded) == counted_today(funded) == 55_000
    with pytest.raises(LimitExceeded) as over:
        services.transfer_create(sender=funded, to=bob.email, amount=5_001)
    assert over.value.message == "This payment would take you over your daily limit."
    with pytest.raises(LimitExceeded) as per_txn:
        services.withdrawal_create(user=funded, amount=50_001)
    assert per_txn.value.message == "This payment is over your per-transaction limit."
    assert used_today(funded) == 55_000
    services.withdrawal_create(user=funded, amount=5_000)  # exactly up to the limit
    limits = services.limits_for(funded)
    assert (limits.used_today, limits.remaining_today) == (60_000, 0)
    assert used_today(bob) == 0 and not PayerUsage.objects.filter(user=bob).exists()
    assert_usage_agrees(funded)


# --- every way a payment stops counting, and the ways it goes on counting ---------------------------

def _withdrawal_cancelled(user, **_):  # type: ignore[no-untyped-def]
    txn = services.withdrawal_create(user=user, amount=AMOUNT)
    services.transaction_cancel(user=user, txn_id=txn.public_id)
    return txn


def _withdrawal_refused_by_the_bank(user, settings, **_):  # type: ignore[no-untyped-def]
    settings.OKPAY_WITHDRAWAL_FAILURE_PERCENT = 100
    txn = services.withdrawal_create(user=user, amount=AMOUNT)
    services.payments_sweep()
    return txn


def _withdrawal_settled(user, **_):  # type: ignore[no-untyped-def]
    txn = services.withdrawal_create(user=user, amount=AMOUNT)
    services.payments_sweep()
    return txn


def _bill_rejected(user, **_):  # type: ignore[no-untyped-def]
    txn = services.bill_payment_create(user=user, biller="sh-water", account_reference="12345670", amount=AMOUNT)
    services.payments_sweep()
    return txn


def _bill_confirmed(user, **_):  # type: ignore[no-untyped-def]
    txn = services.bill_payment_create(user=user, biller="sh-water", account_reference="12345674", amount=AMOUNT)
    services.payments_sweep()
    return txn


def _invite_returned(user, **_):  # type: ignore[no-untyped-def]
    txn = services.transfer_create(sender=user, to="nobody@example.com", amount=AMOUNT)
    services.sweep_step("claim_return", now=timezone.now() + timedelta(days=30))
    return txn


def _invite_cancelled(user, **_):  # type: ignore[no-untyped-def]
    txn = services.transfer_create(sender=user, to="nobody@example.com", amount=AMOUNT)
    services.transaction_cancel(user=user, txn_id=txn.public_id)
    return txn


def _invite_claimed(user, **_):  # type: ignore[no-untyped-def]
    txn = services.transfer_create(sender=user, to="late@example.com", amount=AMOUNT)
    services.transfers_claim_for(user_create("late@example.com"))
    return txn


def _review(user, settings):  # type: ignore[no-untyped-def]
    settings.OKPAY_RISK_REVIEW_AMOUNT = AMOUNT
    txn = services.transfer_create(sender=user, to="bob@example.com", amount=AMOUNT)
    assert txn.pending_reason == "risk_review"
    return txn


def _review_declined(user, settings, supervisor, **_):  # type: ignore[no-untyped-def]
    txn = _review(user, settings)
    services.risk_review_decline(txn_id=txn.public_id, actor=supervisor)
    return txn


def _review_expired(user, settings, **_):  # type: ignore[no-untyped-def]
    txn = _review(user, settings)
    services.sweep_step("review_expire", now=timezone.now() + timedelta(days=2))
    return txn


def _review_approved(user, settings, supervisor, **_):  # type: ignore[no-untyped-def]
    txn = _review(user, settings)
    services.risk_review_approve(txn_id=txn.public_id, actor=supervisor)
    return txn


@pytest.mark.parametrize(("path", "status", "counts"), [
    (_withdrawal_cancelled, "cancelled", False),
    (_withdrawal_refused_by_the_bank, "failed", False),
    (_withdrawal_settled, "succeeded", True),
    (_bill_rejected, "failed", False),
    (_bill_confirmed, "succeeded", True),
    (_invite_returned, "cancelled", False),
    (_invite_cancelled, "cancelled", False),
    (_invite_claimed, "succeeded", True),
    (_review_declined, "failed", False),
    (_review_expired, "cancelled", False),
    (_review_approved, "succeeded", True),
], ids=lambda value: value.__name__.strip("_") if callable(value) else str(value))
def test_a_payment_that_stops_counting_gives_its_amount_back(path: Callable[..., Transaction], status, counts,
                                                           funded, bob, billers, supervisor, settings):
    services.transfer_create(sender=funded, to=bob.email, amount=1_000)
    txn = path(funded, settings=settings, supervisor=supervisor)
    txn.refresh_from_db()
    assert txn.status == status
    assert used_today(funded) == counted_today(funded) == 1_000 + (AMOUNT if counts else 0)
    assert_status_agrees_with_ledger()
    assert_ledger_ok()


def test_what_is_given_back_can_be_spent_again_up_to_the_limit(funded, bob):
    pending = services.withdrawal_create(user=funded, amount=50_000)
    services.transfer_create(sender=funded, to=bob.email, amount=10_000)
    with pytest.raises(LimitExceeded):
        services.transfer_create(sender=funded, to=bob.email, amount=1)
    services.transaction_cancel(user=funded, txn_id=pending.public_id)
    services.transfer_create(sender=funded, to=bob.email, amount=50_000)
    assert used_today(funded) == counted_today(funded) == 60_000
    assert available(funded) == 100_000 - 60_000


def test_a_frozen_payer_is_refused_even_when_the_request_did_not_know(funded, bob):
    stale = User.objects.get(pk=funded.pk)  # loaded before the freeze, as a request's user is
    User.objects.filter(pk=funded.pk).update(frozen_at=timezone.now())
    with pytest.raises(AccountFrozen):
        services.transfer_create(sender=stale, to=bob.email, amount=1_000)
    assert used_today(funded) == 0 and available(funded) == 100_000


# --- days -----------------------------------------------------------------------------------------------

def _at(monkeypatch, moment: datetime) -> None:  # type: ignore[no-untyped-def]
    """Payments' clock (limits, creation times) reads ``moment``."""
    monkeypatch.setattr("okpay.payments.services.core._now", lambda: moment)


def test_yesterdays_payments_do_not_count_and_giving_one_back_leaves_today_alone(funded, bob, monkeypatch):
    now = timezone.now()
    _at(monkeypatch, now - timedelta(days=1))
    yesterday = services.withdrawal_create(user=funded, amount=40_000)
    monkeypatch.undo()
    services.transfer_create(sender=funded, to=bob.email, amount=30_000)  # 40,000 yesterday does not count
    row = PayerUsage.objects.get(user=funded)
    assert (row.day, row.debited) == (services.local_day(now), 30_000)
    services.transaction_cancel(user=funded, txn_id=yesterday.public_id)
    assert used_today(funded) == counted_today(funded) == 30_000
    assert available(funded) == 70_000


def test_a_payment_whose_clock_is_behind_the_row_counts_on_the_rows_day(funded, bob, monkeypatch):
    """Two payments race at midnight (or two machines' clocks disagree by a few milliseconds): the
    second to take the row reads an earlier time than the first. The row's day and hour never go
    back; the payment counts toward the row's day and is created at its start, so giving it back
    finds it there."""
    zone = timezone.get_default_timezone()
    midnight = datetime.combine(services.local_day(timezone.now()) + timedelta(days=1), time(), tzinfo=zone)
    _at(monkeypatch, midnight + timedelta(milliseconds=3))
    services.transfer_create(sender=funded, to=bob.email, amount=20_000)
    _at(monkeypatch, midnight - timedelta(milliseconds=2))
    late = services.withdrawal_create(user=funded, amount=10_000)
    assert late.created_at == midnight
    row = PayerUsage.objects.get(user=funded)
    assert (row.day, row.debited) == (midnight.date(), 30_000)
    services.transaction_cancel(user=funded, txn_id=late.public_id)
    row.refresh_from_db()
    assert row.debited == 20_000


# --- velocity ------------------------------------------------------------------------------------------

def test_velocity_is_the_same_rule_decided_mostly_without_a_query(funded, bob, settings, monkeypatch):
    """N transfers in the 60 minutes before this one → review, whatever became of them. The usage
    row's clock-hour counters decide alone, except when the previous hour's transfers might be
    more than 60 minutes old: then (only then) the transactions are counted."""
    settings.OKPAY_RISK_VELOCITY_PER_HOUR = 3
    hour = datetime.fromtimestamp((int(timezone.now().timestamp()) // 3600 - 3) * 3600, tz=UTC)

    def send(minutes: int) -> tuple[str, bool]:
        _at(monkeypatch, hour + timedelta(minutes=minutes))
        with CaptureQueriesContext(connection) as queries:
            txn = services.transfer_create(sender=funded, to=bob.email, amount=100)
        counted = any('"payments_transaction"."created_at" >=' in q["sql"] for q in queries.captured_queries)
        return txn.review_reason, counted

    assert [send(m) for m in (50, 51, 52)] == [("", False)] * 3
    assert send(55) == ("velocity", False)  # 3 this clock hour already: decided by the counter
    assert send(60 + 10) == ("velocity", True)  # 4 in the previous hour, all since 0:10: counted
    assert send(60 + 56) == ("", True)  # only 1 (1:10) since 0:56; the review at 0:55 is just out
    assert send(3 * 60 + 1) == ("", False)  # an hour with no transfer in between: counters start again
    assert Transaction.objects.filter(user=funded, review_reason="velocity").count() == 2


# --- concurrency (threads; each its own database connection) ------------------------------------------

@pytest.fixture
def small_pool():  # type: ignore[no-untyped-def]
    """The threads take connections from this process's pool and leave them idle in it: close it
    after the test, so that the next one finds a pool as small as usual (tests/api's outage test
    drops every pooled connection of the database and expects to replace only a few)."""
    yield
    if connection.vendor == "postgresql":
        connection.close()
        connection.close_pool()


def _in_threads(count: int, work: Callable[[], str]) -> Counter[str]:
    barrier = threading.Barrier(count)
    results: list[str] = []

    def run() -> None:
        try:
            barrier.wait(timeout=30)
            results.append(work())
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return Counter(results)


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("small_pool")
def test_the_daily_limit_is_exact_under_concurrent_payments(settings):
    if connection.vendor != "postgresql":
        pytest.skip("threads that really overlap need PostgreSQL (SQLite runs one writer at a time)")
    settings.OKPAY_LIMIT_EMAIL_DAILY = 10_500
    sender = user_create("race@example.com")
    recipient = user_create("sink@example.com")
    services.topup_create(user=sender, amount=100_000)

    def pay() -> str:
        try:
            services.transfer_create(sender=sender, to=recipient.email, amount=1_000)
        except LimitExceeded:
            return "limit_exceeded"
        return "sent"

    assert _in_threads(16, pay) == {"sent": 10, "limit_exceeded": 6}
    assert used_today(sender) == counted_today(sender) == 10_000
    assert available(recipient) == 10_000
    assert_ledger_ok()


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("small_pool")
def test_a_freeze_and_a_payment_never_overlap():
    """No payment commits after a freeze it did not precede: a payment that meets a freeze in
    progress waits for it and is refused; a freeze waits for a payment past its check."""
    if connection.vendor != "postgresql":
        pytest.skip("row locks between connections are PostgreSQL's (SQLite runs one writer at a time)")
    payer = user_create("payer@example.com")
    payee = user_create("payee@example.com")
    services.topup_create(user=payer, amount=10_000)
    outcome: dict[str, object] = {}
    inside, release = threading.Event(), threading.Event()

    def freeze() -> None:
        try:
            with transaction.atomic():
                account_freeze(user=payer)
                inside.set()
                release.wait(timeout=30)
        finally:
            connections.close_all()

    def pay() -> None:
        try:
            with transaction.atomic():
                outcome["paid"] = services.transfer_create(sender=payer, to=payee.email, amount=1_000)
                inside.set()
                release.wait(timeout=30)
        except AccountFrozen as exc:
            outcome["paid"] = exc
        finally:
            connections.close_all()

    def overlap(first: Callable[[], None], second: Callable[[], None]) -> None:
        inside.clear()
        release.clear()
        one, two = threading.Thread(target=first), threading.Thread(target=second)
        one.start()
        assert inside.wait(timeout=30)
        two.start()
        two.join(timeout=0.5)
        assert two.is_alive(), "the second waits for the first to commit"
        release.set()
        one.join(timeout=30)
        two.join(timeout=30)

    overlap(pay, freeze)  # the payment got past its check first: the freeze waited for its commit
    assert isinstance(outcome["paid"], Transaction) and User.objects.get(pk=payer.pk).frozen
    assert available(payee) == 1_000
    User.objects.filter(pk=payer.pk).update(frozen_at=None)
    overlap(freeze, pay)  # the freeze came first: the payment waits, then sees it and is refused
    assert isinstance(outcome["paid"], AccountFrozen)
    assert available(payee) == 1_000 and used_today(payer) == counted_today(payer) == 1_000



def test_the_migration_fills_the_rows_the_payments_would_have_written(funded, bob, monkeypatch):
    """``payments/0005`` builds today's usage rows from the transactions (the data that existed
    before there were rows); they match what the payments themselves recorded."""
    import importlib

    from django.apps import apps

    migration = importlib.import_module("okpay.payments.migrations.0005_payer_usage")
    _at(monkeypatch, timezone.now() - timedelta(days=1))
    services.withdrawal_create(user=funded, amount=9_000)  # yesterday: not today's
    monkeypatch.undo()
    services.transfer_create(sender=funded, to=bob.email, amount=1_500)
    services.transfer_create(sender=funded, to="guest@example.com", amount=2_500)
    cancelled = services.withdrawal_create(user=funded, amount=4_000)
    services.transaction_cancel(user=funded, txn_id=cancelled.public_id)
    services.transfer_create(sender=bob, to=funded.email, amount=500)
    fields = ("user_id", "day", "debited", "hour", "hour_transfers", "previous_hour_transfers")
    written = sorted(PayerUsage.objects.values_list(*fields))
    PayerUsage.objects.all().delete()
    migration.usage_from_transactions(apps, None)
    assert sorted(PayerUsage.objects.values_list(*fields)) == written
    assert used_today(funded) == counted_today(funded) == 4_000 and used_today(bob) == 500
