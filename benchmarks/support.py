"""Support desk at 20,000 tickets, on SQLite and PostgreSQL.

- The agent's queues (mine, unassigned, due soon, breached, complaints) plus the queue counts,
  as the desk page polls them, against the floor: one indexed ``ORDER BY … LIMIT 50`` of tickets.
- ``ticket_create`` (number, SLA due times, first message, event, acknowledgement email in the
  outbox) against the floor: inserting the same ticket and message rows with ``objects.create``.

Each database runs in its own child process (settings are per process).
"""

from __future__ import annotations

import json
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import timedelta

from benchmarks.util import drop_postgres, run_child, scratch_postgres

TICKETS = 20_000
PG_DB = "okpay_bench_support"


def _populate() -> tuple[object, object]:
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.utils import timezone

    from okpay.identity.models import User
    from okpay.support.models import ACTIVE_STATUSES, Category, Channel, Priority, Status, Ticket

    call_command("migrate", verbosity=0)
    agent = User.objects.create_user("bench-agent@example.com", "x-Bench-2026!", display_name="Agent")
    from django.contrib.auth.models import Group

    agent.groups.add(Group.objects.get(name="supervisor"))
    customer = User.objects.create_user("bench-customer@example.com", "x-Bench-2026!", display_name="C")
    rng = random.Random(7)
    now = timezone.now()
    rows = []
    statuses = [*ACTIVE_STATUSES, Status.SOLVED, Status.CLOSED, Status.CLOSED]
    for i in range(TICKETS):
        created = now - timedelta(minutes=rng.randint(0, 60 * 24 * 60))
        status = rng.choice(statuses)
        rows.append(Ticket(
            number=f"OK-2000-{i:06d}", requester=customer, requester_email=customer.email,
            channel=rng.choice(Channel.values), category=rng.choice(Category.values), subject=f"bench {i}",
            status=status, priority=rng.choice(Priority.values), created_at=created, updated_at=created,
            assignee=agent if rng.random() < 0.2 else None,
            first_response_due=created + timedelta(hours=24), resolution_due=created + timedelta(hours=72),
            first_response_breached=rng.random() < 0.05))
    with transaction.atomic():
        Ticket.objects.bulk_create(rows, batch_size=1000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return agent, customer


def _time(fn, repeat: int) -> list[float]:  # type: ignore[no-untyped-def]
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def child(repeat: int) -> None:
    import django

    django.setup()
    from django.db import connection, transaction
    from django.utils import timezone

    from okpay.support import selectors, services
    from okpay.support.models import Ticket, TicketMessage

    agent, customer = _populate()
    queues = ["mine", "unassigned", "due_soon", "breached", "complaints"]

    def desk_poll() -> None:
        for q in queues:
            selectors.desk_queue(agent, q, limit=50)
        selectors.queue_counts(agent)

    def floor_poll() -> None:
        for _ in queues:
            list(Ticket.objects.order_by("-pk")[:50])

    desk_poll()
    floor_poll()
    desk = _time(desk_poll, repeat)
    floor = _time(floor_poll, repeat)

    n = 0

    def create() -> None:
        services.ticket_create(requester=services.Requester(user=customer), channel="web", category="payment",
                               subject="付款一直显示待处理", body="请帮我查一下这笔付款。")

    def bare() -> None:
        nonlocal n
        n += 1
        with transaction.atomic():
            now = timezone.now()
            t = Ticket.objects.create(number=f"OK-1999-{n:06d}", requester=customer, requester_email=customer.email,
                                      channel="web", category="payment", subject="付款一直显示待处理",
                                      created_at=now, updated_at=now)
            TicketMessage.objects.create(ticket=t, author=customer, author_kind="customer",
                                         body_html="<p>请帮我查一下这笔付款。</p>", body_text="请帮我查一下这笔付款。",
                                         created_at=now)

    create()
    bare()
    creates = _time(create, repeat * 4)
    bares = _time(bare, repeat * 4)
    q = lambda xs: (statistics.median(xs), statistics.quantiles(xs, n=20)[18])  # noqa: E731
    print(json.dumps({"vendor": connection.vendor, "desk": q(desk), "floor": q(floor), "create": q(creates),
                      "bare": q(bares)}))


def _run_child(env: dict[str, str], repeat: int) -> dict[str, object]:
    return run_child("support", str(repeat), env=env)


def _postgres_env() -> dict[str, str] | None:
    return scratch_postgres(PG_DB)


def _drop_postgres() -> None:
    drop_postgres(PG_DB)


def main(report) -> None:  # type: ignore[no-untyped-def]
    repeat = 5 if report.quick else 25
    section = f"Support desk at {TICKETS:,} tickets"
    runs = []
    with tempfile.TemporaryDirectory(prefix="okpay-bench-support-") as home:
        runs.append(_run_child({"OKPAY_HOME": home, "OKPAY_DATABASE_URL": ""}, repeat))
        pg = _postgres_env()
        if pg is None:
            report.note(section, "PostgreSQL not reachable: only SQLite measured.")
        else:
            try:
                runs.append(_run_child({"OKPAY_HOME": home, **pg}, repeat))
            finally:
                _drop_postgres()
    for run in runs:
        name = "SQLite" if run["vendor"] == "sqlite" else "PostgreSQL"
        (d50, d95), (f50, f95) = run["desk"], run["floor"]
        report.add(section, f"{name}: desk poll (5 queues + counts) p50 / p95", f"{d50:.1f} / {d95:.1f} ms",
                   baseline=f"5 × newest-50 tickets {f50:.1f} / {f95:.1f} ms", ratio=d50 / f50, target=10.0,
                   higher_is_better=False)
        (c50, c95), (b50, b95) = run["create"], run["bare"]
        report.add(section, f"{name}: ticket_create p50 / p95", f"{c50:.1f} / {c95:.1f} ms",
                   baseline=f"bare ticket + message insert {b50:.1f} / {b95:.1f} ms", ratio=c50 / b50, target=8.0,
                   higher_is_better=False)
    report.note(section, "ticket_create includes the yearly number (locked counter), the SLA due times, the "
                         "first message, its event and the acknowledgement email written to the outbox.")
    report.note(section, f"1-minute load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs.")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        child(int(sys.argv[2]))
    else:
        from benchmarks.report import Report

        r = Report(quick="--quick" in sys.argv)
        main(r)
        print(r.render_text())
