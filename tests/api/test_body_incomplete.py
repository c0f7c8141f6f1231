"""A client that disconnects before its request body arrived must not have its request run with
an empty body. Found by the bank fault test: a cancel whose client timed out while the server was
busy ran with an empty body, was stored under its Idempotency-Key with another fingerprint, and
the client's retry was refused as idempotency_key_reused although the cancel had happened."""

from __future__ import annotations

from typing import Any

import pytest

from okpay.core.models import IdempotencyRecord
from okpay.identity.services import api_token_create
from okpay.payments import services
from okpay.payments.models import Transaction
from tests.chat.conftest import run

pytestmark = pytest.mark.django_db(transaction=True)


def call(path: str, token: str, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One HTTP request through okpay serve's ASGI application, the client's side given as the
    ASGI messages it produces."""
    from okpay.asgi import application

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
        "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
        "headers": [(b"host", b"127.0.0.1:8000"), (b"authorization", f"Bearer {token}".encode()),
                    (b"idempotency-key", b"k-cut"), (b"content-type", b"application/json"),
                    (b"content-length", b"2")],
        "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000),
    }
    inbox = list(messages)
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return inbox.pop(0) if inbox else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def go() -> None:
        await application(scope, receive, send)

    run(go)
    return sent


def pending_transfer(alice) -> Transaction:  # type: ignore[no-untyped-def]
    services.topup_create(user=alice, amount=10_000)
    return services.transfer_create(sender=alice, to="nobody-yet@example.com", amount=1_000)


def test_a_body_cut_by_a_disconnect_runs_nothing(alice) -> None:  # type: ignore[no-untyped-def]
    txn = pending_transfer(alice)
    raw, _ = api_token_create(user=alice)
    sent = call(f"/api/v1/transactions/{txn.public_id}/cancel", raw, [{"type": "http.disconnect"}])
    txn.refresh_from_db()
    assert txn.status == "pending"  # not cancelled
    assert not IdempotencyRecord.objects.exists()  # the key is free for the client's retry
    start = next(m for m in sent if m["type"] == "http.response.start")
    assert start["status"] == 400


def test_the_whole_body_runs_the_request(alice) -> None:  # type: ignore[no-untyped-def]
    txn = pending_transfer(alice)
    raw, _ = api_token_create(user=alice)
    sent = call(f"/api/v1/transactions/{txn.public_id}/cancel", raw,
                [{"type": "http.request", "body": b"{}", "more_body": False}])
    start = next(m for m in sent if m["type"] == "http.response.start")
    assert start["status"] == 200
    txn.refresh_from_db()
    assert txn.status == "cancelled"
    assert IdempotencyRecord.objects.get(key="k-cut").response_status == 200
