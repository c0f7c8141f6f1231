from __future__ import annotations

import pytest
from django.core.cache import cache

from tests.social.fake_platforms import APPID, APPSECRET, BOT_TOKEN, FakePlatforms

TELEGRAM_SECRET = "tg-secret_Token-42"
WECHAT_TOKEN = "okpay-wechat-token"
GENERIC_SECRET = "generic-platform-shared-secret"


@pytest.fixture
def platforms(settings):  # type: ignore[no-untyped-def]
    """The fake Telegram / WeChat / generic platform, with OKPay configured to use it."""
    cache.clear()
    with FakePlatforms(reply_secret=GENERIC_SECRET) as fake:
        settings.OKPAY_TELEGRAM_BOT_TOKEN = BOT_TOKEN
        settings.OKPAY_TELEGRAM_SECRET_TOKEN = TELEGRAM_SECRET
        settings.OKPAY_TELEGRAM_API_URL = fake.url
        settings.OKPAY_WECHAT_TOKEN = WECHAT_TOKEN
        settings.OKPAY_WECHAT_APPID = APPID
        settings.OKPAY_WECHAT_APPSECRET = APPSECRET
        settings.OKPAY_WECHAT_API_URL = fake.url
        settings.OKPAY_SOCIAL_WEBHOOK_SECRET = GENERIC_SECRET
        settings.OKPAY_SOCIAL_REPLY_URL = fake.url + "/reply"
        settings.OKPAY_SOCIAL_TIMEOUT = 5
        yield fake
