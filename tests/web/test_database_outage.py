"""Pages while the database cannot be reached: 503 with Retry-After and a page that needs no
database, in both languages — never a 500. The API does the same (tests/api/test_database_outage.py)."""

from __future__ import annotations

import pytest
from django.test import Client

from okpay.identity.middleware import SessionSecurityMiddleware
from tests.web.down_urls import lost_database

pytestmark = pytest.mark.django_db


@pytest.mark.urls("tests.web.down_urls")
def test_a_view_that_lost_the_database_answers_503() -> None:
    response = Client(raise_request_exception=False).get("/page-down/")
    assert response.status_code == 503
    assert response["Retry-After"] == "2"
    body = response.content.decode()
    assert "服务暂时不可用" in body and "briefly unavailable" in body


@pytest.mark.parametrize("path", ["/", "/help/", "/wallet/", "/api/v1/wallet/balances"])
def test_a_middleware_that_lost_the_database_answers_503(monkeypatch: pytest.MonkeyPatch, path: str) -> None:
    def down(self: object, request: object) -> None:
        raise lost_database()

    monkeypatch.setattr(SessionSecurityMiddleware, "__call__", down)
    response = Client(raise_request_exception=False).get(path)
    assert response.status_code == 503
    assert response["Retry-After"] == "2"
    if path.startswith("/api/"):
        assert response.json()["error"]["code"] == "service_unavailable"
    else:
        assert "briefly unavailable" in response.content.decode()


def test_any_other_error_is_still_a_500_page(monkeypatch: pytest.MonkeyPatch) -> None:
    def bug(self: object, request: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(SessionSecurityMiddleware, "__call__", bug)
    response = Client(raise_request_exception=False).get("/")
    assert response.status_code == 500
