"""The API's body parser: a JSON object whose strings can be stored, and an empty body whatever
its content type.

``curl -X POST -d ''`` sends ``application/x-www-form-urlencoded`` with no fields, and many HTTP
libraries send ``multipart/form-data`` with no parts for a POST without data. For operations whose
fields are all optional (capture, cancel, decline…) that is an empty request, not malformed JSON:
it is read as ``{}`` (so a required field is still reported as missing). A form with fields is not
JSON and stays a ``400 invalid_request``.

Two more rules were found by the API fuzzer (tests/fuzz/):

- django-ninja's schemas validate ``from_attributes``, so a body of ``false``, ``0`` or ``"x"``
  passed as "an object with no attributes" and an operation whose fields are all optional
  accepted it (``POST /api/v1/support/nps`` with the body ``false`` answered 201). The body must
  be a JSON object.
- PostgreSQL cannot store U+0000 in text or jsonb: ``POST /api/v1/auth/password-reset`` with a NUL
  in the email answered 500 there (the queued task's arguments were refused by the database).
  No string of the body may hold one.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja.parser import Parser

_FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")


class BodyRefused(ValueError):
    """Why a body that is valid JSON is still not acceptable; the API answers 400 with it."""

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param


def _nul_at(value: Any, path: str = "") -> str | None:
    """The dotted path of the first string (key or value) that holds a NUL character, if any."""
    if isinstance(value, str):
        return path or "body" if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if "\x00" in str(key):
                return where
            found = _nul_at(item, where)
            if found:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = _nul_at(item, f"{path}.{index}" if path else str(index))
            if found:
                return found
    return None


class OkpayParser(Parser):
    def parse_body(self, request: HttpRequest) -> dict[str, Any]:
        if not request.body.strip():
            return {}
        if request.content_type in _FORMS and not request.POST and not request.FILES:
            return {}
        data = super().parse_body(request)
        if not isinstance(data, dict):
            raise BodyRefused("The request body must be a JSON object.")
        where = _nul_at(data)
        if where is not None:
            raise BodyRefused("Text must not contain NUL (U+0000) characters.", param=where)
        return data
