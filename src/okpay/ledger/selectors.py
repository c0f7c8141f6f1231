"""Reads of the ledger: balances, history pages and open holds. Each costs the same at 10 thousand
or at a million transfers (a primary-key read, or an index range scan of one page)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from okpay.ledger.db import driver_cursor
from okpay.ledger.models import TRANSFER_COLUMNS, Account, PendingHold, Transfer, transfer_from_row

DB = "default"


@dataclass(frozen=True, slots=True)
class Balance:
    """What a customer sees. For an account whose debits must not exceed its credits (a wallet):
    ``total`` = credits − debits posted; ``held`` = outgoing holds; ``available`` = total − held;
    ``incoming`` = holds in its favour not yet posted (not part of ``total``)."""

    account_id: int
    currency: str
    available: int
    held: int
    total: int
    incoming: int

    @classmethod
    def of(cls, pk: int, currency: str, debits_posted: int, credits_posted: int, debits_pending: int,
           credits_pending: int) -> Balance:
        total = credits_posted - debits_posted
        return cls(pk, currency, total - debits_pending, debits_pending, total, credits_pending)


_COUNTERS = ("id", "currency", "debits_posted", "credits_posted", "debits_pending", "credits_pending")
_BALANCE_SQL = f"SELECT {', '.join(_COUNTERS)} FROM ledger_account WHERE id = %s"  # noqa: S608  # nosec B608


def account_balance(account: Account | int) -> Balance:
    """The balance of one account, read fresh from the database."""
    pk = account.pk if isinstance(account, Account) else account
    with driver_cursor() as cursor:
        cursor.execute(_BALANCE_SQL, [pk])
        row = cursor.fetchone()
    if row is None:
        raise Account.DoesNotExist(pk)
    return Balance.of(*row)


def balances_for_owner(owner: Any) -> list[Balance]:
    """Every wallet balance of ``owner`` (a user or its pk), by currency."""
    owner_id: int = getattr(owner, "pk", owner)
    rows = Account.objects.filter(owner_id=owner_id, kind="wallet").order_by("currency").values_list(*_COUNTERS)
    return [Balance.of(*row) for row in rows]


def account_history(account: Account | int, *, limit: int = 20, before: int | None = None) -> list[Transfer]:
    """One page of the transfers that debit or credit ``account``, newest first. ``before`` is the
    keyset cursor: the id of the last transfer of the previous page."""
    pk = account.pk if isinstance(account, Account) else account
    limit = max(1, min(int(limit), 100))
    condition = "" if before is None else " AND id < %s"
    one = [pk] + ([before] if before is not None else [])
    # The newest ids from each side come from the (account, id) indexes alone; only the page's
    # own rows are then read from the table, so a page costs the same at any table size.
    sql = (f"SELECT {TRANSFER_COLUMNS} FROM ledger_transfer WHERE id IN (SELECT id FROM ("  # noqa: S608  # nosec B608
           f"SELECT id FROM (SELECT id FROM ledger_transfer WHERE debit_account_id = %s{condition} "
           f"ORDER BY id DESC LIMIT %s) AS d UNION ALL "
           f"SELECT id FROM (SELECT id FROM ledger_transfer WHERE credit_account_id = %s{condition} "
           f"ORDER BY id DESC LIMIT %s) AS c) AS h ORDER BY id DESC LIMIT %s) ORDER BY id DESC")
    with driver_cursor() as cursor:  # prepared by PostgreSQL once the connection repeats it
        cursor.execute(sql, [*one, limit, *one, limit, limit])
        return [transfer_from_row(row) for row in cursor.fetchall()]


def holds_for_account(account: Account | int) -> list[PendingHold]:
    """Open holds on money leaving ``account``, soonest to expire first."""
    pk = account.pk if isinstance(account, Account) else account
    return list(PendingHold.objects.filter(debit_account_id=pk).select_related("transfer")
                .order_by("expires_at", "transfer_id"))


def transfer_get(public_id: str) -> Transfer:
    """A transfer by its id; raises ``Transfer.DoesNotExist``."""
    return Transfer.objects.get(public_id=public_id)


def pending_status(transfer: Transfer | int) -> str:
    """``open``, ``posted``, ``voided`` or ``expired`` for a pending transfer."""
    pk = transfer.pk if isinstance(transfer, Transfer) else transfer
    kind = Transfer.objects.filter(pending_id=pk).values_list("kind", flat=True).first()
    return {None: "open", "post_pending": "posted", "void_pending": "voided", "expire_pending": "expired"}[kind]
