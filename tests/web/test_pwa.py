"""The installable app (issue 22 item 1): manifest, icons, the service worker and its offline
pages; personal answers say no-store; sign-out clears the site's storage."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from okpay.web import pwa
from tests.factories import sign_in

pytestmark = pytest.mark.django_db


def test_manifest_in_both_languages_with_maskable_icons() -> None:
    client = Client()
    zh = json.loads(client.get("/manifest.webmanifest?lang=zh-hans").content)
    en = json.loads(client.get("/manifest.webmanifest?lang=en").content)
    assert zh["name"] == "OKPay 钱包" and zh["lang"] == "zh-Hans"
    assert en["name"] == "OKPay wallet" and en["lang"] == "en"
    assert zh["id"] == en["id"] == "/" and zh["start_url"] == "/wallet/?source=app"
    assert zh["display"] == "standalone" and zh["theme_color"] == "#0b6e4f"
    shortcuts = [(s["name"], s["url"]) for s in zh["shortcuts"]]
    assert shortcuts == [("收款", "/wallet/receive/"), ("扫码付款", "/wallet/scan/")]
    assert [s["name"] for s in en["shortcuts"]] == ["Receive money", "Scan to pay"]
    sizes = {(icon["sizes"], icon["purpose"]) for icon in zh["icons"]}
    assert sizes == {("192x192", "any"), ("512x512", "any"), ("192x192", "maskable"), ("512x512", "maskable")}
    for icon in zh["icons"]:
        answer = client.get(icon["src"])
        assert answer.status_code == 200
        body = b"".join(answer.streaming_content)
        assert body[:8] == b"\x89PNG\r\n\x1a\n"
        width, height = int.from_bytes(body[16:20], "big"), int.from_bytes(body[20:24], "big")
        assert f"{width}x{height}" == icon["sizes"]


def test_pages_link_manifest_favicon_and_touch_icon() -> None:
    html = Client().get("/").content.decode()
    assert '<link rel="manifest" href="/manifest.webmanifest?lang=zh-hans">' in html
    assert 'rel="apple-touch-icon" href="/static/okpay/icons/apple-touch-icon.png"' in html
    assert 'rel="icon" href="/static/okpay/icons/favicon-32.png"' in html
    assert Client().get("/favicon.ico")["Location"] == "/static/okpay/icons/favicon.ico"


def test_service_worker_from_the_root_precaches_only_the_shell() -> None:
    answer = Client().get("/sw.js")
    assert answer.status_code == 200
    assert answer["Content-Type"].startswith("text/javascript")
    assert answer["Service-Worker-Allowed"] == "/"
    assert answer["Cache-Control"] == "no-cache"
    body = answer.content.decode()
    assert f'var VERSION = "{pwa.shell_version()}";' in body
    shell = json.loads(body.split("var SHELL = ", 1)[1].split(";\n", 1)[0])
    assert shell == pwa.shell_urls()
    assert "/offline/zh-hans/" in shell and "/offline/en/" in shell
    assert not [url for url in shell if not (url.startswith("/static/") or url.startswith("/offline/"))]


def test_offline_pages_are_anonymous_and_bilingual(alice) -> None:  # type: ignore[no-untyped-def]
    client = sign_in(alice)
    zh = client.get("/offline/zh-hans/")
    en = client.get("/offline/en/")
    assert "网络已断开" in zh.content.decode() and "You are offline" in en.content.decode()
    for answer in (zh, en):
        assert answer["Cache-Control"] == "public, max-age=0"
        assert "Alice" not in answer.content.decode() and "csrf" not in answer.content.decode()
    assert client.get("/offline/fr/").status_code == 404


@pytest.mark.parametrize("path", ["/wallet/", "/wallet/transactions/", "/account/security/", "/api/v1/wallet/balances"])
def test_personal_and_money_answers_say_no_store(alice, path: str) -> None:  # type: ignore[no-untyped-def]
    answer = sign_in(alice).get(path)
    assert answer.status_code in (200, 401)
    assert "no-store" in answer["Cache-Control"]


def test_api_answers_say_no_store_even_anonymous() -> None:
    assert "no-store" in Client().get("/api/v1/wallet/balances")["Cache-Control"]


def test_sign_out_clears_site_storage(alice) -> None:  # type: ignore[no-untyped-def]
    client = sign_in(alice)
    answer = client.post("/account/logout/")
    assert answer.status_code == 302
    assert answer["Clear-Site-Data"] == '"storage"'
