"""The seed's password reset: same answer for every address, single-use expiring links that a
newer request or a password change invalidates, every session and token revoked, 2FA kept."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.sessions.models import Session
from django.test import Client
from django.utils import timezone

from okpay.identity import services
from okpay.identity.models import ApiToken, EmailToken, OutboundEmail, UserSession
from tests.conftest import run_worker_until_idle
from tests.factories import PASSWORD
from tests.identity.helpers import audited, enable_2fa, kinds, link_in, mails_to, path_of, token_of, totp_code

pytestmark = pytest.mark.django_db(transaction=True)

NEW = "Harbour-73-lights?"


def request_reset(client: Client, email: str):  # type: ignore[no-untyped-def]
    return client.post("/api/v1/auth/password-reset", {"email": email}, content_type="application/json")


def confirm(client: Client, token: str, password: str = NEW, again: str | None = None):  # type: ignore[no-untyped-def]
    return client.post("/api/v1/auth/password-reset/confirm",
                       {"token": token, "new_password": password, "new_password_confirm": again or password},
                       content_type="application/json")


def reset_token(email: str) -> str:
    run_worker_until_idle()
    mail = [m for m in mails_to(email) if "/account/password-reset/t/" in m.body_text][-1]
    return token_of(link_in(mail, "/account/password-reset/t/"))


def test_known_and_unknown_emails_get_the_same_answer(client, alice) -> None:
    known = request_reset(client, "alice@example.com")
    unknown = request_reset(client, "nobody@example.com")
    assert known.status_code == unknown.status_code == 202
    assert known.content == unknown.content
    assert "spam" in known.json()["detail"]
    # The lookup happens in the background: before the worker runs, nothing differs at all.
    assert not OutboundEmail.objects.exists()
    run_worker_until_idle()
    assert len(mails_to("alice@example.com")) == 1
    assert mails_to("nobody@example.com") == []
    assert kinds(alice) == ["password_reset_requested"]


def test_the_web_pages_answer_the_same_for_unknown_emails(client, alice) -> None:
    known = client.post("/account/password-reset/", {"email": "alice@example.com"})
    unknown = client.post("/account/password-reset/", {"email": "nobody@example.com"})
    assert known.status_code == unknown.status_code == 302
    assert known["Location"] == unknown["Location"] == "/account/password-reset/sent/"
    page = client.get("/account/password-reset/sent/").content.decode()
    assert "垃圾邮件" in page  # check the spam folder
    assert 'href="/#service"' in page or "contact" in page  # a link to customer service


def test_reset_email_has_the_link_the_code_and_a_text_part(client, alice) -> None:
    request_reset(client, "alice@example.com")
    token = reset_token("alice@example.com")
    [mail] = mails_to("alice@example.com")
    assert len(token) >= 43  # ≥ 128 bits (256 here)
    assert mail.body_text and mail.body_html
    assert alice.anti_phishing_code and alice.anti_phishing_code in mail.body_text
    assert "60" in mail.body_text  # it says when it expires
    row = EmailToken.objects.get(purpose="password_reset")
    assert row.expires_at - row.created_at == timedelta(minutes=60)


def test_a_reset_link_works_once(client, alice) -> None:
    request_reset(client, "alice@example.com")
    token = reset_token("alice@example.com")
    assert confirm(client, token).status_code == 200
    again = confirm(client, token, "Another-99-pass!")
    assert again.status_code == 400 and again.json()["error"]["code"] == "invalid_token"
    alice.refresh_from_db()
    assert alice.check_password(NEW)


def test_an_expired_link_is_refused(client, alice) -> None:
    request_reset(client, "alice@example.com")
    token = reset_token("alice@example.com")
    EmailToken.objects.filter(purpose="password_reset").update(expires_at=timezone.now() - timedelta(seconds=1))
    response = confirm(client, token)
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_token"
    alice.refresh_from_db()
    assert alice.check_password(PASSWORD)


def test_a_newer_request_invalidates_the_older_link(client, alice) -> None:
    request_reset(client, "alice@example.com")
    first = reset_token("alice@example.com")
    request_reset(client, "alice@example.com")
    second = reset_token("alice@example.com")
    assert first != second
    assert confirm(client, first).json()["error"]["code"] == "invalid_token"
    assert confirm(client, second).status_code == 200


def test_a_password_change_invalidates_the_link(client, alice) -> None:
    request_reset(client, "alice@example.com")
    token = reset_token("alice@example.com")
    services.password_change(user=alice, current_password=PASSWORD, new_password="Changed-11-meanwhile!")
    response = confirm(client, token)
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_token"
    alice.refresh_from_db()
    assert alice.check_password("Changed-11-meanwhile!")


def test_mismatched_or_weak_new_passwords_keep_the_link_usable(client, alice) -> None:
    request_reset(client, "alice@example.com")
    token = reset_token("alice@example.com")
    mismatch = confirm(client, token, NEW, "Harbour-73-lights!")
    assert mismatch.status_code == 400 and mismatch.json()["error"]["param"] == "new_password_confirm"
    weak = confirm(client, token, "short")
    assert weak.status_code == 400 and weak.json()["error"]["code"] == "weak_password"
    assert confirm(client, token).status_code == 200


def test_a_reset_revokes_every_session_and_token(client, alice, api_client) -> None:
    browser = Client()
    assert browser.post("/account/login/", {"email": "alice@example.com", "password": PASSWORD}).status_code == 302
    assert browser.get("/account/security/").status_code == 200
    api = api_client(alice)
    assert api.get("/api/v1/me").status_code == 200
    request_reset(client, "alice@example.com")
    assert confirm(client, reset_token("alice@example.com")).status_code == 200
    assert api.get("/api/v1/me").status_code == 401
    assert browser.get("/account/security/").status_code == 302  # back to the sign-in page
    assert not UserSession.objects.filter(user=alice, ended_at__isnull=True).exists()
    assert not ApiToken.objects.filter(user=alice, revoked_at__isnull=True).exists()
    assert not Session.objects.exists()
    assert kinds(alice)[-1] == "password_reset"
    assert audited("identity.password_reset") == 1
    notice = [m for m in mails_to("alice@example.com") if "/account/freeze/link/" in m.body_text]
    assert len(notice) == 1  # the "your password was changed" email, with a "this wasn't me" link


def test_a_reset_never_bypasses_two_factor(client, alice, clock) -> None:
    device, _ = enable_2fa(alice, clock)
    request_reset(client, "alice@example.com")
    assert confirm(client, reset_token("alice@example.com")).status_code == 200
    without = client.post("/api/v1/auth/token", {"email": "alice@example.com", "password": NEW},
                          content_type="application/json")
    assert without.status_code == 401 and without.json()["error"]["code"] == "otp_required"
    with_code = client.post("/api/v1/auth/token", {"email": "alice@example.com", "password": NEW,
                                                   "otp_code": totp_code(device, clock.now)},
                            content_type="application/json")
    assert with_code.status_code == 200


def test_the_web_reset_keeps_the_token_out_of_the_address_bar(client, alice) -> None:
    client.post("/account/password-reset/", {"email": "alice@example.com"})
    run_worker_until_idle()
    link = link_in(mails_to("alice@example.com")[0], "/account/password-reset/t/")
    response = client.get(path_of(link))
    assert response.status_code == 302 and response["Location"] == "/account/password-reset/new/"
    form = client.get("/account/password-reset/new/")
    assert form.status_code == 200 and token_of(link) not in form.content.decode()
    done = client.post("/account/password-reset/new/", {"new_password": NEW, "new_password_confirm": NEW})
    assert done["Location"] == "/account/password-reset/done/"
    assert client.get("/account/password-reset/new/").status_code == 400  # used up


def test_reset_requests_are_rate_limited_per_address(client, alice) -> None:
    for _ in range(5):
        assert request_reset(client, "alice@example.com").status_code == 202
    limited = request_reset(client, "alice@example.com")
    assert limited.status_code == 429 and limited.json()["error"]["code"] == "rate_limited"
    assert "Retry-After" in limited
    # The same limit for an unknown address: the limit itself reveals nothing.
    for _ in range(5):
        request_reset(client, "ghost@example.com")
    assert request_reset(client, "ghost@example.com").status_code == 429
