"""The database driver's own cursor on Django's connection, for the ledger's hot statements."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connections

_SQLITE_SQL: dict[str, str] = {}


class DriverCursor:
    """The database driver's own cursor on Django's connection, inside Django's transaction.

    The hot path skips Django's cursor wrapper (query rewriting, debug hooks): on PostgreSQL it
    uses psycopg's server-side binding and prepared statements (planned once per connection); on
    SQLite the ``%s`` placeholders become ``?`` once per statement text.
    """

    __slots__ = ("_cursor", "_errors", "_sqlite")

    def __init__(self, conn: Any) -> None:
        conn.ensure_connection()
        self._sqlite = conn.vendor == "sqlite"
        self._errors = conn.wrap_database_errors  # driver errors become django.db errors
        if self._sqlite:
            import sqlite3

            self._cursor: Any = sqlite3.Cursor(conn.connection)  # not Django's SQLiteCursorWrapper
        else:
            import psycopg

            self._cursor = psycopg.Cursor(conn.connection)

    def execute(self, sql: str, params: Sequence[Any]) -> None:
        if self._sqlite:
            converted = _SQLITE_SQL.get(sql)
            if converted is None:
                converted = sql.replace("%s", "?")
                if len(_SQLITE_SQL) < 10_000:
                    _SQLITE_SQL[sql] = converted
            sql = converted
            with self._errors:
                self._cursor.execute(sql, params)
            return
        with self._errors:
            # Prepared on first use and kept by the connection (Django's own prepare_threshold is
            # off for the sake of external poolers; OKPay uses Django's pool, and these statements
            # name their columns, so a later migration adding columns cannot change their shape).
            self._cursor.execute(sql, params, prepare=True)

    def fetchone(self) -> Any:
        return self._cursor.fetchone()

    def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    def close(self) -> None:
        self._cursor.close()

    def __enter__(self) -> DriverCursor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def driver_cursor(alias: str = "default") -> DriverCursor:
    """``with driver_cursor() as cursor:`` on the default database."""
    return DriverCursor(connections[alias])
