"""Links in emails follow the address ``okpay serve`` (and ``make run``'s HOST/PORT) was started on
when OKPAY_BASE_URL is unset; a configured OKPAY_BASE_URL always wins."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from okpay.core.management.commands import serve
from tests.conftest import run_worker_until_idle
from tests.identity.helpers import link_in, mails_to

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def started(monkeypatch, settings):  # type: ignore[no-untyped-def]
    """`okpay serve` without the server: uvicorn.run only records its address."""
    import uvicorn

    calls: list[dict[str, object]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: calls.append(kwargs))
    monkeypatch.setenv("OKPAY_BASE_URL", "")  # restored (or removed again) afterwards
    monkeypatch.delenv("OKPAY_BASE_URL")
    # Through the fixture, so that what serve sets is undone after the test.
    settings.OKPAY_BASE_URL = settings.OKPAY_BASE_URL
    settings.CSRF_TRUSTED_ORIGINS = list(settings.CSRF_TRUSTED_ORIGINS)
    return calls


@pytest.mark.parametrize(("host", "url"), [
    ("127.0.0.1", "http://127.0.0.1:8400"),
    ("localhost", "http://localhost:8400"),
    ("0.0.0.0", "http://127.0.0.1:8400"),  # noqa: S104 - a test value
    ("::1", "http://[::1]:8400"),
    ("::", "http://[::1]:8400"),
])
def test_the_served_base_url(host: str, url: str) -> None:
    assert serve.served_base_url(host, 8400) == url


def test_a_reset_link_follows_the_port_the_server_was_started_on(started, settings, client, alice) -> None:
    call_command("serve", "--host", "127.0.0.1", "--port", "8400", "--no-worker", "--no-migrate")
    assert started[0]["port"] == 8400
    assert settings.OKPAY_BASE_URL == "http://127.0.0.1:8400"
    assert "http://127.0.0.1:8400" in settings.CSRF_TRUSTED_ORIGINS
    import os

    assert os.environ["OKPAY_BASE_URL"] == "http://127.0.0.1:8400"  # uvicorn's worker processes inherit it
    client.post("/api/v1/auth/password-reset", {"email": "alice@example.com"}, content_type="application/json")
    run_worker_until_idle()
    [mail] = mails_to("alice@example.com")
    assert link_in(mail, "/account/password-reset/t/").startswith("http://127.0.0.1:8400/account/password-reset/t/")
    assert "127.0.0.1:8000" not in mail.body_text + mail.body_html


def test_a_configured_base_url_wins(started, monkeypatch, settings) -> None:
    monkeypatch.setenv("OKPAY_BASE_URL", "https://pay.example.com")
    settings.OKPAY_BASE_URL = "https://pay.example.com"
    call_command("serve", "--host", "0.0.0.0", "--port", "8400", "--no-worker", "--no-migrate")  # noqa: S104
    assert settings.OKPAY_BASE_URL == "https://pay.example.com"
