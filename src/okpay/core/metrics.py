"""Prometheus metrics. Counters live in the process; ``/metrics`` serves them in text format.

Per process: HTTP requests by method, route (the URL pattern, never the raw path) and status, HTTP
latency by route, open WebSockets and handshakes refused at the limit, background jobs by name and
outcome. At scrape time, from the database (a few
indexed queries, see ``StateCollector``): ledger transfers, pending transactions by reason, expired
holds not yet resolved, webhook deliveries retrying or given up, the email outbox, SLA breaches of
open tickets, the chat queue and its oldest wait. README, "Operations", lists them all.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST

logger = logging.getLogger("okpay.metrics")

REGISTRY = CollectorRegistry(auto_describe=True)

HTTP_REQUESTS = Counter(
    "okpay_http_requests_total", "HTTP requests by method, route and status.",
    ["method", "route", "status"], registry=REGISTRY,
)
HTTP_LATENCY = Histogram(
    "okpay_http_request_seconds", "HTTP request latency by route.", ["route"], registry=REGISTRY,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
WEBSOCKETS_OPEN = Gauge(
    "okpay_websockets_open", "WebSocket connections open in this process.", registry=REGISTRY,
)
WEBSOCKETS_REFUSED = Counter(
    "okpay_websockets_refused_total", "WebSocket handshakes refused because this process held "
    "OKPAY_WS_MAX_CONNECTIONS already.", registry=REGISTRY,
)
TASKS_RUN = Counter(
    "okpay_worker_jobs_total", "Background jobs and sweeps run, by name and outcome.",
    ["name", "outcome"], registry=REGISTRY,
)


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    HTTP_REQUESTS.labels(method, route, str(status)).inc()
    HTTP_LATENCY.labels(route).observe(seconds)


class StateCollector:
    """Gauges read from the database when Prometheus scrapes: the same on every web process, so
    a dashboard may take any one of them (``max by``). Apps are looked up by label, so core
    imports none of them."""

    def describe(self) -> list[Metric]:
        return []  # computed at scrape time only; nothing to register up front

    def collect(self) -> Iterator[Metric]:
        from django.apps import apps
        from django.db import DatabaseError
        from django.db.models import Count, Max, Min, Q
        from django.utils import timezone

        now = timezone.now()

        def model(label: str) -> Any:
            return apps.get_model(label)

        try:
            transfers = CounterMetricFamily(
                "okpay_ledger_transfers", "Ledger transfers ever posted (the highest transfer id).")
            transfers.add_metric([], model("ledger.Transfer").objects.aggregate(n=Max("id"))["n"] or 0)
            yield transfers

            holds = GaugeMetricFamily(
                "okpay_ledger_expired_holds", "Pending holds past their expiry that no sweep has resolved yet.")
            holds.add_metric([], model("ledger.PendingHold").objects.filter(expires_at__lt=now).count())
            yield holds

            pending = GaugeMetricFamily("okpay_transactions_pending", "Pending transactions by reason.",
                                        labels=["reason"])
            rows = (model("payments.Transaction").objects.filter(status="pending")
                    .values_list("pending_reason").annotate(n=Count("id")).order_by())
            counts = dict(rows)
            for reason in model("payments.Transaction")._meta.get_field("pending_reason").choices:
                pending.add_metric([reason[0]], counts.get(reason[0], 0))
            yield pending

            webhooks = GaugeMetricFamily("okpay_webhook_deliveries", "Webhook deliveries still retrying "
                                         "(pending) or given up (failed).", labels=["status"])
            _count_by_status(webhooks, model("merchants.WebhookDelivery"), ("pending", "failed"))
            yield webhooks

            outbox = GaugeMetricFamily("okpay_email_outbox", "Emails not delivered: queued (the outbox depth) "
                                       "or failed for good.", labels=["status"])
            _count_by_status(outbox, model("identity.OutboundEmail"), ("queued", "failed"))
            yield outbox

            breaches = GaugeMetricFamily("okpay_support_sla_breaches", "Open tickets that breached an SLA "
                                         "target, by target.", labels=["target"])
            tickets = model("support.Ticket").objects.filter(status__in=["new", "open", "waiting", "on_hold"])
            targets = ("first_response", "next_response", "resolution")
            counted = tickets.aggregate(**{t: Count("id", filter=Q(**{f"{t}_breached": True})) for t in targets})
            for target in targets:
                breaches.add_metric([target], counted[target])
            yield breaches

            queue = model("chat.Conversation").objects.filter(state="queued").aggregate(
                n=Count("id"), oldest=Min("queued_at"))
            length = GaugeMetricFamily("okpay_chat_queue_length", "Chats waiting for a person.")
            length.add_metric([], queue["n"])
            yield length
            wait = GaugeMetricFamily("okpay_chat_queue_oldest_wait_seconds",
                                     "How long the longest-waiting chat has waited for a person (0 when none).")
            wait.add_metric([], (now - queue["oldest"]).total_seconds() if queue["oldest"] else 0.0)
            yield wait
            yield _database_up(1)
        except DatabaseError as exc:  # a scrape must not fail because the database is down
            logger.warning("metrics: the database did not answer", extra={"error": str(exc)[:200]})
            yield _database_up(0)


def _database_up(value: int) -> Metric:
    up = GaugeMetricFamily("okpay_metrics_database_up", "Whether this scrape could read the database.")
    up.add_metric([], value)
    return up


REGISTRY.register(StateCollector())  # type: ignore[arg-type]


def render() -> tuple[bytes, str]:
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


def _count_by_status(family: GaugeMetricFamily, model: Any, statuses: tuple[str, ...]) -> None:
    """One labelled sample per status (0 when none), from one grouped count."""
    from django.db.models import Count

    counts = dict(model.objects.filter(status__in=statuses).values_list("status").annotate(n=Count("id")).order_by())
    for status in statuses:
        family.add_metric([status], counts.get(status, 0))
