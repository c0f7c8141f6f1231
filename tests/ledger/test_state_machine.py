"""Random opens, transfers, batches, holds, posts, voids, expiries and freezes, checked step by
step against a plain in-memory model of the ledger; after every step the database counters equal
the model's and ``ledger_check`` finds nothing wrong."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from okpay.ledger import errors
from okpay.ledger.checks import ledger_check
from okpay.ledger.models import Account
from okpay.ledger.services import (
    PostPending,
    TransferSpec,
    VoidPending,
    account_freeze,
    account_open,
    pending_create,
    pending_expire_due,
    pending_post,
    pending_void,
    system_account,
    transfer_create,
    transfers_post,
)

pytestmark = pytest.mark.slow
# Small amounts so that balances often land exactly on their limits.
amounts = st.integers(min_value=1, max_value=12)


@dataclass
class ModelAccount:
    pk: int
    debit_flag: bool
    credit_flag: bool
    frozen: bool = False
    c: list[int] = field(default_factory=lambda: [0, 0, 0, 0])  # dp, cp, dq, cq


@dataclass
class ModelHold:
    public_id: str
    debit: int
    credit: int
    amount: int
    expires: bool
    state: str = "open"


class LedgerMachine(RuleBasedStateMachine):
    accounts = Bundle("accounts")
    holds = Bundle("holds")

    def __init__(self) -> None:
        super().__init__()
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        self.model: dict[int, ModelAccount] = {}
        self.hold_model: dict[str, ModelHold] = {}
        self.opened = 0
        funding = system_account("funding", "CNY")
        self.funding = funding.pk
        self.model[funding.pk] = ModelAccount(funding.pk, False, False)

    def teardown(self) -> None:
        transaction.set_rollback(True)
        self._atomic.__exit__(None, None, None)

    # -- the model's rules, mirrored from the service docstring --
    def _refusal(self, c: dict[int, list[int]], debit: int, credit: int, amount: int, pending: bool) -> type | None:
        d, k = self.model[debit], self.model[credit]
        if d.frozen:
            return errors.AccountFrozen
        slot = 2 if pending else 0
        c[debit][slot] += amount
        c[credit][slot + 1] += amount
        if d.debit_flag and c[debit][0] + c[debit][2] > c[debit][1]:
            return errors.InsufficientFunds
        if k.credit_flag and c[credit][1] + c[credit][3] > c[credit][0]:
            return errors.ExceedsDebits
        return None

    def _copy(self) -> dict[int, list[int]]:
        return {pk: list(a.c) for pk, a in self.model.items()}

    def _commit(self, c: dict[int, list[int]]) -> None:
        for pk, counters in c.items():
            self.model[pk].c = counters

    @rule(target=accounts, kind=st.sampled_from(["wallet", "wallet", "open", "credit_line"]))
    def open_account(self, kind: str) -> int:
        self.opened += 1
        account = account_open(owner=None, kind=f"t{self.opened}", currency="CNY",
                               debits_must_not_exceed_credits=kind == "wallet",
                               credits_must_not_exceed_debits=kind == "credit_line")
        self.model[account.pk] = ModelAccount(account.pk, kind == "wallet", kind == "credit_line")
        return account.pk

    @rule(account=accounts, amount=amounts)
    def fund(self, account: int, amount: int) -> None:
        self._transfer(self.funding, account, amount)

    @rule(a=accounts, b=accounts, amount=amounts)
    def transfer(self, a: int, b: int, amount: int) -> None:
        if a != b:
            self._transfer(a, b, amount)

    def _transfer(self, a: int, b: int, amount: int) -> None:
        c = self._copy()
        expected = self._refusal(c, a, b, amount, pending=False)
        try:
            transfer_create(debit_account=a, credit_account=b, amount=amount, currency="CNY")
        except errors.LedgerError as exc:
            assert type(exc) is expected, exc
        else:
            assert expected is None
            self._commit(c)

    @rule(items=st.lists(st.tuples(accounts, accounts, amounts), min_size=1, max_size=4))
    def batch(self, items: list[tuple[int, int, int]]) -> None:
        items = [item for item in items if item[0] != item[1]]
        if not items:
            return
        c = self._copy()
        expected, index = None, None
        for i, (a, b, amount) in enumerate(items):
            expected = self._refusal(c, a, b, amount, pending=False)
            if expected:
                index = i
                break
        try:
            transfers_post([TransferSpec(a, b, amount, "CNY") for a, b, amount in items])
        except errors.LedgerError as exc:
            assert (type(exc), exc.index) == (expected, index), exc
        else:
            assert expected is None
            self._commit(c)

    @rule(target=holds, a=accounts, b=accounts, amount=amounts, expires=st.booleans())
    def hold(self, a: int, b: int, amount: int, expires: bool) -> str:
        if a == b:
            return "none"
        c = self._copy()
        expected = self._refusal(c, a, b, amount, pending=True)
        try:
            t = pending_create(debit_account=a, credit_account=b, amount=amount, currency="CNY",
                               timeout=3600 if expires else None)
        except errors.LedgerError as exc:
            assert type(exc) is expected, exc
            return "none"
        assert expected is None
        self._commit(c)
        self.hold_model[t.public_id] = ModelHold(t.public_id, a, b, amount, expires)
        return t.public_id

    def _resolve(self, hold: ModelHold, kind: str, amount: int | None) -> type | None:
        if hold.state != "open":
            return {"posted": errors.PendingAlreadyPosted, "voided": errors.PendingAlreadyVoided,
                    "expired": errors.PendingAlreadyExpired}[hold.state]
        if kind == "post":
            if amount is not None and amount > hold.amount:
                return errors.ExceedsPendingAmount
            if self.model[hold.debit].frozen:
                return errors.AccountFrozen
        return None

    def _apply_resolution(self, hold: ModelHold, posted: int) -> None:
        d, k = self.model[hold.debit].c, self.model[hold.credit].c
        d[2] -= hold.amount
        k[3] -= hold.amount
        d[0] += posted
        k[1] += posted

    @rule(public_id=holds, amount=st.none() | amounts)
    def post(self, public_id: str, amount: int | None) -> None:
        hold = self.hold_model.get(public_id)
        if hold is None:
            return
        expected = self._resolve(hold, "post", amount)
        try:
            t = pending_post(pending_id=public_id, amount=amount)
        except errors.LedgerError as exc:
            assert type(exc) is expected, exc
            return
        assert expected is None and t.amount == (amount or hold.amount)
        self._apply_resolution(hold, t.amount)
        hold.state = "posted"

    @rule(public_id=holds)
    def void(self, public_id: str) -> None:
        hold = self.hold_model.get(public_id)
        if hold is None:
            return
        expected = self._resolve(hold, "void", None)
        try:
            pending_void(pending_id=public_id)
        except errors.LedgerError as exc:
            assert type(exc) is expected, exc
            return
        assert expected is None
        self._apply_resolution(hold, 0)
        hold.state = "voided"

    @rule(first=holds, second=holds)
    def post_and_void_in_one_batch(self, first: str, second: str) -> None:
        h1, h2 = self.hold_model.get(first), self.hold_model.get(second)
        if h1 is None or h2 is None or h1 is h2:
            return
        expected, index = self._resolve(h1, "post", None), 0
        if expected is None:
            expected, index = self._resolve(h2, "void", None), 1
        try:
            transfers_post([PostPending(first), VoidPending(second)])
        except errors.LedgerError as exc:
            assert (type(exc), exc.index) == (expected, index), exc
            return
        assert expected is None
        self._apply_resolution(h1, h1.amount)
        self._apply_resolution(h2, 0)
        h1.state, h2.state = "posted", "voided"

    @rule()
    def expire(self) -> None:
        count = pending_expire_due(now=timezone.now() + timedelta(hours=2))
        due = [h for h in self.hold_model.values() if h.state == "open" and h.expires]
        assert count == len(due)
        for hold in due:
            self._apply_resolution(hold, 0)
            hold.state = "expired"

    @rule(account=accounts, frozen=st.booleans())
    def freeze(self, account: int, frozen: bool) -> None:
        account_freeze(account=account, frozen=frozen)
        self.model[account].frozen = frozen

    @invariant()
    def counters_match_the_model(self) -> None:
        rows = Account.objects.filter(pk__in=self.model).values_list(
            "pk", "debits_posted", "credits_posted", "debits_pending", "credits_pending")
        assert {pk: list(c) for pk, *c in rows} == {pk: a.c for pk, a in self.model.items()}

    @invariant()
    def ledger_is_sound(self) -> None:
        assert ledger_check().violations == []


def test_ledger_against_a_model(db) -> None:
    run_state_machine_as_test(LedgerMachine, settings=settings(
        max_examples=int(os.environ.get("OKPAY_TEST_LEDGER_EXAMPLES", "40")), stateful_step_count=30,
        deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]))
