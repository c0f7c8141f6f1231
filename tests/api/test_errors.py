"""Every error path under /api/ answers with the envelope of API.md, never an HTML page."""

from __future__ import annotations

import json

import pytest
from django.test import Client, override_settings


def assert_envelope(response, status: int, code: str, param: str | None = None) -> dict:  # type: ignore[no-untyped-def]
    assert response.status_code == status
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "param"}
    assert body["error"]["code"] == code
    assert body["error"]["param"] == param
    assert body["error"]["message"]
    return body["error"]


def test_unknown_path(db, client: Client) -> None:
    error = assert_envelope(client.get("/api/v1/no-such-thing"), 404, "not_found")
    assert "/api/v1/no-such-thing" in error["message"]


def test_unknown_path_outside_the_version(db, client: Client) -> None:
    assert_envelope(client.get("/api/v2/health"), 404, "not_found")


def test_wrong_method_names_the_allowed_ones(db, client: Client) -> None:
    response = client.delete("/api/v1/health")
    assert_envelope(response, 405, "method_not_allowed")
    assert response["Allow"] == "GET"


@pytest.mark.urls("tests.api.idem_urls")
def test_malformed_json(alice, api_client) -> None:
    response = api_client(alice).post("/api/v1/things", data="{not json", content_type="application/json")
    error = assert_envelope(response, 400, "invalid_request")
    assert "JSON" in error["message"]


@pytest.mark.urls("tests.api.idem_urls")
def test_validation_error_names_the_field(alice, api_client) -> None:
    response = api_client(alice).post("/api/v1/things", data=json.dumps({"name": "x"}),
                                      content_type="application/json")
    assert_envelope(response, 400, "invalid_request", "amount")


@pytest.mark.urls("tests.api.idem_urls")
@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1024)
@pytest.mark.parametrize("with_key", [True, False])
def test_body_over_the_limit(alice, api_client, with_key: bool) -> None:
    body = json.dumps({"name": "x" * 5000, "amount": 1})
    headers = {"Idempotency-Key": "big"} if with_key else {}
    response = api_client(alice).post("/api/v1/things", data=body, content_type="application/json", headers=headers)
    error = assert_envelope(response, 400, "invalid_request")
    assert error["message"] == "请求正文过大。"  # the caller's language: zh-Hans (tests/api/test_error_language.py)


@pytest.mark.urls("tests.api.idem_urls")
def test_unhandled_exception_is_a_logged_500_with_a_reference(alice, api_client, caplog) -> None:
    response = api_client(alice).post("/api/v1/boom", data=json.dumps({"name": "x", "amount": 1}),
                                      content_type="application/json")
    error = assert_envelope(response, 500, "internal_error")
    assert response["X-Request-ID"] in error["message"]
    assert any(record.levelname == "ERROR" and record.exc_info for record in caplog.records)


@pytest.mark.urls("tests.api.idem_urls")
@pytest.mark.parametrize("header", [None, "Bearer nonsense", "Basic abc", "Bearer "])
def test_bad_or_missing_credentials(db, header: str | None) -> None:
    client = Client(headers={"Authorization": header} if header else {})
    response = client.post("/api/v1/things", data=json.dumps({"name": "x", "amount": 1}),
                           content_type="application/json")
    assert_envelope(response, 401, "unauthenticated")


def test_revoked_and_expired_tokens_are_refused(alice) -> None:
    from datetime import timedelta

    from okpay.identity.services import api_token_create, api_token_revoke

    raw, token = api_token_create(user=alice)
    api_token_revoke(token=token)
    expired_raw, _ = api_token_create(user=alice, ttl=timedelta(seconds=-1))
    from django.test import RequestFactory

    from okpay.api.auth import user_for_token

    assert user_for_token(RequestFactory().get("/"), raw) is None
    assert user_for_token(RequestFactory().get("/"), expired_raw) is None


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        ("InsufficientFunds", 422, "insufficient_funds"),
        ("AccountFrozen", 403, "account_frozen"),
        ("LedgerBusy", 409, "conflict"),
        ("PendingAlreadyPosted", 422, "pending_already_posted"),
    ],
)
def test_ledger_errors_no_service_translated_keep_the_envelope(rf, error: str, status: int, code: str) -> None:
    from okpay.api.api import api
    from okpay.ledger import errors as ledger_errors

    exc = getattr(ledger_errors, error)("refused")
    response = api.on_exception(rf.post("/api/v1/x"), exc)
    assert response.status_code == status
    assert json.loads(response.content)["error"]["code"] == code
