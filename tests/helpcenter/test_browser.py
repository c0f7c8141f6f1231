"""Chromium: search in Chinese as you type, open an article, vote helpful; the same in English."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from okpay.helpcenter.models import ArticleVote
from okpay.helpcenter.search import vocabulary
from okpay.helpcenter.seed import load
from tests.conftest import screenshot as _screenshot


def screenshot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    page.evaluate("window.scrollTo(0, 0)")  # the sticky header would be drawn mid-page otherwise
    _screenshot(page, name)


@pytest.fixture
def seeded_live(transactional_db: None) -> None:
    load()
    vocabulary.invalidate()


def _search_open_vote(page, *, query: str, expected_title: str, thanks: str, name: str) -> None:  # type: ignore[no-untyped-def]
    page.goto("/help/")
    box = page.locator("#help-q")
    box.click()
    box.press_sequentially(query, delay=120)  # keystrokes, as a customer types
    first = page.locator("#help-results .help-result-title").first
    # Results replace each other as the customer types; the last keystroke's list wins.
    expect(first).to_have_text(expected_title, timeout=10_000)
    screenshot(page, f"helpcenter-{name}-1-search-as-you-type")
    first.click()
    page.wait_for_url("**/help/withdrawal-time/")
    assert page.locator("h1").inner_text() == expected_title
    screenshot(page, f"helpcenter-{name}-2-article")
    page.locator("[data-vote=yes]").click()
    page.locator(".help-vote-thanks").wait_for()
    assert page.locator(".help-vote-thanks").inner_text() == thanks
    page.locator("#vote-comment").fill("清楚" if name == "zh" else "Clear")
    page.get_by_role("button", name="提交意见" if name == "zh" else "Send comment").click()
    page.wait_for_function("document.querySelector('#vote-comment') && "
                           "document.querySelector('#vote-comment').value.length > 0")
    screenshot(page, f"helpcenter-{name}-3-voted")


@pytest.mark.browser
def test_search_open_and_vote_in_chinese(page, seeded_live) -> None:  # type: ignore[no-untyped-def]
    _search_open_vote(page, query="提现多久到账", expected_title="提现多久到账？提现状态一直是待处理",
                      thanks="谢谢！很高兴对您有帮助。", name="zh")
    vote = ArticleVote.objects.get()
    assert (vote.helpful, vote.comment, vote.article.slug, vote.article.lang) == (
        True, "清楚", "withdrawal-time", "zh-hans")
    assert vote.article.helpful_yes == 1


@pytest.mark.browser
def test_search_open_and_vote_in_english(browser, live_server, seeded_live) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context(locale="en-US", base_url=live_server.url, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        _search_open_vote(page, query="withdrawl pending", expected_title=(
            "How long does a withdrawal take? My withdrawal is still pending"),
            thanks="Thank you! We are glad it helped.", name="en")
    finally:
        context.close()
    vote = ArticleVote.objects.get()
    assert (vote.helpful, vote.comment, vote.article.lang) == (True, "Clear", "en")


@pytest.mark.browser
def test_contact_and_verify_pages(page, seeded_live) -> None:  # type: ignore[no-untyped-def]
    page.goto("/contact/")
    assert page.locator("#open-chat").is_visible()
    screenshot(page, "helpcenter-zh-4-contact")
    page.goto("/verify/")
    page.locator("#verify-value").fill("https://okpаy.example/login")
    page.get_by_role("button", name="验证").click()
    page.locator(".verdict-bad").wait_for()
    assert "冒充" in page.locator(".verdict-title").inner_text()
    page.get_by_role("button", name="举报").click()
    page.get_by_text("您的举报已发送给我们的安全团队").wait_for()
    screenshot(page, "helpcenter-zh-5-verify")


@pytest.mark.browser
def test_admin_live_preview(browser, live_server, seeded_live) -> None:  # type: ignore[no-untyped-def]
    from django.conf import settings
    from django.test import Client

    from tests.factories import user_create
    from tests.helpcenter.conftest import sign_in

    editor = user_create("editor@example.com", name="Editor", role="admin")
    editor.is_superuser = True
    editor.save(update_fields=["is_superuser"])
    client = sign_in(Client(), editor)
    context = browser.new_context(locale="zh-CN", base_url=live_server.url, viewport={"width": 1280, "height": 900})
    host = live_server.url.split("//", 1)[1].split(":")[0]
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session, "domain": host, "path": "/"}])
    page = context.new_page()
    try:
        page.goto("/admin/helpcenter/article/add/")
        page.locator("#id_body").fill("## 新文章\n\n拨打 **{{hotline}}** <script>alert(1)</script>")
        preview = page.locator(".help-admin-preview")
        expect(preview.locator("h2")).to_have_text("新文章", timeout=10_000)
        expect(preview.locator("strong")).to_have_text("+86 400-800-6578")
        assert preview.locator("script").count() == 0
        screenshot(page, "helpcenter-zh-6-admin-preview")
    finally:
        context.close()
