"""Structured logs: one JSON object per line (plain text in debug), each with the request id.

Every record passes ``RedactingFilter`` first (on the console handler, settings.LOGGING): secrets
and personal data never reach a log line. See ``redact`` for what is masked and how.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import traceback
from datetime import UTC, datetime

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("okpay_request_id", default="-")

_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "request_id"}


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


# Values of these keys (in ``extra``, JSON, query strings, form bodies, headers) are secrets.
SECRET_KEYS = (
    "password", "passwd", "new_password", "new_password_confirm", "current_password", "secret", "client_secret",
    "token", "access_token", "refresh_token", "api_key", "apikey", "authorization", "cookie", "set-cookie",
    "otp", "otp_code", "totp", "totp_code", "recovery_code", "csrfmiddlewaretoken", "csrftoken", "sessionid",
    "x-api-key", "signature", "okpay-signature",
)
_KEY_NAMES = "|".join(re.escape(key) for key in sorted(SECRET_KEYS, key=len, reverse=True))
REDACTED = "[REDACTED]"

_RULES: list[tuple[re.Pattern[str], str]] = [
    # Header lines and pairs: "Authorization: Bearer x", "Cookie: a=b; c=d"
    (re.compile(r"(?i)\b(authorization|proxy-authorization|cookie|set-cookie|x-api-key)(\s*[:=]\s*)[^\n\r]+"),
     r"\1\2" + REDACTED),
    (re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]+"), "Bearer " + REDACTED),
    # key=value, "key": "value", 'key': 'value', key: value
    (re.compile(rf"(?i)([\"']?\b(?:{_KEY_NAMES})\b[\"']?\s*[:=]\s*)(?!\[REDACTED\])(\"[^\"]*\"|'[^']*'|[^\s&,;}}\]]+)"),
     r"\1" + REDACTED),
    # Our own credentials wherever they appear: API tokens, merchant keys, webhook secrets.
    (re.compile(r"\b(okp|sk|pk|whsec|rk)_[A-Za-z0-9_-]{6,}"), r"\1_" + REDACTED),
    # One-time links carry their token in the path.
    (re.compile(r"(/(?:t|verify-email|confirm|link|prove)/)[A-Za-z0-9._~:-]{16,}"), r"\1" + REDACTED),
]
_CARD = re.compile(r"(?<![\d+-])(?:\d[ -]?){12,18}\d(?![\d-])")
_EMAIL = re.compile(r"\b([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+\.[A-Za-z]{2,})\b")
_PHONE = re.compile(r"(?<![\w+])(\+?\d{1,3}[ -]?)?(1[3-9]\d)[ -]?\d{4}[ -]?(\d{4})(?!\d)|(\+\d{6,11})(\d{4})(?!\d)")


def _luhn(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char) * (2 if index % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def _card(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group(0))
    return f"****{digits[-4:]}" if 13 <= len(digits) <= 19 and _luhn(digits) else match.group(0)


def _phone(match: re.Match[str]) -> str:
    if match.group(2):
        return f"{match.group(1) or ''}{match.group(2)}****{match.group(3)}"
    return "+" + "*" * (len(match.group(4)) - 1) + match.group(5)


def redact(text: str) -> str:
    """``text`` without secrets or personal data: credentials and the values of secret-named keys
    become ``[REDACTED]``; card numbers (Luhn-valid, 13–19 digits) keep their last four digits;
    emails keep their first character and domain (``a***@example.com``); phone numbers keep their
    prefix and last four digits (``138****5678``)."""
    for pattern, replacement in _RULES:
        text = pattern.sub(replacement, text)
    text = _CARD.sub(_card, text)
    text = _EMAIL.sub(r"\1***@\2", text)
    return _PHONE.sub(_phone, text)


class RedactingFilter(logging.Filter):
    """Rewrites a record before any handler formats it: the message (with its arguments), every
    ``extra`` field (secret-named ones dropped to ``[REDACTED]``) and the traceback text."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            message = str(record.msg)
        record.msg, record.args = redact(message), None
        for key, value in list(vars(record).items()):
            if key in _STANDARD or key.startswith("_"):
                continue
            if key.lower() in SECRET_KEYS:
                setattr(record, key, REDACTED)
            elif isinstance(value, str):
                setattr(record, key, redact(value))
            elif not isinstance(value, int | float | bool | type(None)):
                setattr(record, key, redact(repr(value)))
        if record.exc_info and not record.exc_text:
            record.exc_text = redact("".join(traceback.format_exception(*record.exc_info)).rstrip())
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                payload[key] = value if isinstance(value, str | int | float | bool | type(None)) else repr(value)
        if record.exc_info or record.exc_text:
            payload["exc"] = record.exc_text or self.formatException(record.exc_info)  # type: ignore[arg-type]
        return json.dumps(payload, ensure_ascii=False)
