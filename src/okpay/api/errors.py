"""One error envelope for every failure under ``/api/`` (API.md, "Errors")."""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, RequestDataTooBig
from django.db import DataError, OperationalError, transaction
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, UnreadablePostError
from django.utils import translation
from django.utils.translation import gettext, gettext_noop
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, AuthorizationError, HttpError, Throttled, ValidationError

from okpay.api.language import caller_language
from okpay.api.parser import BodyRefused
from okpay.core.db import is_transient, is_unavailable
from okpay.core.errors import OkpayError, error_body
from okpay.core.idempotency import Deferred
from okpay.ledger.errors import AccountFrozen, LedgerBusy, LedgerError

logger = logging.getLogger("okpay.api")

_CODES_BY_STATUS = {
    400: "invalid_request", 401: "unauthenticated", 403: "forbidden", 404: "not_found",
    405: "method_not_allowed", 409: "conflict", 413: "invalid_request", 422: "business_rule",
    429: "rate_limited",
}
_LOCATIONS = {"body", "query", "path", "header", "cookie", "form", "file", "payload"}


def said(request: HttpRequest | None, message: str, **values: object) -> str:
    """``message`` (an English msgid) in the caller's language (``api.language``), values after."""
    with translation.override(caller_language(request)):
        text = gettext(message)
    if not values:
        return text
    try:
        return text % values
    except (KeyError, TypeError, ValueError):
        return message % values


def envelope(status: int, code: str, message: str, param: str | None = None,
             headers: dict[str, str] | None = None, extra: dict[str, str] | None = None) -> JsonResponse:
    response = JsonResponse(error_body(code, message, param, extra), status=status,
                            json_dumps_params={"ensure_ascii": False})
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def _param_of(error: dict[str, Any]) -> str | None:
    loc = [str(part) for part in error.get("loc", ())]
    while loc and loc[0] in _LOCATIONS:
        loc = loc[1:]
    return ".".join(loc) or None


def internal_error(request: HttpRequest) -> JsonResponse:
    reference = getattr(request, "request_id", "-")
    return envelope(500, "internal_error", said(request, gettext_noop("An unexpected error occurred. Reference: "
                                                                      "%(reference)s."), reference=reference))


def unavailable(request: HttpRequest | None = None) -> JsonResponse:
    """The database cannot be reached right now (restarting, failing over): a retry with the same
    ``Idempotency-Key`` is safe and answers what really happened."""
    return envelope(503, "service_unavailable", said(request, gettext_noop(
        "The service is briefly unavailable. Retry shortly; a retried POST with the same Idempotency-Key is never "
        "applied twice.")), headers={"Retry-After": "2"})


def install(api: NinjaAPI) -> None:
    @api.exception_handler(OkpayError)
    def okpay_error(request: HttpRequest, exc: OkpayError) -> HttpResponse:
        with translation.override(caller_language(request)):
            message = exc.localized()
        after = getattr(exc, "after_rollback", None)
        if after is not None:  # e.g. a step-up code to send: only once the refused work is rolled back
            def make() -> HttpResponse:
                with transaction.atomic():
                    after()
                return envelope(exc.status, exc.code, message, exc.param, exc.headers, exc.extra)

            return Deferred(exc.status, make)
        return envelope(exc.status, exc.code, message, exc.param, exc.headers, exc.extra)

    @api.exception_handler(ValidationError)
    def validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
        first = exc.errors[0] if exc.errors else {}
        message = str(first.get("msg") or "")
        if first.get("type") == "json_invalid" or ("json" in message.lower() and "decode" in message.lower()):
            message = said(request, gettext_noop("The request body is not valid JSON."))
        elif not message:
            message = said(request, gettext_noop("The request is not valid."))
        elif first.get("type") == "missing":
            message = said(request, gettext_noop("This field is required."))
        elif not caller_language(request).startswith("en"):
            # the validator's own sentence is English: another language gets ours (``param`` says which)
            message = said(request, gettext_noop("This value is not valid."))
        return envelope(400, "invalid_request", message, _param_of(first))

    @api.exception_handler(AuthenticationError)
    def authentication_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        return envelope(401, "unauthenticated", said(request, gettext_noop("Authentication is required.")),
                        headers={"WWW-Authenticate": 'Bearer realm="okpay"'})

    @api.exception_handler(AuthorizationError)
    def authorization_error(request: HttpRequest, exc: AuthorizationError) -> HttpResponse:
        return envelope(403, "forbidden", said(request, gettext_noop("You are not allowed to do this.")))

    @api.exception_handler(PermissionDenied)
    def permission_denied(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
        return envelope(403, "forbidden", said(request, gettext_noop("You are not allowed to do this.")))

    @api.exception_handler(Throttled)
    def throttled(request: HttpRequest, exc: Throttled) -> HttpResponse:
        wait = int(exc.wait or 60)
        return envelope(429, "rate_limited",
            said(request, gettext_noop("Too many attempts. Try again later.")), headers={"Retry-After": str(wait)})

    @api.exception_handler(HttpError)
    def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        if isinstance(exc.__cause__, BodyRefused):  # valid JSON, but not an acceptable body
            return envelope(400, "invalid_request", said(request, exc.__cause__.message), exc.__cause__.param)
        status = exc.status_code if exc.status_code in _CODES_BY_STATUS else 400
        message = str(exc.message)
        if status == 400 and "parse" in message.lower():
            message = said(request, gettext_noop("The request body is not valid JSON."))
        return envelope(status, _CODES_BY_STATUS[status], message)

    @api.exception_handler(Http404)
    def not_found(request: HttpRequest, exc: Exception) -> HttpResponse:
        return envelope(404, "not_found", said(request, gettext_noop("Not found.")))

    @api.exception_handler(ObjectDoesNotExist)
    def object_missing(request: HttpRequest, exc: Exception) -> HttpResponse:
        return envelope(404, "not_found", said(request, gettext_noop("Not found.")))

    @api.exception_handler(UnreadablePostError)
    def body_incomplete(request: HttpRequest, exc: Exception) -> HttpResponse:
        logger.info("request body incomplete; client gone", extra={"path": request.path})
        return envelope(400, "invalid_request",
            said(request, gettext_noop("The request body was not received completely.")))

    @api.exception_handler(RequestDataTooBig)
    def too_big(request: HttpRequest, exc: Exception) -> HttpResponse:
        return envelope(400, "invalid_request", said(request, gettext_noop("The request body is too large.")))

    @api.exception_handler(LedgerError)
    def ledger_error(request: HttpRequest, exc: LedgerError) -> HttpResponse:
        """Ledger refusals that no service translated: a business rule (422), or contention (409)."""
        if isinstance(exc, LedgerBusy):
            return envelope(409, "conflict",
                said(request, gettext_noop("The service is busy with a conflicting request; retry shortly.")),
                            headers={"Retry-After": "1"})
        if isinstance(exc, AccountFrozen):
            return envelope(403, "account_frozen", str(exc), exc.param)
        return envelope(422, exc.code, str(exc), exc.param)

    @api.exception_handler(DataError)
    def data_error(request: HttpRequest, exc: DataError) -> HttpResponse:
        """A value the database cannot store (a NUL in a query parameter, a number out of range):
        bad input that slipped past validation. Refused as such, and logged to be validated earlier."""
        logger.warning("database refused a value", extra={"path": request.path, "error": str(exc)[:200]})
        return envelope(400, "invalid_request",
            said(request, gettext_noop("The request contains a value that cannot be stored.")))

    @api.exception_handler(OperationalError)
    def database_error(request: HttpRequest, exc: OperationalError) -> HttpResponse:
        if is_transient(exc):
            raise exc  # the POST wrapper (core.idempotency) runs the request again
        if is_unavailable(exc):
            logger.warning("database unavailable", extra={"path": request.path, "error": str(exc)})
            return unavailable(request)
        logger.error("database error", exc_info=exc, extra={"path": request.path})
        return internal_error(request)

    @api.exception_handler(Exception)
    def unhandled(request: HttpRequest, exc: Exception) -> HttpResponse:
        logger.error("unhandled API error", exc_info=exc, extra={"path": request.path})
        return internal_error(request)


class ApiEnvelopeMiddleware:
    """Errors that happen before or outside django-ninja (unknown path, wrong method, CSRF, a
    body over the size limit, a crash in middleware) still answer with the API envelope."""

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        """A view that lost the database (outside django-ninja's handlers): 503, not 500. A body
        that never arrived in full (the client went away): 400, and nothing ran."""
        if request.path.startswith("/api/") and isinstance(exception, UnreadablePostError):
            logger.info("request body incomplete; client gone", extra={"path": request.path})
            return envelope(400, "invalid_request",
                said(request, gettext_noop("The request body was not received completely.")))
        if request.path.startswith("/api/") and is_unavailable(exception):
            logger.warning("database unavailable", extra={"path": request.path, "error": str(exception)})
            return unavailable(request)
        return None

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith("/api/"):
            return self.get_response(request)
        try:
            response = self.get_response(request)
        except RequestDataTooBig:
            return envelope(400, "invalid_request", said(request, gettext_noop("The request body is too large.")))
        if response.status_code < 400 or response.get("Content-Type", "").startswith("application/json"):
            return response
        status = response.status_code
        if status >= 500:
            return internal_error(request)
        if status == 405:
            allowed = response.get("Allow", "")
            wrapped = envelope(405, "method_not_allowed",
                               said(request, gettext_noop("%(method)s is not allowed here. Allowed: %(allowed)s."),
                                    method=request.method, allowed=allowed or "—"))
            if allowed:
                wrapped["Allow"] = allowed
            return wrapped
        if status == 404:
            return envelope(404, "not_found",
                said(request, gettext_noop("No API endpoint at %(path)s."), path=request.path))
        if status == 403:
            return envelope(403, "forbidden", said(request, gettext_noop("You are not allowed to do this.")))
        return envelope(status if status in _CODES_BY_STATUS else 400,
                        _CODES_BY_STATUS.get(status, "invalid_request"),
                            said(request, gettext_noop("The request is not valid.")))
