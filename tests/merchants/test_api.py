from __future__ import annotations

import pytest
from django.test import Client

from okpay.merchants.models import PaymentIntent
from tests.merchants.conftest import available

pytestmark = pytest.mark.django_db


class KeyedClient(Client):
    """A client like a merchant's SDK: every POST carries a fresh Idempotency-Key unless it gives one
    (the endpoints that move or decide on money require one: ``test_money_endpoints_require_a_key``)."""

    def post(self, path, data=None, content_type="multipart/form-data; boundary=BoUnDaRyStRiNg",  # type: ignore[no-untyped-def,override]
             *args, headers=None, **kwargs):
        import uuid

        headers = {"Idempotency-Key": uuid.uuid4().hex, **(headers or {})}
        return super().post(path, data, content_type, *args, headers=headers, **kwargs)

    def generic(self, method, path, data="", content_type="application/octet-stream",  # type: ignore[no-untyped-def,override]
                secure=False, *, headers=None, **kwargs):
        import uuid

        if method == "POST" and not (headers or {}).get("Idempotency-Key"):
            headers = {"Idempotency-Key": uuid.uuid4().hex, **(headers or {})}
        return super().generic(method, path, data, content_type, secure, headers=headers, **kwargs)


def merchant_client(raw: str) -> Client:
    return KeyedClient(headers={"Authorization": f"Bearer {raw}"})


def keyed(client: Client) -> Client:
    return KeyedClient(headers={"Authorization": client.defaults.get("HTTP_AUTHORIZATION", "")})


def test_intent_flow_over_api(merchant, secret_key, funded, api_client) -> None:
    shop = merchant_client(secret_key)
    created = shop.post("/api/v1/payment-intents", {"amount": 2_500, "currency": "CNY", "description": "茶"},
                        content_type="application/json", headers={"Idempotency-Key": "k1"})
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["status"] == "requires_confirmation" and body["checkout_url"].endswith(f"/checkout/{body['id']}/")
    replay = shop.post("/api/v1/payment-intents", {"amount": 2_500, "currency": "CNY", "description": "茶"},
                       content_type="application/json", headers={"Idempotency-Key": "k1"})
    assert replay.json()["id"] == body["id"] and PaymentIntent.objects.count() == 1
    customer = keyed(api_client(funded))
    confirm = customer.post(f"/api/v1/payment-intents/{body['id']}/confirm", content_type="application/json")
    assert confirm.status_code == 200, confirm.content
    assert confirm.json()["type"] == "payment" and confirm.json()["status"] == "succeeded"
    assert shop.get(f"/api/v1/payment-intents/{body['id']}").json()["status"] == "succeeded"
    assert [i["id"] for i in shop.get("/api/v1/payment-intents").json()["data"]] == [body["id"]]
    refund = shop.post("/api/v1/refunds", {"payment_intent": body["id"], "amount": 1_000},
                       content_type="application/json")
    assert refund.status_code == 201 and refund.json()["status"] == "succeeded"
    too_much = shop.post("/api/v1/refunds", {"payment_intent": body["id"], "amount": 1_501},
                         content_type="application/json")
    assert too_much.status_code == 422 and too_much.json()["error"]["code"] == "refund_exceeds_payment"
    txn = customer.get(f"/api/v1/transactions/{confirm.json()['id']}").json()
    assert txn["status"] == "partially_refunded" and txn["refunded_amount"] == 1_000


def test_auth_required_and_scoped(merchant, secret_key, funded, api_client, bob) -> None:
    assert Client().post("/api/v1/payment-intents", {"amount": 1}, content_type="application/json").status_code == 401
    # A customer token is not a merchant key.
    assert api_client(funded).post("/api/v1/payment-intents", {"amount": 100},
                                   content_type="application/json").status_code == 401
    assert merchant_client("sk_nonsense").get("/api/v1/payment-intents").status_code == 401
    from okpay.merchants import services

    other = services.merchant_create(user=bob, name="Other")
    raw, _ = services.api_key_create(merchant=other)
    intent = services.intent_create(merchant=merchant, amount=100)
    assert merchant_client(raw).get(f"/api/v1/payment-intents/{intent.public_id}").status_code == 404
    assert merchant_client(raw).post(f"/api/v1/payment-intents/{intent.public_id}/cancel",
                                     content_type="application/json").status_code == 404
    intent.refresh_from_db()
    assert intent.status == "requires_confirmation"


def test_bad_amounts_refused(secret_key) -> None:
    shop = merchant_client(secret_key)
    for amount in ("100", 0, -5, 1.5, 10**13):
        r = shop.post("/api/v1/payment-intents", {"amount": amount}, content_type="application/json")
        assert r.status_code == 400, (amount, r.content)


def test_capture_cancel_and_errors(merchant, secret_key, funded, api_client) -> None:
    shop = merchant_client(secret_key)
    pi = shop.post("/api/v1/payment-intents", {"amount": 3_000, "capture": "manual"},
                   content_type="application/json").json()
    confirmed = keyed(api_client(funded)).post(f"/api/v1/payment-intents/{pi['id']}/confirm",
                                               content_type="application/json")
    assert confirmed.json().get("status") == "pending", confirmed.content
    captured = shop.post(f"/api/v1/payment-intents/{pi['id']}/capture", {"amount": 2_000},
                         content_type="application/json")
    assert captured.status_code == 200 and captured.json()["amount_received"] == 2_000
    again = shop.post(f"/api/v1/payment-intents/{pi['id']}/cancel", content_type="application/json")
    assert again.status_code == 409 and again.json()["error"]["code"] == "payment_intent_unexpected_state"
    assert available(funded) == 98_000


def test_refund_requests_over_api(merchant, secret_key, funded, api_client) -> None:
    shop = merchant_client(secret_key)
    pi = shop.post("/api/v1/payment-intents", {"amount": 3_000}, content_type="application/json").json()
    customer = keyed(api_client(funded))
    txn = customer.post(f"/api/v1/payment-intents/{pi['id']}/confirm", content_type="application/json").json()
    req = customer.post(f"/api/v1/transactions/{txn['id']}/refund-requests", {"reason": "尺寸不对"},
                        content_type="application/json")
    assert req.status_code == 201 and req.json()["amount"] == 3_000 and req.json()["status"] == "pending"
    assert req.json()["refund_window_days"] == 30
    listed = shop.get("/api/v1/refund-requests?status=pending").json()["data"]
    assert [r["id"] for r in listed] == [req.json()["id"]]
    approved = shop.post(f"/api/v1/refund-requests/{req.json()['id']}/approve", content_type="application/json")
    assert approved.status_code == 200 and approved.json()["refund_status"] == "succeeded"
    assert customer.get(f"/api/v1/transactions/{txn['id']}/refund-requests").json()["data"][0]["status"] == "approved"
    assert available(funded) == 100_000


def test_webhook_endpoint_api(secret_key, settings) -> None:
    settings.OKPAY_WEBHOOK_ALLOW_PRIVATE = True
    shop = merchant_client(secret_key)
    created = shop.post("/api/v1/webhook-endpoints", {"url": "http://127.0.0.1:9/hook",
                                                      "events": ["payment_intent.succeeded"]},
                        content_type="application/json")
    assert created.status_code == 201 and created.json()["secret"].startswith("whsec_")
    assert shop.get("/api/v1/webhook-endpoints").json()[0]["secret"] is None
    bad = shop.post("/api/v1/webhook-endpoints", {"url": "https://example.com", "events": ["nope"]},
                    content_type="application/json")
    assert bad.status_code == 400


def test_capture_cancel_decline_accept_an_empty_body_of_any_content_type(merchant, secret_key, funded,
                                                                          api_client) -> None:
    """No body, an empty form (``curl -X POST -d ''``) or an empty multipart body is an empty request."""
    from okpay.merchants import services

    def bare(path: str) -> Client:  # no Content-Type at all, no body
        return merchant_client(secret_key).generic("POST", path, b"")  # type: ignore[return-value]

    shop = merchant_client(secret_key)
    pi = shop.post("/api/v1/payment-intents", {"amount": 3_000, "capture": "manual"},
                   content_type="application/json").json()
    keyed(api_client(funded)).post(f"/api/v1/payment-intents/{pi['id']}/confirm")  # the customer side too
    captured = bare(f"/api/v1/payment-intents/{pi['id']}/capture")
    assert captured.status_code == 200, captured.content
    assert captured.json()["status"] == "succeeded" and captured.json()["amount_received"] == 3_000
    other = services.intent_create(merchant=merchant, amount=500)
    cancelled = shop.post(f"/api/v1/payment-intents/{other.public_id}/cancel", "",
                          content_type="application/x-www-form-urlencoded")
    assert cancelled.status_code == 200, cancelled.content
    assert cancelled.json()["cancellation_reason"] == "requested_by_merchant"
    txn_id = captured.json()["transaction"]
    customer_txn = PaymentIntent.objects.get(public_id=pi["id"]).customer_txn
    req = services.refund_request_create(customer=funded, txn_id=customer_txn.public_id, reason="不要了")
    declined = shop.post(f"/api/v1/refund-requests/{req.public_id}/decline")  # an empty multipart form
    assert declined.status_code == 200, declined.content
    assert declined.json()["status"] == "declined" and declined.json()["decline_reason"] is None
    # A form with fields is still not JSON, and a missing required field is still reported.
    refused = shop.post("/api/v1/refunds", {"payment_intent": pi["id"]})
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "invalid_request"
    missing = shop.post("/api/v1/refunds", "", content_type="application/x-www-form-urlencoded")
    assert missing.status_code == 400 and missing.json()["error"]["code"] == "invalid_request"
    assert available(funded) == 97_000 and txn_id is not None


def test_publishable_key_reads_public_status_only(merchant, secret_key, funded, api_client, bob) -> None:
    from okpay.merchants import services
    from okpay.merchants.models import ApiKey, Refund

    pk = ApiKey.objects.get(merchant=merchant, kind="publishable").hint  # publishable keys are public
    assert pk.startswith("pk_")
    shop, browser = merchant_client(secret_key), merchant_client(pk)
    created = shop.post("/api/v1/payment-intents", {"amount": 4_200, "description": "茶"},
                        content_type="application/json").json()
    secret = created["client_secret"]
    assert secret.startswith(created["id"] + "_secret_")
    url = f"/api/v1/client/payment-intents/{created['id']}"
    seen = browser.get(url, {"client_secret": secret})
    assert seen.status_code == 200, seen.content
    assert seen.json() == {"id": created["id"], "object": "payment_intent", "status": "requires_confirmation",
                           "amount": 4_200, "currency": "CNY", "description": "茶", "merchant": "茶叶小店",
                           "checkout_url": created["checkout_url"], "return_url": None, "cancellation_reason": None,
                           "created_at": created["created_at"]}
    keyed(api_client(funded)).post(f"/api/v1/payment-intents/{created['id']}/confirm")
    assert browser.get(url, {"client_secret": secret}).json()["status"] == "succeeded"
    # Without the right client secret, or with another merchant's publishable key: not there.
    assert browser.get(url).status_code == 404
    wrong = secret[:-1] + ("y" if secret.endswith("x") else "x")  # (a secret may end in "x" itself)
    assert browser.get(url, {"client_secret": wrong}).status_code == 404
    other = services.merchant_create(user=bob, name="Other")
    other_pk = ApiKey.objects.get(merchant=other, kind="publishable").hint
    assert merchant_client(other_pk).get(url, {"client_secret": secret}).status_code == 404
    # The client endpoint takes publishable keys only.
    assert shop.get(url, {"client_secret": secret}).status_code == 401
    # Everything a secret key does is refused to a publishable key, and nothing changes.
    refused = [
        browser.post("/api/v1/payment-intents", {"amount": 100}, content_type="application/json"),
        browser.get("/api/v1/payment-intents"),
        browser.get(f"/api/v1/payment-intents/{created['id']}"),
        browser.post("/api/v1/refunds", {"payment_intent": created["id"]}, content_type="application/json"),
        browser.get("/api/v1/refund-requests"),
        browser.post("/api/v1/webhook-endpoints", {"url": "https://shop.example/hook", "events": ["*"]},
                     content_type="application/json"),
    ]
    assert [(r.status_code, r.json()["error"]["code"]) for r in refused] == [(403, "forbidden")] * len(refused)
    assert PaymentIntent.objects.count() == 1 and not Refund.objects.exists()
    assert not merchant.endpoints.exists()
    # Nor is it a customer's token; and a revoked publishable key opens nothing.
    assert browser.post(f"/api/v1/payment-intents/{created['id']}/confirm").status_code == 401
    key = ApiKey.objects.get(hint=pk)
    services.api_key_revoke(merchant=merchant, key_id=key.public_id)
    assert browser.get(url, {"client_secret": secret}).status_code == 401
    assert browser.get("/api/v1/payment-intents").status_code == 401


MONEY_POSTS = ["/api/v1/refunds", "/api/v1/payment-intents/{pi}/capture", "/api/v1/payment-intents/{pi}/cancel",
               "/api/v1/refund-requests/{rr}/approve", "/api/v1/refund-requests/{rr}/decline"]


@pytest.mark.parametrize("path", MONEY_POSTS)
def test_money_endpoints_require_a_key(merchant, secret_key, funded, api_client, path) -> None:
    """Issue 17: a POST that moves or decides on money without an Idempotency-Key changes nothing."""
    from okpay.merchants import services
    from okpay.merchants.models import RefundRequest

    intent = services.intent_create(merchant=merchant, amount=3_000, capture="manual")
    services.intent_confirm(intent_id=intent.public_id, customer=funded)
    services.intent_capture(merchant=merchant, intent_id=intent.public_id, amount=None) if "refund" in path else None
    rr = services.refund_request_create(customer=funded, txn_id=PaymentIntent.objects.get(pk=intent.pk)
                                        .customer_txn.public_id, reason="不要了") if "refund-requests" in path else None
    before = (available(funded), PaymentIntent.objects.get(pk=intent.pk).status,
              RefundRequest.objects.filter(status="pending").count())
    bare = Client(headers={"Authorization": f"Bearer {secret_key}"})
    url = path.format(pi=intent.public_id, rr=rr.public_id if rr else "")
    answer = bare.post(url, {"payment_intent": intent.public_id, "amount": 1_000}, content_type="application/json")
    assert answer.status_code == 400, answer.content
    assert answer.json()["error"]["param"] == "Idempotency-Key"
    assert (available(funded), PaymentIntent.objects.get(pk=intent.pk).status,
            RefundRequest.objects.filter(status="pending").count()) == before
    # With a key, the same request works once; the same key again answers the first result.
    first = bare.post(url, {"payment_intent": intent.public_id, "amount": 1_000}, content_type="application/json",
                      headers={"Idempotency-Key": "once"})
    second = bare.post(url, {"payment_intent": intent.public_id, "amount": 1_000}, content_type="application/json",
                       headers={"Idempotency-Key": "once"})
    assert first.status_code in (200, 201), first.content
    assert (second.status_code, second.content) == (first.status_code, first.content)
    assert second["Idempotent-Replayed"] == "true"


def test_confirm_requires_a_key(merchant, funded, api_client) -> None:
    from okpay.merchants import services

    intent = services.intent_create(merchant=merchant, amount=3_000)
    answer = api_client(funded).post(f"/api/v1/payment-intents/{intent.public_id}/confirm",
                                     content_type="application/json")
    assert answer.status_code == 400 and answer.json()["error"]["param"] == "Idempotency-Key"
    intent.refresh_from_db()
    assert intent.status == "requires_confirmation" and available(funded) == 100_000
