"""While the database cannot be reached the API says so honestly (503 + Retry-After, never 500),
and a pooled connection that the server dropped (a restart, a failover) is replaced instead of
failing the next request. Both were found by the bank fault test (tests/fault/test_bank.py)."""

from __future__ import annotations

import json

import pytest
from django.db import connection

from okpay.core.models import IdempotencyRecord, PeriodicJob

BODY = {"name": "lamp", "amount": 1050}


@pytest.mark.urls("tests.api.idem_urls")
@pytest.mark.parametrize("key", [None, "k-down"])
def test_a_lost_database_answers_503_with_retry_after_and_changes_nothing(alice, api_client, key) -> None:
    headers = {"Idempotency-Key": key} if key else {}
    response = api_client(alice).post("/api/v1/db-down", data=json.dumps(BODY), content_type="application/json",
                                      headers=headers)
    assert response.status_code == 503
    assert response["Retry-After"] == "2"
    assert response.json()["error"]["code"] == "service_unavailable"
    assert not PeriodicJob.objects.filter(name="down-lamp").exists()
    assert not IdempotencyRecord.objects.exists()  # the key is free: the retry runs the work


@pytest.mark.django_db(transaction=True)
def test_a_pooled_connection_the_server_dropped_is_replaced(alice, live_server) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("connection pooling is PostgreSQL's")
    import httpx
    import psycopg

    from okpay.identity.services import api_token_create

    raw, _ = api_token_create(user=alice)
    url, headers = live_server.url + "/api/v1/wallet/balances", {"Authorization": f"Bearer {raw}"}
    assert httpx.get(url, headers=headers, timeout=10).status_code == 200  # its connection is back in the pool
    mine = connection.connection.info.backend_pid  # the test's own connection stays
    params = connection.get_connection_params()
    admin = psycopg.connect(**{k: v for k, v in params.items() if k not in {"cursor_factory", "context"}},
                            autocommit=True)
    with admin:
        dropped = admin.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid NOT IN (pg_backend_pid(), %s)", [mine]).fetchone()
    assert dropped is not None and dropped[0] >= 1
    for _ in range(3):
        response = httpx.get(url, headers=headers, timeout=10)
        assert response.status_code == 200, response.content
