"""Registration, email verification, the password policy and the emails they send."""

from __future__ import annotations

import json
import re

import pytest
from django.contrib.auth.hashers import MD5PasswordHasher, identify_hasher

from okpay.identity import services
from okpay.identity.models import EmailToken, User
from tests.factories import PASSWORD
from tests.identity.helpers import audited, kinds, link_in, mails_to, token_of

pytestmark = pytest.mark.django_db

GOOD = "Lantern-42-orbit!"


def register(client, **body):  # type: ignore[no-untyped-def]
    payload = {"email": "carol@example.com", "password": GOOD, "display_name": "Carol", **body}
    return client.post("/api/v1/auth/register", json.dumps(payload), content_type="application/json")


def test_register_creates_an_unverified_account_and_sends_a_verification_email(client) -> None:
    response = register(client, phone="+86 138 0013 8000", locale="en")
    assert response.status_code == 201
    body = response.json()
    user = User.objects.get(email="carol@example.com")
    assert body == {"id": user.public_id, "email": "carol@example.com", "display_name": "Carol",
                    "email_verified": False, "two_factor_enabled": False, "frozen": False, "locale": "en",
                    "wallet_id": None, "phone": "+8613800138000", "phone_verified": False}
    assert user.groups.filter(name="customer").exists()
    assert len(user.anti_phishing_code) == 6
    [mail] = mails_to("carol@example.com")
    assert mail.subject == "OKPay · Verify your email address"  # in the customer's language
    assert user.anti_phishing_code in mail.body_text and user.anti_phishing_code in mail.body_html
    assert "/account/verify-email/" in mail.body_text
    assert kinds(user) == ["registered"]
    assert audited("identity.registered") == 1


def test_verification_link_works_once(client) -> None:
    register(client)
    user = User.objects.get(email="carol@example.com")
    token = token_of(link_in(mails_to(user.email)[0], "/account/verify-email/"))
    first = client.post("/api/v1/auth/verify-email", {"token": token}, content_type="application/json")
    assert first.status_code == 200 and first.json()["email_verified"] is True
    again = client.post("/api/v1/auth/verify-email", {"token": token}, content_type="application/json")
    assert again.status_code == 400 and again.json()["error"]["code"] == "invalid_token"
    user.refresh_from_db()
    assert user.email_verified
    assert kinds(user) == ["registered", "email_verified"]


def test_email_verified_hooks_run_after_commit(client, monkeypatch) -> None:
    from django.db import connection
    from django.test import TestCase

    seen: list[str] = []
    monkeypatch.setattr(services, "EMAIL_VERIFIED_HOOKS", [lambda user: seen.append(user.email)])
    register(client)
    token = token_of(link_in(mails_to("carol@example.com")[0], "/account/verify-email/"))
    with TestCase.captureOnCommitCallbacks(using=connection.alias, execute=True) as callbacks:
        services.email_verify(token=token)
        assert seen == []  # not before the commit
    assert seen == ["carol@example.com"] and len(callbacks) >= 1


def test_registering_a_known_email_answers_the_same_and_tells_the_owner(client, alice) -> None:
    response = register(client, email="ALICE@example.com", display_name="Someone")
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"id", "email", "display_name", "email_verified", "two_factor_enabled", "frozen", "locale",
                         "wallet_id", "phone", "phone_verified"}
    assert body["id"].startswith("usr_") and body["id"] != alice.public_id
    assert body["email"] == "alice@example.com" and body["email_verified"] is False
    assert User.objects.filter(email__iexact="alice@example.com").count() == 1
    alice.refresh_from_db()
    assert alice.display_name == "Alice" and alice.check_password(PASSWORD)
    [mail] = mails_to("alice@example.com")
    assert mail.subject == "OKPay · 有人尝试用您的邮箱注册"
    assert audited("identity.register_existing_email") == 1


class CountingHasher(MD5PasswordHasher):
    """Counts the passwords hashed: registration must do the same work for every address."""

    algorithm = "counting_md5"
    hashed = 0

    def encode(self, password, salt):  # type: ignore[no-untyped-def]
        CountingHasher.hashed += 1
        return super().encode(password, salt)


def test_a_new_and_a_known_email_get_the_same_answer_and_the_same_work(client, alice, settings) -> None:
    """Issue 16, item 5: a known address used to answer ``wallet_id: null`` and no phone, a new one a
    wallet id and the phone: an account oracle. Now every field but the (random) id is made from
    the request, both hash the password once and both send one email (to the owner: "someone tried")."""
    settings.PASSWORD_HASHERS = ["tests.identity.test_registration.CountingHasher"]
    answers, work = {}, {}
    for email in ("alice@example.com", "dave@example.com"):
        CountingHasher.hashed = 0
        response = register(client, email=email.upper(), display_name=" Dave ", phone="+86 138 0013 8000",
                            locale="en")
        body = response.json()
        assert re.fullmatch(r"usr_[1-9A-HJ-NP-Za-km-z]{20}", body.pop("id"))
        answers[email] = (response.status_code, sorted(response.headers), body | {"email": "…"})
        work[email] = (CountingHasher.hashed, len(mails_to(email)))
    assert answers["alice@example.com"] == answers["dave@example.com"]
    assert answers["dave@example.com"][2] == {
        "email": "…", "display_name": "Dave", "email_verified": False, "two_factor_enabled": False,
        "frozen": False, "locale": "en", "wallet_id": None, "phone": "+8613800138000", "phone_verified": False}
    assert work == {"alice@example.com": (1, 1), "dave@example.com": (1, 1)}
    assert mails_to("alice@example.com")[0].subject == "OKPay · 有人尝试用您的邮箱注册"
    alice.refresh_from_db()
    assert (alice.display_name, alice.phone) == ("Alice", "")


def test_the_web_form_answers_the_same_for_a_known_email(client, alice) -> None:
    known = client.post("/account/register/", {"display_name": "X", "email": "alice@example.com", "password": GOOD,
                                               "locale": "zh-hans"})
    new = client.post("/account/register/", {"display_name": "X", "email": "dave@example.com", "password": GOOD,
                                             "locale": "zh-hans"})
    assert known.status_code == new.status_code == 302
    assert known["Location"] == new["Location"] == "/account/register/sent/"


@pytest.mark.parametrize(("password", "why"), [
    ("Short-1!", "too short"),
    ("lantern42orbit", "no symbol"),
    ("Lantern-orbit!", "no digit"),
    ("1234567890-!", "no letter"),
    ("ka_djkhjsy6", "common password"),
    ("carol@example.com1!", "similar to the email"),
    ("A1!" + "x" * 126, "129 characters"),
    ("My-0kPay-2026", "a context word"),
    ("Qian-Bao-88!x", "a context word, split"),
])
def test_weak_passwords_are_refused(client, password, why) -> None:
    response = register(client, password=password)
    assert response.status_code == 400, why
    assert response.json()["error"]["code"] == "weak_password"
    assert response.json()["error"]["param"] == "password"
    assert not User.objects.filter(email="carol@example.com").exists()


def test_a_128_character_password_is_accepted_and_hashed_with_argon2(client, settings) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher"]
    password = "Lantern-42-" + "q" * 117
    assert len(password) == 128
    assert register(client, password=password).status_code == 201
    user = User.objects.get(email="carol@example.com")
    assert identify_hasher(user.password).algorithm == "argon2"
    assert "$argon2id$" in user.password
    assert user.check_password(password)


def test_an_unverified_account_can_sign_in(client) -> None:
    register(client)
    response = client.post("/api/v1/auth/token", {"email": "carol@example.com", "password": GOOD},
                           content_type="application/json")
    assert response.status_code == 200
    assert response.json()["user"]["email_verified"] is False


def test_verification_tokens_are_stored_hashed(client) -> None:
    register(client)
    raw = token_of(link_in(mails_to("carol@example.com")[0], "/account/verify-email/"))
    row = EmailToken.objects.get(purpose="verify_email")
    assert row.token_hash == EmailToken.hash(raw) and raw not in row.token_hash
    assert len(raw) >= 43  # 256 bits, base64url
