"""API.md "Wallet and transactions": exact fields, codes, and Idempotency-Key on money endpoints."""

from __future__ import annotations

import json

import pytest
from django.utils import timezone

from okpay.payments.models import Transaction
from tests.factories import user_create
from tests.payments.conftest import assert_ledger_ok, available, key

pytestmark = pytest.mark.django_db

FIELDS = {"id", "type", "status", "amount", "currency", "direction", "counterparty", "note", "pending_reason",
          "expected_by", "failure_reason", "refunded_amount", "created_at", "updated_at", "timeline", "cancellable",
          "biller", "account_reference"}


def post(client, path, body, idem: str | None = "auto"):  # type: ignore[no-untyped-def]
    headers = {} if idem is None else {"Idempotency-Key": key() if idem == "auto" else idem}
    return client.post(path, data=json.dumps(body), content_type="application/json", headers=headers)


def test_topup_balances_and_transaction_shape(api_client, alice):
    client = api_client(alice)
    answer = post(client, "/api/v1/topups", {"amount": 10_000, "currency": "CNY", "source": "sandbox_card"})
    assert answer.status_code == 201, answer.content
    body = answer.json()
    assert set(body) == FIELDS
    assert (body["type"], body["status"], body["amount"]) == ("top_up", "succeeded", 10_000)
    assert body["direction"] == "credit"
    assert body["id"].startswith("txn_") and body["pending_reason"] is None and body["expected_by"] is None
    assert [step["status"] for step in body["timeline"]] == ["created", "succeeded"]
    balances = client.get("/api/v1/wallet/balances").json()
    assert balances == {"data": [{"currency": "CNY", "available": 10_000, "held": 0, "total": 10_000}]}


@pytest.mark.parametrize("amount", ["100", 10.5, 100.0, 0, -5, True, None, 10**13])
def test_amounts_must_be_positive_integers(api_client, alice, amount):
    answer = post(api_client(alice), "/api/v1/topups", {"amount": amount, "currency": "CNY"})
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "invalid_request"
    assert answer.json()["error"]["param"] == "amount"
    assert Transaction.objects.count() == 0


def test_money_endpoints_need_an_idempotency_key(api_client, alice):
    client = api_client(alice)
    bill = {"biller": "sh-water", "account_reference": "12345674", "amount": 100}
    for path, body in (("/api/v1/topups", {"amount": 100}), ("/api/v1/transfers", {"to": "b@example.com", "amount": 1}),
                       ("/api/v1/withdrawals", {"amount": 1}), ("/api/v1/bill-payments", bill)):
        answer = post(client, path, body, idem=None)
        assert answer.status_code == 400, path
        assert answer.json()["error"] == {"code": "invalid_request", "param": "Idempotency-Key",
                                          "message": "涉及资金的请求需要 Idempotency-Key 请求头。"}
    assert Transaction.objects.count() == 0


def test_double_submit_with_the_same_key_moves_money_once(api_client, alice, bob):
    client = api_client(alice)
    post(client, "/api/v1/topups", {"amount": 10_000})
    body = {"to": "bob@example.com", "amount": 1_000, "currency": "CNY", "note": "rent"}
    first = post(client, "/api/v1/transfers", body, idem="same-key")
    second = post(client, "/api/v1/transfers", body, idem="same-key")
    assert first.status_code == second.status_code == 201
    assert second.headers["Idempotent-Replayed"] == "true"
    assert first.json()["id"] == second.json()["id"]
    assert Transaction.objects.filter(user=alice, type="transfer").count() == 1
    assert available(bob) == 1_000 and available(alice) == 9_000
    reused = post(client, "/api/v1/transfers", {**body, "amount": 2_000}, idem="same-key")
    assert reused.status_code == 409 and reused.json()["error"]["code"] == "idempotency_key_reused"
    assert_ledger_ok()


def test_error_codes(api_client, alice, bob):
    client = api_client(alice)
    post(client, "/api/v1/topups", {"amount": 1_000})
    cases = [
        ({"to": "bob@example.com", "amount": 1_001}, 422, "insufficient_funds"),
        ({"to": "bob@example.com", "amount": 10**9}, 422, "limit_exceeded"),
        ({"to": "+8613912345678", "amount": 10}, 422, "recipient_not_found"),
        ({"to": "alice@example.com", "amount": 10}, 400, "invalid_request"),
    ]
    for body, status, code in cases:
        answer = post(client, "/api/v1/transfers", body)
        assert (answer.status_code, answer.json()["error"]["code"]) == (status, code), body
    unverified = user_create("new@example.com", verified=False)
    answer = post(api_client(unverified), "/api/v1/transfers", {"to": "bob@example.com", "amount": 1})
    assert (answer.status_code, answer.json()["error"]["code"]) == (403, "email_not_verified")
    frozen = user_create("cold@example.com")
    frozen.frozen_at = timezone.now()
    frozen.save()
    answer = post(api_client(frozen), "/api/v1/withdrawals", {"amount": 1})
    assert (answer.status_code, answer.json()["error"]["code"]) == (403, "account_frozen")
    assert available(alice) == 1_000 and available(bob) == 0
    assert_ledger_ok()


def test_pending_transfer_list_detail_cancel(api_client, alice, mallory):
    client = api_client(alice)
    post(client, "/api/v1/topups", {"amount": 5_000})
    created = post(client, "/api/v1/transfers", {"to": "friend@example.com", "amount": 2_000}).json()
    assert (created["status"], created["pending_reason"], created["cancellable"]) == ("pending", "awaiting_claim", True)
    assert created["counterparty"] == {"name": "f***@example.com", "wallet_id": None}
    assert [(step["status"], step["reason"]) for step in created["timeline"]] == [("created", "created"),
                                                                                  ("pending", "invited")]
    assert created["expected_by"] is not None
    listing = client.get("/api/v1/transactions?status=pending").json()
    assert [row["id"] for row in listing["data"]] == [created["id"]] and listing["next_cursor"] is None
    assert client.get(f"/api/v1/transactions/{created['id']}").json()["id"] == created["id"]
    other = api_client(mallory)
    assert other.get(f"/api/v1/transactions/{created['id']}").status_code == 404
    assert post(other, f"/api/v1/transactions/{created['id']}/cancel", {}).status_code == 404
    cancelled = post(client, f"/api/v1/transactions/{created['id']}/cancel", {})
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    again = post(client, f"/api/v1/transactions/{created['id']}/cancel", {})
    assert (again.status_code, again.json()["error"]["code"]) == (409, "not_cancellable")
    assert client.get("/api/v1/wallet/balances").json()["data"][0] == {"currency": "CNY", "available": 5_000,
                                                                       "held": 0, "total": 5_000}
    assert_ledger_ok()


def test_keyset_paging_and_filters(api_client, alice):
    client = api_client(alice)
    for _ in range(5):
        post(client, "/api/v1/topups", {"amount": 100})
    first = client.get("/api/v1/transactions?limit=2").json()
    second = client.get(f"/api/v1/transactions?limit=2&cursor={first['next_cursor']}").json()
    third = client.get(f"/api/v1/transactions?limit=2&cursor={second['next_cursor']}").json()
    ids = [row["id"] for page in (first, second, third) for row in page["data"]]
    assert len(ids) == len(set(ids)) == 5 and third["next_cursor"] is None
    assert client.get("/api/v1/transactions?type=transfer").json()["data"] == []
    assert client.get("/api/v1/transactions?type=nonsense").status_code == 400


def test_billers_and_bill_payment(api_client, alice, billers):
    client = api_client(alice)
    post(client, "/api/v1/topups", {"amount": 10_000})
    listed = client.get("/api/v1/billers").json()["data"]
    assert {b["category"] for b in listed} == {"electricity", "water", "gas", "mobile"}
    answer = post(client, "/api/v1/bill-payments", {"biller": "china-mobile", "account_reference": "13800138003",
                                                    "amount": 5_000, "currency": "CNY"})
    assert answer.status_code == 201
    assert (answer.json()["status"], answer.json()["pending_reason"]) == ("pending", "awaiting_biller")
    bad = post(client, "/api/v1/bill-payments", {"biller": "china-mobile", "account_reference": "999",
                                                 "amount": 5_000, "currency": "CNY"})
    assert (bad.status_code, bad.json()["error"]["param"]) == (400, "account_reference")
    assert client.get("/api/v1/wallet/limits").json()["level"] == "email"


def test_step_up_above_the_amount_needs_the_2fa_code(api_client, alice, bob, settings):
    from django_otp.oath import totp
    from django_otp.plugins.otp_totp.models import TOTPDevice

    settings.OKPAY_STEP_UP_AMOUNT = 1_000
    device = TOTPDevice.objects.create(user=alice, name="phone", confirmed=True)
    client = api_client(alice)
    post(client, "/api/v1/topups", {"amount": 10_000})
    answer = post(client, "/api/v1/transfers", {"to": "bob@example.com", "amount": 2_000})
    assert (answer.status_code, answer.json()["error"]["code"]) == (401, "otp_required")
    code = f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"
    answer = post(client, "/api/v1/transfers", {"to": "bob@example.com", "amount": 2_000, "otp_code": code})
    assert answer.status_code == 201, answer.content
    assert available(bob) == 2_000


def test_me_shows_the_wallet_id(api_client, alice):
    from okpay.payments.services import wallet

    assert api_client(alice).get("/api/v1/me").json()["wallet_id"] == wallet(alice).public_id


@pytest.mark.django_db(transaction=True)
def test_a_transfer_is_one_transaction_without_savepoints(api_client):
    """The request's transaction is rolled back whole on any error (core.db.unrecovered), so the
    services and the ledger inside nest without a savepoint; a refusal still changes nothing."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from okpay.payments.services import topup_create, wallet

    sender, recipient = user_create("fast@example.com"), user_create("dest@example.com")
    topup_create(user=sender, amount=1_000)
    wallet(recipient)  # opened on first use, in a savepoint of its own (a concurrent opening may win)
    client = api_client(sender)
    with CaptureQueriesContext(connection) as queries:
        sent = post(client, "/api/v1/transfers", {"to": recipient.email, "amount": 600})
        refused = post(client, "/api/v1/transfers", {"to": recipient.email, "amount": 600})
    assert (sent.status_code, refused.status_code) == (201, 422)
    assert refused.json()["error"]["code"] == "insufficient_funds"
    assert [q["sql"] for q in queries.captured_queries if "SAVEPOINT" in q["sql"]] == []
    assert (available(sender), available(recipient)) == (400, 600)
    assert Transaction.objects.filter(user=sender, type="transfer").count() == 1
    assert_ledger_ok()
