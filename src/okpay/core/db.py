"""Database helpers: recognise transient errors (deadlock, serialization failure, a locked
SQLite file) and run a unit of work again when it hit one."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import TypeVar

from django.db import OperationalError, connection

logger = logging.getLogger("okpay.db")
T = TypeVar("T")

# PostgreSQL SQLSTATEs worth a retry: serialization_failure, deadlock_detected, lock_not_available.
_TRANSIENT_SQLSTATES = {"40001", "40P01", "55P03"}


def is_transient(exc: BaseException) -> bool:
    if not isinstance(exc, OperationalError):
        return False
    cause = exc.__cause__
    sqlstate = getattr(cause, "sqlstate", None)
    if sqlstate in _TRANSIENT_SQLSTATES:
        return True
    text = str(exc).lower()
    return "database is locked" in text or "database table is locked" in text or "deadlock" in text


# PostgreSQL SQLSTATEs that mean "the server is not there right now": class 08 (connection
# exception), admin_shutdown, crash_shutdown, cannot_connect_now (starting up or shutting down).
_UNAVAILABLE_SQLSTATES = {"57P01", "57P02", "57P03"}


def is_unavailable(exc: BaseException) -> bool:
    """The database cannot be reached (down, restarting, connection lost, pool exhausted): the
    request may be retried later; nothing is known about work whose COMMIT got no answer."""
    if not isinstance(exc, OperationalError) or is_transient(exc):
        return False
    cause = exc.__cause__
    try:
        import psycopg
        import psycopg_pool
    except ImportError:  # SQLite only
        return False
    if isinstance(cause, psycopg_pool.PoolTimeout):
        return True
    if not isinstance(cause, psycopg.OperationalError):
        return False
    sqlstate = getattr(cause, "sqlstate", None)
    return sqlstate is None or sqlstate.startswith("08") or sqlstate in _UNAVAILABLE_SQLSTATES


def retry_transient(work: Callable[[], T], *, attempts: int = 4) -> T:
    """Run ``work`` (which owns its transaction) again after a transient error, a few times.

    Only the outermost transaction can be retried; inside an atomic block the error propagates.
    """
    for attempt in range(1, attempts + 1):
        try:
            return work()
        except OperationalError as exc:
            if connection.in_atomic_block or not is_transient(exc) or attempt == attempts:
                raise
            logger.warning("transient database error; retrying", extra={"attempt": attempt, "error": str(exc)})
            time.sleep(random.uniform(0.005, 0.02) * attempt)  # noqa: S311 - jitter, not security  # nosec B311
    raise AssertionError("unreachable")
