"""Database configuration for scale-out: libpq multi-host URLs (failover), and transaction pooling
(pgbouncer ``pool_mode = transaction``): no prepared statement may outlive its transaction."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection

from okpay.conf import postgres_database
from okpay.payments.services import topup_create


def test_a_multi_host_url_lists_every_host_and_port_for_libpq() -> None:
    db = postgres_database("postgres://okpay:s%40cret@db-a:5432,db-b:6432/okpay?target_session_attrs=read-write"
                           "&connect_timeout=3")
    assert db == {"ENGINE": "django.db.backends.postgresql", "NAME": "okpay", "USER": "okpay", "PASSWORD": "s@cret",
                  "HOST": "db-a,db-b", "PORT": "5432,6432",
                  "OPTIONS": {"target_session_attrs": "read-write", "connect_timeout": "3"}}


def test_a_single_host_url_reads_as_before() -> None:
    assert postgres_database("postgresql://postgres@127.0.0.1/okpay") == {
        "ENGINE": "django.db.backends.postgresql", "NAME": "okpay", "USER": "postgres", "PASSWORD": "",
        "HOST": "127.0.0.1", "PORT": "", "OPTIONS": {}}
    assert postgres_database("postgres://u@h1,h2/okpay")["PORT"] == "5432,5432"


@pytest.mark.parametrize("url, message", [
    ("postgres://u@h1:5432,h2:xx/okpay", "bad host or port"),
    ("postgres://u@h1,,h2/okpay", "bad host or port"),
    ("postgres://u@h1:5432", "names no database"),
])
def test_a_bad_database_url_stops_start_up(url: str, message: str) -> None:
    with pytest.raises(ImproperlyConfigured, match=message):
        postgres_database(url)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="prepared statements are PostgreSQL's")
def test_no_prepared_statement_outlives_a_transaction(alice) -> None:
    """pgbouncer in transaction mode hands the next transaction another server connection, where a
    statement prepared before does not exist: psycopg's prepare_threshold stays None (Django's
    default, forced under OKPAY_DB_TRANSACTION_POOLING), so even the ledger's ``prepare=True``
    prepares nothing."""
    with connection.cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")
    topup_create(user=alice, amount=1_000)
    assert connection.connection.prepare_threshold is None
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_prepared_statements")
        assert cursor.fetchone()[0] == 0
