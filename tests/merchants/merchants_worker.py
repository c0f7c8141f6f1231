"""A separate OS process for the multi-process merchants test.

``python -m tests.merchants.merchants_worker confirm START INTENT_ID CUSTOMER_PK`` confirms one intent;
``refund START INTENT_ID MERCHANT_PK AMOUNT`` refunds part of a payment. Both wait until the wall
clock reaches START (so all processes hit the database together) and print a JSON outcome.
"""

from __future__ import annotations

import json
import os
import sys
import time


def main(argv: list[str]) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "okpay.settings")
    import django

    django.setup()
    from django.db import transaction

    from okpay.core.db import retry_transient
    from okpay.core.errors import OkpayError
    from okpay.identity.models import User
    from okpay.merchants import services
    from okpay.merchants.models import Merchant

    role, start, intent_id = argv[0], float(argv[1]), argv[2]
    customer = User.objects.get(pk=int(argv[3])) if role == "confirm" else None
    merchant = Merchant.objects.get(pk=int(argv[3])) if role == "refund" else None
    time.sleep(max(0.0, start - time.time()))

    def once() -> str:
        with transaction.atomic():  # like an API POST: one outer transaction, retried when transient
            if role == "confirm":
                return services.intent_confirm(intent_id=intent_id, customer=customer).public_id  # type: ignore[arg-type]
            return services.refund_create(merchant=merchant, intent_id=intent_id,  # type: ignore[arg-type]
                                          amount=int(argv[4])).public_id

    try:
        result = {"ok": retry_transient(once, attempts=30)}
    except OkpayError as exc:
        result = {"error": exc.code}
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
