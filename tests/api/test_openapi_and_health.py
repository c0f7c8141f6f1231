from __future__ import annotations

import pytest
from django.test import Client
from openapi_spec_validator import validate
from openapi_spec_validator.versions import consts  # noqa: F401 - fails loudly if the package changes


def test_openapi_document_is_valid_openapi_3_1(db, client: Client) -> None:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.1")
    validate(document)  # raises on any violation of the 3.1 schema
    assert "/api/v1/health" in document["paths"]


def test_docs_page_is_served_from_vendored_files(db, client: Client) -> None:
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    html = response.content.decode()
    assert "cdn." not in html
    assert "/static/ninja/swagger-ui-bundle.js" in html


def test_health_reports_database_and_channel_layer(db, client: Client) -> None:
    response = client.get("/api/v1/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"] == "ok"
    assert body["channel_layer"] == "ok"


def test_health_says_degraded_when_the_channel_layer_is_down(db, client: Client, settings) -> None:
    from channels.layers import channel_layers

    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer",
                                           "CONFIG": {"hosts": ["redis://127.0.0.1:1/0"]}}}
    channel_layers.backends.clear()
    try:
        response = client.get("/api/v1/health")
    finally:
        channel_layers.backends.clear()
    assert response.status_code == 503
    assert response.json()["channel_layer"] == "error"
    assert response.json()["database"] == "ok"


METRICS_TOKEN = "test-metrics-token-0123456789abcdef"


@pytest.mark.parametrize("path", ["/api/v1/health", "/"])
def test_metrics_count_requests_by_route(db, client: Client, path: str, settings) -> None:
    settings.OKPAY_METRICS_TOKEN = METRICS_TOKEN
    client.get(path)
    text = client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}).content.decode()
    route = "/api/v1/health" if path != "/" else "/"
    assert f'okpay_http_requests_total{{method="GET",route="{route}",status="200"}}' in text
    assert "okpay_http_request_seconds_bucket" in text


def test_metrics_token_when_configured(db, client: Client, settings) -> None:
    settings.OKPAY_METRICS_TOKEN = "s3cret-metrics-token"
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer s3cret-metrics-tokeN"}).status_code == 401
    ok = client.get("/metrics", headers={"Authorization": "Bearer s3cret-metrics-token"})
    assert ok.status_code == 200 and "okpay_http_requests_total" in ok.content.decode()


def test_metrics_are_private_without_a_token_outside_debug(db, client: Client, settings) -> None:
    """Issue 16, item 11: /metrics was open to anybody unless a token was set."""
    settings.OKPAY_METRICS_TOKEN = ""
    settings.DEBUG = False
    hidden = client.get("/metrics")
    assert hidden.status_code == 404 and "okpay_" not in hidden.content.decode()
    anyone = client.get("/metrics", headers={"Authorization": "Bearer anything"})
    assert anyone.status_code == 404 and "okpay_" not in anyone.content.decode()
    settings.DEBUG = True  # `make run`: the laptop install keeps it open
    assert "okpay_http_requests_total" in client.get("/metrics").content.decode()


MONEY_POSTS = {"/api/v1/topups", "/api/v1/withdrawals", "/api/v1/transfers", "/api/v1/bill-payments"}
# Issue 17: the POSTs that move or decide on money for merchants (tests/merchants/test_api.py).
DECIDING_POSTS = {"/api/v1/refunds", "/api/v1/payment-intents/{intent_id}/capture",
                  "/api/v1/payment-intents/{intent_id}/confirm", "/api/v1/payment-intents/{intent_id}/cancel",
                  "/api/v1/refund-requests/{request_id}/approve", "/api/v1/refund-requests/{request_id}/decline"}


def test_the_schema_says_which_posts_require_an_idempotency_key(db, client: Client) -> None:
    document = client.get("/api/v1/openapi.json").json()
    required: set[str] = set()
    for path, operations in document["paths"].items():
        post = operations.get("post")
        if not post:
            continue
        keys = [p for p in post.get("parameters", []) if p["name"] == "Idempotency-Key"]
        if keys and keys[0]["required"]:
            required.add(path)
    assert required == MONEY_POSTS | DECIDING_POSTS


@pytest.mark.parametrize("path", sorted(MONEY_POSTS))
def test_a_money_post_without_a_key_is_refused_and_changes_nothing(alice, api_client, path: str) -> None:
    from okpay.payments.models import Transaction

    answer = api_client(alice).post(path, data={}, content_type="application/json")
    assert answer.status_code == 400  # the body's own errors first; a valid body: param Idempotency-Key
    assert not Transaction.objects.exists()
    anonymous = api_client(None).post(path, data={}, content_type="application/json")
    assert anonymous.status_code == 401  # credentials are checked first


def test_the_schema_explains_the_required_key_and_the_step_up_method(db, client: Client) -> None:
    """Issue 17: the OpenAPI text (not only a parameter flag) says which POSTs need the key, and the
    error schema documents ``method`` of ``otp_required``; API.md's fields stay as they were."""
    document = client.get("/api/v1/openapi.json").json()
    for path in MONEY_POSTS | DECIDING_POSTS:
        description = document["paths"][path]["post"].get("description", "")
        assert "Requires an `Idempotency-Key` header" in description, path
    for path, operations in document["paths"].items():
        post = operations.get("post")
        if post and path not in MONEY_POSTS | DECIDING_POSTS:
            assert "Requires an `Idempotency-Key`" not in post.get("description", ""), path
    overview = document["info"]["description"]
    for path in ("/refunds", "/payment-intents/{id}/capture", "/payment-intents/{id}/confirm",
                 "/payment-intents/{id}/cancel", "/refund-requests/{id}/approve", "/refund-requests/{id}/decline"):
        assert f"`{path}`" in overview, path
    assert "otp_required" in overview and "`method`" in overview
    detail = document["components"]["schemas"]["ErrorDetail"]
    assert set(detail["required"]) == {"code", "message", "param"}  # API.md's envelope, unchanged
    method = detail["properties"]["method"]["description"]
    assert all(word in method for word in ("otp_required", "`totp`", "`sms`", "`email`"))
