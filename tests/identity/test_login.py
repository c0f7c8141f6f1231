"""Sign-in on the web and the API: generic errors, lockout per account + address with a
cool-off, session rotation and timeouts, TOTP at sign-in, replay and recovery codes, new devices."""

from __future__ import annotations

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from okpay.identity import services
from okpay.identity.models import SecurityEvent, UserSession
from tests.factories import PASSWORD
from tests.identity.helpers import audited, enable_2fa, kinds, link_in, mails_to, path_of, totp_code

pytestmark = pytest.mark.django_db


def api_login(client: Client, email: str, password: str, otp: str | None = None, ip: str = "203.0.113.7"):  # type: ignore[no-untyped-def]
    body = {"email": email, "password": password}
    if otp is not None:
        body["otp_code"] = otp
    return client.post("/api/v1/auth/token", body, content_type="application/json", REMOTE_ADDR=ip)


def test_api_sign_in_returns_an_expiring_bearer_token(client, alice) -> None:
    response = api_login(client, "Alice@Example.com", PASSWORD)
    assert response.status_code == 200
    body = response.json()
    assert body["token"].startswith("okp_") and body["user"]["id"] == alice.public_id
    assert body["expires_at"]
    me = client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {body['token']}")
    assert me.status_code == 200 and me.json()["email"] == "alice@example.com"
    out = client.post("/api/v1/auth/logout", HTTP_AUTHORIZATION=f"Bearer {body['token']}")
    assert out.status_code == 204
    assert client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {body['token']}").status_code == 401
    assert kinds(alice) == ["login", "token_created", "token_revoked"]


def test_wrong_password_and_unknown_email_get_the_same_generic_answer(client, alice) -> None:
    wrong = api_login(client, "alice@example.com", "Not-the-password-1!")
    unknown = api_login(client, "nobody@example.com", "Not-the-password-1!")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json() == {"error": {
        "code": "invalid_credentials", "message": "邮箱或密码不正确。", "param": None}}  # no Accept-Language: zh-Hans
    assert kinds(alice) == ["login_failed"]
    assert audited("identity.login_failed_unknown") == 1
    web_wrong = Client().post("/account/login/", {"email": "alice@example.com", "password": "x" * 12})
    web_unknown = Client().post("/account/login/", {"email": "nobody@example.com", "password": "x" * 12})
    assert web_wrong.status_code == web_unknown.status_code == 400
    assert "邮箱或密码不正确" in web_wrong.content.decode() and "邮箱或密码不正确" in web_unknown.content.decode()


def test_lockout_after_five_failures_for_that_account_and_address_only(client, alice, settings) -> None:
    for _ in range(4):
        assert api_login(client, "alice@example.com", "Wrong-password-1!").status_code == 401
    fifth = api_login(client, "alice@example.com", "Wrong-password-1!")
    assert fifth.status_code == 429 and fifth.json()["error"]["code"] == "rate_limited"
    assert int(fifth["Retry-After"]) == settings.AXES_COOLOFF_TIME.total_seconds()
    # Locked from this address even with the right password...
    assert api_login(client, "alice@example.com", PASSWORD).status_code == 429
    # ...but the real owner elsewhere is not locked out by an attacker.
    assert api_login(client, "alice@example.com", PASSWORD, ip="198.51.100.20").status_code == 200
    assert kinds(alice).count("locked_out") == 1
    assert audited("identity.locked_out") == 1


def test_the_lockout_ends_after_the_cool_off(client, alice) -> None:
    for _ in range(5):
        api_login(client, "alice@example.com", "Wrong-password-1!")
    assert api_login(client, "alice@example.com", PASSWORD).status_code == 429
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))
    assert api_login(client, "alice@example.com", PASSWORD).status_code == 200


def test_operator_unlock_lifts_the_lockout_and_is_audited(client, alice) -> None:
    for _ in range(5):
        api_login(client, "alice@example.com", "Wrong-password-1!")
    call_command("users", "unlock", "--email", "alice@example.com")
    assert api_login(client, "alice@example.com", PASSWORD).status_code == 200
    assert "unlocked" in kinds(alice)
    assert audited("identity.unlocked") == 1


def test_web_lockout_shows_a_message_not_an_error_page(alice) -> None:
    browser = Client()
    for _ in range(5):
        response = browser.post("/account/login/", {"email": "alice@example.com", "password": "Wrong-password-1!"})
    assert response.status_code == 400
    assert "尝试次数过多" in response.content.decode()


def test_web_sign_in_rotates_the_session_and_records_it(alice) -> None:
    browser = Client()
    browser.get("/account/login/")
    browser.session.save()
    before = browser.session.session_key
    response = browser.post("/account/login/", {"email": "alice@example.com", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/account/security/"
    after = browser.session.session_key
    assert after and after != before
    session = UserSession.objects.get(user=alice)
    assert session.session_key == after and session.ended_at is None
    assert kinds(alice) == ["login"]


def test_next_parameter_only_redirects_inside_the_site(alice) -> None:
    outside = Client().post("/account/login/?next=https://evil.example/", {"email": "alice@example.com",
                                                                          "password": PASSWORD})
    assert outside["Location"] == "/account/security/"
    inside = Client().post("/account/login/?next=/account/activity/", {"email": "alice@example.com",
                                                                      "password": PASSWORD})
    assert inside["Location"] == "/account/activity/"


def test_idle_and_absolute_session_timeouts(alice, settings) -> None:
    from okpay.identity.middleware import LOGIN_AT, SEEN_AT

    browser = Client()
    browser.post("/account/login/", {"email": "alice@example.com", "password": PASSWORD})
    assert browser.get("/account/security/").status_code == 200
    session = browser.session
    session[SEEN_AT] = session[SEEN_AT] - settings.OKPAY_SESSION_IDLE_MINUTES * 60 - 1
    session.save()
    assert browser.get("/account/security/").status_code == 302
    assert UserSession.objects.get(user=alice).end_reason == "expired"
    assert "由于长时间未操作" in browser.get("/account/login/").content.decode()  # says why, once
    assert "由于长时间未操作" not in browser.get("/account/login/").content.decode()

    browser = Client()
    browser.post("/account/login/", {"email": "alice@example.com", "password": PASSWORD})
    session = browser.session
    session[LOGIN_AT] = session[LOGIN_AT] - settings.OKPAY_SESSION_MAX_HOURS * 3600 - 1
    session.save()
    assert browser.get("/account/security/").status_code == 302


def test_two_factor_is_required_at_api_sign_in(client, alice, clock) -> None:
    device, _ = enable_2fa(alice, clock)
    missing = api_login(client, "alice@example.com", PASSWORD)
    assert missing.status_code == 401 and missing.json()["error"]["code"] == "otp_required"
    wrong = api_login(client, "alice@example.com", PASSWORD, otp="000000" if totp_code(device, clock.now) != "000000"
                      else "111111")
    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "invalid_otp"
    clock.tick()
    good = api_login(client, "alice@example.com", PASSWORD, otp=totp_code(device, clock.now))
    assert good.status_code == 200


def test_a_totp_code_is_never_accepted_twice(client, alice, clock) -> None:
    device, _ = enable_2fa(alice, clock)
    code = totp_code(device, clock.now)
    assert api_login(client, "alice@example.com", PASSWORD, otp=code).status_code == 200
    replay = api_login(client, "alice@example.com", PASSWORD, otp=code)
    assert replay.status_code == 401 and replay.json()["error"]["code"] == "invalid_otp"
    with pytest.raises(services.InvalidOtp):
        services.step_up_verify(alice, code)


def test_a_recovery_code_works_once(client, alice, clock) -> None:
    _, codes = enable_2fa(alice, clock)
    assert len(codes) == 10 and len(set(codes)) == 10
    first = api_login(client, "alice@example.com", PASSWORD, otp=codes[0].upper())
    assert first.status_code == 200
    again = api_login(client, "alice@example.com", PASSWORD, otp=codes[0])
    assert again.status_code == 401 and again.json()["error"]["code"] == "invalid_otp"
    assert services.recovery_codes_left(alice) == 9
    assert "recovery_code_used" in kinds(alice)
    from okpay.identity.models import RecoveryCode

    stored = list(RecoveryCode.objects.filter(user=alice).values_list("code_hash", flat=True))
    assert all(code.replace("-", "")[4:] not in "".join(stored) for code in codes)


def test_otp_attempts_are_limited(client, alice, clock) -> None:
    device, _ = enable_2fa(alice, clock)
    good = totp_code(device, clock.now)
    bad = "000000" if good != "000000" else "111111"
    for _ in range(5):
        response = api_login(client, "alice@example.com", PASSWORD, otp=bad)
        assert response.status_code == 401
    limited = api_login(client, "alice@example.com", PASSWORD, otp=good)
    assert limited.status_code == 429
    assert kinds(alice).count("otp_failed") == 5


def test_web_sign_in_with_two_factor(alice, clock) -> None:
    device, _ = enable_2fa(alice, clock)
    browser = Client()
    first = browser.post("/account/login/", {"email": "alice@example.com", "password": PASSWORD})
    assert first["Location"] == "/account/login/2fa/"
    assert browser.get("/account/security/").status_code == 302  # not signed in yet
    wrong = browser.post("/account/login/2fa/", {"code": "12345"})
    assert wrong.status_code == 400
    done = browser.post("/account/login/2fa/", {"code": totp_code(device, clock.now)})
    assert done.status_code == 302 and done["Location"] == "/account/security/"
    assert browser.get("/account/security/").status_code == 200


def test_a_new_device_gets_an_alert_with_a_freeze_link(client, alice) -> None:
    Client().post("/account/login/", {"email": "alice@example.com", "password": PASSWORD},
                  HTTP_USER_AGENT="Mozilla/5.0 (Windows NT 10.0) Chrome/120.0")
    assert mails_to("alice@example.com") == []  # the very first device is not "new"
    other = Client()
    other.post("/account/login/", {"email": "alice@example.com", "password": PASSWORD},
               HTTP_USER_AGENT="Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Safari/604.1")
    [alert] = mails_to("alice@example.com")
    assert "iPhone" in alert.body_text
    assert SecurityEvent.objects.filter(user=alice, kind="login_new_device").count() == 1
    link = link_in(alert, "/account/freeze/link/")
    page = Client().get(path_of(link))
    assert page.status_code == 200
    alice.refresh_from_db()
    assert not alice.frozen  # opening the link (a mail scanner might) does nothing
    frozen = Client().post(path_of(link))
    assert frozen.status_code == 200
    alice.refresh_from_db()
    assert alice.frozen and alice.frozen_reason == "email_link"
    assert not UserSession.objects.filter(user=alice, ended_at__isnull=True).exists()
    assert Client().post(path_of(link)).status_code == 400  # single use


def test_a_closed_account_cannot_sign_in(client, alice) -> None:
    services.account_close(user=alice, password=PASSWORD)
    response = api_login(client, "alice@example.com", PASSWORD)
    assert response.status_code == 401 and response.json()["error"]["code"] == "invalid_credentials"
