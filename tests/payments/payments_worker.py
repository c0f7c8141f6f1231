"""A separate OS process that drives payments, for the multi-process test.

``python -m tests.payments.payments_worker customer SEED SECONDS USER_ID...`` makes random transfers
(to customers and to unregistered emails), bill payments (accepted and rejected references),
withdrawals and cancellations as one of the users, for SECONDS; ``sweeper SEED SECONDS`` runs the
payments sweep in a loop. Each prints a JSON count of outcomes. The database comes from
``OKPAY_DATABASE_URL`` (the parent's test database).
"""

from __future__ import annotations

import json
import os
import random
import sys
import time
from collections import Counter


def main(argv: list[str]) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "okpay.settings")
    import django

    django.setup()
    from django.db import OperationalError, transaction

    from okpay.core.db import retry_transient, unrecovered
    from okpay.core.errors import OkpayError
    from okpay.identity.models import User
    from okpay.payments import services
    from okpay.payments.models import Transaction

    role, seed, seconds = argv[0], int(argv[1]), float(argv[2])
    rng = random.Random(seed)
    counts: Counter[str] = Counter()
    deadline = time.monotonic() + seconds

    def attempt(name: str, work) -> None:  # type: ignore[no-untyped-def]
        def once():  # type: ignore[no-untyped-def]
            # Like an API POST: one outer transaction, rolled back whole on an error (so the services
            # nest without savepoints), retried when transient.
            with transaction.atomic(), unrecovered():
                return work()
        try:
            retry_transient(once, attempts=6)
            counts[name] += 1
        except OkpayError as exc:
            counts[exc.code] += 1
        except OperationalError as exc:
            counts["busy"] += 1
            print(f"busy: {exc}", file=sys.stderr)

    if role == "sweeper":
        while time.monotonic() < deadline:
            try:
                done = services.payments_sweep()
                counts["sweeps"] += 1
                counts["swept"] += sum(done.values())
            except OperationalError:
                counts["sweep_busy"] += 1
            time.sleep(rng.uniform(0.01, 0.1))
        print(json.dumps(counts))
        return 0

    users = list(User.objects.filter(pk__in=[int(pk) for pk in argv[3:]]).order_by("pk"))
    me = users[seed % len(users)]
    others = [u for u in users if u.pk != me.pk]
    references = {"state-grid-sh": ["1234567897", "1234567890"], "sh-water": ["12345674", "12345670"],
                  "china-mobile": ["13800138003", "13800138000"]}
    while time.monotonic() < deadline:
        roll = rng.random()
        amount = rng.randint(100, 3_000)
        if roll < 0.35:
            to = rng.choice(others).email
            attempt("transfer", lambda to=to, amount=amount: services.transfer_create(sender=me, to=to, amount=amount))
        elif roll < 0.5:
            to = f"guest{rng.randint(1, 5)}@example.com"
            attempt("invite", lambda to=to, amount=amount: services.transfer_create(sender=me, to=to, amount=amount))
        elif roll < 0.7:
            biller = rng.choice(list(references))
            reference = rng.choice(references[biller])
            attempt("bill", lambda b=biller, r=reference, amount=amount: services.bill_payment_create(
                user=me, biller=b, account_reference=r, amount=max(amount, 1_000)))
        elif roll < 0.8:
            attempt("withdrawal", lambda amount=amount: services.withdrawal_create(user=me, amount=amount))
        else:
            pending = list(Transaction.objects.filter(user=me, status="pending")
                           .values_list("public_id", flat=True)[:5])
            if not pending:
                counts["nothing_to_cancel"] += 1
                continue
            txn_id = rng.choice(pending)
            attempt("cancel", lambda txn_id=txn_id: services.transaction_cancel(user=me, txn_id=txn_id))
    print(json.dumps(counts))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
