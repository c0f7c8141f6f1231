"""A separate OS process that drives the ledger, for the multi-process tests.

``python -m tests.ledger.ledger_worker random SEED OPS ACCOUNT_ID...`` runs OPS random transfers,
holds, posts and voids among the accounts and prints a JSON count of outcomes.
``python -m tests.ledger.ledger_worker resolve post|void PENDING_ID CLIENT_ID`` waits for a line
on stdin (the start signal), then posts or voids the hold once and prints the outcome.
The database comes from ``OKPAY_DATABASE_URL`` (the test database of the parent).
"""

from __future__ import annotations

import json
import os
import random
import sys
from collections import Counter


def main(argv: list[str]) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "okpay.settings")
    import django

    django.setup()
    from django.db import connection

    from okpay.ledger import errors
    from okpay.ledger.models import PendingHold
    from okpay.ledger.services import pending_create, pending_post, pending_void, transfer_create

    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")

    if argv[0] == "resolve":
        action, pending_id, client_id = argv[1:4]
        print("ready", flush=True)
        sys.stdin.readline()
        try:
            if action == "post":
                pending_post(pending_id=pending_id, id=client_id)
            else:
                pending_void(pending_id=pending_id, id=client_id)
            print(json.dumps({"outcome": "ok"}), flush=True)
        except errors.LedgerError as exc:
            print(json.dumps({"outcome": exc.code}), flush=True)
        return 0

    seed, ops, accounts = int(argv[1]), int(argv[2]), [int(x) for x in argv[3:]]
    rng = random.Random(seed)
    counts: Counter[str] = Counter()
    mine: list[str] = []
    for _ in range(ops):
        roll = rng.random()
        try:
            if roll < 0.55:
                a, b = rng.sample(accounts, 2)
                transfer_create(debit_account=a, credit_account=b, amount=rng.randint(1, 20_000), currency="CNY")
                counts["transfer"] += 1
            elif roll < 0.8:
                a, b = rng.sample(accounts, 2)
                hold = pending_create(debit_account=a, credit_account=b, amount=rng.randint(1, 20_000),
                                      currency="CNY", timeout=rng.choice([None, 3600]))
                mine.append(hold.public_id)
                counts["hold"] += 1
            else:
                if mine and roll < 0.93:
                    target = mine.pop(rng.randrange(len(mine)))
                else:  # someone's open hold: races with the other processes
                    hold = PendingHold.objects.order_by("?").select_related("transfer").first()
                    if hold is None:
                        counts["skipped"] += 1
                        continue
                    target = hold.transfer.public_id
                if rng.random() < 0.6:
                    full = rng.random() < 0.5
                    pending_post(pending_id=target, amount=None if full else 1)
                    counts["post"] += 1
                else:
                    pending_void(pending_id=target)
                    counts["void"] += 1
        except errors.LedgerBusy:
            counts["busy"] += 1
        except errors.LedgerError as exc:
            counts[exc.code] += 1
    print(json.dumps(counts), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
