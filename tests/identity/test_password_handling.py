"""Password fields and handling details (ASVS 6.2.6–6.2.8) and the SMS code's limits (6.5.5, 6.6.3)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from okpay.identity import services
from okpay.identity.models import PhoneVerification
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["/account/login/", "/account/register/", "/account/password/",
                                  "/account/close/", "/account/2fa/"])
def test_password_fields_are_masked_and_friendly_to_password_managers(alice, path) -> None:
    browser = Client()
    if path not in {"/account/login/", "/account/register/"}:
        browser.force_login(alice)
    html = browser.get(path).content.decode()
    fields = re.findall(r"<input[^>]*name=\"(?:password|current_password|new_password|new_password_confirm)\"[^>]*>",
                        html)
    assert fields
    for field in fields:
        assert 'type="password"' in field
        assert re.search(r'autocomplete="(current-password|new-password)"', field)
        assert "onpaste" not in field and "readonly" not in field


def test_the_password_is_checked_exactly_as_typed(client) -> None:
    typed = "  Lantern-42-orbit!  "
    response = client.post("/api/v1/auth/register", {"email": "carol@example.com", "password": typed,
                                                     "display_name": "Carol"}, content_type="application/json")
    assert response.status_code == 201
    stripped = client.post("/api/v1/auth/token", {"email": "carol@example.com", "password": typed.strip()},
                           content_type="application/json")
    assert stripped.status_code == 401
    exact = client.post("/api/v1/auth/token", {"email": "carol@example.com", "password": typed},
                        content_type="application/json")
    assert exact.status_code == 200
    upper = client.post("/api/v1/auth/token", {"email": "carol@example.com", "password": typed.upper()},
                        content_type="application/json")
    assert upper.status_code == 401


def test_web_password_change_needs_the_current_password(alice) -> None:
    browser = Client()
    assert browser.post("/account/login/", {"email": "alice@example.com", "password": PASSWORD}).status_code == 302
    new = "Fresh-pass-4-you!"
    refused = browser.post("/account/password/", {"current_password": "Not-it-1!", "new_password": new,
                                                  "new_password_confirm": new})
    assert refused.status_code == 400
    done = browser.post("/account/password/", {"current_password": PASSWORD, "new_password": new,
                                               "new_password_confirm": new})
    assert done.status_code == 302
    alice.refresh_from_db()
    assert alice.check_password(new)
    assert browser.get("/account/security/").status_code == 200  # this session stays signed in


def test_a_phone_code_expires_after_ten_minutes_and_allows_five_tries(alice) -> None:
    services.phone_verification_start(user=alice, phone="+8613800138000", password=PASSWORD)
    row = PhoneVerification.objects.get()
    assert row.expires_at - row.created_at <= timedelta(minutes=10, seconds=1)
    for _ in range(5):
        with pytest.raises(services.InvalidToken):
            services.phone_verification_confirm(user=alice, code="not-it")
    with pytest.raises(services.InvalidToken, match="expired"):
        services.phone_verification_confirm(user=alice, code="123456")
    services.phone_verification_start(user=alice, phone="+8613800138000", password=PASSWORD)
    PhoneVerification.objects.filter(used_at__isnull=True).update(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(services.InvalidToken, match="expired"):
        services.phone_verification_confirm(user=alice, code="123456")
    alice.refresh_from_db()
    assert alice.phone_verified_at is None


def test_sms_codes_are_limited_per_user(alice) -> None:
    for _ in range(5):
        services.phone_verification_start(user=alice, phone="+8613800138000", password=PASSWORD)
    with pytest.raises(services.RateLimited):
        services.phone_verification_start(user=alice, phone="+8613800138000", password=PASSWORD)
