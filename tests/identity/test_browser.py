"""Chromium walks the seed's six reset steps (the email comes from a real SMTP server), enables
two-factor authentication by typing a code computed from the shown secret, and photographs every
account page in both languages."""

from __future__ import annotations

import base64
import re

import pytest
from django_otp.oath import totp

from okpay.identity.models import User
from tests.conftest import run_worker_until_idle, screenshot
from tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NEW_PASSWORD = "Harbour-73-lights?"


def test_seed_password_reset_six_steps_with_email_from_smtp(page, live_server, smtp_server, settings, alice) -> None:
    settings.OKPAY_BASE_URL = live_server.url
    # 1. The sign-in page, then "忘记密码？".
    page.goto("/account/login/?next=/account/security/")
    page.get_by_role("link", name="忘记密码？").click()
    page.wait_for_url("**/account/password-reset/")
    screenshot(page, "identity-reset-1-request-zh")
    # 2. The registered email address.
    page.get_by_label("您 OKPay 账户的邮箱地址").fill("alice@example.com")
    page.get_by_role("button", name="发送重置链接").click()
    page.wait_for_url("**/account/password-reset/sent/")
    assert "垃圾邮件" in page.content()
    assert page.get_by_role("link", name="联系 OKPay 客服").count() == 1
    screenshot(page, "identity-reset-2-sent-zh")
    # 3. The email with the reset link arrives over SMTP (the worker looks the address up and delivers).
    run_worker_until_idle()
    run_worker_until_idle()
    [message] = smtp_server.messages
    assert message["To"] == "alice@example.com"
    text = message.get_body(("plain",)).get_content()
    assert "重置您的 OKPay 密码" in text
    assert message.get_body(("html",)) is not None
    link = re.search(r"https?://\S+/account/password-reset/t/\S+/", text).group(0)
    assert link.startswith(live_server.url)
    page.goto(link)
    page.wait_for_url("**/account/password-reset/new/")
    assert "/t/" not in page.url  # the token left the address bar
    # 4. A new password, with the rules and the strength meter shown.
    page.get_by_label("新密码", exact=True).fill(NEW_PASSWORD)
    assert page.locator("#password-strength").is_visible()
    assert "强度" in page.locator("[data-strength-label]").inner_text()
    # 5. The same password again.
    page.get_by_label("确认新密码").fill(NEW_PASSWORD)
    screenshot(page, "identity-reset-4-new-password-zh")
    page.get_by_role("button", name="保存新密码").click()
    page.wait_for_url("**/account/password-reset/done/")
    screenshot(page, "identity-reset-5-done-zh")
    # 6. Sign in with the new password.
    page.locator("main").get_by_role("link", name="登录").click()
    page.get_by_label("邮箱地址").fill("alice@example.com")
    page.get_by_label("密码").fill(NEW_PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/wallet/")  # sign-in lands on the wallet when no page was asked for
    # The notification email about the change was sent too.
    run_worker_until_idle()
    subjects = [m["Subject"] for m in smtp_server.messages]
    assert "OKPay · 您的密码已更改" in subjects


def test_enable_two_factor_by_typing_a_code_from_the_secret(page, live_server, alice) -> None:
    page.goto("/account/login/?next=/account/security/")
    page.get_by_label("邮箱地址").fill("alice@example.com")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/account/security/")
    page.locator(".check").filter(has_text="双重验证").get_by_role("link", name="开启").click()
    page.get_by_label("当前密码").fill(PASSWORD)
    page.get_by_role("button", name="设置双重验证").click()
    page.wait_for_url("**/account/2fa/setup/")
    assert page.get_by_role("img", name="身份验证器应用的二维码").is_visible()
    secret = page.locator("#totp-secret").inner_text().replace(" ", "")
    screenshot(page, "identity-2fa-setup-zh")
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    page.get_by_label("身份验证器应用中的验证码").fill(f"{totp(key):06d}")
    page.get_by_role("button", name="开启").click()
    page.locator(".recovery-codes code").first.wait_for()  # all_inner_texts() itself does not wait
    codes = page.locator(".recovery-codes code").all_inner_texts()
    assert len(codes) == 10
    screenshot(page, "identity-2fa-recovery-codes-zh")
    user = User.objects.get(email="alice@example.com")
    from okpay.identity.services import two_factor_enabled

    assert two_factor_enabled(user)
    # Sign out and back in: the code is asked for; a recovery code works once.
    page.locator(".account-nav").get_by_role("button", name="退出登录").click()
    page.get_by_label("邮箱地址").fill("alice@example.com")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/account/login/2fa/")
    screenshot(page, "identity-login-2fa-zh")
    page.get_by_label("身份验证器应用中的验证码或恢复码").fill(codes[0])
    page.get_by_role("button", name="验证并登录").click()
    page.wait_for_url("**/wallet/")
    assert "还剩 9 个恢复码" in page.content()


PAGES = [
    ("login", "/account/login/", False),
    ("register", "/account/register/", False),
    ("reset", "/account/password-reset/", False),
    ("security", "/account/security/", True),
    ("activity", "/account/activity/", True),
    ("sessions", "/account/sessions/", True),
    ("profile", "/account/profile/", True),
    ("password", "/account/password/", True),
    ("2fa", "/account/2fa/", True),
    ("anti-phishing", "/account/anti-phishing/", True),
    ("close", "/account/close/", True),
]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_account_pages_in_both_languages(browser, live_server, alice, lang) -> None:
    context = browser.new_context(locale="zh-CN" if lang == "zh" else "en-US", base_url=live_server.url,
                                  viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}")
            if r.status >= 400 and not r.url.endswith("/favicon.ico") else None)
    try:
        for name, path, signed_in in PAGES:
            if signed_in and name == "security":  # the first page that needs signing in
                page.goto("/account/login/?next=/account/security/")
                page.locator("#id_email").fill("alice@example.com")
                page.locator("#id_password").fill(PASSWORD)
                page.locator("main form button[type=submit]").click()
                page.wait_for_url("**/account/security/")
            page.goto(path)
            assert page.locator("h1").count() == 1
            assert page.locator("html").get_attribute("lang") == ("zh-Hans" if lang == "zh" else "en")
            screenshot(page, f"identity-{name}-{lang}")
        page.set_viewport_size({"width": 390, "height": 844})
        page.goto("/account/security/")
        screenshot(page, f"identity-security-mobile-{lang}")
        page.goto("/account/activity/")
        screenshot(page, f"identity-activity-mobile-{lang}")
    finally:
        context.close()
    assert errors == []
