"""The bank fault test's own look at its database, from a separate process (never the test's
connection): ``python -m tests.fault.bank_db setup N AMOUNT`` creates N verified customers, funds
each wallet with AMOUNT (CNY, from the sandbox funding account), seeds the billers, makes an API
token per customer, a chat customer and an agent on duty with web sessions, and prints them as
JSON. ``python -m tests.fault.bank_db facts`` prints what the checks need: every customer
transaction, each wallet against its transactions, the ledger's totals per currency, overdue
pending rows and holds. The database comes from ``OKPAY_DATABASE_URL``.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any


def setup(count: int, amount: int) -> dict[str, object]:
    from django.db import transaction

    from okpay.identity.services import api_token_create, wallet_id_of
    from okpay.payments.billers import billers_seed
    from okpay.payments.services import topup_create
    from okpay.support.services import agent_duty_set
    from tests.chat.conftest import session_cookie
    from tests.factories import user_create

    billers_seed()
    customers = []
    with transaction.atomic():
        for i in range(count):
            user = user_create(f"bank{i:02d}@example.com", name=f"Bank {i:02d}")
            topup_create(user=user, amount=amount)
            raw, _ = api_token_create(user=user)
            customers.append({"email": user.email, "wallet_id": wallet_id_of(user), "token": raw})
        chatter = user_create("chatter@example.com", name="Chatter")
        agent = user_create("desk@example.com", name="Agent", role="agent")
    agent_duty_set(user=agent, on_duty=True, capacity=4)
    return {"customers": customers, "chat": {"customer": session_cookie(chatter), "agent": session_cookie(agent)}}


def facts() -> dict[str, object]:
    """All of it from one snapshot: the workers may still be confirming bills while this reads, and
    a bill read as pending in one query but paid in a later one looked like money gone (seen once in
    the scale-out test under load: wallets + paid bills short by exactly one bill's amount)."""
    from django.db import connection, transaction

    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        # SQLite: the transaction is IMMEDIATE (settings), so no writer commits while it reads.
        return _facts()


def _facts() -> dict[str, object]:
    from django.db.models import F, Sum
    from django.utils import timezone

    from okpay.ledger.models import Account, PendingHold
    from okpay.ledger.selectors import account_balance
    from okpay.ledger.services import system_account
    from okpay.payments.models import Status, Transaction
    from okpay.payments.services import wallet

    now = timezone.now()
    customers = Transaction.objects.filter(user__email__startswith="bank")
    txns = [
        {"id": t["public_id"], "user": t["user__email"], "type": t["type"], "status": t["status"],
         "direction": t["direction"], "amount": t["amount"], "note": t["note"], "reason": t["pending_reason"]}
        for t in customers.values("public_id", "user__email", "type", "status", "direction", "amount", "note",
                                  "pending_reason").order_by("pk")
    ]
    wallets = []
    for email in sorted({t["user"] for t in txns}):
        mine = Transaction.objects.filter(user__email=email)

        def total(mine: Any = mine, **q: object) -> int:
            return int(mine.filter(**q).aggregate(s=Sum("amount"))["s"] or 0)

        balance = account_balance(wallet(mine.first().user))  # type: ignore[union-attr]
        wallets.append({
            "user": email, "total": balance.total, "held": balance.held, "available": balance.available,
            "expected_total": total(direction="credit", status=Status.SUCCEEDED)
            - total(direction="debit", status=Status.SUCCEEDED),
            "expected_held": total(direction="debit", status=Status.PENDING),
        })
    money: dict[str, dict[str, int]] = {}
    for row in Account.objects.values("currency").annotate(
            total=Sum(F("credits_posted") - F("debits_posted")), held=Sum("debits_pending")):
        funding = account_balance(system_account("funding", row["currency"])).total
        money[row["currency"]] = {"sum": int(row["total"] or 0), "funding": funding,
                                  "held": int(row["held"] or 0)}
    overdue = list(Transaction.objects.filter(status=Status.PENDING, expected_by__lt=now)
                   .values_list("public_id", "pending_reason", "expected_by"))
    holds_overdue = PendingHold.objects.filter(expires_at__lt=now).count()
    from okpay.core.models import IdempotencyRecord

    keys = {r["key"]: {**r, "created_at": str(r["created_at"]), "completed_at": str(r["completed_at"]),
                       "locked_until": str(r["locked_until"]), "response_body": bytes(r["response_body"] or b"")
                       .decode(errors="replace")[:200]}
            for r in IdempotencyRecord.objects.filter(key__startswith="bank-").values(
                "key", "scope", "fingerprint", "method", "path", "response_status", "response_body", "created_at",
                "completed_at", "locked_until")}
    # Where money that is in no customer's wallet sits (suspense, billers…), for a failure message.
    others = [{"account": a.public_id, "kind": a.kind, "owner": a.owner_id, "total": a.credits_posted - a.debits_posted,
               "held": a.debits_pending}
              for a in Account.objects.exclude(owner__email__startswith="bank").exclude(kind="funding")
              if a.credits_posted - a.debits_posted or a.debits_pending or a.credits_pending]
    return {"transactions": txns, "wallets": wallets, "money": money, "keys": keys, "others": others,
            "overdue": [[a, b, c.isoformat()] for a, b, c in overdue], "holds_overdue": holds_overdue}


def main(argv: list[str]) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "okpay.settings")
    import django

    django.setup()
    if argv[0] == "setup":
        out = setup(int(argv[1]), int(argv[2]))
    elif argv[0] == "facts":
        out = facts()
    else:
        raise SystemExit(f"unknown command {argv[0]!r}")
    print(json.dumps(out), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
