"""Every API operation that names an object in its path, called by alice with one of bob's objects
(or, for merchant operations, with a customer token): 404 (or 401), and bob's objects unchanged.

A new operation with a path parameter fails ``test_every_path_operation_has_a_rule`` until it is
added to ``RULES``.
"""

from __future__ import annotations

import uuid

import pytest
from django.test import Client

from tests.fuzz.conftest import Cast
from tests.fuzz.test_api_fuzz import OPERATIONS

# operation → (which of bob's objects goes in the path, a valid body, the status alice must get)
RULES: dict[str, tuple[str, dict | None, int]] = {
    "DELETE /api/v1/me/sessions/{session_id}": ("session_id", None, 404),
    "GET /api/v1/transactions/{txn_id}": ("txn_id", None, 404),
    "POST /api/v1/transactions/{txn_id}/cancel": ("txn_id", {}, 404),
    "POST /api/v1/transactions/{txn_id}/refund-requests": ("payment_txn_id", {"amount": 100, "reason": "x"}, 404),
    "GET /api/v1/transactions/{txn_id}/refund-requests": ("payment_txn_id", None, 404),
    "GET /api/v1/support/tickets/{ticket_id}": ("ticket_id", None, 404),
    "POST /api/v1/support/tickets/{ticket_id}/messages": ("ticket_id", {"body": "让我看看"}, 404),
    "POST /api/v1/support/tickets/{ticket_id}/close": ("ticket_id", {}, 404),
    "POST /api/v1/support/tickets/{ticket_id}/rating": ("ticket_id", {"score": 1}, 404),
    # The merchant's objects: a customer token is not a merchant key.
    "GET /api/v1/payment-intents/{intent_id}": ("intent_id", None, 401),
    "POST /api/v1/payment-intents/{intent_id}/capture": ("intent_id", {}, 401),
    "POST /api/v1/payment-intents/{intent_id}/cancel": ("intent_id", {}, 401),
    "GET /api/v1/refunds/{refund_id}": ("request_id", None, 401),
    "GET /api/v1/client/payment-intents/{intent_id}": ("intent_id", None, 401),  # a publishable key's
    "POST /api/v1/refund-requests/{request_id}/approve": ("request_id", {}, 401),
    "POST /api/v1/refund-requests/{request_id}/decline": ("request_id", {}, 401),
    "POST /api/v1/webhook-endpoints/{endpoint_id}/rotate-secret": ("request_id", {}, 401),
    "POST /api/v1/webhook-endpoints/{endpoint_id}/enable": ("request_id", {}, 401),
    "POST /api/v1/webhook-endpoints/{endpoint_id}/disable": ("request_id", {}, 401),
    "POST /api/v1/webhook-deliveries/{delivery_id}/resend": ("request_id", {}, 401),
}
# Operations on shared objects: anyone may read help articles, and any customer may pay an intent.
SHARED = {
    "GET /api/v1/help/articles/{slug}",
    "POST /api/v1/help/articles/{slug}/votes",
    "POST /api/v1/payment-intents/{intent_id}/confirm",
}


def test_every_path_operation_has_a_rule() -> None:
    with_parameter = {label for label in OPERATIONS if "{" in label}
    assert with_parameter - SHARED == set(RULES)


def _bob_view(client: Client, cast: Cast) -> dict:
    ids = cast.bob_objects
    return {
        "txn": client.get(f"/api/v1/transactions/{ids['txn_id']}").json(),
        "payment": client.get(f"/api/v1/transactions/{ids['payment_txn_id']}").json(),
        "refund_requests": client.get(f"/api/v1/transactions/{ids['payment_txn_id']}/refund-requests").json(),
        "ticket": client.get(f"/api/v1/support/tickets/{ids['ticket_id']}").json(),
        "sessions": client.get("/api/v1/me/sessions").json(),
        "balances": client.get("/api/v1/wallet/balances").json(),
    }


@pytest.mark.parametrize("label", sorted(RULES))
def test_alice_never_reaches_bobs_objects(label: str, cast: Cast) -> None:
    kind, body, expected = RULES[label]
    method, template = label.split(" ", 1)
    path = template.replace(template[template.index("{"):template.index("}") + 1], cast.bob_objects[kind])
    as_bob = Client(headers=cast.headers("bob"))
    before = _bob_view(as_bob, cast)

    as_alice = Client(headers={**cast.headers("alice"), "Idempotency-Key": uuid.uuid4().hex})
    if method == "GET":
        response = as_alice.get(path)
    elif method == "DELETE":
        response = as_alice.delete(path)
    else:
        response = as_alice.post(path, body, content_type="application/json")

    assert response.status_code == expected, (label, response.status_code, response.content)
    assert response.json()["error"]["code"] == {404: "not_found", 401: "unauthenticated"}[expected]
    assert _bob_view(as_bob, cast) == before
