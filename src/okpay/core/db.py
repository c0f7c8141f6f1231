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
            time.sleep(random.uniform(0.005, 0.02) * attempt)  # noqa: S311 - jitter, not security
    raise AssertionError("unreachable")
