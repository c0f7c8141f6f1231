from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from okpay.helpcenter.search import vocabulary
from okpay.helpcenter.seed import load
from okpay.identity.models import User
from tests.factories import PASSWORD, totp_code


@pytest.fixture
def seeded(db: None) -> None:
    """The seed articles of both languages, indexed by the database's full-text backend."""
    load()
    vocabulary.invalidate()


@pytest.fixture(autouse=True)
def _fresh_rate_limits() -> None:
    cache.clear()


def sign_in(client: Client, user: User) -> Client:
    """Sign in through the real login form (so session security applies), with the code from the
    user's authenticator app when 2FA is on (every staff member: ``tests.factories``)."""
    response = client.post(reverse("identity:login"), {"email": user.email, "password": PASSWORD})
    assert response.status_code == 302, response.content[:500]
    if response["Location"] == reverse("identity:login-otp"):
        response = client.post(response["Location"], {"code": totp_code(user)})
        assert response.status_code == 302, response.content[:500]
    return client
