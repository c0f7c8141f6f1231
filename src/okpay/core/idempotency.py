"""``Idempotency-Key`` for every POST (API.md, DESIGN.md §3.5), as one reusable view wrapper.

How it works, and why it is crash-safe:

1. *Claim.* A short transaction inserts ``(scope, key)`` with a fingerprint of the request and
   a lease (``locked_until``). A record already there answers at once: another fingerprint →
   ``409 idempotency_key_reused``; a stored response → that response again with
   ``Idempotent-Replayed: true``; a live lease → ``409 idempotency_key_in_use``.
2. *Work.* The wrapped view runs inside ``transaction.atomic()``; on success the response is
   written to the record **in that same transaction**, guarded by the lease token. If the
   process dies, the work and the stored response vanish together.
3. *Errors.* A failed view's transaction is rolled back. Business refusals (403, 404, 409,
   422) are stored like successes, so a retry answers the same; input errors (400), missing
   credentials (401), rate limits (429) and 5xx release the key, so the client can retry.
4. *Recovery.* A lease that ran out means the first attempt never committed: the next retry
   takes the record over (compare-and-set on the token) and runs the work.

A view that catches a service's error and answers with a page made from the database returns
a :class:`Deferred` answer: it is made after the work's transaction has been rolled back (and then
stored like any refusal), so that with ``recovers=False`` the services inside need no savepoint
(``okpay.core.db.unrecovered``).

On PostgreSQL the claim needs no transaction of its own: the work transaction starts with
``pg_try_advisory_xact_lock`` on the key (held → ``409 idempotency_key_in_use`` at once, as above)
and a read of the record, and ends by inserting the record with its response. One commit instead
of two, three statements instead of five. The lock goes with the transaction, so a crash frees
it; should a duplicate's read miss a record committed just before it took the lock, the insert
hits the unique constraint, the duplicate's work is rolled back, and the stored answer is replayed.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import timedelta
from functools import wraps
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import IntegrityError, OperationalError, connection, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone

from okpay.core.db import is_transient, retry_transient, unrecovered
from okpay.core.errors import error_body
from okpay.core.models import IdempotencyRecord

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
LEASE = timedelta(seconds=30)
STORED_ERROR_STATUSES = {403, 404, 409, 422}
_REPLAY_HEADERS = ("Content-Type", "Location")


_CURRENT_KEY: ContextVar[str] = ContextVar("okpay_idempotency_key", default="")


def current_key() -> str:
    """The ``Idempotency-Key`` of the request whose work is running ("" outside one): a step-up
    code is bound to it (``okpay.identity.stepup``), so it confirms this payment and no other."""
    return _CURRENT_KEY.get()


@contextmanager
def _keyed(key: str) -> Iterator[None]:
    token = _CURRENT_KEY.set(key)
    try:
        yield
    finally:
        _CURRENT_KEY.reset(token)


@dataclass(frozen=True)
class Claim:
    record_id: int
    lease_token: str


class _Answer(Exception):
    def __init__(self, response: HttpResponse) -> None:
        self.response = response


class Deferred(HttpResponse):
    """An error answer made only once the work's transaction is over. A view run here that catches
    a service's error returns ``Deferred(status, make)`` instead of rendering a page from the
    database at once, because the error may have doomed the transaction; ``make()`` runs after the
    rollback and returns the real answer (same status), stored for replay like any refusal."""

    def __init__(self, status: int, make: Callable[[], HttpResponse]) -> None:
        if status < 400:
            raise ValueError("Only an error answer is deferred: a success is stored with the work.")
        super().__init__(status=status)
        self.make = make


def _made(response: HttpResponse) -> HttpResponse:
    if not isinstance(response, Deferred):
        return response
    made = response.make()
    if made.status_code != response.status_code:
        raise ValueError(f"A deferred {response.status_code} answer was made as {made.status_code}.")
    return made


def _scope(recovers: bool) -> AbstractContextManager[None]:
    return nullcontext() if recovers else unrecovered()


def _error(status: int, code: str, message: str, param: str | None = None) -> JsonResponse:
    """An error answer, its message in the active language (the API activates the caller's)."""
    from django.utils.translation import gettext

    return JsonResponse(error_body(code, gettext(message), param), status=status,
                        json_dumps_params={"ensure_ascii": False})


def fingerprint(request: HttpRequest) -> str:
    digest = hashlib.sha256()
    digest.update((request.method or "").encode())
    digest.update(b"\0")
    digest.update(request.path.encode())
    digest.update(b"\0")
    digest.update(request.body)
    return digest.hexdigest()


def _replay(record: IdempotencyRecord) -> HttpResponse:
    response = HttpResponse(bytes(record.response_body or b""), status=record.response_status or 200)
    for name, value in (record.response_headers or {}).items():
        response[name] = value
    response["Idempotent-Replayed"] = "true"
    return response


def claim(*, scope: str, key: str, request: HttpRequest) -> Claim:
    """Phase 1. Raises :class:`_Answer` when the request must not run."""
    now = timezone.now()
    print_ = fingerprint(request)
    token = secrets.token_hex(16)
    # Read first, without a write lock: on SQLite the first request's work transaction holds the
    # database's write lock, and a concurrent duplicate must still be told "in use" at once.
    record = IdempotencyRecord.objects.filter(scope=scope, key=key).first()
    if record is None:
        try:
            with transaction.atomic():
                record = IdempotencyRecord.objects.create(
                    scope=scope, key=key, fingerprint=print_, method=request.method or "POST",
                    path=request.path[:500], lease_token=token, locked_until=now + LEASE, created_at=now,
                    expires_at=now + timedelta(hours=settings.OKPAY_IDEMPOTENCY_TTL_HOURS),
                )
            return Claim(record.pk, token)
        except IntegrityError:
            record = IdempotencyRecord.objects.get(scope=scope, key=key)
    if record.fingerprint != print_:
        raise _Answer(_error(409, "idempotency_key_reused",
                             "This Idempotency-Key was already used with a different request.", HEADER))
    if record.locked_until is None:
        raise _Answer(_replay(record))
    if record.locked_until > now:
        raise _Answer(_error(409, "idempotency_key_in_use",
                             "A request with this Idempotency-Key is still being processed.", HEADER))
    # The earlier attempt died without committing: take the record over.
    taken = IdempotencyRecord.objects.filter(pk=record.pk, lease_token=record.lease_token).update(
        lease_token=token, locked_until=now + LEASE)
    if taken != 1:
        raise _Answer(_error(409, "idempotency_key_in_use",
                             "A request with this Idempotency-Key is still being processed.", HEADER))
    return Claim(record.pk, token)


def _store(claim_: Claim, response: HttpResponse) -> bool:
    headers = {name: response[name] for name in _REPLAY_HEADERS if response.has_header(name)}
    return IdempotencyRecord.objects.filter(pk=claim_.record_id, lease_token=claim_.lease_token).update(
        locked_until=None, response_status=response.status_code, response_headers=headers,
        response_body=bytes(response.content), completed_at=timezone.now(),
    ) == 1


def _release(claim_: Claim) -> None:
    """Forget a claim whose work did not happen, so that a retry runs it. Never a completed record:
    when the connection is lost during COMMIT the work may well have committed (with its stored
    response), and deleting that record would let the retry do the work a second time."""
    IdempotencyRecord.objects.filter(pk=claim_.record_id, lease_token=claim_.lease_token,
                                     locked_until__isnull=False).delete()


class _LeaseLost(Exception):
    pass


def run_idempotently(request: HttpRequest, *, scope: str, key: str, view: Callable[[], HttpResponse],
                     recovers: bool = True) -> HttpResponse:
    """Run ``view`` at most once for ``(scope, key)``; see the module docstring.

    ``recovers=False``: the view never goes on using the transaction after an error (it lets the
    error out, or returns a :class:`Deferred` answer), so it runs in ``okpay.core.db.unrecovered``."""
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        return _error(400, "invalid_request",
                      f"{HEADER} must be 1 to {MAX_KEY_LENGTH} printable characters.", HEADER)
    if connection.vendor == "postgresql":
        return _run_locked(request, scope=scope, key=key, view=view, recovers=recovers)
    try:
        claim_ = claim(scope=scope, key=key, request=request)
    except _Answer as answer:
        return answer.response

    def work() -> HttpResponse:
        with transaction.atomic(), _scope(recovers), _keyed(key):
            response = view()
            if response.status_code < 400:
                if not _store(claim_, response):
                    raise _LeaseLost
            else:
                transaction.set_rollback(True)
        return response

    try:
        response = retry_transient(work)
    except _LeaseLost:
        return _error(409, "idempotency_key_in_use",
                      "A request with this Idempotency-Key is still being processed.", HEADER)
    except OperationalError as exc:
        _release(claim_)
        if is_transient(exc):
            return _busy()
        raise
    except BaseException:
        _release(claim_)
        raise
    try:
        response = _made(response)
    except BaseException:
        _release(claim_)
        raise
    if response.status_code >= 400:
        with transaction.atomic():
            if response.status_code in STORED_ERROR_STATUSES:
                _store(claim_, response)
            else:
                _release(claim_)
    return response


_LOCK_AND_READ = (
    "SELECT pg_try_advisory_xact_lock(%s), r.id, r.fingerprint, r.locked_until, r.lease_token, "
    "r.response_status, r.response_headers, r.response_body "
    "FROM (SELECT 1) AS one LEFT JOIN core_idempotencyrecord AS r ON r.scope = %s AND r.key = %s"
)


class _KeyRaced(Exception):
    pass


def _lock_id(scope: str, key: str) -> int:
    """A signed 64-bit advisory lock number for the key (a collision costs a false "in use")."""
    return int.from_bytes(hashlib.sha256(f"idempotency\0{scope}\0{key}".encode()).digest()[:8], "big", signed=True)


def _answer_from(record: IdempotencyRecord, print_: str, now: Any) -> HttpResponse | None:
    """The answer a record already there gives, or ``None`` when its claim is dead (take it over)."""
    if record.fingerprint != print_:
        return _error(409, "idempotency_key_reused",
                      "This Idempotency-Key was already used with a different request.", HEADER)
    if record.locked_until is None:
        return _replay(record)
    if record.locked_until > now:
        return _error(409, "idempotency_key_in_use",
                      "A request with this Idempotency-Key is still being processed.", HEADER)
    return None


def _record_fields(response: HttpResponse, now: Any) -> dict[str, Any]:
    return {
        "locked_until": None, "response_status": response.status_code,
        "response_headers": {name: response[name] for name in _REPLAY_HEADERS if response.has_header(name)},
        "response_body": bytes(response.content), "completed_at": now,
    }


def _run_locked(request: HttpRequest, *, scope: str, key: str, view: Callable[[], HttpResponse],
                recovers: bool) -> HttpResponse:
    """PostgreSQL: claim, work and stored response in one transaction (module docstring)."""
    print_ = fingerprint(request)

    def new_record(response: HttpResponse, now: Any) -> IdempotencyRecord:
        return IdempotencyRecord(
            scope=scope, key=key, fingerprint=print_, method=request.method or "POST", path=request.path[:500],
            lease_token="",  # nosec B106 - an empty lease, not a password
            created_at=now, expires_at=now + timedelta(hours=settings.OKPAY_IDEMPOTENCY_TTL_HOURS),
            **_record_fields(response, now))

    def work() -> tuple[HttpResponse, bool]:
        """The response, and whether the view made it (not an answer from the record)."""
        with transaction.atomic():
            now = timezone.now()
            with connection.cursor() as cursor:
                cursor.execute(_LOCK_AND_READ, [_lock_id(scope, key), scope, key])
                got, pk, print_there, locked_until, lease, status, headers, body = cursor.fetchone()
            if not got:
                return _in_use(), False
            if pk is not None:
                found = IdempotencyRecord(
                    pk=pk, scope=scope, key=key, fingerprint=print_there, locked_until=locked_until,
                    lease_token=lease, response_status=status, response_body=body,
                    response_headers=json.loads(headers) if isinstance(headers, str) else headers or {})
                answer = _answer_from(found, print_, now)
                if answer is not None:
                    return answer, False
            with _scope(recovers), _keyed(key):
                response = view()
            if response.status_code >= 400:
                transaction.set_rollback(True)
                return response, True
            done = timezone.now()
            if pk is not None:  # an earlier attempt's dead claim
                IdempotencyRecord.objects.filter(pk=pk).update(**_record_fields(response, done))
            else:
                try:
                    new_record(response, done).save(force_insert=True)
                except IntegrityError as exc:
                    raise _KeyRaced from exc
        return response, True

    try:
        response, from_view = retry_transient(work)
    except _KeyRaced as raced:
        record = IdempotencyRecord.objects.filter(scope=scope, key=key).first()
        if record is None:  # not a duplicate's record: the insert itself is wrong, which is a bug
            raise raced.__cause__ from None  # type: ignore[misc]
        return _answer_from(record, print_, timezone.now()) or _in_use()
    except OperationalError as exc:
        if is_transient(exc):
            return _busy()
        raise
    response = _made(response)
    if from_view and response.status_code in STORED_ERROR_STATUSES:
        # A refusal is stored like a success; the work was rolled back, so this is a new transaction.
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_lock_id(scope, key)])
            record = IdempotencyRecord.objects.filter(scope=scope, key=key).first()
            if record is not None:
                return _answer_from(record, print_, timezone.now()) or _in_use()
            new_record(response, timezone.now()).save(force_insert=True)
    return response


def _in_use() -> JsonResponse:
    return _error(409, "idempotency_key_in_use", "A request with this Idempotency-Key is still being processed.",
                  HEADER)


def run_atomically(view: Callable[[], HttpResponse], *, recovers: bool = True) -> HttpResponse:
    """A POST without a key still runs as one transaction, rolled back if it answers an error,
    and run again after a transient database error."""

    def work() -> HttpResponse:
        with transaction.atomic(), _scope(recovers):
            response = view()
            if response.status_code >= 400:
                transaction.set_rollback(True)
        return response

    try:
        return _made(retry_transient(work))
    except OperationalError as exc:
        if is_transient(exc):
            return _busy()
        raise


def _busy() -> HttpResponse:
    response = _error(409, "conflict", "The service is busy with a conflicting request; retry shortly.")
    response["Retry-After"] = "1"
    return response


def idempotent(scope_of: Callable[[HttpRequest], str | None], *,
               recovers: bool = True) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Wrap a view (or a django-ninja operation's ``run``) so POSTs honour ``Idempotency-Key``.

    ``scope_of(request)`` names the caller; ``None`` (no credentials) runs the view plainly,
    which then refuses the request itself. ``recovers`` as for ``run_idempotently``.
    """

    def decorator(run: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(run)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            key = request.headers.get(HEADER)
            if request.method != "POST":
                return run(request, *args, **kwargs)
            if key is None:
                return run_atomically(lambda: run(request, *args, **kwargs), recovers=recovers)
            scope = scope_of(request)
            if scope is None:
                return run_atomically(lambda: run(request, *args, **kwargs), recovers=recovers)
            try:
                request.body  # noqa: B018 - read now, so a body over the limit fails here, cleanly
            except RequestDataTooBig:
                return _error(400, "invalid_request", "The request body is too large.")
            return run_idempotently(request, scope=scope, key=key, view=lambda: run(request, *args, **kwargs),
                                    recovers=recovers)

        return wrapper

    return decorator


def prune_expired() -> int:
    """Periodic sweep: forget keys past their time to live (at least 24 h)."""
    deleted, _ = IdempotencyRecord.objects.filter(expires_at__lt=timezone.now()).delete()
    return deleted


__all__ = ["FORM_FIELD", "HEADER", "Deferred", "current_key", "form_once", "idempotent", "prune_expired",
           "run_idempotently"]


FORM_FIELD = "idempotency_key"


def form_once(request: HttpRequest, *, scope: str, view: Callable[[], HttpResponse],
              missing: Callable[[], HttpResponse], replayed: Callable[[HttpResponse], HttpResponse] | None = None,
              recovers: bool = True) -> HttpResponse:
    """A page's money (or money-deciding) POST form: its hidden ``idempotency_key`` was minted when the
    form was rendered, so a double submit (two tabs, a reload after POST, a double click) has one
    effect and the second answers the first result (``replayed(response)`` may add a notice to it).
    A form without a key (a page from before keys) does nothing: ``missing()`` answers. A second
    submit while the first still runs waits for it once, then answers its result."""
    request.body  # noqa: B018 - read before the form data: the fingerprint hashes the raw body
    key = (request.POST.get(FORM_FIELD) or "").strip()
    if not key:
        return missing()
    response = run_idempotently(request, scope=scope, key=key, view=view, recovers=recovers)
    if response.status_code == 409 and response.get("Content-Type", "").startswith("application/json"):
        code = json.loads(response.content or b"{}").get("error", {}).get("code")
        if code == "idempotency_key_in_use":
            import time

            time.sleep(0.5)
            response = run_idempotently(request, scope=scope, key=key, view=view, recovers=recovers)
    if response.get("Idempotent-Replayed") == "true" and replayed is not None:
        return replayed(response)
    return response
