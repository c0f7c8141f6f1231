"""The error hierarchy every edge (API, pages, CLI) turns into its own kind of answer.

An :class:`OkpayError` carries a stable machine ``code``, a human ``message`` and the
offending ``param``; its class decides the HTTP status (API.md, "Errors").
"""

from __future__ import annotations


class OkpayError(Exception):
    status = 400
    code = "invalid_request"
    default_message = "The request is not valid."

    def __init__(self, message: str | None = None, *, param: str | None = None, code: str | None = None,
                 headers: dict[str, str] | None = None, params: dict[str, object] | None = None,
                 extra: dict[str, str] | None = None) -> None:
        # ``message`` is the English text (a msgid); with ``params`` it is a template such as
        # "… this one is %(status)s." filled in only after translation (``localized``), so the
        # values never stop it from being found in the catalogue. ``self.message`` stays English.
        self.template = str(message or self.default_message)
        self.params = dict(params or {})
        self.message = self.template % self.params if self.params else self.template
        self.extra = extra or {}  # more fields of the error object (e.g. a step-up's ``method``)
        self.param = param
        if code is not None:
            self.code = code
        self.headers = headers or {}
        super().__init__(self.message)

    def localized(self) -> str:
        """The message in the active language (``django.utils.translation``), values filled in after."""
        from django.utils.translation import gettext

        text = gettext(self.template)
        if not self.params:
            return text
        try:
            return text % self.params
        except (KeyError, TypeError, ValueError):  # a translation that lost a placeholder: English then
            return self.message


class InvalidRequest(OkpayError):
    status = 400
    code = "invalid_request"


class Unauthenticated(OkpayError):
    status = 401
    code = "unauthenticated"
    default_message = "Authentication is required."


class Forbidden(OkpayError):
    status = 403
    code = "forbidden"
    default_message = "You are not allowed to do this."


class NotFound(OkpayError):
    status = 404
    code = "not_found"
    default_message = "Not found."


class MethodNotAllowed(OkpayError):
    status = 405
    code = "method_not_allowed"
    default_message = "This method is not allowed here."


class Conflict(OkpayError):
    status = 409
    code = "conflict"
    default_message = "The request conflicts with the current state."


class BusinessRuleError(OkpayError):
    status = 422
    code = "business_rule"
    default_message = "The request was refused by a business rule."


class RateLimited(OkpayError):
    status = 429
    code = "rate_limited"
    default_message = "Too many attempts. Try again later."

    def __init__(self, message: str | None = None, *, retry_after: int = 60, **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.retry_after = retry_after
        self.headers["Retry-After"] = str(retry_after)


def error_body(code: str, message: str, param: str | None = None,
               extra: dict[str, str] | None = None) -> dict[str, dict[str, str | None]]:
    return {"error": {"code": code, "message": message, "param": param, **(extra or {})}}
