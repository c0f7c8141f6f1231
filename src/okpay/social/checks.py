"""The social channel's deployment check (``okpay check --deploy``)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Tags, Warning, register


@register(Tags.security, deploy=True)
def wechat_safe_mode_check(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """WeChat's plaintext mode signs the query, not the body: safe mode is the recommended setting."""
    if settings.OKPAY_WECHAT_TOKEN and not settings.OKPAY_WECHAT_ENCODING_AES_KEY:
        return [Warning("The WeChat webhook runs in plaintext mode: its signature does not cover the message body.",
                        hint="Switch the Official Account to safe mode (安全模式) and set "
                             "OKPAY_WECHAT_ENCODING_AES_KEY to its EncodingAESKey.", id="social.W001")]
    return []
