"""/metrics: per-route HTTP metrics and the state gauges computed at scrape time."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from okpay.chat.models import Conversation
from okpay.identity.models import OutboundEmail
from okpay.ledger.models import PendingHold
from okpay.payments.services import topup_create
from okpay.support.models import Ticket

METRICS_TOKEN = "test-metrics-token-0123456789abcdef"


@pytest.fixture(autouse=True)
def _metrics_token(settings) -> None:  # type: ignore[no-untyped-def]
    settings.OKPAY_METRICS_TOKEN = METRICS_TOKEN  # /metrics is private outside debug


def scrape() -> dict[str, float]:
    text = Client().get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}).content.decode()
    values = {}
    for line in text.splitlines():
        match = re.match(r"^(okpay_[a-z_]+(?:\{.*\})?) (\S+)$", line)
        if match:
            values[match.group(1)] = float(match.group(2))
    return values


def test_state_gauges_at_scrape_time(db, alice, api_client, settings) -> None:
    settings.OKPAY_RISK_VELOCITY_PER_HOUR = 1000
    empty = scrape()
    assert empty["okpay_metrics_database_up"] == 1
    assert empty['okpay_transactions_pending{reason="awaiting_claim"}'] == 0
    assert empty["okpay_chat_queue_length"] == 0
    assert empty["okpay_chat_queue_oldest_wait_seconds"] == 0

    topup_create(user=alice, amount=10_000)
    client = api_client(alice)
    for n in range(2):  # two transfers to addresses with no account yet: pending, awaiting_claim
        response = client.post("/api/v1/transfers", {"to": f"new{n}@example.com", "amount": 100, "currency": "CNY"},
                               content_type="application/json", headers={"Idempotency-Key": uuid.uuid4().hex})
        assert response.status_code == 201
    PendingHold.objects.filter(pk=PendingHold.objects.order_by("pk").first().pk).update(
        expires_at=timezone.now() - timedelta(minutes=5))
    ticket = client.post("/api/v1/support/tickets", {"category": "payment", "subject": "钱没到", "body": "转账没到账"},
                         content_type="application/json", headers={"Idempotency-Key": uuid.uuid4().hex}).json()
    Ticket.objects.filter(public_id=ticket["id"]).update(first_response_breached=True)
    now = timezone.now()
    Conversation.objects.create(user=alice, state="queued", created_at=now, updated_at=now,
                                queued_at=now - timedelta(seconds=90))

    values = scrape()
    assert values['okpay_transactions_pending{reason="awaiting_claim"}'] == 2
    assert values['okpay_transactions_pending{reason="risk_review"}'] == 0
    assert values["okpay_ledger_expired_holds"] == 1
    assert values["okpay_ledger_transfers_total"] >= 3  # a top-up and two holds
    assert values['okpay_support_sla_breaches{target="first_response"}'] == 1
    assert values['okpay_support_sla_breaches{target="resolution"}'] == 0
    assert values["okpay_chat_queue_length"] == 1
    assert 90 <= values["okpay_chat_queue_oldest_wait_seconds"] < 3600
    queued = OutboundEmail.objects.filter(status="queued").count()
    assert values['okpay_email_outbox{status="queued"}'] == queued
    assert values['okpay_webhook_deliveries{status="failed"}'] == 0


def test_http_metrics_use_the_route_not_the_raw_path(db, alice, api_client) -> None:
    client = api_client(alice)
    client.get("/api/v1/transactions/txn_doesnotexist1")
    client.get("/api/v1/transactions/txn_doesnotexist2")
    values = scrape()
    key = 'okpay_http_requests_total{method="GET",route="/api/v1/transactions/<txn_id>",status="404"}'
    assert values[key] >= 2
    assert not any("txn_doesnotexist" in name for name in values)
    assert values['okpay_http_request_seconds_count{route="/api/v1/transactions/<txn_id>"}'] >= 2
