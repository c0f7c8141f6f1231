from __future__ import annotations

import types

import pytest
from django.core.cache import cache

from tests.identity.helpers import Clock


@pytest.fixture(autouse=True)
def _fresh_limits():
    """Rate limits live in the cache; every test starts with none used."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def clock(monkeypatch) -> Clock:
    from django_otp.plugins.otp_totp import models as totp_models

    fake = Clock()
    monkeypatch.setattr(totp_models, "time", types.SimpleNamespace(time=fake.time))
    return fake
