from django.conf import settings


def test_sqlite_runs_immediate_with_wal_or_postgres_pools() -> None:
    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        assert db["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
        assert "journal_mode=WAL" in db["OPTIONS"]["init_command"]
    else:
        assert "pool" in db["OPTIONS"]
