from __future__ import annotations

import shutil
from collections.abc import Callable

import pytest
from django.test import Client

from okpay.identity.models import User
from okpay.identity.services import api_token_create
from tests.factories import sign_in, user_create

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture
def alice(db: None) -> User:
    return user_create("alice@example.com", name="Alice")


@pytest.fixture
def bob(db: None) -> User:
    return user_create("bob@example.com", name="Bob")


@pytest.fixture
def mallory(db: None) -> User:
    return user_create("mallory@example.com", name="Mallory")


@pytest.fixture
def shop(db: None) -> User:
    return user_create("shop@example.com", name="Shop", role="merchant")


@pytest.fixture
def agent(db: None) -> User:
    return user_create("agent@example.com", name="Agent", role="agent")


@pytest.fixture
def supervisor(db: None) -> User:
    return user_create("supervisor@example.com", name="Supervisor", role="supervisor")


@pytest.fixture
def admin_client(db: None) -> Client:
    """pytest-django's ``admin_client``, signed in the way staff always are: an operator (superuser)
    whose session proved the second factor (``tests.factories.sign_in``)."""
    return sign_in(user_create("operator@example.com", name="Operator", role="admin"))


@pytest.fixture
def api_client() -> Callable[[User | None], Client]:
    """``api_client(user)``: a test client that sends a fresh bearer token of ``user``."""

    def make(user: User | None = None) -> Client:
        if user is None:
            return Client()
        raw, _ = api_token_create(user=user)
        return Client(headers={"Authorization": f"Bearer {raw}"})

    return make


@pytest.fixture(scope="session")
def chromium_path() -> str:
    if not shutil.which(CHROMIUM):
        pytest.skip("Chromium is not installed: run `apt-get install chromium fonts-wqy-microhei` "
                    "(.ci/run does) to run the browser tests")
    return CHROMIUM


@pytest.fixture(scope="session")
def browser(chromium_path: str):  # type: ignore[no-untyped-def]
    """Debian's Chromium driven by Playwright (no browser download)."""
    import os

    # Playwright's sync API keeps an event loop in this thread; the ORM calls the tests make
    # between page actions are still ordinary synchronous calls.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path,
            args=["--no-sandbox", "--disable-background-networking", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-component-update", "--disable-sync"],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server):  # type: ignore[no-untyped-def]
    """A fresh browser context (Chinese first, like our customers) on the live test server."""
    context = browser.new_context(locale="zh-CN", base_url=live_server.url, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    yield page
    context.close()


ARTIFACTS = __import__("pathlib").Path(__file__).resolve().parent.parent / "test-artifacts"


def screenshot(page, name: str, *, full_page: bool = True) -> None:  # type: ignore[no-untyped-def]
    """Save a screenshot under test-artifacts/ for a person to look at."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=full_page)


def until(page, expression: str, *, seconds: float = 15) -> None:  # type: ignore[no-untyped-def]
    """Poll ``expression`` (awaited) until it is truthy. Not ``page.wait_for_function``: its polling
    evaluates a string, which the pages' CSP (no 'unsafe-eval') refuses."""
    for _ in range(int(seconds * 10)):
        if page.evaluate(f"(async () => {{ return !!(await ({expression})); }})()"):
            return
        page.wait_for_timeout(100)
    raise AssertionError(f"still false after {seconds} s: {expression}")


@pytest.fixture(autouse=True)
def _real_email_backend(settings):  # type: ignore[no-untyped-def]
    """Django's test runner swaps in the locmem mail backend; OKPay's tests use the real outbox
    (mail is a row in the transaction that sends it) and, where delivery matters, real SMTP. Every
    message is checked as it is written: an email to an account shows its anti-phishing code
    (``tests.outbox_check``); the test that sent one without it fails."""
    settings.EMAIL_BACKEND = "tests.outbox_check.CheckingOutboxBackend"
    settings.OKPAY_EMAIL_URL = ""
    from tests.outbox_check import VIOLATIONS

    VIOLATIONS.clear()
    yield
    found, VIOLATIONS[:] = list(VIOLATIONS), []
    assert not found, f"emails without the recipient's anti-phishing code: {found}"


@pytest.fixture
def smtp_server(settings):  # type: ignore[no-untyped-def]
    """A real SMTP server; OKPay's outbox delivers to it (OKPAY_EMAIL_URL points at it)."""
    from tests.smtp import SmtpSink

    with SmtpSink() as sink:
        settings.OKPAY_EMAIL_URL = f"smtp://127.0.0.1:{sink.port}"
        settings.EMAIL_HOST = "127.0.0.1"
        settings.EMAIL_PORT = sink.port
        settings.EMAIL_HOST_USER = ""
        settings.EMAIL_HOST_PASSWORD = ""
        settings.EMAIL_USE_TLS = False
        settings.EMAIL_USE_SSL = False
        settings.EMAIL_TIMEOUT = 5
        yield sink


def run_worker_until_idle() -> None:
    """Run every ready task and due sweep, as `okpay worker --once` does."""
    from okpay.core.worker import run_once

    run_once()
