"""Django's own password messages in zh-Hans: its catalogue lags 5.2's wording (the length message
stayed English) and says 你; OKPay's identity catalogue overrides them (settings.LOCALE_PATHS)."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.utils import translation

from okpay.identity.models import User


def _messages(password: str, user: User | None = None) -> list[str]:
    try:
        password_validation.validate_password(password, user)
    except ValidationError as exc:
        return list(exc.messages)
    return []


@pytest.mark.django_db
def test_password_messages_are_chinese_and_say_nin() -> None:
    user = User(email="wangxiaoming@example.com", display_name="wangxiaoming")
    with translation.override("zh-hans"):
        texts = _messages("abc") + _messages("wangxiaoming1!", user)
        texts += [v.get_help_text() for v in password_validation.get_default_password_validators()]
    assert "密码太短，至少需要 10 个字符。" in texts
    for text in texts:
        assert not re.search(r"[A-Za-z]{3,} [A-Za-z]{3,}", text), text
        assert "你" not in text, text
