"""A separate OS process for the multi-process desk test.

``python -m tests.support.support_worker create COUNT USER_ID`` files COUNT tickets as the user and
prints their numbers as JSON; ``sweeper SECONDS`` runs the auto-assign and SLA sweeps in a loop.
The database comes from ``OKPAY_DATABASE_URL`` (the parent's test database).
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
    from okpay.core.db import retry_transient
    from okpay.identity.models import User
    from okpay.support import services

    if argv[0] == "create":
        count, user = int(argv[1]), User.objects.get(pk=int(argv[2]))
        numbers = []
        for i in range(count):
            ticket = retry_transient(lambda i=i: services.ticket_create(
                requester=services.Requester(user=user), channel="web", category="payment",
                subject=f"并发工单 {i}", body="付款待处理"), attempts=20)
            numbers.append(ticket.number)
        print(json.dumps(numbers))
        return 0
    deadline = time.monotonic() + float(argv[1])
    assigned = 0
    while time.monotonic() < deadline:
        assigned += retry_transient(services.tickets_auto_assign, attempts=20)
        retry_transient(services.sla_sweep, attempts=20)
        time.sleep(0.05)
    assigned += retry_transient(services.tickets_auto_assign, attempts=20)
    print(json.dumps({"assigned": assigned}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
