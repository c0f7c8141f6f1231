"""Read replicas: reads that may lag go to a streaming replica, everything else to the primary.

``OKPAY_DATABASE_REPLICA_URLS`` adds the databases ``replica1``, ``replica2``… and this router. A
query goes to a replica only inside a view marked :func:`replica_reads` (transaction history,
receipts, CSV exports, help-centre search, desk dashboards and reports): everything else, and so
every decision on money or identity (balances, limits, idempotency, sign-in, tokens, sessions),
reads the primary. Inside such a view a replica is still skipped when

- the client wrote recently: every unsafe request (POST, PUT, PATCH, DELETE) that did not fail
  pins its session or token to the primary for ``OKPAY_REPLICA_PIN_SECONDS`` (read-your-writes,
  across web processes through the shared cache);
- the replica is too far behind: its replay lag (``now() - pg_last_xact_replay_timestamp()``
  while WAL received is not yet replayed) is over ``OKPAY_REPLICA_MAX_LAG_SECONDS``;
- the replica is down (it does not answer): it is tried again after a few seconds.

The lag is measured at most once a second per replica and process (:data:`CHECK_EVERY`).
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import wraps
from typing import Any, TypeVar

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, OperationalError, connections
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from redis.exceptions import RedisError

from okpay.core.db import is_unavailable

logger = logging.getLogger("okpay.replicas")
F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")

CHECK_EVERY = 1.0  # seconds between two lag measurements of one replica in one process
DOWN_FOR = 30.0  # seconds a replica that failed to answer is left alone
PIN_PREFIX = "okpay:replica-pin:"

# The replica this block of code may read from (None: the primary).
_READ_FROM: ContextVar[str | None] = ContextVar("okpay_read_from", default=None)

_LAG_SQL = (
    "SELECT CASE WHEN NOT pg_is_in_recovery() THEN 0 "
    "WHEN pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn() THEN 0 "
    "ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 1e9) END"
)


class _Health:
    """Per process: each replica's last measured lag and when it was measured."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.seen: dict[str, tuple[float, float | None]] = {}  # alias -> (monotonic time, lag or None: down)

    def lag(self, alias: str) -> float | None:
        now = time.monotonic()
        with self.lock:
            seen = self.seen.get(alias)
        if seen is not None and now - seen[0] < (CHECK_EVERY if seen[1] is not None else DOWN_FOR):
            return seen[1]
        lag: float | None
        try:
            with connections[alias].cursor() as cursor:
                cursor.execute(_LAG_SQL)
                lag = float(cursor.fetchone()[0])
        except DatabaseError as exc:
            logger.warning("read replica unavailable", extra={"replica": alias, "error": str(exc)[:200]})
            lag = None
            connections[alias].close()
        with self.lock:
            self.seen[alias] = (time.monotonic(), lag)
        return lag

    def mark_down(self, alias: str) -> None:
        with self.lock:
            self.seen[alias] = (time.monotonic(), None)

    def reset(self) -> None:
        with self.lock:
            self.seen.clear()


health = _Health()


def replica_aliases() -> list[str]:
    return [alias for alias in settings.DATABASES if alias.startswith("replica")]


def healthy_replica() -> str | None:
    """The first replica that answers and is not too far behind, or None."""
    limit = settings.OKPAY_REPLICA_MAX_LAG_SECONDS
    for alias in replica_aliases():
        lag = health.lag(alias)
        if lag is not None and lag <= limit:
            return alias
    return None


def _client_key(request: HttpRequest) -> str | None:
    """Who reads: the bearer token, else the session (hashed; the cache never sees either)."""
    auth = request.headers.get("Authorization", "")
    if auth:
        raw = auth
    else:
        session = getattr(request, "session", None)
        raw = (session.session_key if session is not None else None) or ""
    if not raw:
        return None
    return PIN_PREFIX + hashlib.sha256(raw.encode()).hexdigest()[:32]


def pin(request: HttpRequest) -> None:
    key = _client_key(request)
    if key is None or not settings.OKPAY_REPLICA_PIN_SECONDS:
        return
    try:
        cache.set(key, 1, timeout=settings.OKPAY_REPLICA_PIN_SECONDS)
    except (RedisError, OSError) as exc:  # the write is done: its answer must not become a 500
        logger.warning("read-your-writes pin not stored", extra={"error": str(exc)[:200]})


def pinned(request: HttpRequest) -> bool:
    """Whether this client wrote recently; without the cache, assume it did (read the primary)."""
    key = _client_key(request)
    if key is None:
        return False
    try:
        return cache.get(key) is not None
    except (RedisError, OSError):
        return True


@contextmanager
def reading_from(alias: str | None) -> Iterator[None]:
    token = _READ_FROM.set(alias)
    try:
        yield
    finally:
        _READ_FROM.reset(token)


def _replica_for(request: HttpRequest) -> str | None:
    if not replica_aliases() or request.method not in ("GET", "HEAD") or pinned(request):
        return None
    user = getattr(request, "user", None)
    if user is not None:
        bool(user.is_authenticated)  # resolve the lazy user on the primary
    return healthy_replica()


def lagging_reads(request: HttpRequest, work: Callable[[], T]) -> T:
    """``work()`` (the reads of an API endpoint whose data may lag, after its authentication) on a
    replica when one is fit, else on the primary."""
    return _on_replica(_replica_for(request), work)


def _on_replica(alias: str | None, work: Callable[[], T]) -> T:
    """``work()`` reading from ``alias``; if that replica stops answering meanwhile (its lag was
    measured up to a second ago), it is marked down and ``work()`` runs again on the primary:
    a read has no effect to repeat."""
    if alias is None:
        return work()
    try:
        with reading_from(alias):
            return work()
    except OperationalError as exc:
        if not is_unavailable(exc):
            raise
        logger.warning("read replica lost during a read", extra={"replica": alias, "error": str(exc)[:200]})
        health.mark_down(alias)
        connections[alias].close()
    return work()


def replica_reads(view: F) -> F:
    """Mark a read-only view whose data may lag (put it closest to the function, under the
    authentication decorators, so that the user and session are read from the primary first)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        alias = _replica_for(request)
        response = _on_replica(alias, lambda: view(request, *args, **kwargs))
        if alias is not None and isinstance(response, StreamingHttpResponse) and not response.is_async:
            response.streaming_content = _streamed(alias, response.streaming_content)  # type: ignore[arg-type]
        return response

    return wrapper  # type: ignore[return-value]


def _streamed(alias: str, content: Iterator[Any]) -> Iterator[Any]:
    """A streamed response (a CSV export) reads its rows while it is sent, after the view."""
    chunks = iter(content)
    while True:
        with reading_from(alias):
            try:
                chunk = next(chunks)
            except StopIteration:
                return
        yield chunk


class ReplicaRouter:
    """Writes and ordinary reads: the primary. Reads inside :func:`replica_reads`: the replica
    chosen for that request (unless the primary is inside a transaction: then it reads there)."""

    def db_for_read(self, model: Any, **hints: Any) -> str | None:
        alias = _READ_FROM.get()
        if alias is None or connections["default"].in_atomic_block:
            return "default"
        return alias

    def db_for_write(self, model: Any, **hints: Any) -> str:
        return "default"

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool:
        return True

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool:
        return db == "default"


class ReplicaPinMiddleware:
    """After an unsafe request that did not fail, pin its client to the primary for a while."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.method not in ("GET", "HEAD", "OPTIONS") and response.status_code < 400 and replica_aliases():
            pin(request)
        return response
