from __future__ import annotations

import pytest

from okpay.ledger.selectors import account_balance
from okpay.merchants import services
from okpay.payments.services import topup_create, wallet


@pytest.fixture(autouse=True)
def _merchant_settings(settings):  # type: ignore[no-untyped-def]
    from django.core.cache import cache

    settings.OKPAY_RISK_VELOCITY_PER_HOUR = 1000
    cache.clear()


@pytest.fixture
def merchant(shop):  # type: ignore[no-untyped-def]
    return services.merchant_create(user=shop, name="茶叶小店", refund_window_days=30)


@pytest.fixture
def secret_key(merchant) -> str:  # type: ignore[no-untyped-def]
    raw, _ = services.api_key_create(merchant=merchant, name="server")
    return raw


@pytest.fixture
def funded(alice):  # type: ignore[no-untyped-def]
    topup_create(user=alice, amount=100_000)
    return alice


def available(user) -> int:  # type: ignore[no-untyped-def]
    return account_balance(wallet(user)).available


def held(user) -> int:  # type: ignore[no-untyped-def]
    return account_balance(wallet(user)).held
