"""Anomalies the API fuzzer found, each pinned by a plain test."""

from __future__ import annotations

import uuid

import pytest
from django.test import Client

from okpay.api.api import api


@pytest.mark.parametrize("body", ["false", "0", '"x"', "[]", "null"])
def test_a_body_that_is_not_a_json_object_is_refused(db, alice, api_client, body: str) -> None:
    """POST /api/v1/support/nps (every field optional) answered 201 to the body ``false``."""
    client = api_client(alice)
    before = client.get("/api/v1/support/nps").json()
    response = client.post("/api/v1/support/nps", body, content_type="application/json",
                           headers={"Idempotency-Key": uuid.uuid4().hex})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_request"
    assert client.get("/api/v1/support/nps").json() == before  # nothing was answered or dismissed


def test_help_centre_operations_document_their_errors() -> None:
    """The help-centre endpoints answered 400, 404 and 429 that their schema did not list."""
    paths = api.get_openapi_schema()["paths"]
    for path, method in [("/api/v1/help/articles", "get"), ("/api/v1/help/articles/{slug}", "get"),
                         ("/api/v1/help/articles/{slug}/votes", "post"), ("/api/v1/support/verify-channel", "post"),
                         ("/api/v1/support/phishing-reports", "post"), ("/api/v1/support/channels", "get")]:
        responses = paths[path][method]["responses"]
        for status in (400, 404, 429):
            assert status in responses, (path, status)
            schema = responses[status]["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/ErrorOut"}


def test_unknown_help_article_is_the_error_object(db) -> None:
    response = Client().get("/api/v1/help/articles/no-such-article")
    assert response.status_code == 404
    assert response.json() == {"error": {"code": "not_found", "message": "No help article with this slug.",
                                         "param": "slug"}}


def test_a_nul_character_in_a_body_is_refused_on_every_database(db, alice) -> None:
    """POST /api/v1/auth/password-reset with a NUL in the email answered 500 on PostgreSQL."""
    response = Client().post("/api/v1/auth/password-reset", {"email": "a\x00@example.com"},
                             content_type="application/json")
    assert response.status_code == 400
    assert response.json() == {"error": {"code": "invalid_request",
                                         "message": "文本不能包含 NUL（U+0000）字符。",
                                         "param": "email"}}
    response = Client().post("/api/v1/support/verify-channel", {"value": ["ok", {"x\x00": 1}]},
                             content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "value.1.x\x00"


def test_a_value_the_database_cannot_store_is_a_400_not_a_500(db) -> None:
    """The backstop behind validation: a NUL in a query parameter reaches no 5xx on PostgreSQL."""
    response = Client().get("/api/v1/help/articles", {"q": "转账\x00"})
    assert response.status_code in (200, 400)
    if response.status_code == 400:
        assert response.json()["error"]["code"] == "invalid_request"
