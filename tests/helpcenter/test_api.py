"""The help-centre and channel endpoints of API.md ("Support"), anonymous as documented."""

from __future__ import annotations

import json

from django.test import Client, override_settings

from okpay.helpcenter.models import Article, ArticleVote, ContentGap, PhishingReport


def post(client: Client, path: str, body: dict, **headers: str):  # type: ignore[no-untyped-def]
    return client.post(path, data=json.dumps(body), content_type="application/json", headers=headers)


def test_list_articles_without_query_is_keyset_paged(seeded: None, client: Client) -> None:
    first = client.get("/api/v1/help/articles?lang=en&limit=20")
    assert first.status_code == 200
    body = first.json()
    assert len(body["data"]) == 20 and body["next_cursor"]
    second = client.get(f"/api/v1/help/articles?lang=en&limit=20&cursor={body['next_cursor']}").json()
    assert len(second["data"]) == 15 and second["next_cursor"] is None
    slugs = [a["slug"] for a in body["data"] + second["data"]]
    assert len(set(slugs)) == 35
    assert set(body["data"][0]) == {"slug", "title", "summary", "category", "lang", "updated_at", "url"}


def test_search_with_q_lang_and_category(seeded: None, client: Client) -> None:
    body = client.get("/api/v1/help/articles", {"q": "我想退钱", "lang": "zh-Hans"}).json()
    assert body["data"][0]["slug"] == "cancel-or-refund"
    assert body["data"][0]["lang"] == "zh-hans" and body["next_cursor"] is None
    only = client.get("/api/v1/help/articles", {"q": "password", "lang": "en", "category": "security"}).json()
    assert only["data"] and {a["category"] for a in only["data"]} == {"security"}
    typo = client.get("/api/v1/help/articles", {"q": "pasword reset", "lang": "en"}).json()
    assert typo["corrected_query"] == "password reset" and typo["data"][0]["slug"] == "reset-password"


def test_language_defaults_to_the_request_language(seeded: None, client: Client) -> None:
    zh = client.get("/api/v1/help/articles?q=refund", HTTP_ACCEPT_LANGUAGE="zh-CN").json()
    assert zh["data"] == [] or zh["data"][0]["lang"] == "zh-hans"
    en = client.get("/api/v1/help/articles?q=refund", HTTP_ACCEPT_LANGUAGE="en").json()
    assert en["data"][0]["lang"] == "en"


def test_invalid_parameters_answer_the_error_envelope(seeded: None, client: Client) -> None:
    bad = client.get("/api/v1/help/articles?category=nope")
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "category"
    assert client.get("/api/v1/help/articles?lang=fr").json()["error"]["code"] == "invalid_request"
    assert client.get("/api/v1/help/articles?limit=0").status_code == 400


def test_searches_without_result_become_content_gaps(seeded: None, client: Client) -> None:
    for _ in range(2):
        assert client.get("/api/v1/help/articles", {"q": "dogecoin staking", "lang": "en"}).json()["data"] == []
    assert list(ContentGap.objects.values_list("query", "lang", "count")) == [("dogecoin staking", "en", 2)]


def test_article_detail_with_sanitised_html_and_links(seeded: None, client: Client) -> None:
    response = client.get("/api/v1/help/articles/reset-password?lang=en")
    assert response.status_code == 200
    body = response.json()
    assert body["title"] == "How do I reset my OKPay password?"
    assert body["id"].startswith("art_")
    assert "<ol>" in body["body_html"] and "valid for 1 hour" in body["body_html"]
    assert "{{" not in body["body_html"]  # placeholders filled from the registry
    assert [t["lang"] for t in body["translations"]] == ["zh-hans"]
    assert {r["slug"] for r in body["related"]} == {"email-not-received", "account-locked", "transaction-security"}
    assert "password" in body["tags"]


def test_article_in_other_language_and_404(seeded: None, client: Client) -> None:
    zh = client.get("/api/v1/help/articles/reset-password?lang=zh-Hans").json()
    assert zh["lang"] == "zh-hans" and zh["title"] == "如何重置OKPay钱包的密码？"
    missing = client.get("/api/v1/help/articles/no-such-article")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    Article.objects.filter(slug="top-up").update(is_published=False)
    assert client.get("/api/v1/help/articles/top-up").status_code == 404


def test_placeholders_follow_the_settings(seeded: None, client: Client) -> None:
    with override_settings(OKPAY_SUPPORT_EMAIL="care@okpay.example", OKPAY_HOTLINE="+86 400-000-1111"):
        html = client.get("/api/v1/help/articles/contact-customer-service?lang=en").json()["body_html"]
    assert "mailto:care@okpay.example" in html and "+86 400-000-1111" in html


def test_vote_is_one_per_reader_and_changeable(seeded: None, client: Client, api_client, alice) -> None:  # type: ignore[no-untyped-def]
    anon = post(client, "/api/v1/help/articles/top-up/votes?lang=en", {"helpful": True})
    assert anon.status_code == 201 and anon.json() == {"helpful": True, "helpful_yes": 1, "helpful_no": 0}
    alice_client = api_client(alice)
    post(alice_client, "/api/v1/help/articles/top-up/votes?lang=en", {"helpful": True})
    changed = post(alice_client, "/api/v1/help/articles/top-up/votes?lang=en",
                   {"helpful": False, "comment": "Which cards work?"})
    assert changed.json() == {"helpful": False, "helpful_yes": 1, "helpful_no": 1}
    vote = ArticleVote.objects.get(user=alice)
    assert (vote.helpful, vote.comment, vote.article.lang) == (False, "Which cards work?", "en")
    assert ArticleVote.objects.count() == 2


def test_channels_list_every_official_channel(client: Client, db: None) -> None:
    response = client.get("/api/v1/support/channels", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    data = response.json()["data"]
    by_kind = {}
    for channel in data:
        by_kind.setdefault(channel["kind"], []).append(channel)
    assert by_kind["email"][0]["value"] == "support@okpay.example"
    assert "24 hours" in by_kind["email"][0]["note"]
    assert by_kind["phone"][0] == {**by_kind["phone"][0], "value": "+86 400-800-6578", "hours": "24x7"}
    assert "urgent" in by_kind["phone"][0]["note"]
    assert {c["platform"] for c in by_kind["social"]} == {"wechat", "telegram", "weibo"}
    assert by_kind["chat"] and by_kind["web"][0]["value"] == "okpay.example"
    assert set(data[0]) >= {"kind", "value", "label", "hours"}


def test_verify_channel_needs_no_sign_in(client: Client, db: None) -> None:
    ok = post(client, "/api/v1/support/verify-channel", {"value": "support@okpay.example"})
    assert ok.status_code == 200
    assert ok.json()["official"] is True and ok.json()["matched"]["kind"] == "email"
    fake = post(client, "/api/v1/support/verify-channel", {"value": "https://okpay-support.com/login"},
                **{"Accept-Language": "en"}).json()
    assert fake["official"] is False and fake["kind"] == "url"
    assert fake["lookalike_of"]["value"] == "okpay.example" and fake["signals"] == ["brand_affix"]
    assert fake["advice"].startswith("Not official")
    zh = post(client, "/api/v1/support/verify-channel", {"value": "okpay-support.com"}).json()
    assert zh["advice"].startswith("非官方。它在冒充我们的官方网站（okpay.example）")
    empty = post(client, "/api/v1/support/verify-channel", {"value": "  "})
    assert empty.status_code == 400 and empty.json()["error"]["param"] == "value"


@override_settings(OKPAY_VERIFY_RATE_PER_MINUTE=3)
def test_verify_channel_is_rate_limited(client: Client, db: None) -> None:
    for _ in range(3):
        assert post(client, "/api/v1/support/verify-channel", {"value": "okpay.com"}).status_code == 200
    limited = post(client, "/api/v1/support/verify-channel", {"value": "okpay.com"})
    assert limited.status_code == 429
    assert limited.json()["error"]["code"] == "rate_limited" and int(limited["Retry-After"]) >= 1


def test_phishing_report_is_stored(client: Client, db: None) -> None:
    response = post(client, "/api/v1/support/phishing-reports",
                    {"value": "https://0kpay.example/login", "note": "SMS about a frozen account"},
                    **{"Idempotency-Key": "report-1"})
    assert response.status_code == 201
    body = response.json()
    assert body["id"].startswith("phr_") and body["lookalike_of"] == "okpay.example" and body["status"] == "new"
    replay = post(client, "/api/v1/support/phishing-reports",
                  {"value": "https://0kpay.example/login", "note": "SMS about a frozen account"},
                  **{"Idempotency-Key": "report-1"})
    assert replay.json() == body and replay["Idempotent-Replayed"] == "true"
    report = PhishingReport.objects.get()
    assert (report.kind, report.official, report.signals, report.note, report.reporter_ip) == (
        "url", False, ["homoglyph"], "SMS about a frozen account", "127.0.0.1")


def test_openapi_documents_the_endpoints(client: Client, db: None) -> None:
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    for path in ("/api/v1/help/articles", "/api/v1/help/articles/{slug}", "/api/v1/support/channels",
                 "/api/v1/support/verify-channel", "/api/v1/support/phishing-reports"):
        assert path in paths
    assert "security" not in paths["/api/v1/support/verify-channel"]["post"]


def test_control_characters_never_reach_the_database(seeded: None, client: Client) -> None:
    """A NUL in a query string is cleaned; in a JSON body the API refuses it (api/parser.py)."""
    assert client.get("/api/v1/help/articles", {"q": "bit\x00coin", "lang": "en"}).status_code == 200
    assert ContentGap.objects.get().query == "bit coin"
    report = post(client, "/api/v1/support/phishing-reports", {"value": "okpay\x00-support.com", "note": "a\x00b"})
    assert report.status_code == 400
    assert report.json()["error"]["code"] == "invalid_request"
    assert report.json()["error"]["param"] == "value"
    assert not PhishingReport.objects.exists()
    report = post(client, "/api/v1/support/phishing-reports", {"value": "okpay-support.com", "note": "a\tb"})
    assert report.status_code == 201
    assert PhishingReport.objects.get().note == "a b"
    verdict = post(client, "/api/v1/support/verify-channel", {"value": "http://[\x01"})
    assert verdict.status_code == 200 and verdict.json()["kind"] == "unknown"
