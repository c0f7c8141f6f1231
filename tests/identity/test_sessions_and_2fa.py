"""Sessions and devices (list, revoke one, revoke all others, nobody else's), 2FA setup and
removal, recovery codes, and the step-up check the payments app calls."""

from __future__ import annotations

import pytest
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from okpay.identity import services
from okpay.identity.models import ApiToken, RecoveryCode, UserSession
from tests.factories import PASSWORD
from tests.identity.helpers import audited, enable_2fa, kinds, mails_to, totp_code

pytestmark = pytest.mark.django_db


def web_login(email: str = "alice@example.com", ua: str = "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0") -> Client:
    browser = Client(HTTP_USER_AGENT=ua)
    assert browser.post("/account/login/", {"email": email, "password": PASSWORD}).status_code == 302
    return browser


def test_sessions_list_browsers_and_tokens_with_device_ip_and_last_seen(alice, api_client) -> None:
    web_login()
    api = api_client(alice)
    response = api.get("/api/v1/me/sessions")
    assert response.status_code == 200
    data = response.json()["data"]
    assert {item["kind"] for item in data} == {"session", "token"}
    current = [item for item in data if item["current"]]
    assert len(current) == 1 and current[0]["kind"] == "token"
    browser_row = next(item for item in data if item["kind"] == "session")
    assert browser_row["device"] == "Firefox · Linux" and browser_row["ip"] == "127.0.0.1"
    assert browser_row["last_seen_at"] and browser_row["id"].startswith("ses_")


def test_revoking_a_session_signs_that_browser_out(alice, api_client) -> None:
    browser = web_login()
    api = api_client(alice)
    session = UserSession.objects.get(user=alice)
    assert api.delete(f"/api/v1/me/sessions/{session.public_id}").status_code == 204
    assert browser.get("/account/security/").status_code == 302
    assert "session_revoked" in kinds(alice)
    assert audited("identity.session_revoked") == 1


def test_another_users_session_id_is_404_and_changes_nothing(alice, bob, api_client) -> None:
    bob_browser = web_login("bob@example.com")
    bob_session = UserSession.objects.get(user=bob)
    _, bob_token = services.api_token_create(user=bob)
    api = api_client(alice)
    for foreign in (bob_session.public_id, bob_token.public_id, "ses_doesnotexist"):
        response = api.delete(f"/api/v1/me/sessions/{foreign}")
        assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
    bob_session.refresh_from_db()
    bob_token.refresh_from_db()
    assert bob_session.ended_at is None and bob_token.revoked_at is None
    assert bob_browser.get("/account/security/").status_code == 200
    # The web page answers the same way.
    alice_browser = web_login()
    assert alice_browser.post("/account/sessions/", {"session": bob_session.public_id}).status_code == 404


def test_revoke_all_other_sessions_keeps_the_current_one(alice, api_client) -> None:
    other = web_login(ua="Mozilla/5.0 (iPhone) Safari/604.1")
    services.api_token_create(user=alice)
    current = web_login()
    response = current.post("/account/sessions/", {"all_others": "1"})
    assert response.status_code == 302
    assert current.get("/account/sessions/").status_code == 200
    assert other.get("/account/security/").status_code == 302
    assert UserSession.objects.filter(user=alice, ended_at__isnull=True).count() == 1
    assert not ApiToken.objects.filter(user=alice, revoked_at__isnull=True).exists()


def test_totp_setup_over_the_api(alice, api_client, clock) -> None:
    api = api_client(alice)
    started = api.post("/api/v1/me/2fa/totp")
    assert started.status_code == 200
    body = started.json()
    assert body["otpauth_uri"].startswith("otpauth://totp/") and "secret=" + body["secret"] in body["otpauth_uri"]
    assert body["qr_svg"].lstrip().startswith("<?xml") or "<svg" in body["qr_svg"]
    device = TOTPDevice.objects.get(user=alice)
    assert not device.confirmed
    bad = api.post("/api/v1/me/2fa/totp/confirm", {"code": "12"}, content_type="application/json")
    assert bad.status_code == 401 and bad.json()["error"]["code"] == "invalid_otp"
    ok = api.post("/api/v1/me/2fa/totp/confirm", {"code": totp_code(device, clock.now)},
                  content_type="application/json")
    assert ok.status_code == 200
    codes = ok.json()["recovery_codes"]
    assert len(codes) == 10
    assert RecoveryCode.objects.filter(user=alice).count() == 10
    assert api.get("/api/v1/me").json()["two_factor_enabled"] is True
    assert kinds(alice)[-1] == "2fa_enabled"
    assert api.post("/api/v1/me/2fa/totp").status_code == 409  # already on
    assert any("双重验证" in m.subject or "Two-factor" in m.subject for m in mails_to("alice@example.com"))


def test_disabling_2fa_needs_a_current_code_and_sends_an_email(alice, api_client, clock) -> None:
    device, _ = enable_2fa(alice, clock)
    api = api_client(alice)
    before = len(mails_to("alice@example.com"))
    refused = api.delete("/api/v1/me/2fa", {"code": "000000"}, content_type="application/json")
    assert refused.status_code == 401
    assert TOTPDevice.objects.filter(user=alice, confirmed=True).exists()
    done = api.delete("/api/v1/me/2fa", {"code": totp_code(device, clock.now)}, content_type="application/json")
    assert done.status_code == 204
    assert not TOTPDevice.objects.filter(user=alice).exists()
    assert not RecoveryCode.objects.filter(user=alice).exists()
    assert len(mails_to("alice@example.com")) == before + 1
    assert kinds(alice)[-1] == "2fa_disabled"


def test_regenerating_recovery_codes_retires_the_old_ones(alice, clock) -> None:
    device, old = enable_2fa(alice, clock)
    new = services.recovery_codes_regenerate(user=alice, code=totp_code(device, clock.now))
    assert set(new).isdisjoint(old) and len(new) == 10
    clock.tick()
    with pytest.raises(services.InvalidOtp):
        services.otp_verify(user=alice, code=old[0])
    assert services.otp_verify(user=alice, code=new[0]) == "recovery"


def test_password_change_needs_step_up_when_2fa_is_on(alice, api_client, clock) -> None:
    device, _ = enable_2fa(alice, clock)
    api = api_client(alice)
    body = {"current_password": PASSWORD, "new_password": "Brand-new-77-pass!"}
    missing = api.post("/api/v1/me/password", body, content_type="application/json")
    assert missing.status_code == 401 and missing.json()["error"]["code"] == "otp_required"
    wrong_password = api.post("/api/v1/me/password", {**body, "current_password": "nope-nope-1!",
                                                      "otp_code": totp_code(device, clock.now)},
                              content_type="application/json")
    assert wrong_password.status_code == 401
    ok = api.post("/api/v1/me/password", {**body, "otp_code": totp_code(device, clock.now)},
                  content_type="application/json")
    assert ok.status_code == 200
    alice.refresh_from_db()
    assert alice.check_password("Brand-new-77-pass!")
    assert api.get("/api/v1/me").status_code == 200  # the token that made the change stays
    assert "password_changed" in kinds(alice)


def test_step_up_is_required_above_the_configured_amount(alice, bob, settings, clock) -> None:
    settings.OKPAY_STEP_UP_AMOUNT = 100_000
    device, _ = enable_2fa(alice, clock)
    assert services.step_up_required(alice, 100_001) is True
    assert services.step_up_required(alice, 100_000) is False
    assert services.step_up_required(bob, 100_001) is True  # no 2FA: a one-time code (okpay.identity.stepup)
    with pytest.raises(services.OtpRequired) as missing:
        services.step_up_verify(alice, None)
    assert missing.value.status == 401 and missing.value.code == "otp_required"
    with pytest.raises(services.InvalidOtp):
        services.step_up_verify(alice, "000000" if totp_code(device, clock.now) != "000000" else "111111")
    services.step_up_check(alice, 100_001, totp_code(device, clock.now))
    services.step_up_check(alice, 50, None)  # below the amount: no code needed


def test_logout_ends_the_session_for_good(alice) -> None:
    browser = web_login()
    cookie = browser.cookies["sessionid"].value
    assert browser.post("/account/logout/").status_code == 302
    replay = Client()
    replay.cookies["sessionid"] = cookie
    assert replay.get("/account/security/").status_code == 302
    assert UserSession.objects.get(user=alice).end_reason == "logout"
    assert kinds(alice)[-1] == "logout"


def test_operators_can_sign_out_one_user_or_everybody(alice, bob) -> None:
    from django.core.management import call_command

    alice_browser, bob_browser = web_login(), web_login("bob@example.com")
    services.api_token_create(user=bob)
    call_command("users", "signout", "--email", "alice@example.com")
    assert alice_browser.get("/account/security/").status_code == 302
    assert bob_browser.get("/account/security/").status_code == 200
    call_command("users", "signout", "--all")
    assert bob_browser.get("/account/security/").status_code == 302
    assert not ApiToken.objects.filter(revoked_at__isnull=True).exists()
    assert audited("identity.sessions_terminated_all") == 1


def test_support_resets_lost_2fa_after_checking_identity(alice, bob, agent, clock) -> None:
    enable_2fa(alice, clock)
    with pytest.raises(services.Forbidden):
        services.two_factor_reset_by_support(user=alice, actor=bob, reason="friend")
    assert services.two_factor_enabled(alice)
    services.two_factor_reset_by_support(user=alice, actor=agent, reason="ID card and selfie checked, ticket 7")
    assert not services.two_factor_enabled(alice)
    from okpay.audit.models import AuditRecord

    assert AuditRecord.objects.filter(action="identity.2fa_disabled", actor=agent.public_id).count() == 1


def test_recovery_codes_are_stored_with_a_salted_password_hash(alice, settings, clock) -> None:
    from django.contrib.auth.hashers import identify_hasher

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher"]
    _, codes = enable_2fa(alice, clock)
    rows = list(RecoveryCode.objects.filter(user=alice))
    assert len(rows) == 10 and all(identify_hasher(row.code_hash).algorithm == "argon2" for row in rows)
    assert {row.code_id for row in rows} == {code[:4] for code in codes}
    assert services.otp_verify(user=alice, code=codes[3]) == "recovery"


def test_sessions_signed_in_elsewhere_are_tracked_too(alice) -> None:
    """Django's admin login or a test's force_login bypass our sign-in page; the session is still
    listed, timed out and revocable."""
    browser = Client()
    browser.force_login(alice)
    assert browser.get("/account/sessions/").status_code == 200
    session = UserSession.objects.get(user=alice)
    services.session_revoke(user=alice, session_id=session.public_id)
    assert browser.get("/account/security/").status_code == 302


def test_ending_sessions_on_the_web_needs_the_password_typed_recently(alice) -> None:
    from okpay.identity.middleware import REAUTH_AT

    other = web_login(ua="Mozilla/5.0 (iPhone) Safari/604.1")
    browser = web_login()
    session = browser.session
    session[REAUTH_AT] = session[REAUTH_AT] - 601
    session.save()
    page = browser.get("/account/sessions/").content.decode()
    assert 'name="confirm_password"' in page and 'name="all_others"' not in page
    browser.post("/account/sessions/", {"all_others": "1"})
    assert other.get("/account/security/").status_code == 200  # refused: nothing ended
    wrong = browser.post("/account/sessions/", {"confirm_password": "1", "password": "Not-mine-1!"})
    assert wrong.status_code == 400
    assert browser.post("/account/sessions/", {"confirm_password": "1", "password": PASSWORD}).status_code == 302
    browser.post("/account/sessions/", {"all_others": "1"})
    assert other.get("/account/security/").status_code == 302
