"""``okpay ledger check``: prove the ledger's invariants from the rows themselves.

1. Per currency, all balances sum to zero (posted debits = posted credits, and the same for
   pending).
2. Every account's four counters equal the sums over its transfers: posted = singles + posts,
   pending = pending transfers not yet resolved.
3. No account breaks its balance flag, and every transfer has its accounts' currency.
4. Every pending transfer is resolved at most once, by a resolution that names a pending
   transfer and posts no more than it held; an open hold row exists exactly for the unresolved
   ones.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db import connections

DB = "default"


@dataclass
class CurrencySummary:
    accounts: int = 0
    posted: int = 0
    pending: int = 0
    funding_balance: int = 0


@dataclass
class CheckReport:
    accounts: int = 0
    transfers: int = 0
    open_holds: int = 0
    currencies: dict[str, CurrencySummary] = field(default_factory=dict)
    violations: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.violations


def _rows(sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    with connections[DB].cursor() as cursor:
        cursor.execute(sql, params or [])
        return cursor.fetchall()


def ledger_check(*, max_violations: int = 100) -> CheckReport:
    """Run every check; the report lists violations (empty when the ledger is sound)."""
    report = CheckReport()
    add = report.violations.append

    for currency, count, dpo, cpo, dpe, cpe in _rows(
            "SELECT currency, COUNT(*), COALESCE(SUM(debits_posted), 0), COALESCE(SUM(credits_posted), 0), "
            "COALESCE(SUM(debits_pending), 0), COALESCE(SUM(credits_pending), 0) FROM ledger_account "
            "GROUP BY currency ORDER BY currency"):
        summary = CurrencySummary(accounts=count, posted=int(dpo), pending=int(dpe))
        report.currencies[currency] = summary
        report.accounts += count
        if dpo != cpo:
            add(f"{currency}: posted debits {dpo} != posted credits {cpo} (balances do not sum to zero)")
        if dpe != cpe:
            add(f"{currency}: pending debits {dpe} != pending credits {cpe}")
    for currency, balance in _rows("SELECT currency, credits_posted - debits_posted FROM ledger_account "
                                   "WHERE owner_id IS NULL AND kind = 'funding'"):
        report.currencies.setdefault(currency, CurrencySummary()).funding_balance = int(balance)

    expected: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for side, slot in (("debit_account_id", 0), ("credit_account_id", 1)):
        for pk, total in _rows(f"SELECT {side}, SUM(amount) FROM ledger_transfer "  # noqa: S608  # nosec B608
                               f"WHERE kind IN ('single', 'post_pending') GROUP BY {side}"):
            expected[pk][slot] = int(total)
        for pk, total in _rows(
                f"SELECT p.{side}, SUM(p.amount) FROM ledger_transfer p WHERE p.kind = 'pending' AND NOT EXISTS "  # noqa: S608  # nosec B608
                f"(SELECT 1 FROM ledger_transfer r WHERE r.pending_id = p.id) GROUP BY p.{side}"):
            expected[pk][slot + 2] = int(total)
    names = ("debits_posted", "credits_posted", "debits_pending", "credits_pending")
    for row in _rows("SELECT id, public_id, debits_posted, credits_posted, debits_pending, credits_pending, "
                     "debits_must_not_exceed_credits, credits_must_not_exceed_debits FROM ledger_account ORDER BY id"):
        pk, public_id, counters, dflag, cflag = row[0], row[1], row[2:6], row[6], row[7]
        sums = expected.pop(pk, [0, 0, 0, 0])
        for name, have, want in zip(names, counters, sums, strict=True):
            if have != want:
                add(f"account {public_id}: {name} is {have} but its transfers sum to {want}")
        if dflag and counters[0] + counters[2] > counters[1]:
            add(f"account {public_id}: debits exceed credits although its flag forbids it")
        if cflag and counters[1] + counters[3] > counters[0]:
            add(f"account {public_id}: credits exceed debits although its flag forbids it")
    for pk in expected:
        add(f"transfers name account id {pk}, which does not exist")

    report.transfers = int(_rows("SELECT COUNT(*) FROM ledger_transfer")[0][0])
    for public_id, in _rows(
            "SELECT t.public_id FROM ledger_transfer t JOIN ledger_account d ON d.id = t.debit_account_id "
            "JOIN ledger_account c ON c.id = t.credit_account_id "
            "WHERE t.currency <> d.currency OR t.currency <> c.currency"):
        add(f"transfer {public_id}: its currency differs from an account's")
    for pending_id, count in _rows("SELECT pending_id, COUNT(*) FROM ledger_transfer WHERE pending_id IS NOT NULL "
                                   "GROUP BY pending_id HAVING COUNT(*) > 1"):
        add(f"pending transfer id {pending_id} was resolved {count} times")
    for public_id, in _rows(
            "SELECT r.public_id FROM ledger_transfer r JOIN ledger_transfer p ON p.id = r.pending_id "
            "WHERE p.kind <> 'pending' OR r.debit_account_id <> p.debit_account_id "
            "OR r.credit_account_id <> p.credit_account_id OR r.amount > p.amount "
            "OR (r.kind <> 'post_pending' AND r.amount <> p.amount)"):
        add(f"resolution {public_id} does not match its pending transfer")
    report.open_holds = int(_rows("SELECT COUNT(*) FROM ledger_pendinghold")[0][0])
    for public_id, in _rows(
            "SELECT p.public_id FROM ledger_transfer p LEFT JOIN ledger_pendinghold h ON h.transfer_id = p.id "
            "WHERE p.kind = 'pending' AND (h.transfer_id IS NULL) = NOT EXISTS "
            "(SELECT 1 FROM ledger_transfer r WHERE r.pending_id = p.id)"):
        add(f"pending transfer {public_id}: its open-hold row disagrees with its resolution")
    for transfer_id, in _rows("SELECT h.transfer_id FROM ledger_pendinghold h JOIN ledger_transfer p "
                              "ON p.id = h.transfer_id WHERE p.kind <> 'pending' OR h.amount <> p.amount "
                              "OR h.debit_account_id <> p.debit_account_id"):
        add(f"hold of transfer id {transfer_id} does not match its transfer")
    if len(report.violations) > max_violations:
        extra = len(report.violations) - max_violations
        report.violations = [*report.violations[:max_violations], f"... and {extra} more"]
    return report
