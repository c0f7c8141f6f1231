"""The background worker: Django Tasks (database backend) plus periodic sweeps.

``okpay worker`` runs :func:`run` in its own process; ``okpay serve`` runs it in a thread beside
the web server unless ``--no-worker``. Any number of workers may run against one database:
tasks are claimed by django-tasks-db with row locks, and each periodic sweep is claimed through
its :class:`~okpay.core.models.PeriodicJob` row with ``select_for_update(skip_locked=True)``.
Sweeps must themselves be idempotent and claim the rows they change the same way.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import OperationalError, close_old_connections, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.crypto import get_random_string
from django.utils.module_loading import import_string
from django_tasks_db.management.commands.db_worker import Worker

from okpay.core import metrics
from okpay.core.models import PeriodicJob

logger = logging.getLogger("okpay.worker")

# name (dotted path of a function taking no arguments) → interval in seconds.
SWEEPS: dict[str, int] = {
    "okpay.core.idempotency.prune_expired": 3600,
    "okpay.identity.mail.requeue_stuck": 60,
    "okpay.identity.services.prune_expired": 3600,
    "okpay.ledger.services.pending_expire_due": 15,
    "okpay.support.services.sla_sweep": 60,
    "okpay.support.services.tickets_auto_assign": 30,
    "okpay.support.services.solved_tickets_close": 3600,
    "okpay.support.promises.promises_sweep": 30,
    "okpay.payments.services.payments_sweep": 5,
    "okpay.chat.services.queue_assign": 5,
    "okpay.merchants.services.merchant_sweep": 5,
    "okpay.social.services.outbound_requeue_stuck": 60,
    "okpay.social.services.webhook_nonces_prune": 600,
}


def requeue_lost(overdue: Any, task: Any, *, limit: int = 500) -> int:
    """Sweep helper for outboxes: rows still waiting whose attempt time is long past lost their
    task (a crash between the commit and the task's run): enqueue ``task(pk)`` again for each, in
    one transaction. ``overdue``: the queryset of such rows (each outbox knows what waiting means).
    A task that was only late runs twice harmlessly: every delivery claims its row first."""
    pks = list(overdue.values_list("pk", flat=True)[:limit])
    with transaction.atomic():
        for pk in pks:
            task.enqueue(pk)
    return len(pks)


def sweeps() -> dict[str, int]:
    return {**SWEEPS, **getattr(settings, "OKPAY_EXTRA_SWEEPS", {})}


def _claim_due_sweeps(now: datetime) -> list[str]:
    table = sweeps()
    known = set(PeriodicJob.objects.filter(name__in=table).values_list("name", flat=True))
    for name in table.keys() - known:
        PeriodicJob.objects.get_or_create(name=name, defaults={"next_run_at": now})
    claimed = []
    with transaction.atomic():
        due = PeriodicJob.objects.select_for_update(skip_locked=True).filter(name__in=table, next_run_at__lte=now)
        for job in due:
            job.next_run_at = now + timedelta(seconds=table[job.name])
            job.last_started_at = now
            job.save(update_fields=["next_run_at", "last_started_at"])
            claimed.append(job.name)
    return claimed


def run_due_sweeps() -> int:
    """Run every sweep that is due; returns how many ran."""
    now = timezone.now()
    names = _claim_due_sweeps(now)
    for name in names:
        outcome, error = "ok", ""
        try:
            import_string(name)()
        except Exception as exc:  # a failing sweep must not stop the others; it is logged and retried
            outcome, error = "error", repr(exc)
            logger.exception("sweep failed", extra={"sweep": name})
        metrics.TASKS_RUN.labels(name, outcome).inc()
        PeriodicJob.objects.filter(name=name).update(
            last_finished_at=timezone.now(), last_error=error[:2000], runs=F("runs") + 1)
    return len(names)


def run_pending_tasks() -> None:
    """Run every task that is ready, then return."""
    worker = Worker(
        queue_names=["*"], interval=0, batch=True, backend_name="default", startup_delay=False,
        max_tasks=None, worker_id=get_random_string(32), excluded_queue_names=[],
    )
    worker.run()


def run_once() -> None:
    close_old_connections()
    try:
        run_pending_tasks()
        run_due_sweeps()
    except OperationalError:
        # A locked SQLite file or a restarting PostgreSQL: wait and try again.
        logger.warning("worker tick failed on the database; retrying", exc_info=True)
    finally:
        close_old_connections()


def run(stop: threading.Event | None = None, *, interval: float | None = None) -> None:
    stop = stop or threading.Event()
    pause = interval if interval is not None else settings.OKPAY_WORKER_INTERVAL
    logger.info("worker started", extra={"interval": pause})
    while not stop.is_set():
        run_once()
        stop.wait(pause)
    logger.info("worker stopped")


def start_thread() -> tuple[threading.Thread, threading.Event]:
    stop = threading.Event()
    thread = threading.Thread(target=run, args=(stop,), name="okpay-worker", daemon=True)
    thread.start()
    return thread, stop
