"""The ledger's write API: every rule and every typed error, with exact balances."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from okpay.ledger import errors
from okpay.ledger.checks import ledger_check
from okpay.ledger.models import Account, PendingHold, Transfer
from okpay.ledger.selectors import (
    account_balance,
    account_history,
    balances_for_owner,
    holds_for_account,
    pending_status,
)
from okpay.ledger.services import (
    PostPending,
    TransferSpec,
    VoidPending,
    account_freeze,
    account_open,
    owner_accounts_freeze,
    pending_create,
    pending_expire_due,
    pending_post,
    pending_void,
    system_account,
    system_accounts_ensure,
    transfer_create,
    transfers_post,
)


@pytest.fixture
def wallets(alice, bob):  # type: ignore[no-untyped-def]
    """alice's wallet with 10,000 fen from funding; bob's empty wallet."""
    a = account_open(owner=alice)
    b = account_open(owner=bob)
    funding = system_account("funding", "CNY")
    transfer_create(debit_account=funding, credit_account=a, amount=10_000, currency="CNY", code="top_up")
    return a, b, funding


def bal(account: Account) -> tuple[int, int, int]:
    b = account_balance(account)
    return b.available, b.held, b.total


def assert_sound() -> None:
    report = ledger_check()
    assert report.violations == []


def test_open_account_is_idempotent_and_wallets_cannot_be_overdrawn(alice) -> None:
    first = account_open(owner=alice, currency="CNY")
    again = account_open(owner=alice, currency="CNY")
    usd = account_open(owner=alice, currency="USD")
    assert first.pk == again.pk != usd.pk
    assert first.debits_must_not_exceed_credits is True
    assert first.public_id.startswith("acc_")
    with pytest.raises(errors.InvalidTransfer):
        account_open(owner=alice, currency="cny")


def test_system_accounts_one_per_kind_and_currency(db) -> None:
    made = system_accounts_ensure("CNY")
    assert sorted(made) == ["fees", "funding", "payout", "suspense"]
    assert system_account("funding", "CNY").pk == made["funding"].pk
    assert made["funding"].owner_id is None and made["funding"].debits_must_not_exceed_credits is False
    assert system_account("funding", "USD").pk != made["funding"].pk
    with pytest.raises(errors.InvalidTransfer):
        system_account("wallet", "CNY")


def test_transfer_moves_money_and_records_it(wallets) -> None:
    a, b, funding = wallets
    t = transfer_create(debit_account=a, credit_account=b, amount=2_500, currency="CNY", reference="txn_1", note="hi")
    assert (t.kind, t.amount, t.debit_account_id, t.credit_account_id) == ("single", 2_500, a.pk, b.pk)
    assert Transfer.objects.get(public_id=t.public_id).reference == "txn_1"
    assert bal(a) == (7_500, 0, 7_500)
    assert bal(b) == (2_500, 0, 2_500)
    assert bal(funding) == (-10_000, 0, -10_000)
    assert [x.public_id for x in account_history(a)] == [t.public_id, Transfer.objects.order_by("id")[0].public_id]
    assert_sound()


def test_insufficient_funds_changes_nothing(wallets) -> None:
    a, b, _ = wallets
    with pytest.raises(errors.InsufficientFunds) as info:
        transfer_create(debit_account=a, credit_account=b, amount=10_001, currency="CNY")
    assert info.value.code == "insufficient_funds" and info.value.index == 0
    assert bal(a) == (10_000, 0, 10_000) and bal(b) == (0, 0, 0)
    assert Transfer.objects.count() == 1


def test_frozen_account_cannot_send_but_can_receive(wallets) -> None:
    a, b, funding = wallets
    account_freeze(account=a)
    with pytest.raises(errors.AccountFrozen) as info:
        transfer_create(debit_account=a, credit_account=b, amount=1, currency="CNY")
    assert info.value.code == "account_frozen"
    transfer_create(debit_account=funding, credit_account=a, amount=5, currency="CNY")
    assert bal(a) == (10_005, 0, 10_005)
    account_freeze(account=a, frozen=False)
    transfer_create(debit_account=a, credit_account=b, amount=5, currency="CNY")
    assert bal(b) == (5, 0, 5)


def test_currency_mismatch(wallets, alice) -> None:
    a, b, _ = wallets
    usd = account_open(owner=alice, currency="USD")
    with pytest.raises(errors.CurrencyMismatch) as info:
        transfer_create(debit_account=a, credit_account=usd, amount=1, currency="CNY")
    assert info.value.code == "currency_mismatch"
    with pytest.raises(errors.CurrencyMismatch):
        transfer_create(debit_account=a, credit_account=b, amount=1, currency="USD")


@pytest.mark.parametrize("amount", [0, -1, 2**63, 1.5, "100", True])
def test_invalid_amounts_are_refused(wallets, amount) -> None:
    a, b, _ = wallets
    with pytest.raises(errors.InvalidTransfer) as info:
        transfer_create(debit_account=a, credit_account=b, amount=amount, currency="CNY")
    assert info.value.code == "invalid_transfer" and info.value.param == "amount"


def test_same_account_and_unknown_account_are_refused(wallets) -> None:
    a, _, _ = wallets
    with pytest.raises(errors.InvalidTransfer):
        transfer_create(debit_account=a, credit_account=a, amount=1, currency="CNY")
    with pytest.raises(errors.AccountNotFound) as info:
        transfer_create(debit_account=a, credit_account=999_999, amount=1, currency="CNY")
    assert info.value.code == "account_not_found" and info.value.param == "credit_account"


def test_credits_must_not_exceed_debits(db) -> None:
    limit = account_open(owner=None, kind="credit_line", currency="CNY", credits_must_not_exceed_debits=True)
    other = system_account("suspense", "CNY")
    transfer_create(debit_account=limit, credit_account=other, amount=100, currency="CNY")
    with pytest.raises(errors.ExceedsDebits) as info:
        transfer_create(debit_account=other, credit_account=limit, amount=101, currency="CNY")
    assert info.value.code == "exceeds_debits"
    transfer_create(debit_account=other, credit_account=limit, amount=100, currency="CNY")


def test_client_id_is_idempotent_and_duplicate_with_other_fields_is_refused(wallets) -> None:
    a, b, _ = wallets
    first = transfer_create(debit_account=a, credit_account=b, amount=100, currency="CNY", id="pay-1")
    again = transfer_create(debit_account=a, credit_account=b, amount=100, currency="CNY", id="pay-1")
    assert again.pk == first.pk and again.public_id == "pay-1"
    assert bal(a) == (9_900, 0, 9_900)
    with pytest.raises(errors.DuplicateTransferId) as info:
        transfer_create(debit_account=a, credit_account=b, amount=101, currency="CNY", id="pay-1")
    assert info.value.code == "duplicate_transfer_id"
    assert bal(a) == (9_900, 0, 9_900)


def test_linked_batch_is_all_or_nothing_and_reports_the_failing_index(wallets) -> None:
    a, b, _ = wallets
    fees = system_account("fees", "CNY")
    with pytest.raises(errors.InsufficientFunds) as info:
        transfers_post([
            TransferSpec(a, b, 6_000, "CNY"),
            TransferSpec(a, fees, 100, "CNY"),
            TransferSpec(a, b, 4_000, "CNY"),  # 6,000 + 100 + 4,000 > 10,000
        ])
    assert info.value.index == 2
    assert bal(a) == (10_000, 0, 10_000) and Transfer.objects.count() == 1
    done = transfers_post([TransferSpec(a, b, 6_000, "CNY", code="payment"),
                           TransferSpec(b, fees, 60, "CNY", code="fee")])
    assert [t.code for t in done] == ["payment", "fee"]
    assert bal(b) == (5_940, 0, 5_940) and bal(fees) == (60, 0, 60)
    assert_sound()


def test_batch_is_applied_in_order(wallets) -> None:
    a, b, _ = wallets
    # b has nothing yet: paying on first, then receiving, fails at index 0.
    with pytest.raises(errors.InsufficientFunds) as info:
        transfers_post([TransferSpec(b, a, 10, "CNY"), TransferSpec(a, b, 10, "CNY")])
    assert info.value.index == 0
    transfers_post([TransferSpec(a, b, 10, "CNY"), TransferSpec(b, a, 10, "CNY")])
    assert bal(a) == (10_000, 0, 10_000)


def test_hold_post_partially_releases_the_rest(wallets) -> None:
    a, b, _ = wallets
    hold = pending_create(debit_account=a, credit_account=b, amount=3_000, currency="CNY", timeout=3600)
    assert bal(a) == (7_000, 3_000, 10_000)
    assert account_balance(b).incoming == 3_000 and bal(b) == (0, 0, 0)
    assert [h.transfer_id for h in holds_for_account(a)] == [hold.pk]
    assert pending_status(hold) == "open"
    post = pending_post(pending_id=hold.public_id, amount=1_200)
    assert (post.kind, post.amount, post.pending_id) == ("post_pending", 1_200, hold.pk)
    assert bal(a) == (8_800, 0, 8_800)
    assert bal(b) == (1_200, 0, 1_200) and account_balance(b).incoming == 0
    assert pending_status(hold) == "posted" and not PendingHold.objects.exists()
    assert_sound()


def test_hold_reserves_funds(wallets) -> None:
    a, b, _ = wallets
    pending_create(debit_account=a, credit_account=b, amount=9_000, currency="CNY")
    with pytest.raises(errors.InsufficientFunds):
        transfer_create(debit_account=a, credit_account=b, amount=1_001, currency="CNY")
    with pytest.raises(errors.InsufficientFunds):
        pending_create(debit_account=a, credit_account=b, amount=1_001, currency="CNY")


def test_void_releases_and_resolution_happens_once(wallets) -> None:
    a, b, _ = wallets
    hold = pending_create(debit_account=a, credit_account=b, amount=500, currency="CNY")
    void = pending_void(pending_id=hold)
    assert (void.kind, void.amount) == ("void_pending", 500)
    assert bal(a) == (10_000, 0, 10_000)
    with pytest.raises(errors.PendingAlreadyVoided) as info:
        pending_post(pending_id=hold.public_id)
    assert info.value.code == "pending_already_voided"
    with pytest.raises(errors.PendingAlreadyVoided):
        pending_void(pending_id=hold.public_id)
    assert_sound()


def test_post_twice_is_refused(wallets) -> None:
    a, b, _ = wallets
    hold = pending_create(debit_account=a, credit_account=b, amount=500, currency="CNY")
    pending_post(pending_id=hold.public_id)
    with pytest.raises(errors.PendingAlreadyPosted) as info:
        pending_post(pending_id=hold.public_id)
    assert info.value.code == "pending_already_posted"
    with pytest.raises(errors.PendingAlreadyPosted):
        pending_void(pending_id=hold.public_id)
    assert bal(b) == (500, 0, 500)


def test_post_with_same_client_id_is_idempotent(wallets) -> None:
    a, b, _ = wallets
    hold = pending_create(debit_account=a, credit_account=b, amount=500, currency="CNY")
    first = pending_post(pending_id=hold.public_id, id="capture-1")
    again = pending_post(pending_id=hold.public_id, id="capture-1")
    assert first.pk == again.pk
    with pytest.raises(errors.DuplicateTransferId):
        pending_post(pending_id=hold.public_id, amount=100, id="capture-1")


def test_exceeds_pending_amount(wallets) -> None:
    a, b, _ = wallets
    hold = pending_create(debit_account=a, credit_account=b, amount=500, currency="CNY")
    with pytest.raises(errors.ExceedsPendingAmount) as info:
        pending_post(pending_id=hold.public_id, amount=501)
    assert info.value.code == "exceeds_pending_amount"
    assert pending_status(hold) == "open" and bal(a) == (9_500, 500, 10_000)


def test_pending_not_found(wallets) -> None:
    a, b, _ = wallets
    single = transfer_create(debit_account=a, credit_account=b, amount=1, currency="CNY")
    for ref in ("trf_nope", single.public_id):
        with pytest.raises(errors.PendingNotFound) as info:
            pending_post(pending_id=ref)
        assert info.value.code == "pending_not_found"


def test_expiry_releases_due_holds_and_refuses_late_posts(wallets) -> None:
    a, b, _ = wallets
    due = pending_create(debit_account=a, credit_account=b, amount=700, currency="CNY", timeout=60)
    later = pending_create(debit_account=a, credit_account=b, amount=300, currency="CNY", timeout=3600)
    forever = pending_create(debit_account=a, credit_account=b, amount=100, currency="CNY")
    future = timezone.now() + timedelta(minutes=5)
    assert pending_expire_due(now=future) == 1
    assert pending_expire_due(now=future) == 0  # idempotent
    assert [pending_status(t) for t in (due, later, forever)] == ["expired", "open", "open"]
    assert bal(a) == (9_600, 400, 10_000)
    with pytest.raises(errors.PendingAlreadyExpired) as info:
        pending_post(pending_id=due.public_id)
    assert info.value.code == "pending_already_expired"
    # Past its time but not yet swept: a post is refused all the same.
    Transfer.objects.filter(pk=later.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(errors.PendingAlreadyExpired):
        pending_post(pending_id=later.public_id)
    assert_sound()


def test_frozen_account_cannot_post_its_hold_but_void_releases_it(wallets) -> None:
    a, b, _ = wallets
    hold = pending_create(debit_account=a, credit_account=b, amount=500, currency="CNY")
    account_freeze(account=a)
    with pytest.raises(errors.AccountFrozen):
        pending_post(pending_id=hold.public_id)
    pending_void(pending_id=hold.public_id)
    assert bal(a) == (10_000, 0, 10_000)


def test_batch_mixing_post_void_and_new_transfers(wallets) -> None:
    a, b, _ = wallets
    fees = system_account("fees", "CNY")
    h1 = pending_create(debit_account=a, credit_account=b, amount=1_000, currency="CNY")
    h2 = pending_create(debit_account=a, credit_account=b, amount=2_000, currency="CNY")
    out = transfers_post([PostPending(h1.public_id), VoidPending(h2.public_id), TransferSpec(b, fees, 10, "CNY")])
    assert [t.kind for t in out] == ["post_pending", "void_pending", "single"]
    assert bal(a) == (9_000, 0, 9_000) and bal(b) == (990, 0, 990)
    with pytest.raises(errors.InvalidTransfer):
        transfers_post([PostPending(h1.public_id), VoidPending(h1.public_id)])
    with pytest.raises(errors.PendingAlreadyPosted) as info:
        transfers_post([TransferSpec(a, b, 1, "CNY"), PostPending(h1.public_id)])
    assert info.value.index == 1
    assert_sound()


def test_database_constraints_hold_even_if_code_is_bypassed(wallets) -> None:
    a, b, _ = wallets
    with pytest.raises(IntegrityError), transaction.atomic():
        Account.objects.filter(pk=a.pk).update(debits_posted=20_000)  # wallet overdrawn
    now = timezone.now()
    with pytest.raises(IntegrityError), transaction.atomic():
        Transfer.objects.create(debit_account=a, credit_account=b, amount=0, currency="CNY", created_at=now)
    with pytest.raises(IntegrityError), transaction.atomic():
        Transfer.objects.create(debit_account=a, credit_account=a, amount=1, currency="CNY", created_at=now)
    t = Transfer.objects.first()
    assert t is not None
    with pytest.raises(IntegrityError), transaction.atomic():
        Transfer.objects.create(public_id=t.public_id, debit_account=a, credit_account=b, amount=1, currency="CNY",
                                created_at=now)
    hold = pending_create(debit_account=a, credit_account=b, amount=5, currency="CNY")
    pending_void(pending_id=hold.public_id)
    with pytest.raises(IntegrityError), transaction.atomic():
        Transfer.objects.create(kind="post_pending", pending=hold, debit_account=a, credit_account=b, amount=5,
                                currency="CNY", created_at=now)


@pytest.mark.parametrize("pending", [False, True], ids=["single", "pending"])
@pytest.mark.parametrize("refused", ["first", "second"])
def test_a_refused_fast_path_undoes_its_own_writes(wallets, pending, refused) -> None:
    """The fast path writes the transfer (and its hold), then updates the accounts in id order;
    when an update's WHERE refuses, it takes back what it wrote itself, so the general path can
    name the error in the same transaction with no savepoint to roll back to. ``second``: the
    account with the lower id (the credit here) was already updated when the debit refused."""
    from okpay.ledger.services import _Engine, _normalize

    a, b, _ = wallets  # a (lower id) holds 10,000; b is empty
    debit, credit, amount = (a, b, 10_001) if refused == "first" else (b, a, 1)
    transfers, holds = Transfer.objects.count(), PendingHold.objects.count()
    ops = _normalize([TransferSpec(debit, credit, amount, "CNY", pending=pending, id="refused")])
    with transaction.atomic():
        assert _Engine(ops, timezone.now(), fast=True).run() is None
        assert (Transfer.objects.count(), PendingHold.objects.count()) == (transfers, holds)
        assert (bal(a), bal(b)) == ((10_000, 0, 10_000), (0, 0, 0))
    with pytest.raises(errors.InsufficientFunds), transaction.atomic():
        transfers_post([TransferSpec(debit, credit, amount, "CNY", pending=pending, id="refused")], savepoint=False)
    assert (bal(a), bal(b)) == ((10_000, 0, 10_000), (0, 0, 0))
    assert not Transfer.objects.filter(public_id="refused").exists()
    assert_sound()


def test_savepoint_false_nests_without_a_savepoint(wallets) -> None:
    from django.test.utils import CaptureQueriesContext

    a, b, _ = wallets
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        transfers_post([TransferSpec(a, b, 5, "CNY")], savepoint=False)
        transfers_post([TransferSpec(a, b, 5, "CNY")])
    savepoints = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("SAVEPOINT")]
    assert len(savepoints) == 1  # the second call's only
    assert bal(b) == (10, 0, 10)


def test_contention_inside_a_callers_transaction_propagates_for_the_caller_to_retry(wallets, monkeypatch) -> None:
    """Inside an outer atomic the ledger cannot retry: the transient error reaches the caller."""
    from django.db import OperationalError

    from okpay.ledger import services

    a, b, _ = wallets
    calls = []

    class Deadlock(Exception):
        sqlstate = "40P01"

    def boom(self):  # type: ignore[no-untyped-def]
        calls.append(1)
        raise OperationalError("deadlock detected") from Deadlock()

    monkeypatch.setattr(services._Engine, "run", boom)
    assert connection.in_atomic_block
    with pytest.raises(OperationalError):
        transfer_create(debit_account=a, credit_account=b, amount=1, currency="CNY")
    assert len(calls) == 1


@pytest.mark.django_db(transaction=True)
def test_contention_is_retried_when_the_ledger_owns_the_transaction(monkeypatch) -> None:
    from django.db import OperationalError

    from okpay.ledger import services

    funding = system_account("funding", "CNY")
    a = account_open(owner=None, kind="retry", currency="CNY")
    real_run = services._Engine.run
    calls = []

    def flaky(self):  # type: ignore[no-untyped-def]
        calls.append(1)
        if len(calls) < 3:
            raise OperationalError("database is locked")
        return real_run(self)

    monkeypatch.setattr(services._Engine, "run", flaky)
    assert not connection.in_atomic_block
    t = transfer_create(debit_account=funding, credit_account=a, amount=7, currency="CNY", id="retried")
    assert len(calls) == 3 and Transfer.objects.filter(public_id="retried").count() == 1
    assert account_balance(a).total == 7

    def always(self):  # type: ignore[no-untyped-def]
        raise OperationalError("database is locked")

    monkeypatch.setattr(services._Engine, "run", always)
    with pytest.raises(errors.LedgerBusy) as info:
        transfer_create(debit_account=funding, credit_account=a, amount=7, currency="CNY")
    assert info.value.code == "ledger_busy" and t.amount == 7


def test_balances_for_owner_and_history_paging(wallets, alice) -> None:
    a, b, funding = wallets
    ids = [transfer_create(debit_account=a, credit_account=b, amount=1, currency="CNY").pk for _ in range(5)]
    page1 = account_history(a, limit=3)
    page2 = account_history(a, limit=3, before=page1[-1].pk)
    assert [t.pk for t in page1 + page2] == [*reversed(ids), Transfer.objects.order_by("id")[0].pk]
    stored = Transfer.objects.get(pk=page1[0].pk)
    assert [(f.attname, getattr(page1[0], f.attname)) for f in Transfer._meta.concrete_fields] == [
        (f.attname, getattr(stored, f.attname)) for f in Transfer._meta.concrete_fields]
    assert [(x.currency, x.available) for x in balances_for_owner(alice)] == [("CNY", 9_995)]
    assert account_history(funding)[0].credit_account_id == a.pk


def test_owner_freeze_stops_every_account_of_the_owner(wallets, alice) -> None:
    a, b, _ = wallets
    usd = account_open(owner=alice, currency="USD")
    transfer_create(debit_account=system_account("funding", "USD"), credit_account=usd, amount=10, currency="USD")
    assert owner_accounts_freeze(owner=alice) == 2
    for account, other, currency in ((a, b, "CNY"), (usd, system_account("payout", "USD"), "USD")):
        with pytest.raises(errors.AccountFrozen):
            transfer_create(debit_account=account, credit_account=other, amount=1, currency=currency)
    assert owner_accounts_freeze(owner=alice, frozen=False) == 2
    transfer_create(debit_account=a, credit_account=b, amount=1, currency="CNY")
