"""The transfer's one-statement lookup of the payee and both wallets (decision 0004) answers as the
general path did: any case of the address finds the payee; a payee without a wallet yet, the
payer's own address, an unknown address and a closed account take the general path and get its
answers; the statements are those the decision counts. Public ids keep their format."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from okpay.core.ids import random_token
from okpay.ledger.models import Account
from okpay.payments.errors import InvalidPayment
from okpay.payments.services import transfer_create
from tests.factories import user_create
from tests.payments.conftest import assert_ledger_ok, available

pytestmark = pytest.mark.django_db


def test_any_case_of_the_address_reaches_the_payee(funded, bob) -> None:  # type: ignore[no-untyped-def]
    bob_wallet_before = available(bob)
    txn = transfer_create(sender=funded, to="  BOB@Example.COM ", amount=100)
    assert txn.status == "succeeded" and txn.counterparty_user_id == bob.pk
    assert available(bob) == bob_wallet_before + 100
    assert_ledger_ok()


def test_payee_without_a_wallet_yet_gets_one(funded, db) -> None:  # type: ignore[no-untyped-def]
    carol = user_create("carol@example.com", second_factor=False)
    assert not Account.objects.filter(owner=carol).exists()
    txn = transfer_create(sender=funded, to="carol@example.com", amount=100)
    assert txn.status == "succeeded" and available(carol) == 100
    assert_ledger_ok()


def test_own_address_is_refused(funded) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidPayment, match="yourself"):
        transfer_create(sender=funded, to=funded.email.upper(), amount=100)


def test_closed_account_is_not_a_payee(funded, bob) -> None:  # type: ignore[no-untyped-def]
    transfer_create(sender=funded, to="bob@example.com", amount=100)  # bob has a wallet
    type(bob).objects.filter(pk=bob.pk).update(closed_at=timezone.now())
    txn = transfer_create(sender=funded, to="bob@example.com", amount=100)
    # no registered payee: the money waits for the address, as the general path always did
    assert txn.status == "pending" and txn.counterparty_user_id is None


def test_one_statement_for_the_payee_and_both_wallets(funded, bob) -> None:  # type: ignore[no-untyped-def]
    transfer_create(sender=funded, to="bob@example.com", amount=100)  # wallets and usage row exist
    with CaptureQueriesContext(connection) as queries:
        transfer_create(sender=funded, to="bob@example.com", amount=100)
    reads = [q["sql"] for q in queries.captured_queries if q["sql"].lstrip().upper().startswith("SELECT")]
    assert sum('"ledger_account"' in sql.split("WHERE")[0] for sql in reads) == 1, reads
    assert not any('FROM "identity_user"' in sql for sql in reads), reads
    events = [q for q in queries.captured_queries if 'INTO "payments_transactionevent"' in q["sql"]]
    assert len(events) == 1


def test_public_ids_keep_their_format() -> None:
    tokens = {random_token() for _ in range(2000)}
    assert len(tokens) == 2000
    assert all(re.fullmatch(r"[1-9A-HJ-NP-Za-km-z]{20}", t) for t in tokens)
    assert len(set("".join(tokens))) == 58
