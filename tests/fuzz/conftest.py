"""The cast the API fuzzer acts as: two funded customers with objects of their own and a merchant."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

import pytest
from django.core.cache import cache
from django.test import Client

from okpay.identity.models import User
from okpay.identity.services import api_token_create
from okpay.merchants import services as merchants
from okpay.payments.billers import billers_seed
from okpay.payments.services import topup_create
from tests.factories import user_create


@dataclass
class Cast:
    tokens: dict[str, str | None]                  # identity name → bearer token (None: anonymous)
    bob_objects: dict[str, str] = field(default_factory=dict)   # path parameter → one of bob's ids
    users: dict[str, User] = field(default_factory=dict)

    def headers(self, who: str) -> dict[str, str]:
        token = self.tokens[who]
        return {"Authorization": f"Bearer {token}"} if token else {}


def _post(client: Client, path: str, body: dict, status: int = 201) -> dict:
    response = client.post(path, body, content_type="application/json", headers={"Idempotency-Key": uuid.uuid4().hex})
    assert response.status_code == status, (path, response.status_code, response.content)
    return response.json()


@pytest.fixture
def cast(db, settings) -> Cast:  # type: ignore[no-untyped-def]
    settings.OKPAY_RISK_VELOCITY_PER_HOUR = 100_000
    settings.OKPAY_WITHDRAWAL_FAILURE_PERCENT = 0
    cache.clear()
    billers_seed()
    alice = user_create("alice@example.com", name="Alice")
    bob = user_create("bob@example.com", name="Bob")
    shop = user_create("shop@example.com", name="Shop", role="merchant")
    for customer in (alice, bob):
        topup_create(user=customer, amount=500_000)
    merchant = merchants.merchant_create(user=shop, name="茶叶小店", refund_window_days=30)
    secret_key, _ = merchants.api_key_create(merchant=merchant, name="fuzz")
    tokens = {"anonymous": None, "alice": api_token_create(user=alice)[0], "bob": api_token_create(user=bob)[0],
              "shop": secret_key}
    result = Cast(tokens=tokens, users={"alice": alice, "bob": bob, "shop": shop})

    # bob's own objects, made through the API as a client would.
    as_bob = Client(headers={"Authorization": f"Bearer {tokens['bob']}"})
    as_shop = Client(headers={"Authorization": f"Bearer {secret_key}"})
    pending = _post(as_bob, "/api/v1/transfers", {"to": "nobody-yet@example.com", "amount": 1_000, "currency": "CNY"})
    intent = _post(as_shop, "/api/v1/payment-intents",
                   {"amount": 2_000, "currency": "CNY", "description": "茶", "capture": "automatic"})
    payment = _post(as_bob, f"/api/v1/payment-intents/{intent['id']}/confirm", {}, status=200)
    refund_request = _post(as_bob, f"/api/v1/transactions/{payment['id']}/refund-requests",
                           {"amount": 500, "reason": "少了一包"})
    ticket = _post(as_bob, "/api/v1/support/tickets",
                   {"category": "payment", "subject": "转账没到", "body": "我的转账还没到账。"})
    sessions = as_bob.get("/api/v1/me/sessions").json()
    result.bob_objects = {
        "txn_id": pending["id"],
        "ticket_id": ticket["id"],
        "session_id": sessions["data"][0]["id"] if isinstance(sessions, dict) else sessions[0]["id"],
        "intent_id": intent["id"],
        "request_id": refund_request["id"],
        "payment_txn_id": payment["id"],
    }
    return result
