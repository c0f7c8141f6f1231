"""The ledger's write API. Every money movement in OKPay goes through these functions.

Accounts
    ``account_open(owner=, kind="wallet", currency="CNY")`` returns the owner's account of that
    kind and currency, creating it on first use (wallets may not be overdrawn:
    ``debits_must_not_exceed_credits``). ``system_account(kind, currency)`` does the same for the
    ownerless accounts each currency has: ``funding`` (the sandbox bank money comes in from),
    ``payout`` (where withdrawals go), ``fees`` and ``suspense``. ``account_freeze(account=,
    frozen=)`` stops (or lets again) money leave an account; ``owner_accounts_freeze(owner=,
    frozen=)`` does it for all of a user's accounts (self-freeze).

Transfers
    ``transfers_post([...])`` writes a *linked batch*: every item is applied in order, against
    the balances the previous items left, and the batch commits whole or not at all. The first
    item that fails raises its typed error (``okpay.ledger.errors``) with ``error.index`` set to
    its position. Items are:

    - ``TransferSpec(debit_account=, credit_account=, amount=, currency=, id=, code=, pending=,
      timeout=, reference=, actor=, note=)`` — a transfer; with ``pending=True`` a *hold*: the
      amount is reserved on both accounts (``*_pending``) until posted, voided or expired
      (``timeout`` seconds after creation, if given);
    - ``PostPending(pending_id=, amount=None, id=)`` — post a hold, fully or partly (the rest
      is released);
    - ``VoidPending(pending_id=, id=)`` — release a hold.

    A hold is resolved at most once: a second post/void raises ``PendingAlreadyPosted``,
    ``PendingAlreadyVoided`` or ``PendingAlreadyExpired``; posting after the hold's expiry time
    raises ``PendingAlreadyExpired`` even before the sweep has expired it.

    Shorthands for one item: ``transfer_create(...)``, ``pending_create(...)``,
    ``pending_post(...)``, ``pending_void(...)``. ``pending_expire_due()`` expires every hold
    whose time has come (a worker sweep).

Idempotency
    ``id`` is the client's transfer id (``trf_…`` is generated when omitted) and is unique. Sending
    an id again with the same fields is a no-op that returns the stored transfer; with different
    fields it raises ``DuplicateTransferId``.

Rules
    - amounts are positive integers in minor units; both accounts must have the transfer's
      currency (``CurrencyMismatch``); an account cannot send money while frozen
      (``AccountFrozen``) — voids and expiries still release holds back to it;
    - ``debits_must_not_exceed_credits`` accounts (wallets) cannot go below zero available
      (``InsufficientFunds``); ``credits_must_not_exceed_debits`` ones cannot be credited past
      their debits (``ExceedsDebits``). CHECK constraints in the database enforce the same.

Concurrency
    One database transaction per call. A batch of one new transfer takes a fast path: insert
    the transfer, then one conditional ``UPDATE`` per account in id order (the debit's checks in
    its ``WHERE``; the credit side is a plain increment, so a hot merchant account is held only
    from its update to the commit); if a condition fails, the attempt is rolled back and redone
    on the general path, which names the error. The general path: transfer rows are inserted
    first (they lock nothing that others wait for); then the accounts are locked in id order
    (``SELECT … ORDER BY id FOR NO KEY UPDATE`` on PostgreSQL — ``select_for_update(no_key=True)``,
    the lock an UPDATE takes, which does not block other transactions' foreign-key checks on the
    same account — and ``BEGIN IMMEDIATE`` on SQLite), checked in Python in batch order, and
    changed with relative updates (``col = col + delta``, like ``F()``) in one statement; then
    commit. Holds are claimed
    by deleting their ``PendingHold`` row before the accounts are locked, so two posts of one
    hold serialise on that row and exactly one wins.

    Lock waits, deadlocks and serialization failures are retried (``OKPAY_LEDGER_RETRIES``
    times, with jittered backoff) when the call owns the transaction, and raise ``LedgerBusy``
    if they persist. Called inside a caller's ``transaction.atomic()`` it cannot retry alone: the
    transient ``django.db.OperationalError`` (deadlock 40P01, serialization 40001, lock 55P03,
    SQLite "database is locked") propagates unchanged and the caller retries its whole
    transaction (``okpay.core.db.retry_transient`` does, for API POSTs).

    Inside a caller's transaction a call is a savepoint, so that a caller may catch a refusal
    (``InsufficientFunds``…) and go on. ``transfers_post(items, savepoint=False)`` is for a caller
    whose transaction is rolled back whole on any error: no savepoint, two round trips fewer. The
    ledger itself never needs one: a refused fast path undoes its own writes (below).

Reads live in ``okpay.ledger.selectors`` (balances, history, holds).
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from django.conf import settings
from django.db import DatabaseError, IntegrityError, connections, transaction
from django.utils import timezone

from okpay.ledger.db import DriverCursor
from okpay.ledger.errors import (
    AccountFrozen,
    AccountNotFound,
    CurrencyMismatch,
    DuplicateTransferId,
    ExceedsDebits,
    ExceedsPendingAmount,
    InsufficientFunds,
    InvalidTransfer,
    LedgerBusy,
    LedgerError,
    PendingAlreadyExpired,
    PendingAlreadyPosted,
    PendingAlreadyVoided,
    PendingNotFound,
)
from okpay.ledger.models import (
    SYSTEM_KINDS,
    TRANSFER_COLUMNS,
    Account,
    AccountKind,
    PendingHold,
    Transfer,
    TransferKind,
    new_transfer_id,
    transfer_from_row,
    transfer_from_values,
)

DB = "default"
MAX_AMOUNT = 2**63 - 1
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_SINGLE = TransferKind.SINGLE.value
_PENDING = TransferKind.PENDING.value
_POST = TransferKind.POST_PENDING.value
_VOID = TransferKind.VOID_PENDING.value
_EXPIRE = TransferKind.EXPIRE_PENDING.value
_ALREADY = {_POST: PendingAlreadyPosted, _VOID: PendingAlreadyVoided, _EXPIRE: PendingAlreadyExpired}
# PostgreSQL: serialization_failure, deadlock_detected, lock_not_available.
_RETRY_SQLSTATES = {"40001", "40P01", "55P03"}

T = TypeVar("T")


# --- Batch items ------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class TransferSpec:
    """A transfer to write; ``pending=True`` makes it a hold."""

    debit_account: Account | int
    credit_account: Account | int
    amount: int
    currency: str
    id: str | None = None
    code: str = "transfer"
    pending: bool = False
    timeout: int | timedelta | None = None
    reference: str = ""
    actor: str = ""
    note: str = ""


@dataclass(frozen=True, slots=True)
class PostPending:
    """Post a hold: ``amount`` (≤ the held amount, default all of it) moves, the rest is released."""

    pending_id: str | Transfer
    amount: int | None = None
    id: str | None = None
    code: str | None = None
    reference: str | None = None
    actor: str = ""
    note: str = ""


@dataclass(frozen=True, slots=True)
class VoidPending:
    """Release a hold."""

    pending_id: str | Transfer
    id: str | None = None
    code: str | None = None
    reference: str | None = None
    actor: str = ""
    note: str = ""


BatchItem = TransferSpec | PostPending | VoidPending


# --- Accounts ---------------------------------------------------------------------------------

def _check_currency(currency: str) -> str:
    if not isinstance(currency, str) or not _CURRENCY.match(currency):
        raise InvalidTransfer(f"{currency!r} is not an ISO 4217 currency code.", param="currency")
    return currency


def account_open(*, owner: Any = None, kind: str = AccountKind.WALLET, currency: str = "CNY",
                 debits_must_not_exceed_credits: bool | None = None,
                 credits_must_not_exceed_debits: bool = False) -> Account:
    """The account of ``owner`` (a user, or ``None`` for a system account) of this kind and
    currency, created on first use. Wallets and fee accounts default to
    ``debits_must_not_exceed_credits``; flags of an existing account are left as they are."""
    _check_currency(currency)
    if not kind or len(kind) > 32:
        raise InvalidTransfer("An account kind is 1 to 32 characters.", param="kind")
    owner_id = getattr(owner, "pk", owner)
    if debits_must_not_exceed_credits is None:
        debits_must_not_exceed_credits = kind in (AccountKind.WALLET, AccountKind.FEES) and not (
            credits_must_not_exceed_debits)
    existing = Account.objects.filter(owner_id=owner_id, kind=kind, currency=currency).first()
    if existing is not None:
        return existing
    now = timezone.now()
    try:
        with transaction.atomic(using=DB):
            return Account.objects.create(
                owner_id=owner_id, kind=kind, currency=currency, created_at=now, updated_at=now,
                debits_must_not_exceed_credits=debits_must_not_exceed_credits,
                credits_must_not_exceed_debits=credits_must_not_exceed_debits,
            )
    except IntegrityError:
        # Opened concurrently by someone else: theirs is as good as ours.
        return Account.objects.get(owner_id=owner_id, kind=kind, currency=currency)


def system_account(kind: str, currency: str = "CNY") -> Account:
    """The ownerless ``funding``/``payout``/``fees``/``suspense`` account of a currency."""
    if kind not in SYSTEM_KINDS:
        raise InvalidTransfer(f"{kind!r} is not a system account kind.", param="kind")
    return account_open(owner=None, kind=kind, currency=currency)


def system_accounts_ensure(currency: str = "CNY") -> dict[str, Account]:
    return {str(kind): system_account(kind, currency) for kind in SYSTEM_KINDS}


def account_freeze(*, account: Account | int, frozen: bool = True) -> None:
    """Stop (``frozen=True``) or allow again money leaving ``account``."""
    pk = account.pk if isinstance(account, Account) else account
    if not Account.objects.filter(pk=pk).update(frozen=frozen, updated_at=timezone.now()):
        raise AccountNotFound()
    if isinstance(account, Account):
        account.frozen = frozen


def owner_accounts_freeze(*, owner: Any, frozen: bool = True) -> int:
    """Freeze (or unfreeze) every account of ``owner``, e.g. when the customer self-freezes;
    returns how many accounts changed."""
    owner_id = getattr(owner, "pk", owner)
    return Account.objects.filter(owner_id=owner_id).exclude(frozen=frozen).update(
        frozen=frozen, updated_at=timezone.now())


# --- Transactions and retries -----------------------------------------------------------------

def _is_transient(exc: DatabaseError) -> bool:
    if isinstance(exc, IntegrityError):
        return False
    if getattr(exc.__cause__, "sqlstate", None) in _RETRY_SQLSTATES:
        return True
    text = str(exc).lower()
    return "database is locked" in text or "database table is locked" in text or "deadlock" in text


def _retries() -> int:
    return int(getattr(settings, "OKPAY_LEDGER_RETRIES", 8))


def run_in_transaction(fn: Callable[[], T], *, savepoint: bool = True) -> T:
    """Run ``fn`` in one transaction; retry it on transient contention when we own the
    transaction (then :class:`LedgerBusy` once the retries are spent). Inside a caller's
    transaction the transient ``OperationalError`` propagates for the caller to retry, and ``fn``
    runs in a savepoint unless ``savepoint=False`` (the caller will not recover from an error)."""
    conn = connections[DB]
    if conn.in_atomic_block:
        # The caller owns the transaction: a deadlock or lock timeout has doomed it (or at least
        # our savepoint), so the database error goes up unchanged for the caller to retry whole.
        with transaction.atomic(using=DB, savepoint=savepoint):
            return fn()
    last: DatabaseError | None = None
    for attempt in range(_retries() + 1):
        try:
            with transaction.atomic(using=DB):
                return fn()
        except DatabaseError as exc:
            if not _is_transient(exc):
                raise
            last = exc
            # Jitter, not security: spread the retries of colliding writers.
            time.sleep(random.uniform(0, min(0.25, 0.002 * 2**attempt)))  # noqa: S311  # nosec B311
    raise LedgerBusy() from last


# --- The batch engine -------------------------------------------------------------------------

@dataclass(slots=True)
class _Op:
    index: int
    kind: str
    public_id: str
    client_id: bool
    debit: int = 0
    credit: int = 0
    amount: int = 0
    currency: str = ""
    code: str = ""
    reference: str = ""
    actor: str = ""
    note: str = ""
    timeout: timedelta | None = None
    expires_at: datetime | None = None
    pending_ref: str | int | None = None  # public id (post/void) or pk (expiry) of the hold
    pending_pk: int | None = None
    pending_amount: int = 0
    post_amount: int | None = None
    user_code: str | None = None
    user_reference: str | None = None
    pk: int | None = None
    existing: Transfer | None = None
    error: LedgerError | None = None


def _amount(value: object, index: int, param: str = "amount") -> int:
    if type(value) is not int or not 0 < value <= MAX_AMOUNT:
        raise InvalidTransfer("The amount must be a positive integer of minor units.", index=index, param=param)
    return value


def _text(value: object, limit: int, index: int, param: str) -> str:
    if not isinstance(value, str) or len(value) > limit:
        raise InvalidTransfer(f"{param} must be text of at most {limit} characters.", index=index, param=param)
    return value


def _account_pk(value: object, index: int, param: str) -> int:
    if isinstance(value, Account):
        return value.pk
    if type(value) is int and value > 0:
        return value
    raise InvalidTransfer("An account is an Account or its primary key.", index=index, param=param)


def _client_id(value: str | None, index: int) -> tuple[str, bool]:
    if value is None:
        return new_transfer_id(), False
    if not isinstance(value, str) or not 0 < len(value) <= 64 or not value.isprintable():
        raise InvalidTransfer("A transfer id is 1 to 64 printable characters.", index=index, param="id")
    return value, True


def _normalize(items: Sequence[BatchItem]) -> list[_Op]:
    if not items:
        raise InvalidTransfer("A batch needs at least one transfer.")
    ops: list[_Op] = []
    seen_ids: set[str] = set()
    seen_pending: set[str | int] = set()
    for index, item in enumerate(items):
        if isinstance(item, TransferSpec):
            public_id, client = _client_id(item.id, index)
            op = _Op(index, _PENDING if item.pending else _SINGLE, public_id, client,
                     debit=_account_pk(item.debit_account, index, "debit_account"),
                     credit=_account_pk(item.credit_account, index, "credit_account"),
                     amount=_amount(item.amount, index))
            try:
                op.currency = _check_currency(item.currency)
            except InvalidTransfer as exc:
                raise exc.at(index) from None
            if op.debit == op.credit:
                raise InvalidTransfer("The debit and credit accounts must differ.", index=index,
                                      param="credit_account")
            if item.timeout is not None:
                timeout = item.timeout if isinstance(item.timeout, timedelta) else timedelta(seconds=item.timeout)
                if not item.pending or timeout <= timedelta(0) or type(item.timeout) is bool:
                    raise InvalidTransfer("Only a pending transfer has a timeout, and it is positive.",
                                          index=index, param="timeout")
                op.timeout = timeout
            op.code = _text(item.code, 40, index, "code") or "transfer"
            op.reference = _text(item.reference, 64, index, "reference")
        elif isinstance(item, PostPending | VoidPending):
            public_id, client = _client_id(item.id, index)
            op = _Op(index, _POST if isinstance(item, PostPending) else _VOID, public_id, client)
            ref = item.pending_id.public_id if isinstance(item.pending_id, Transfer) else item.pending_id
            if not isinstance(ref, str) or not ref:
                raise InvalidTransfer("pending_id is the id of a pending transfer.", index=index, param="pending_id")
            if ref in seen_pending:
                raise InvalidTransfer("A batch may resolve a pending transfer only once.", index=index,
                                      param="pending_id")
            seen_pending.add(ref)
            op.pending_ref = ref
            if isinstance(item, PostPending) and item.amount is not None:
                op.post_amount = _amount(item.amount, index)
            op.user_code = None if item.code is None else (_text(item.code, 40, index, "code") or None)
            op.user_reference = None if item.reference is None else _text(item.reference, 64, index, "reference")
        else:
            raise InvalidTransfer(f"Item {index} is not a TransferSpec, PostPending or VoidPending.", index=index)
        op.actor = _text(item.actor, 150, index, "actor")
        op.note = _text(item.note, 255, index, "note")
        if op.public_id in seen_ids:
            raise InvalidTransfer("Two transfers of the batch have the same id.", index=index, param="id")
        seen_ids.add(op.public_id)
        ops.append(op)
    return ops


_TRANSFER_COLUMNS = TRANSFER_COLUMNS
# _Engine._built lists a transfer's values in this order.
if TRANSFER_COLUMNS != ("id, public_id, kind, debit_account_id, credit_account_id, amount, currency, code, "
                        "pending_id, expires_at, reference, actor, note, created_at"):
    raise ImportError("ledger.selectors.TRANSFER_COLUMNS no longer matches _Engine._built")


def _placeholders(n: int) -> str:
    return ", ".join(["%s"] * n)


def _same(op: _Op, row: Transfer) -> bool:
    return (row.kind == op.kind and row.debit_account_id == op.debit and row.credit_account_id == op.credit
            and row.amount == op.amount and row.currency == op.currency and row.code == op.code
            and row.pending_id == op.pending_pk and row.reference == op.reference)


# The fast path of a batch of one new transfer: no read before the writes. Each account is locked
# by its own UPDATE, in id order; the debit's checks sit in the UPDATE's WHERE, and the credit side
# (a plain increment unless it keeps credits within debits) waits for nothing but its row lock,
# which it then holds only until the commit. When a WHERE refuses, the attempt undoes what it wrote
# (the transfer row, its hold, the other account's increment: all still locked by it) and the
# general path, in the same transaction, finds out precisely why. No savepoint is needed for that.
_DEBIT_SQL = ("UPDATE ledger_account SET {column} = {column} + %s, updated_at = %s WHERE id = %s "
              "AND currency = %s AND NOT frozen AND (NOT debits_must_not_exceed_credits "
              "OR credits_posted - debits_posted - debits_pending >= %s) RETURNING id")
_CREDIT_SQL = ("UPDATE ledger_account SET {column} = {column} + %s, updated_at = %s WHERE id = %s "
               "AND currency = %s AND (NOT credits_must_not_exceed_debits "
               "OR debits_posted - credits_posted - credits_pending >= %s) RETURNING id")


def _fast_column(side: str, kind: str) -> str:
    return f"{side}s_{'pending' if kind == _PENDING else 'posted'}"


_FAST_SQL = {
    (side, kind): (_DEBIT_SQL if side == "debit" else _CREDIT_SQL).format(column=_fast_column(side, kind))
    for side in ("debit", "credit") for kind in (_SINGLE, _PENDING)
}


class _Engine:
    """One attempt at applying a batch, inside the caller's transaction."""

    def __init__(self, ops: list[_Op], now: datetime, *, fast: bool = False) -> None:
        self.ops = ops
        self.now = now
        self.fast = fast and len(ops) == 1 and ops[0].pending_ref is None
        self.conn = connections[DB]
        self.pg = self.conn.vendor == "postgresql"
        self.cursor = DriverCursor(self.conn)
        self.adapt = self.conn.ops.adapt_datetimefield_value

    def run(self) -> list[Transfer] | None:
        """The stored transfers; ``None`` when the fast path was refused (and undone)."""
        try:
            return self._run()
        finally:
            self.cursor.close()

    def _run(self) -> list[Transfer] | None:
        ops = self.ops
        if self.fast:
            op = ops[0]
            self._insert()
            if op.error is not None:
                raise op.error
            if op.existing is None and not self._apply_one(op):
                return None
            return [op.existing if op.existing is not None else self._built(op)]
        if any(op.pending_ref is not None for op in ops):
            self._resolve_pending()
        self._insert()
        live = [op for op in ops if op.existing is None and op.error is None]
        failed = [op for op in ops if op.error is not None]
        if failed:
            first = min(failed, key=lambda op: op.index)
            # An earlier item may fail on balances: the batch reports whichever comes first.
            self._apply([op for op in live if op.index < first.index], check_only=True)
            raise first.error  # type: ignore[misc]
        if live:
            self._apply(live)
        return [op.existing if op.existing is not None else self._built(op) for op in ops]

    # Step 1: find the holds to resolve and claim them (before any account lock).
    def _resolve_pending(self) -> None:
        cur = self.cursor
        resolutions = [op for op in self.ops if op.pending_ref is not None]
        by_public = [op.pending_ref for op in resolutions if isinstance(op.pending_ref, str)]
        by_pk = [op.pending_ref for op in resolutions if isinstance(op.pending_ref, int)]
        client_ids = [op.public_id for op in resolutions if op.client_id]
        clauses: list[str] = []
        params: list[Any] = []
        values: list[Any]
        for column, values in (("public_id", [*by_public, *client_ids]), ("id", by_pk)):
            if values:
                clauses.append(f"{column} IN ({_placeholders(len(values))})")
                params += values
        cur.execute(f"SELECT {_TRANSFER_COLUMNS} FROM ledger_transfer WHERE {' OR '.join(clauses)}", params)  # noqa: S608  # nosec B608
        rows = [transfer_from_row(row) for row in cur.fetchall()]
        by_public_id = {row.public_id: row for row in rows}
        by_id = {row.pk: row for row in rows}
        for op in resolutions:
            ref = op.pending_ref
            pending = by_public_id.get(ref) if isinstance(ref, str) else by_id.get(ref or 0)
            if pending is None or pending.kind != _PENDING:
                op.error = PendingNotFound(index=op.index, param="pending_id")
                continue
            op.pending_pk = pending.pk
            op.pending_amount = pending.amount
            op.expires_at = pending.expires_at  # only to check a post's deadline; resolutions store none
            op.debit, op.credit, op.currency = pending.debit_account_id, pending.credit_account_id, pending.currency
            op.code = op.user_code or pending.code
            op.reference = pending.reference if op.user_reference is None else op.user_reference
            op.amount = op.post_amount if op.kind == _POST and op.post_amount is not None else pending.amount
            existing = by_public_id.get(op.public_id) if op.client_id else None
            if existing is not None:
                if _same(op, existing):
                    op.existing = existing
                else:
                    op.error = DuplicateTransferId(index=op.index, param="id")
        # Claim the holds in id order. Failures are collected, not raised at once, so that the batch
        # reports the failure of the lowest index whatever the order of the claims.
        claims = sorted((op for op in resolutions if op.existing is None and op.error is None),
                        key=lambda op: op.pending_pk or 0)
        for op in claims:
            cur.execute("DELETE FROM ledger_pendinghold WHERE transfer_id = %s RETURNING transfer_id", [op.pending_pk])
            claimed = cur.fetchone() is not None
            deadline, op.expires_at = op.expires_at, None
            if claimed:
                if op.kind == _POST and op.amount > op.pending_amount:
                    op.error = ExceedsPendingAmount(index=op.index, param="amount")
                elif op.kind == _POST and deadline is not None and deadline <= self.now:
                    op.error = PendingAlreadyExpired(index=op.index, param="pending_id")
                continue
            cur.execute(f"SELECT {_TRANSFER_COLUMNS} FROM ledger_transfer WHERE pending_id = %s", [op.pending_pk])  # noqa: S608  # nosec B608
            row = cur.fetchone()
            if row is None:
                op.error = PendingNotFound("The pending transfer has no open hold.", index=op.index, param="pending_id")
                continue
            resolution = transfer_from_row(row)
            if op.client_id and resolution.public_id == op.public_id and _same(op, resolution):
                op.existing = resolution  # our own earlier attempt, committed meanwhile
            else:
                op.error = _ALREADY[resolution.kind](index=op.index, param="pending_id")

    # Step 2: insert the transfer rows (and the holds of new pending transfers).
    def _insert(self) -> None:
        ops = [op for op in self.ops if op.existing is None and op.error is None]
        if not ops:
            return
        now_db = self.adapt(self.now)
        values: list[Any] = []
        for op in ops:
            if op.timeout is not None:
                op.expires_at = self.now + op.timeout
            values += [op.public_id, op.kind, op.debit, op.credit, op.amount, op.currency, op.code, op.pending_pk,
                       self.adapt(op.expires_at) if op.expires_at else None, op.reference, op.actor, op.note, now_db]
        rows = ", ".join(["(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"] * len(ops))
        self.cursor.execute(
            "INSERT INTO ledger_transfer (public_id, kind, debit_account_id, credit_account_id, amount, currency, "  # noqa: S608  # nosec B608
            "code, pending_id, expires_at, reference, actor, note, created_at) VALUES " + rows
            + " ON CONFLICT (public_id) DO NOTHING RETURNING id, public_id", values)
        ids = dict((public_id, pk) for pk, public_id in self.cursor.fetchall())  # noqa: C402
        missing = []
        for op in ops:
            op.pk = ids.get(op.public_id)
            if op.pk is None:
                missing.append(op)
        if missing:
            self.cursor.execute(f"SELECT {_TRANSFER_COLUMNS} FROM ledger_transfer WHERE public_id IN "  # noqa: S608  # nosec B608
                                f"({_placeholders(len(missing))})", [op.public_id for op in missing])
            found = {row[1]: transfer_from_row(row) for row in self.cursor.fetchall()}
            for op in missing:
                existing = found.get(op.public_id)
                if existing is None:  # pragma: no cover - the conflicting row vanished: a rolled-back writer
                    raise LedgerBusy(index=op.index)
                if _same(op, existing) and op.pending_pk is None:
                    op.existing = existing
                else:  # a resolution's id that is taken by another transfer cannot be a replay
                    op.error = DuplicateTransferId(index=op.index, param="id")
        holds = [op for op in ops if op.kind == _PENDING and op.existing is None and op.error is None]
        if holds:
            params: list[Any] = []
            for op in holds:
                params += [op.pk, op.debit, op.amount, self.adapt(op.expires_at) if op.expires_at else None]
            self.cursor.execute(
                "INSERT INTO ledger_pendinghold (transfer_id, debit_account_id, amount, expires_at) VALUES "  # noqa: S608  # nosec B608
                + ", ".join(["(%s, %s, %s, %s)"] * len(holds)), params)

    # Step 3: lock the accounts in id order, check every item in order, apply the net deltas.
    def _apply(self, ops: list[_Op], *, check_only: bool = False) -> None:
        if not ops:
            return
        cur = self.cursor
        ids = sorted({op.debit for op in ops} | {op.credit for op in ops})
        cur.execute(
            "SELECT id, currency, frozen, debits_must_not_exceed_credits, credits_must_not_exceed_debits, "  # noqa: S608  # nosec B608
            "debits_posted, credits_posted, debits_pending, credits_pending FROM ledger_account "
            f"WHERE id IN ({_placeholders(len(ids))}) ORDER BY id" + (" FOR NO KEY UPDATE" if self.pg else ""), ids)
        accounts = {row[0]: list(row) for row in cur.fetchall()}
        start = {pk: row[5:9] for pk, row in accounts.items()}
        for op in ops:
            debit, credit = accounts.get(op.debit), accounts.get(op.credit)
            if debit is None:
                raise AccountNotFound(index=op.index, param="debit_account")
            if credit is None:
                raise AccountNotFound(index=op.index, param="credit_account")
            if debit[1] != op.currency or credit[1] != op.currency:
                raise CurrencyMismatch(index=op.index, param="currency")
            amount = op.amount
            kind = op.kind
            if kind in (_SINGLE, _PENDING):
                if debit[2]:
                    raise AccountFrozen(index=op.index, param="debit_account")
                slot = 5 if kind == _SINGLE else 7
                debit[slot] += amount
                credit[slot + 1] += amount
                if debit[3] and debit[5] + debit[7] > debit[6]:
                    raise InsufficientFunds(index=op.index, param="amount")
                if credit[4] and credit[6] + credit[8] > credit[5]:
                    raise ExceedsDebits(index=op.index, param="amount")
            else:
                if kind == _POST and debit[2]:
                    raise AccountFrozen(index=op.index, param="debit_account")
                debit[7] -= op.pending_amount
                credit[8] -= op.pending_amount
                if kind == _POST:
                    debit[5] += amount
                    credit[6] += amount
        if check_only:
            return
        changed = []
        for pk in ids:
            row, before = accounts[pk], start[pk]
            delta = (row[5] - before[0], row[6] - before[1], row[7] - before[2], row[8] - before[3])
            if any(delta):
                changed.append((pk, delta))
        if not changed:
            return
        params: list[Any] = []
        sets = []
        for slot, column in enumerate(("debits_posted", "credits_posted", "debits_pending", "credits_pending")):
            cases = []
            for pk, delta in changed:
                if delta[slot]:
                    cases.append("WHEN %s THEN %s")
                    params += [pk, delta[slot]]
            if cases:
                sets.append(f"{column} = {column} + CASE id {' '.join(cases)} ELSE 0 END")
        params.append(self.adapt(self.now))
        params += [pk for pk, _ in changed]
        cur.execute(f"UPDATE ledger_account SET {', '.join(sets)}, updated_at = %s "  # noqa: S608  # nosec B608
                    f"WHERE id IN ({_placeholders(len(changed))})", params)

    def _apply_one(self, op: _Op) -> bool:
        """The fast path's account updates; False when a WHERE refused, this attempt's writes undone."""
        now = self.adapt(self.now)
        done: list[tuple[int, str]] = []
        for pk in sorted((op.debit, op.credit)):
            side = "debit" if pk == op.debit else "credit"
            self.cursor.execute(_FAST_SQL[(side, op.kind)], [op.amount, now, pk, op.currency, op.amount])
            if self.cursor.fetchone() is None:
                self._undo_one(op, done)
                return False
            done.append((pk, side))
        return True

    def _undo_one(self, op: _Op, done: list[tuple[int, str]]) -> None:
        """Take back what a refused fast path wrote. This transaction still holds the row lock of
        every row involved (its own new rows, the account it updated), so nobody saw or built on
        them; the account keeps only a newer ``updated_at``."""
        cur = self.cursor
        for pk, side in done:
            column = _fast_column(side, op.kind)
            cur.execute(f"UPDATE ledger_account SET {column} = {column} - %s WHERE id = %s",  # noqa: S608  # nosec B608
                        [op.amount, pk])
        if op.kind == _PENDING:
            cur.execute("DELETE FROM ledger_pendinghold WHERE transfer_id = %s", [op.pk])
        cur.execute("DELETE FROM ledger_transfer WHERE id = %s", [op.pk])

    def _built(self, op: _Op) -> Transfer:
        return transfer_from_values([op.pk, op.public_id, op.kind, op.debit, op.credit, op.amount, op.currency, op.code,
                          op.pending_pk, op.expires_at, op.reference, op.actor, op.note, self.now])


def _execute(ops: list[_Op], *, savepoint: bool = True) -> list[Transfer]:
    def attempt() -> list[Transfer]:
        # The fast path first; refused (and undone), the general path in the same transaction.
        for fast in (True, False):
            for op in ops:  # each attempt, and a retry, starts again from the normalized items
                op.existing = op.pk = op.expires_at = op.error = None
            done = _Engine(ops, timezone.now(), fast=fast).run()
            if done is not None:
                return done
        raise AssertionError("the general path returns the transfers or raises")  # pragma: no cover

    return run_in_transaction(attempt, savepoint=savepoint)


# --- Public write functions -------------------------------------------------------------------

def transfers_post(items: Sequence[BatchItem], *, savepoint: bool = True) -> list[Transfer]:
    """Apply a linked batch, all or nothing; returns one stored transfer per item, in order.
    ``savepoint=False`` inside a caller's transaction that is rolled back whole on any error."""
    return _execute(_normalize(items), savepoint=savepoint)


def transfer_create(*, debit_account: Account | int, credit_account: Account | int, amount: int,
                    currency: str, id: str | None = None, code: str = "transfer", reference: str = "",
                    actor: str = "", note: str = "") -> Transfer:
    """Move ``amount`` now (a batch of one)."""
    spec = TransferSpec(debit_account, credit_account, amount, currency, id=id, code=code, reference=reference,
                        actor=actor, note=note)
    return _execute(_normalize([spec]))[0]


def pending_create(*, debit_account: Account | int, credit_account: Account | int, amount: int, currency: str,
                   id: str | None = None, timeout: int | timedelta | None = None, code: str = "transfer",
                   reference: str = "", actor: str = "", note: str = "") -> Transfer:
    """Hold ``amount``: reserved on both accounts until posted, voided or expired."""
    spec = TransferSpec(debit_account, credit_account, amount, currency, id=id, code=code, pending=True,
                        timeout=timeout, reference=reference, actor=actor, note=note)
    return _execute(_normalize([spec]))[0]


def pending_post(*, pending_id: str | Transfer, amount: int | None = None, id: str | None = None,
                 actor: str = "", note: str = "") -> Transfer:
    """Post a hold, fully (``amount=None``) or partly; the rest is released."""
    return _execute(_normalize([PostPending(pending_id, amount=amount, id=id, actor=actor, note=note)]))[0]


def pending_void(*, pending_id: str | Transfer, id: str | None = None, actor: str = "", note: str = "") -> Transfer:
    """Release a hold."""
    return _execute(_normalize([VoidPending(pending_id, id=id, actor=actor, note=note)]))[0]


def pending_expire_due(*, now: datetime | None = None, limit: int = 1000, batch: int = 100) -> int:
    """Expire holds whose ``expires_at`` has passed; returns how many. Safe to run anywhere at
    once: each chunk claims its holds with ``select_for_update(skip_locked=True)``."""
    expired = 0

    def chunk() -> int:
        moment = now or timezone.now()
        due = list(PendingHold.objects.select_for_update(skip_locked=True).filter(expires_at__lte=moment)
                   .order_by("transfer_id").values_list("transfer_id", flat=True)[:batch])
        if not due:
            return 0
        ops = [_Op(i, _EXPIRE, new_transfer_id(), False, pending_ref=pk, actor="system:expiry")
               for i, pk in enumerate(due)]
        engine = _Engine(ops, moment)
        engine.run()
        return len(ops)

    while expired < limit:
        done = run_in_transaction(chunk)
        if not done:
            break
        expired += done
    return expired


__all__ = [
    "BatchItem", "PostPending", "TransferSpec", "VoidPending", "account_freeze", "account_open",
    "owner_accounts_freeze",
    "pending_create", "pending_expire_due", "pending_post", "pending_void", "run_in_transaction",
    "system_account", "system_accounts_ensure", "transfer_create", "transfers_post",
]
