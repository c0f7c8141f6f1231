"""Idempotency keys belong to the authenticated principal (issue 16, item 1; API.md).

Every POST of the real API that honours ``Idempotency-Key`` is taken from the OpenAPI document (a
new one is covered without a change here) and sent, with one key and one body, by every kind of
credential its security scheme knows about:

- two principals of the right kind (two customers' tokens, or two merchants' secret keys; for an
  operation open to anonymous callers: two customers and nobody) — each gets its own answer:
  never the other's stored one, never a 409 about the key;
- every wrong credential — none, an invented ``sk_…`` or ``okp_…``, a revoked key or token, a
  valid credential of the other kind, a publishable key — gets 401 (a publishable key on a
  merchant operation: 403), and the idempotency store is not even read: no SQL statement touches
  its table, and its rows are unchanged;
- the first principal, asking again, gets its own stored answer (``Idempotent-Replayed: true``).

Today's main answered an invented ``sk_…`` (or no ``Authorization`` at all, from the same
address) with the first merchant's payment intent and its ``client_secret``.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from okpay.api.api import api
from okpay.core.models import IdempotencyRecord
from okpay.identity.models import ApiToken
from okpay.identity.services import api_token_create
from okpay.merchants import services as merchants
from okpay.merchants.models import ApiKey
from okpay.payments.billers import billers_seed
from tests.factories import PASSWORD, sign_in, user_create

DOCUMENT = api.get_openapi_schema()


def _keyed_posts() -> dict[str, str]:
    """``"POST /api/v1/…"`` → the principal kind it authenticates: customer, merchant or anyone."""
    found = {}
    for path, methods in DOCUMENT["paths"].items():
        operation = methods.get("post")
        if operation is None or not any(p.get("name") == "Idempotency-Key" for p in operation.get("parameters", [])):
            continue
        security = operation.get("security") or []
        kind = ("merchant" if {"MerchantKeyAuth": []} in security else
                "customer" if {"BearerAuth": []} in security else "anyone")
        assert not security or len(security) == 1, f"{path}: teach this test the new scheme {security}"
        found[f"POST {path}"] = kind
    return found


KEYED = _keyed_posts()

# A body each operation accepts as input (so that its answer is stored, not a 400 that releases the
# key). Operations without required fields are sent ``{}``. Path parameters name nothing: "not
# found" is a business answer, stored and replayed like any other.
BODIES: dict[str, dict] = {
    "POST /api/v1/auth/register": {"email": "carol@example.com", "password": PASSWORD, "display_name": "Carol"},
    "POST /api/v1/auth/verify-email": {"token": "not-a-token"},
    "POST /api/v1/auth/password-reset": {"email": "alice@example.com"},
    "POST /api/v1/auth/password-reset/confirm": {"token": "not-a-token", "new_password": "Another-horse-7-battery",
                                                  "new_password_confirm": "Another-horse-7-battery"},
    "POST /api/v1/help/articles/{slug}/votes": {"helpful": True},
    "POST /api/v1/support/verify-channel": {"value": "okpay.example"},
    "POST /api/v1/support/phishing-reports": {"value": "https://okpay-support.example/login"},
    "POST /api/v1/topups": {"amount": 1_000},
    "POST /api/v1/withdrawals": {"amount": 100},
    "POST /api/v1/transfers": {"to": "carol@example.com", "amount": 100},
    "POST /api/v1/bill-payments": {"biller": "sh-water", "account_reference": "12345674", "amount": 100},
    "POST /api/v1/payment-intents": {"amount": 1_000, "description": "茶"},
    "POST /api/v1/refunds": {"payment_intent": "pi_nothing"},
    "POST /api/v1/transactions/{txn_id}/refund-requests": {"reason": "broken"},
    "POST /api/v1/webhook-endpoints": {"url": "https://93.184.215.14/hooks/okpay", "events": ["*"]},
    "POST /api/v1/support/tickets": {"category": "payment", "subject": "Where is it?", "body": "My top-up."},
    "POST /api/v1/support/tickets/{ticket_id}/messages": {"body": "Any news?"},
    "POST /api/v1/support/tickets/{ticket_id}/rating": {"score": 5},
    "POST /api/v1/support/callbacks": {"phone": "+8613800138000", "topic": "My top-up"},
    "POST /api/v1/support/feedback": {"body": "Nice."},
}
# These refuse any invented token with 400 invalid_token: nothing is stored, so nothing can leak.
ANSWER_400 = {"POST /api/v1/auth/verify-email", "POST /api/v1/auth/password-reset/confirm"}
# Signing out revokes the token it was sent with: asking again is a 401, before the store.
ENDS_ITS_CREDENTIAL = {"POST /api/v1/auth/logout"}


def url_of(label: str) -> str:
    path = label.split(" ", 1)[1]
    while "{" in path:
        path = path[:path.index("{")] + "x-1" + path[path.index("}") + 1:]
    return path


@dataclass
class Caller:
    name: str
    authorization: str | None = None
    client: Client | None = None

    def post(self, label: str, key: str) -> object:
        client = self.client or Client()
        headers = {"Idempotency-Key": key}
        if self.authorization is not None:
            headers["Authorization"] = self.authorization
        return client.post(url_of(label), json.dumps(BODIES.get(label, {})), content_type="application/json",
                           headers=headers)


@dataclass
class Cast:
    callers: dict[str, Caller]
    scopes: dict[str, str]  # principal → the scope its keys must be stored under


@pytest.fixture
def cast(db, settings) -> Cast:  # type: ignore[no-untyped-def]
    settings.OKPAY_RISK_VELOCITY_PER_HOUR = 100_000
    cache.clear()
    billers_seed()
    alice, bob = user_create("alice@example.com", name="Alice"), user_create("bob@example.com", name="Bob")
    shop_user = user_create("shop@example.com", name="Shop", role="merchant")
    rival_user = user_create("rival@example.com", name="Rival", role="merchant")
    shop = merchants.merchant_create(user=shop_user, name="茶叶小店")
    rival = merchants.merchant_create(user=rival_user, name="对面的茶店")
    shop_key, _ = merchants.api_key_create(merchant=shop, name="server")
    rival_key, _ = merchants.api_key_create(merchant=rival, name="server")
    publishable, _ = merchants.api_key_create(merchant=shop, kind="publishable")
    revoked_key, revoked = merchants.api_key_create(merchant=shop, name="old")
    merchants.api_key_revoke(merchant=shop, key_id=revoked.public_id)
    old_token, old = api_token_create(user=alice)
    ApiToken.objects.filter(pk=old.pk).update(revoked_at=old.created_at)

    def bearer(raw: str) -> str:
        return f"Bearer {raw}"

    return Cast(callers={
        "alice": Caller("alice", bearer(api_token_create(user=alice)[0])),
        "bob": Caller("bob", bearer(api_token_create(user=bob)[0])),
        "shop": Caller("shop", bearer(shop_key)),
        "rival": Caller("rival", bearer(rival_key)),
        "shop's own user token": Caller("shop's own user token", bearer(api_token_create(user=shop_user)[0])),
        "nobody": Caller("nobody"),
        "invented sk": Caller("invented sk", bearer("sk_" + "A" * 43)),
        "invented token": Caller("invented token", bearer("okp_" + "A" * 43)),
        "revoked sk": Caller("revoked sk", bearer(revoked_key)),
        "revoked token": Caller("revoked token", bearer(old_token)),
        "publishable key": Caller("publishable key", bearer(publishable)),
        "garbage": Caller("garbage", "Basic YWxpY2U6c2VjcmV0"),
        "alice's session": Caller("alice's session", client=sign_in(alice)),
    }, scopes={"alice": alice.public_id, "bob": bob.public_id, "shop": shop.public_id, "rival": rival.public_id,
               "nobody": "anon:127.0.0.1"})


PRINCIPALS = {"customer": ("alice", "bob"), "merchant": ("shop", "rival"), "anyone": ("alice", "bob", "nobody")}
WRONG = {
    "customer": {"nobody": 401, "invented token": 401, "invented sk": 401, "revoked token": 401, "shop": 401,
                 "publishable key": 401, "garbage": 401, "alice's session": 401},
    "merchant": {"nobody": 401, "invented sk": 401, "invented token": 401, "revoked sk": 401, "alice": 401,
                 "shop's own user token": 401, "garbage": 401, "alice's session": 401, "publishable key": 403},
    "anyone": {},
}


def records() -> list[tuple[str, str, int | None]]:
    return list(IdempotencyRecord.objects.order_by("pk").values_list("scope", "key", "response_status"))


def test_every_keyed_post_is_known_to_this_test() -> None:
    assert len(KEYED) >= 35
    assert set(BODIES) <= set(KEYED)
    assert {"POST /api/v1/payment-intents", "POST /api/v1/webhook-endpoints/{endpoint_id}/rotate-secret",
            "POST /api/v1/transfers", "POST /api/v1/auth/register"} <= set(KEYED)


@pytest.mark.parametrize("label", sorted(KEYED))
def test_keys_belong_to_the_authenticated_principal(label: str, cast: Cast) -> None:
    kind, callers, scope_of = KEYED[label], cast.callers, cast.scopes
    key = f"key-{uuid.uuid4().hex}"
    first, *others = PRINCIPALS[kind]

    answer = callers[first].post(label, key)
    if label in ANSWER_400:
        assert answer.status_code == 400 and records() == []
    else:
        assert answer.status_code not in (400, 401, 429, 500), (label, answer.status_code, answer.content)
        assert records() == [(scope_of[first], key, answer.status_code)], label
    stored = records()

    for name, status in WRONG[kind].items():
        with CaptureQueriesContext(connection) as queries:
            refused = callers[name].post(label, key)
        assert (refused.status_code, refused.has_header("Idempotent-Replayed")) == (status, False), (label, name)
        assert refused.json()["error"]["code"] == {401: "unauthenticated", 403: "forbidden"}[status], (label, name)
        touched = [q["sql"] for q in queries.captured_queries if "core_idempotencyrecord" in q["sql"]]
        assert touched == [], (label, name, touched)
        assert records() == stored, (label, name)

    for name in others:
        own = callers[name].post(label, key)
        assert not own.has_header("Idempotent-Replayed"), (label, name)
        assert not (own.status_code == 409 and own.json()["error"]["code"].startswith("idempotency_key")), label
        if own.status_code not in (400, 401, 429):
            assert (scope_of[name], key, own.status_code) in records(), (label, name)
        if "client_secret" in answer.content.decode() or '"secret"' in answer.content.decode():
            assert answer.json().get("client_secret", answer.json().get("secret")) not in own.content.decode()

    if label in ENDS_ITS_CREDENTIAL:
        assert callers[first].post(label, key).status_code == 401 and records() == stored + [
            (scope_of[name], key, 204) for name in others]
    elif label not in ANSWER_400:
        again = callers[first].post(label, key)
        assert (again.status_code, again["Idempotent-Replayed"], again.content) == \
            (answer.status_code, "true", answer.content), label


def test_the_attack_of_the_issue_fails(cast: Cast) -> None:
    """The first merchant's intent and client secret, replayed to an invented key and to nobody."""
    callers = cast.callers
    label = "POST /api/v1/payment-intents"
    intent = callers["shop"].post(label, "order-1001")
    assert intent.status_code == 201 and intent.json()["client_secret"].startswith("pi_")
    for name in ("invented sk", "nobody", "rival"):
        answer = callers[name].post(label, "order-1001")
        assert intent.json()["client_secret"] not in answer.content.decode(), name
        assert intent.json()["id"] not in answer.content.decode(), name
    assert callers["invented sk"].post(label, "order-1001").status_code == 401
    assert callers["nobody"].post(label, "order-1001").status_code == 401
    assert callers["rival"].post(label, "order-1001").status_code == 201


def test_a_session_is_its_users_principal_on_an_anonymous_operation(cast: Cast) -> None:
    callers = cast.callers
    label = "POST /api/v1/support/phishing-reports"
    first = callers["alice's session"].post(label, "report-1")
    assert first.status_code == 201 and records() == [(cast.scopes["alice"], "report-1", 201)]
    assert not callers["nobody"].post(label, "report-1").has_header("Idempotent-Replayed")
    assert callers["alice"].post(label, "report-1")["Idempotent-Replayed"] == "true"  # her token: same person


def test_a_merchant_post_looks_its_key_up_once(cast: Cast) -> None:
    """Authenticating before the store does not cost a second lookup when the operation runs."""
    with CaptureQueriesContext(connection) as queries:
        answer = cast.callers["shop"].post("POST /api/v1/payment-intents", "once-1")
    assert answer.status_code == 201
    lookups = [q["sql"] for q in queries.captured_queries
               if ApiKey._meta.db_table in q["sql"] and q["sql"].lstrip().upper().startswith("SELECT")]
    assert len(lookups) == 1, lookups
