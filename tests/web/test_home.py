"""The official site's shell: bilingual home page, language switch, security headers."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client

from tests.conftest import screenshot


def test_home_is_chinese_first(db, client: Client) -> None:
    response = client.get("/")
    html = response.content.decode()
    assert response.status_code == 200
    assert '<html lang="zh-Hans">' in html
    assert "如何联系OKPay钱包官网客服" in html
    assert "通常会在24小时内获得回复" in html
    assert settings.OKPAY_SUPPORT_EMAIL in html
    assert settings.OKPAY_HOTLINE in html


def test_home_in_english_by_cookie_or_browser_language(db) -> None:
    by_header = Client(headers={"Accept-Language": "en-US,en;q=0.9"}).get("/")
    assert "How to contact OKPay customer service" in by_header.content.decode()
    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    html = client.get("/").content.decode()
    assert '<html lang="en">' in html
    assert "You will usually get a reply within 24 hours." in html


def test_language_switch_sets_the_cookie_and_returns(db) -> None:
    client = Client(enforce_csrf_checks=False)
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/#service"})
    assert response.status_code == 302
    assert response["Location"] == "/#service"
    assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"


@pytest.mark.parametrize("path", ["/", "/api/v1/health", "/no-such-page"])
def test_security_headers_on_every_answer(db, client: Client, path: str) -> None:
    response = client.get(path)
    assert "default-src 'self'" in response["Content-Security-Policy"]
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert response["X-Request-ID"]


def test_pages_have_no_inline_script_or_style(db, client: Client) -> None:
    html = client.get("/").content.decode()
    assert "<script>" not in html
    assert "style=" not in html
    assert "<style" not in html


def test_unknown_page_is_a_friendly_404(db, client: Client) -> None:
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert "您访问的页面不存在。" in response.content.decode()


def test_dev_mailbox_only_in_debug(db, client: Client, settings) -> None:  # type: ignore[no-untyped-def]
    from django.core.mail import send_mail

    send_mail("验证您的邮箱", "点击链接", None, ["alice@example.com"])
    settings.DEBUG = False
    assert client.get("/dev/mail/").status_code == 404
    settings.DEBUG = True
    listing = client.get("/dev/mail/").content.decode()
    assert "验证您的邮箱" in listing


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_home_page_switches_language_in_chromium(page) -> None:  # type: ignore[no-untyped-def]
    page.goto("/")
    heading = page.locator("h1")
    assert heading.inner_text() == "快速转账、在线购物、账单支付，一个钱包全搞定"
    assert page.locator("#service h2").inner_text() == "如何联系OKPay钱包官网客服"
    screenshot(page, "home-zh")
    page.select_option("#lang-select", "en")
    page.wait_for_load_state("load")
    page.locator("h1", has_text="Your wallet").wait_for()
    assert heading.inner_text() == "Your wallet for fast transfers, online shopping and bill payments"
    assert page.locator("html").get_attribute("lang") == "en"
    screenshot(page, "home-en")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "home-en-mobile", full_page=False)
