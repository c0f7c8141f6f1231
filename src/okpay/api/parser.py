"""The API's body parser: JSON, and an empty body whatever its content type.

``curl -X POST -d ''`` sends ``application/x-www-form-urlencoded`` with no fields, and many HTTP
libraries send ``multipart/form-data`` with no parts for a POST without data. For operations whose
fields are all optional (capture, cancel, decline…) that is an empty request, not malformed JSON:
it is read as ``{}`` (so a required field is still reported as missing). A form with fields is not
JSON and stays a ``400 invalid_request``.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja.parser import Parser

_FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")


class OkpayParser(Parser):
    def parse_body(self, request: HttpRequest) -> dict[str, Any]:
        if not request.body.strip():
            return {}
        if request.content_type in _FORMS and not request.POST and not request.FILES:
            return {}
        return super().parse_body(request)
