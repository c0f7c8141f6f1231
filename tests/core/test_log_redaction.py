"""Logs never carry secrets or personal data (okpay.core.logging.RedactingFilter)."""

from __future__ import annotations

import io
import json
import logging

import pytest
from django.conf import settings

from okpay.core.logging import JsonFormatter, RedactingFilter, RequestIdFilter, redact


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Authorization: Bearer okp_Zq3vX0c9aB1xY2", "Authorization: [REDACTED]"),
        ("calling with bearer abc.def-ghi", "calling with Bearer [REDACTED]"),
        ("Cookie: sessionid=abc; csrftoken=def", "Cookie: [REDACTED]"),
        ('{"email": "a@b.cn", "password": "hunter2!", "otp_code": "123456"}',
         '{"email": "a***@b.cn", "password": [REDACTED], "otp_code": [REDACTED]}'),
        ("password=hunter2&next=/wallet/", "password=[REDACTED]&next=/wallet/"),
        ("key sk_live_4eC39HqLyjWDarjtT1zdp7dc used", "key sk_[REDACTED] used"),
        ("token okp_AbCdEf0123456789xyz revoked", "token okp_[REDACTED] revoked"),
        ("card 4242 4242 4242 4242 declined", "card ****4242 declined"),
        ("card 4111111111111111", "card ****1111"),
        ("order 1234567890123 (not a card)", "order 1234567890123 (not a card)"),
        ("mail to alice.wang@example.com failed", "mail to a***@example.com failed"),
        ("sms to 13812345678", "sms to 138****5678"),
        ("sms to +86 138 1234 5678", "sms to +86 138****5678"),
        ("GET /account/password-reset/t/Zk9x8Yq7W6v5U4t3S2r1/ 200", "GET /account/password-reset/t/[REDACTED]/ 200"),
        ("amount 12000 CNY to txn_abc123", "amount 12000 CNY to txn_abc123"),
    ],
)
def test_redact(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_a_record_is_redacted_everywhere_before_it_is_formatted() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RequestIdFilter())
    handler.addFilter(RedactingFilter())
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("okpay.test.redaction")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        try:
            raise ValueError("could not charge 4242424242424242 for bob@example.com with sk_test_abcdef123456")
        except ValueError:
            logger.error("sign-in of %s with password=%s", "carol@example.com", "S3cret-pass!", exc_info=True,
                         extra={"password": "S3cret-pass!", "headers": {"Authorization": "Bearer okp_secret123456"},
                                "phone": "13912345678", "attempt": 2})
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    line = stream.getvalue()
    record = json.loads(line)
    for secret in ("S3cret-pass!", "okp_secret123456", "4242424242424242", "bob@example.com", "carol@example.com",
                   "sk_test_abcdef123456", "13912345678"):
        assert secret not in line, secret
    assert record["msg"] == "sign-in of c***@example.com with password=[REDACTED]"
    assert record["password"] == "[REDACTED]"
    assert record["phone"] == "139****5678"
    assert record["attempt"] == 2
    assert "Authorization" in record["headers"] and "[REDACTED]" in record["headers"]
    assert "ValueError: could not charge ****4242 for b***@example.com with sk_[REDACTED]" in record["exc"]


def test_the_console_handler_redacts() -> None:
    assert settings.LOGGING["handlers"]["console"]["filters"] == ["request_id", "redact"]
    assert settings.LOGGING["filters"]["redact"] == {"()": "okpay.core.logging.RedactingFilter"}
    installed = [f for handler in logging.getLogger().handlers for f in handler.filters]
    assert any(isinstance(f, RedactingFilter) for f in installed) or not logging.getLogger().handlers
