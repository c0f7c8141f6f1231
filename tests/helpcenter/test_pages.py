"""The pages: help home, search (full page and as-you-type partial), articles and votes, contact, verify."""

from __future__ import annotations

from django.test import Client, override_settings

from okpay.helpcenter import registry
from okpay.helpcenter.models import ArticleVote, ContentGap, PhishingReport
from tests.helpcenter.conftest import sign_in

HTMX = {"HX-Request": "true"}


def test_help_home_lists_categories_in_chinese_first(seeded: None, client: Client) -> None:
    html = client.get("/help/").content.decode()
    assert "有什么可以帮您？" in html and "如何重置OKPay钱包的密码？" in html
    assert 'hx-get="/help/search/"' in html and 'hx-trigger="input changed delay:250ms, search"' in html
    english = client.get("/help/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "How can we help?" in english and "How do I reset my OKPay password?" in english


def test_nav_links_on_every_page(seeded: None, client: Client) -> None:
    html = client.get("/help/").content.decode()
    for href, label in (("/help/", "帮助中心"), ("/contact/", "联系我们"), ("/verify/", "验证官方渠道")):
        assert f'<a href="{href}">{label}</a>' in html


def test_search_as_you_type_returns_a_partial_and_logs_no_gap(seeded: None, client: Client) -> None:
    partial = client.get("/help/search/", {"q": "退"}, headers=HTMX)
    assert partial.status_code == 200
    body = partial.content.decode()
    assert "<html" not in body and 'class="help-results' in body
    client.get("/help/search/", {"q": "比特"}, headers=HTMX)
    assert ContentGap.objects.count() == 0


def test_full_search_page_shows_results_and_records_gaps(seeded: None, client: Client) -> None:
    page = client.get("/help/search/", {"q": "转错人了"}).content.decode()
    assert "<html" in page and "转账转错人了怎么办" in page
    empty = client.get("/help/search/", {"q": "比特币挖矿"}).content.decode()
    assert "暂时没有与“比特币挖矿”相关的文章。" in empty
    assert list(ContentGap.objects.values_list("query", "lang")) == [("比特币挖矿", "zh-hans")]


def test_search_output_is_escaped(seeded: None, client: Client) -> None:
    body = client.get("/help/search/", {"q": "<script>alert(1)</script>"}).content.decode()
    assert "<script>alert(1)</script>" not in body and "&lt;script&gt;" in body


def test_article_page_shows_body_tags_related_translation_and_vote(seeded: None, client: Client) -> None:
    html = client.get("/help/pending-transaction/").content.decode()
    assert "我的支付交易状态显示为“待处理”，该怎么办？" in html
    assert "7天内未领取会自动退回给您" in html
    assert 'href="/help/cancel-or-refund/"' in html and "Read in English" in html
    assert "这篇文章对您有帮助吗？" in html and 'hx-post="/help/pending-transaction/vote/"' in html
    assert client.get("/help/no-such-article/").status_code == 404


def test_vote_with_htmx_then_comment(seeded: None, client: Client) -> None:
    response = client.post("/help/top-up/vote/", {"helpful": "yes", "lang": "zh-hans"}, headers=HTMX)
    assert response.status_code == 200
    assert "谢谢！很高兴对您有帮助。" in response.content.decode()
    client.post("/help/top-up/vote/", {"helpful": "yes", "lang": "zh-hans", "comment": "写得很清楚"}, headers=HTMX)
    vote = ArticleVote.objects.get()
    assert (vote.helpful, vote.comment, vote.article.helpful_yes) == (True, "写得很清楚", 1)
    assert vote.article.lang == "zh-hans"
    assert vote.voter_key.startswith("anon:")


def test_vote_without_javascript_redirects_back(seeded: None, client: Client, alice) -> None:  # type: ignore[no-untyped-def]
    sign_in(client, alice)
    response = client.post("/help/top-up/vote/", {"helpful": "no"})
    assert response.status_code == 302 and response["Location"] == "/help/top-up/#feedback"
    assert ArticleVote.objects.get().user == alice
    assert client.post("/help/top-up/vote/", {"helpful": "maybe"}).status_code == 400


def test_vote_needs_csrf(seeded: None) -> None:
    client = Client(enforce_csrf_checks=True)
    assert client.post("/help/top-up/vote/", {"helpful": "yes"}).status_code == 403
    assert ArticleVote.objects.count() == 0


def test_staff_can_preview_drafts(seeded: None, client: Client, agent, alice) -> None:  # type: ignore[no-untyped-def]
    from okpay.helpcenter.models import Article

    Article.objects.filter(slug="top-up").update(is_published=False)
    assert client.get("/help/top-up/?preview=1").status_code == 404
    sign_in(client, alice)
    assert client.get("/help/top-up/?preview=1").status_code == 404
    sign_in(client, agent)
    assert "草稿预览" in client.get("/help/top-up/?preview=1").content.decode()


def test_contact_page_lists_every_registry_channel(db: None, client: Client) -> None:
    html = client.get("/contact/").content.decode()
    for channel in registry.channels():
        assert channel.value in html, channel.key
    assert 'id="open-chat"' in html and "data-chat-open" in html
    assert "mailto:support@okpay.example" in html and "通常会在24小时内获得回复" in html
    assert 'href="tel:+864008006578"' in html and "服务时间：24x7" in html and "紧急问题" in html
    assert "微信公众号" in html and "https://t.me/OKPayOfficial" in html
    # The ticket form and callback request belong to the support app: linked when it is installed.
    from django.urls import NoReverseMatch, reverse

    try:
        links = [reverse("support:new"), reverse("support:callback")]
    except NoReverseMatch:
        assert "/support/" not in html
    else:
        assert all(f'href="{link}"' in html for link in links)


@override_settings(OKPAY_HOTLINE="+86 400-111-2222", OKPAY_HOTLINE_HOURS="09:00–21:00")
def test_contact_page_follows_settings(db: None, client: Client) -> None:
    html = client.get("/contact/").content.decode()
    assert "+86 400-111-2222" in html and "09:00–21:00" in html


def test_verify_page_with_htmx_and_report(db: None, client: Client) -> None:
    assert "真的是OKPay吗？" in client.get("/verify/").content.decode()
    verdict = client.post("/verify/", {"value": "okpay-support.com"}, headers=HTMX).content.decode()
    assert "非官方：冒充OKPay官方渠道" in verdict and "它在冒充我们的官方网站（okpay.example）" in verdict
    assert 'data-official="false"' in verdict and "举报" in verdict
    official = client.post("/verify/", {"value": "support@okpay.example"}, headers=HTMX).content.decode()
    assert 'data-official="true"' in official and "OKPay官方渠道" in official and "举报" not in official
    reported = client.post("/verify/report/", {"value": "okpay-support.com", "note": "短信链接"}, headers=HTMX)
    assert "您的举报已发送给我们的安全团队" in reported.content.decode()
    report = PhishingReport.objects.get()
    assert (report.value, report.note, report.lookalike_of, report.signals) == (
        "okpay-support.com", "短信链接", "okpay.example", ["brand_affix"])


def test_verify_page_without_javascript(db: None, client: Client) -> None:
    page = client.get("/verify/", {"value": "4008006579"}).content.decode()
    assert "它与我们的热线只差一位数字。" in page
    assert client.post("/verify/report/", {"value": "4008006579"})["Location"] == "/verify/?reported=1"
    assert client.post("/verify/report/", {"value": ""}).status_code == 400


def test_verify_form_sent_empty_says_so_at_the_input_with_and_without_htmx(db: None, client: Client) -> None:
    """Issue 22 (form errors are announced): the error is a role=alert that describes the input,
    which is marked invalid; under htmx the input comes along out of band with the verdict."""
    import re

    page = client.post("/verify/", {"value": "  "})
    html = page.content.decode()
    tag = re.search(r'<input[^>]*id="verify-value"[^>]*>', html).group(0)  # type: ignore[union-attr]
    assert page.status_code == 200 and 'aria-invalid="true" aria-describedby="verify-error"' in tag
    assert re.search(r'role="alert" id="verify-error">请输入要验证的', html) and "hx-swap-oob" not in html
    swapped = client.post("/verify/", {"value": ""}, headers=HTMX).content.decode()
    tag = re.search(r'<input[^>]*id="verify-value"[^>]*>', swapped).group(0)  # type: ignore[union-attr]
    assert 'aria-invalid="true"' in tag and 'hx-swap-oob="true"' in tag and 'id="verify-error"' in swapped
    # The next check unmarks the input again, and a plain visit shows no error.
    fine = client.post("/verify/", {"value": "okpay.example"}, headers=HTMX).content.decode()
    tag = re.search(r'<input[^>]*id="verify-value"[^>]*>', fine).group(0)  # type: ignore[union-attr]
    assert "aria-invalid" not in tag and 'value="okpay.example"' in tag and "verify-error" not in fine
    assert "aria-invalid" not in client.get("/verify/").content.decode()
    assert not PhishingReport.objects.exists()


@override_settings(OKPAY_VERIFY_RATE_PER_MINUTE=2)
def test_verify_page_is_rate_limited(db: None, client: Client) -> None:
    for _ in range(2):
        assert client.post("/verify/", {"value": "okpay.com"}).status_code == 200
    limited = client.post("/verify/", {"value": "okpay.com"})
    assert limited.status_code == 429 and "验证次数过多" in limited.content.decode()


def test_category_page(seeded: None, client: Client) -> None:
    html = client.get("/help/category/refunds/").content.decode()
    assert "取消与退款" in html and "如何取消或退款OKPay钱包的交易？" in html and "商户的退款政策是什么意思" in html
    assert client.get("/help/category/nope/").status_code == 404


def test_article_missing_in_the_readers_language_shows_the_other(seeded: None, client: Client) -> None:
    from okpay.helpcenter.models import Article

    Article.objects.filter(slug="top-up", lang="zh-hans").delete()
    html = client.get("/help/top-up/").content.decode()
    assert "How do I top up my wallet?" in html and "这篇文章暂时没有您所用语言的版本" in html


def test_articles_quote_the_configured_limits_and_periods(seeded: None, client: Client) -> None:
    html = client.get("/help/limits/").content.decode()
    assert "单笔 ¥5,000，每日 ¥20,000" in html and "单笔 ¥50,000，每日 ¥200,000" in html
    assert "单笔超过 ¥1,000 的转账" in html
    with override_settings(OKPAY_LIMIT_EMAIL_PER_TXN=123_456, OKPAY_CLAIM_DAYS=3):
        assert "单笔 ¥1,234.56" in client.get("/help/limits/").content.decode()
        page = client.get("/help/unclaimed-transfer/").content.decode()
        assert "<strong>3天内</strong>没有领取" in page and "{{" not in page
    english = client.get("/help/risk-review/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "not finished within 24 hours expires" in english
    assert "{{" not in client.get("/help/search/", {"q": "没领取"}).content.decode()
