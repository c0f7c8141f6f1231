"""Database helpers: recognise transient errors (deadlock, serialization failure, a locked
SQLite file) and run a unit of work again when it hit one; services' transactions without a
savepoint where no caller recovers from their errors (``unrecovered``, ``service_atomic``)."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import wraps
from typing import Any, TypeVar

from django.db import OperationalError, connection, transaction

logger = logging.getLogger("okpay.db")
T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])

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


# --- savepoints only where someone recovers -------------------------------------------------------

_UNRECOVERED: ContextVar[bool] = ContextVar("okpay_unrecovered", default=False)


@contextmanager
def unrecovered() -> Iterator[None]:
    """Declare that the code inside never goes on using the current transaction after an error:
    any error ends it with a rollback of the whole (an API POST: the error handler builds the
    answer without the database, then the request's transaction is rolled back; a web money form
    that makes its error page after the rollback). Services decorated with ``service_atomic``
    then nest without a savepoint: two round trips (``SAVEPOINT``, ``RELEASE``) and a
    subtransaction saved per service call.

    Still safe for code inside that does recover: whoever catches an error and goes on wraps the
    call in its own ``transaction.atomic()``, whose savepoint Django rolls back to (a block without
    a savepoint only marks the nearest one with a savepoint for rollback)."""
    token = _UNRECOVERED.set(True)
    try:
        yield
    finally:
        _UNRECOVERED.reset(token)


def savepoint_needed() -> bool:
    """False inside ``unrecovered()``: a nested transaction block may go without a savepoint."""
    return not _UNRECOVERED.get()


def service_atomic(func: F) -> F:
    """``@transaction.atomic`` for a service function: its own transaction when called alone, a
    savepoint when nested in a caller's transaction, and no savepoint inside ``unrecovered()``."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with transaction.atomic(savepoint=savepoint_needed()):
            return func(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
