"""Freeze, profile, email and phone changes, closing, anti-phishing code, activity log, and the
operator commands."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from okpay.audit.models import AuditRecord
from okpay.audit.services import audit_verify
from okpay.core.errors import Forbidden
from okpay.identity import services
from okpay.identity.models import ApiToken, OutboundEmail, OutboundSms, SecurityEvent, User, UserSession
from tests.factories import PASSWORD
from tests.identity.helpers import audited, kinds, link_in, mails_to, path_of

pytestmark = pytest.mark.django_db


def web_login(email: str = "alice@example.com") -> Client:
    browser = Client()
    assert browser.post("/account/login/", {"email": email, "password": PASSWORD}).status_code == 302
    return browser


def test_freeze_over_the_api_keeps_the_caller_and_signs_out_the_rest(alice, api_client) -> None:
    browser = web_login()
    services.api_token_create(user=alice)
    api = api_client(alice)
    response = api.post("/api/v1/me/freeze")
    assert response.status_code == 200 and response.json()["frozen"] is True
    alice.refresh_from_db()
    assert alice.frozen and alice.frozen_reason == "self_api"
    assert api.get("/api/v1/me").status_code == 200
    assert browser.get("/account/security/").status_code == 302
    assert ApiToken.objects.filter(user=alice, revoked_at__isnull=True).count() == 1
    assert kinds(alice)[-1] == "frozen" and audited("identity.frozen") == 1
    assert any("冻结" in m.subject or "frozen" in m.subject for m in mails_to("alice@example.com"))


def test_one_click_freeze_on_the_security_page(alice) -> None:
    browser = web_login()
    other = web_login()
    assert browser.post("/account/freeze/").status_code == 302
    alice.refresh_from_db()
    assert alice.frozen
    assert browser.get("/account/security/").status_code == 200
    assert other.get("/account/security/").status_code == 302


def test_only_support_unfreezes_and_says_why(alice, bob, agent) -> None:
    services.account_freeze(user=alice)
    with pytest.raises(Forbidden):
        services.account_unfreeze(user=alice, actor=bob, reason="I am a friend")
    alice.refresh_from_db()
    assert alice.frozen
    services.account_unfreeze(user=alice, actor=agent, reason="Identity checked by phone, ticket 1042")
    alice.refresh_from_db()
    assert not alice.frozen
    event = SecurityEvent.objects.filter(user=alice, kind="unfrozen").get()
    assert event.detail == {"by": agent.public_id, "reason": "Identity checked by phone, ticket 1042"}
    record = AuditRecord.objects.get(action="identity.unfrozen")
    assert record.actor == agent.public_id and record.target_id == alice.public_id


def test_profile_name_and_language(alice) -> None:
    browser = web_login()
    response = browser.post("/account/profile/", {"display_name": "Alice Wang", "locale": "en"})
    assert response.status_code == 302
    alice.refresh_from_db()
    assert (alice.display_name, alice.locale) == ("Alice Wang", "en")
    assert kinds(alice)[-1] == "profile_changed"


def test_email_change_is_stepped_up_verified_and_notifies_the_old_address(alice) -> None:
    browser = web_login()
    wrong = browser.post("/account/email/", {"new_email": "alice.new@example.com", "password": "wrong-pass-1!"})
    assert wrong.status_code == 400
    ok = browser.post("/account/email/", {"new_email": "alice.new@example.com", "password": PASSWORD})
    assert ok.status_code == 302
    alice.refresh_from_db()
    assert alice.email == "alice@example.com"  # not before the new address is confirmed
    [confirm] = mails_to("alice.new@example.com")
    link = link_in(confirm, "/account/email/confirm/")
    assert Client().get(path_of(link)).status_code == 200
    assert Client().post(path_of(link)).status_code == 302
    alice.refresh_from_db()
    assert alice.email == "alice.new@example.com" and alice.email_verified
    [notice] = [m for m in mails_to("alice@example.com") if "/account/freeze/link/" in m.body_text]
    assert "alice.new@example.com" in notice.body_text
    assert kinds(alice)[-2:] == ["email_change_requested", "email_changed"]
    assert Client().post(path_of(link)).status_code == 400  # single use


def test_email_change_to_a_taken_address_reveals_nothing(alice, bob) -> None:
    browser = web_login()
    response = browser.post("/account/email/", {"new_email": "bob@example.com", "password": PASSWORD})
    assert response.status_code == 302
    assert mails_to("bob@example.com") == []
    alice.refresh_from_db()
    assert alice.email == "alice@example.com"


def test_phone_is_verified_by_a_code_from_the_sandbox_sms_outbox(alice) -> None:
    browser = web_login()
    browser.post("/account/phone/", {"phone": "+86 138 0013 8000", "password": "wrong-pass-1!"})
    assert not OutboundSms.objects.exists()  # re-authentication first
    assert browser.post("/account/phone/", {"phone": "+86 138 0013 8000", "password": PASSWORD}).status_code == 302
    sms = OutboundSms.objects.get()
    assert sms.to == "+8613800138000"
    code = sms.body.split("验证码是")[-1][:6] if "验证码是" in sms.body else sms.body.split("code is ")[-1][:6]
    assert code.isdigit()
    wrong = "000000" if code != "000000" else "111111"
    browser.post("/account/phone/", {"code": wrong})
    alice.refresh_from_db()
    assert alice.phone_verified_at is None
    assert browser.post("/account/phone/", {"code": code}).status_code == 302
    alice.refresh_from_db()
    assert alice.phone == "+8613800138000" and alice.phone_verified_at is not None
    assert kinds(alice)[-1] == "phone_changed"


def test_dev_sms_outbox_page_is_debug_only(settings, alice) -> None:
    services.phone_verification_start(user=alice, phone="+8613800138000", password=PASSWORD)
    settings.DEBUG = False
    assert Client().get("/dev/mail/sms/").status_code == 404
    settings.DEBUG = True
    page = Client().get("/dev/mail/sms/")
    assert page.status_code == 200 and "+8613800138000" in page.content.decode()


def test_closing_needs_the_password_and_every_close_check(alice, monkeypatch) -> None:
    monkeypatch.setattr(services, "CLOSE_CHECKS", [
        *services.CLOSE_CHECKS, lambda user: "Your wallet still holds ¥10.00." if user.email == "alice@example.com"
        else None])
    with pytest.raises(services.BusinessRuleError) as refused:
        services.account_close(user=alice, password=PASSWORD)
    assert refused.value.code == "account_not_closable"
    alice.refresh_from_db()
    assert alice.is_active
    monkeypatch.undo()
    browser = web_login()
    page = browser.get("/account/close/").content.decode()
    assert "5" in page  # says what is kept and for how long
    assert browser.post("/account/close/", {"password": PASSWORD, "confirm": "on"}).status_code == 200
    alice.refresh_from_db()
    assert not alice.is_active and alice.closed_at is not None
    assert not UserSession.objects.filter(user=alice, ended_at__isnull=True).exists()
    assert kinds(alice)[-1] == "closed"


def test_anti_phishing_code_appears_in_every_email(alice) -> None:
    browser = web_login()
    assert browser.post("/account/anti-phishing/", {"anti_phishing_code": "青蛙Frog7"}).status_code == 302
    alice.refresh_from_db()
    services.account_freeze(user=alice)
    services.password_change(user=alice, current_password=PASSWORD, new_password="Another-88-secret!")
    mails = mails_to("alice@example.com")
    assert len(mails) >= 2
    for mail in mails:
        assert "青蛙Frog7" in mail.body_text and "青蛙Frog7" in mail.body_html
        assert mail.body_text.strip() and "<html" in mail.body_html


def test_emails_are_in_the_customers_language(alice, bob) -> None:
    bob.locale = "en"
    bob.save(update_fields=["locale"])
    services.account_freeze(user=alice)
    services.account_freeze(user=bob)
    [zh] = mails_to("alice@example.com")
    [en] = mails_to("bob@example.com")
    assert "冻结" in zh.subject and "frozen" in en.subject
    assert OutboundEmail.objects.count() == 2


def test_activity_log_lists_events_newest_first_with_keyset_paging(alice, api_client) -> None:
    for _ in range(3):
        services.event_record(user=alice, kind="login", ip="198.51.100.1", user_agent="Firefox/1")
    api = api_client(alice)
    first = api.get("/api/v1/me/activity?limit=2").json()
    assert [e["kind"] for e in first["data"]] == ["login", "login"]
    assert first["data"][0]["ip"] == "198.51.100.1" and first["next_cursor"]
    second = api.get(f"/api/v1/me/activity?limit=2&cursor={first['next_cursor']}").json()
    assert len(second["data"]) == 1 and second["next_cursor"] is None
    page = web_login().get("/account/activity/").content.decode()
    assert "198.51.100.1" in page


def test_every_security_event_is_also_in_the_audit_log(alice) -> None:
    services.account_freeze(user=alice)
    services.password_change(user=alice, current_password=PASSWORD, new_password="Another-88-secret!")
    events = SecurityEvent.objects.filter(user=alice)
    for event in events:
        assert AuditRecord.objects.filter(action=f"identity.{event.kind}", detail__event=event.public_id).count() == 1
    assert list(audit_verify()) == []


def test_users_create_command_with_role_is_audited(capsys) -> None:
    call_command("users", "create", "--email", "Erin@Example.com", "--password", "Create-me-42!", "--name", "Erin",
                 "--verified", "--role", "agent")
    erin = User.objects.get(email="erin@example.com")
    assert erin.email_verified and erin.is_staff and not erin.is_superuser
    assert erin.groups.filter(name="agent").exists()
    assert erin.check_password("Create-me-42!")
    record = AuditRecord.objects.get(action="identity.user_created")
    assert record.actor.startswith("cli:") and record.target_id == erin.public_id
    with pytest.raises(CommandError):
        call_command("users", "create", "--email", "erin@example.com", "--password", "Create-me-42!")
    with pytest.raises(CommandError):
        call_command("users", "create", "--email", "weak@example.com", "--password", "short")


def test_account_pages_require_sign_in(client) -> None:
    for path in ("/account/security/", "/account/activity/", "/account/sessions/", "/account/2fa/",
                 "/account/profile/", "/account/password/", "/account/close/"):
        response = client.get(path)
        assert response.status_code == 302 and response["Location"].startswith("/account/login/?next=")


def test_the_prune_sweep_forgets_old_tokens_and_closes_stale_sessions(alice) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from okpay.core.worker import sweeps
    from okpay.identity.models import EmailToken

    assert sweeps()["okpay.identity.services.prune_expired"] == 3600
    services.password_reset_send(email="alice@example.com", ip=None, user_agent="")
    web_login()
    EmailToken.objects.update(expires_at=timezone.now() - timedelta(days=8))
    UserSession.objects.update(last_seen_at=timezone.now() - timedelta(hours=13))
    assert services.prune_expired() == 2
    assert not EmailToken.objects.exists()
    assert UserSession.objects.get().end_reason == "expired"
    assert services.prune_expired() == 0  # idempotent


def test_operator_admin_lists_accounts_and_signs_them_out(alice, admin_client) -> None:
    browser = web_login()
    page = admin_client.get("/admin/identity/user/?q=alice")
    assert page.status_code == 200 and "alice@example.com" in page.content.decode()
    assert admin_client.get(f"/admin/identity/user/{alice.pk}/change/").status_code == 200
    response = admin_client.post("/admin/identity/user/", {"action": "sign_out_everywhere",
                                                          "_selected_action": [alice.pk]})
    assert response.status_code == 302
    assert browser.get("/account/security/").status_code == 302
    assert admin_client.get("/admin/identity/securityevent/").status_code == 200
    assert admin_client.get("/admin/identity/usersession/").status_code == 200
    assert admin_client.get("/admin/identity/apitoken/").status_code == 200


def test_phone_form_errors_are_shown_on_the_form_tied_to_their_fields(alice) -> None:
    """Issue 22 (form errors are announced): bad input re-renders the profile page (no redirect) with
    the sent form's errors in its role=alert summary and each field aria-invalid, described by its error."""
    import re

    browser = web_login()
    empty = browser.post("/account/phone/", {"phone": "", "password": ""})
    html = empty.content.decode()
    assert empty.status_code == 400 and 'role="alert"' in html
    for field in ("phone_phone", "phone_password"):
        tag = re.search(rf'<input[^>]*id="{field}"[^>]*>', html).group(0)  # type: ignore[union-attr]
        assert 'aria-invalid="true"' in tag and f'aria-describedby="{field}-error"' in tag
        assert f'id="{field}-error"' in html
    wrong = browser.post("/account/phone/", {"phone": "+86 138 0013 8000", "password": "wrong-pass-1!"})
    html = wrong.content.decode()
    assert wrong.status_code == 400 and 'aria-invalid="true"' in html and 'value="+86 138 0013 8000"' in html
    assert "wrong-pass-1!" not in html  # a password is never echoed
    browser.post("/account/phone/", {"phone": "+86 138 0013 8000", "password": PASSWORD})
    code = browser.post("/account/phone/", {"code": "12"})
    html = code.content.decode()
    tag = re.search(r'<input[^>]*id="sms_code"[^>]*>', html).group(0)  # type: ignore[union-attr]
    assert code.status_code == 400 and 'aria-invalid="true"' in tag and 'id="sms_code-error"' in html
    alice.refresh_from_db()
    assert alice.phone_verified_at is None and OutboundSms.objects.count() == 1
