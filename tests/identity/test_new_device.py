"""Issue 18, item 4: "new device" only for a device not seen before on that account, never for every
sign-in: the same browser (its device cookie) or the same app signs in again without an alert."""

from __future__ import annotations

import pytest
from django.test import Client

from okpay.identity.models import SecurityEvent
from tests.factories import PASSWORD
from tests.identity.helpers import enable_2fa, mails_to, totp_code

pytestmark = pytest.mark.django_db

PHONE_UA = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Safari/604.1"


def sign_in(browser: Client, ua: str = PHONE_UA) -> None:
    answer = browser.post("/account/login/", {"email": "alice@example.com", "password": PASSWORD}, HTTP_USER_AGENT=ua)
    assert answer.status_code == 302, answer.content
    browser.post("/account/logout/")


def new_device_events(user) -> int:  # type: ignore[no-untyped-def]
    return SecurityEvent.objects.filter(user=user, kind="login_new_device").count()


def test_the_same_browser_is_new_once_then_known(alice) -> None:
    sign_in(Client(), "Mozilla/5.0 (Windows NT 10.0) Chrome/120.0")  # the first device ever is not "new"
    phone = Client()
    for _ in range(3):
        sign_in(phone)
    assert new_device_events(alice) == 1
    assert len(mails_to("alice@example.com")) == 1
    assert SecurityEvent.objects.filter(user=alice, kind="login").count() == 3
    activity = _signed_in(phone).get("/account/activity/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert activity.count("Signed in from a new device") == 1


def test_a_browser_known_to_one_account_is_new_to_another(alice, bob) -> None:
    shared = Client()
    sign_in(shared)
    shared.post("/account/login/", {"email": bob.email, "password": PASSWORD}, HTTP_USER_AGENT=PHONE_UA)
    shared.post("/account/logout/")
    sign_in(Client(), "Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0")  # alice elsewhere: new
    assert new_device_events(alice) == 1
    assert new_device_events(bob) == 0  # bob's first device ever


def test_the_two_factor_sign_in_remembers_the_device_too(alice, clock) -> None:
    device, _ = enable_2fa(alice, clock)

    def sign_in_2fa(browser: Client, ua: str) -> None:
        browser.post("/account/login/", {"email": "alice@example.com", "password": PASSWORD}, HTTP_USER_AGENT=ua)
        clock.tick(2)
        done = browser.post("/account/login/2fa/", {"code": totp_code(device, clock.now)}, HTTP_USER_AGENT=ua)
        assert done.status_code == 302, done.content
        browser.post("/account/logout/")

    sign_in_2fa(Client(), "Mozilla/5.0 (Windows NT 10.0) Chrome/120.0")
    phone = Client()
    for _ in range(3):
        sign_in_2fa(phone, PHONE_UA)
    assert new_device_events(alice) == 1


def test_the_api_with_the_same_device_id_is_new_once(client, alice) -> None:
    Client().post("/account/login/", {"email": "alice@example.com", "password": PASSWORD})
    for _ in range(3):
        answer = client.post("/api/v1/auth/token", {"email": "alice@example.com", "password": PASSWORD},
                             content_type="application/json", headers={"X-Device-Id": "app-42"})
        assert answer.status_code == 200, answer.content
    assert new_device_events(alice) == 1


def _signed_in(browser: Client) -> Client:
    browser.post("/account/login/", {"email": "alice@example.com", "password": PASSWORD}, HTTP_USER_AGENT=PHONE_UA)
    return browser
