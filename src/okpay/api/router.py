"""The router every API module uses: each POST operation honours ``Idempotency-Key``, scoped to
the principal it authenticated."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils import translation
from ninja import Router
from ninja.decorators import decorate_view

from okpay.api.auth import caller_scope
from okpay.api.language import caller_language
from okpay.core.idempotency import idempotent

# An API operation never goes on using the request's transaction after an error: the exception
# handler (``okpay.api.errors``) answers without the database and the transaction is rolled back
# whole. So the services it calls nest without savepoints (``okpay.core.db.unrecovered``).
_idempotent = idempotent(caller_scope, recovers=False)


def _authenticated_first(run: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Wrap an operation's ``run`` (a bound ``ninja.Operation.run``): a POST is authenticated by the
    operation's own schemes **before** the idempotency store is looked at, so that a caller without
    valid credentials gets its 401 (or 403) and never reads, claims or replays a stored answer, and
    the key's scope is the principal authenticated (``caller_scope``: ``request.auth``). The
    schemes keep their answer on the request (``okpay.api.auth.OnceBearer``): when ``run``
    authenticates again it costs nothing."""
    operation = run.__self__  # type: ignore[attr-defined]
    keyed = _idempotent(run)

    @wraps(run)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method == "POST" and operation.auth_callbacks:
            refused = operation._run_authentication(request)
            if refused is not None:
                return refused  # type: ignore[no-any-return]
        with translation.override(caller_language(request)):  # the idempotency layer's refusals too
            return keyed(request, *args, **kwargs)  # type: ignore[no-any-return]

    return wrapper

IDEMPOTENCY_PARAMETER = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Makes the POST safe to retry: the same key with the same body answers the first "
                   "response again; with another body → 409 idempotency_key_reused.",
    "schema": {"type": "string", "maxLength": 255},
}


_OWN_TRANSACTION: set[Any] = set()
_KEY_REQUIRED: set[Any] = set()

REQUIRED_IDEMPOTENCY_PARAMETER = {
    **IDEMPOTENCY_PARAMETER,
    "required": True,
    "description": "Required: this POST moves money. Without it → 400 invalid_request (param "
                   "Idempotency-Key) and nothing happens. The same key with the same body answers the "
                   "first response again; with another body → 409 idempotency_key_reused.",
}


KEY_REQUIRED_NOTE = ("**Requires an `Idempotency-Key` header**: this POST moves or decides on money. Without "
                     "one it answers `400 invalid_request` (param `Idempotency-Key`) and nothing happens; "
                     "a retry with the same key answers the first result and never acts twice.")


def key_required(view: Any) -> Any:
    """Mark a money-moving POST: the OpenAPI document lists ``Idempotency-Key`` as required. The
    view refuses a request without one itself, after authentication (so a caller without
    credentials still gets 401 first). Put it under the ``@router.post(...)`` line."""
    _KEY_REQUIRED.add(view)
    return view


def owns_transaction(view: Any) -> Any:
    """Exempt a POST from the idempotency layer and its one-transaction-per-request wrapper.

    For answers that carry a secret (a bearer token, a TOTP secret, recovery codes), which must
    not be stored for replay, and for sign-in, whose failed attempts must be recorded (lockout,
    activity log) although the answer is an error. Such views' services own their transactions.
    Put it under the ``@router.post(...)`` line.
    """
    _OWN_TRANSACTION.add(view)
    return view


class OkpayRouter(Router):
    def add_api_operation(self, path: str, methods: list[str], view_func: Any, **kwargs: Any) -> None:
        if "POST" in methods and view_func not in _OWN_TRANSACTION:
            decorate_view(_authenticated_first)(view_func)
            extra = dict(kwargs.get("openapi_extra") or {})
            parameter = REQUIRED_IDEMPOTENCY_PARAMETER if view_func in _KEY_REQUIRED else IDEMPOTENCY_PARAMETER
            if view_func in _KEY_REQUIRED:  # said in the operation's text too, not only in its parameter
                text = kwargs.get("description") or inspect.getdoc(view_func) or ""
                kwargs["description"] = f"{text}\n\n{KEY_REQUIRED_NOTE}".strip()
            extra["parameters"] = [*extra.get("parameters", []), parameter]
            kwargs["openapi_extra"] = extra
        super().add_api_operation(path, methods, view_func, **kwargs)
