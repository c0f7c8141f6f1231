"""Chromium: the app is installable (manifest + worker), shows its offline page with the network
cut, offers "a new version is ready — reload" when the worker changes, and sign-out clears every
cache the worker holds. Screenshots of the offline page at 390 px in both languages."""

from __future__ import annotations

import pytest
from django.conf import settings as django_settings
from playwright.sync_api import expect

from okpay.web import pwa
from tests.conftest import screenshot, until
from tests.factories import session_cookie

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

READY = "navigator.serviceWorker.ready.then(() => !!navigator.serviceWorker.controller)"


def _context(browser, live_server, *, locale: str = "zh-CN", width: int = 390, user=None):  # type: ignore[no-untyped-def]
    context = browser.new_context(locale=locale, base_url=live_server.url, viewport={"width": width, "height": 844},
                                  is_mobile=width < 500, has_touch=width < 500)
    if user is not None:
        context.add_cookies([{"name": django_settings.SESSION_COOKIE_NAME, "value": session_cookie(user),
                              "url": live_server.url}])
    return context


def _controlled(page) -> None:  # type: ignore[no-untyped-def]
    """The worker is installed and controls the page (a reload after the first visit)."""
    page.evaluate("navigator.serviceWorker.ready")
    if not page.evaluate("!!navigator.serviceWorker.controller"):
        page.reload()
    until(page, "!!navigator.serviceWorker.controller")


def test_installable_manifest_and_worker(browser, live_server) -> None:  # type: ignore[no-untyped-def]
    context = _context(browser, live_server, width=1280)
    page = context.new_page()
    page.goto("/")
    _controlled(page)
    scope = page.evaluate("navigator.serviceWorker.getRegistration().then(r => r.scope)")
    assert scope == live_server.url + "/"
    cdp = context.new_cdp_session(page)
    manifest = cdp.send("Page.getAppManifest")
    assert manifest["url"].endswith("/manifest.webmanifest?lang=zh-hans") and not manifest["errors"]
    # Chromium's own installability check: every criterion passes; Playwright's contexts are
    # incognito profiles, where Chromium never offers an install, and it says so (only that).
    errors = [e["errorId"] for e in cdp.send("Page.getInstallabilityErrors")["installabilityErrors"]]
    assert errors in ([], ["in-incognito"])
    keys = page.evaluate("caches.keys()")
    assert keys == [f"okpay-shell-{pwa.shell_version()}"] or sorted(keys)[0].startswith("okpay-")
    cached = page.evaluate(f"caches.open('okpay-shell-{pwa.shell_version()}').then(c => c.keys())"
                           ".then(rs => rs.map(r => new URL(r.url).pathname))")
    assert sorted(cached) == sorted(pwa.shell_urls())
    context.close()


@pytest.mark.parametrize(("locale", "lang", "heading"),
                         [("zh-CN", "zh", "网络已断开"), ("en-US", "en", "You are offline")])
def test_offline_page_with_the_network_cut(browser, live_server, alice, locale, lang, heading) -> None:  # type: ignore[no-untyped-def]
    context = _context(browser, live_server, locale=locale, user=alice)
    page = context.new_page()
    page.goto("/wallet/")
    _controlled(page)
    page.evaluate("navigator.serviceWorker.ready.then(r => r.active.postMessage({type: 'lang', lang: "
                  f"'{'en' if lang == 'en' else 'zh-hans'}'}}))")
    page.wait_for_timeout(200)
    # Nothing personal was stored on the way: only the shell and the language.
    stored = page.evaluate("caches.keys().then(ks => Promise.all(ks.map(k => caches.open(k).then(c => c.keys())"
                           ".then(rs => rs.map(r => new URL(r.url).pathname))))).then(a => a.flat())")
    assert not [path for path in stored if path.startswith("/wallet") or path.startswith("/api")]
    context.set_offline(True)
    page.goto("/wallet/transactions/")
    expect(page.get_by_test_id("offline-page")).to_be_visible()
    expect(page.locator("h1")).to_have_text(heading)
    assert "Alice" not in page.content()
    screenshot(page, f"pwa-offline-{lang}-390")
    context.set_offline(False)
    page.get_by_test_id("offline-retry").click()
    page.wait_for_url("**/wallet/")
    context.close()


def test_new_version_prompt_after_the_worker_changes(browser, live_server, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    context = _context(browser, live_server, width=1280)
    page = context.new_page()
    page.goto("/")
    _controlled(page)
    banner = page.get_by_test_id("update-banner")
    expect(banner).to_be_hidden()
    old = pwa.shell_version()
    monkeypatch.setattr(pwa, "shell_version", lambda: "a-new-deploy")  # the shell's files changed
    page.evaluate("navigator.serviceWorker.getRegistration().then(r => r.update())")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("OKPay 新版本已就绪")
    screenshot(page, "pwa-update-banner-zh", full_page=False)
    with page.expect_navigation():
        page.get_by_test_id("update-reload").click()
    until(page, "!!navigator.serviceWorker.controller")
    script = page.evaluate("navigator.serviceWorker.controller.scriptURL")
    assert script.endswith("/sw.js")
    until(page, "caches.keys().then(ks => ks.includes('okpay-shell-a-new-deploy'))")
    assert f"okpay-shell-{old}" not in page.evaluate("caches.keys()")
    context.close()


def test_sign_out_clears_the_caches(browser, live_server, alice) -> None:  # type: ignore[no-untyped-def]
    context = _context(browser, live_server, width=1280, user=alice)
    page = context.new_page()
    page.goto("/wallet/")
    _controlled(page)
    page.evaluate("caches.open('okpay-static-marker').then(c => c.put('/static/marker', new Response('x')))")
    assert "okpay-static-marker" in page.evaluate("caches.keys()")
    page.locator("summary").first.click()
    page.get_by_role("button", name="退出登录").click()
    page.wait_for_url("**/account/login/")
    assert "okpay-static-marker" not in page.evaluate("caches.keys()")
    context.close()
