"""Security headers on every page, a CSRF token in every form, and the cookie flags.

Every URL of the project (tests/security/test_url_access.py walks the resolver) is requested as a
role its rule lets in; every answer, whatever its status, must carry the headers, and every HTML
``<form method="post">`` must carry Django's CSRF token.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

from okpay.identity.models import User
from tests.factories import PASSWORD
from tests.security.test_url_access import cast, routes, rule_of, signed_in, url_for  # noqa: F401 - cast is a fixture

AS = {"public": None, "customer": "alice", "merchant": "shop", "agent": "agent", "supervisor": "supervisor",
      "debug": None, "demo": None, "webhook": None}
FORM = re.compile(r"<form\b[^>]*>", re.I)
POST_FORM = re.compile(r"<form\b[^>]*\bmethod=[\"']?post", re.I)


def assert_security_headers(response, where: str) -> None:  # type: ignore[no-untyped-def]
    csp = response.get("Content-Security-Policy", "")
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp, (where, csp)
    assert "object-src 'none'" in csp and "base-uri 'none'" in csp, (where, csp)
    assert response.get("X-Frame-Options") == "DENY", where
    assert response.get("Referrer-Policy") == "strict-origin-when-cross-origin", where
    assert response.get("Cross-Origin-Opener-Policy") == "same-origin", where
    assert response.get("X-Content-Type-Options") == "nosniff", where


def forms_without_csrf(html: str) -> list[str]:
    missing = []
    for match in FORM.finditer(html):
        tag = match.group(0)
        if not POST_FORM.match(tag):
            continue
        end = html.find("</form>", match.end())
        if 'name="csrfmiddlewaretoken"' not in html[match.end():end]:
            missing.append(tag)
    return missing


def test_every_page_has_the_headers_and_every_form_a_csrf_token(cast: dict[str, User]) -> None:  # noqa: F811
    pages_with_forms = 0
    for route in sorted(set(routes())):
        rule = rule_of(route)
        if rule in ("api", "admin"):
            continue
        url = url_for(route)
        who = AS[rule]  # type: ignore[index]
        response = signed_in(cast[who] if who else None).get(url)
        assert_security_headers(response, f"{url} ({response.status_code})")
        if response.status_code == 200 and response.get("Content-Type", "").startswith("text/html"):
            html = response.content.decode()
            assert forms_without_csrf(html) == [], url
            pages_with_forms += bool(POST_FORM.search(html))
    assert pages_with_forms >= 20  # the walk reached the real pages, not only error pages


@pytest.mark.parametrize("url", ["/api/v1/health", "/api/v1/me", "/api/v1/openapi.json", "/admin/login/",
                                 "/no-such-page/", "/healthz", "/metrics"])
def test_api_admin_and_error_answers_have_the_headers_too(db, url: str) -> None:
    assert_security_headers(Client().get(url), url)


def test_hsts_over_https_in_production(db, settings) -> None:
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    response = Client().get("/help/", secure=True)
    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    assert "Strict-Transport-Security" not in Client().get("/help/", secure=False)


def test_session_and_csrf_cookies_are_httponly_and_samesite(db, alice) -> None:
    client = Client()
    page = client.get("/account/login/")
    csrf = page.cookies["csrftoken"]
    assert csrf["httponly"] and csrf["samesite"] == "Lax"
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode()).group(1)
    response = client.post("/account/login/", {"username": alice.email, "email": alice.email, "password": PASSWORD,
                                               "csrfmiddlewaretoken": token})
    assert response.status_code == 302, response.content[:500]
    session = response.cookies["sessionid"]
    assert session["httponly"] and session["samesite"] == "Lax"


def test_cookies_are_secure_under_production_settings(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("OKPAY_") and k not in {"DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE"}}
    env.update({"OKPAY_HOME": str(tmp_path), "OKPAY_BASE_URL": "https://pay.example.com",
                "OKPAY_ALLOWED_HOSTS": "pay.example.com", "DJANGO_SETTINGS_MODULE": "okpay.settings"})
    code = ("import django, json; django.setup(); from django.conf import settings as s; print(json.dumps({k: "
            "getattr(s, k) for k in ['SESSION_COOKIE_SECURE', 'CSRF_COOKIE_SECURE', 'LANGUAGE_COOKIE_SECURE', "
            "'SESSION_COOKIE_HTTPONLY', 'CSRF_COOKIE_HTTPONLY', 'SESSION_COOKIE_SAMESITE', 'SECURE_HSTS_SECONDS', "
            "'SECURE_SSL_REDIRECT']}))")
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60,
                            check=True)
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {
        "SESSION_COOKIE_SECURE": True, "CSRF_COOKIE_SECURE": True, "LANGUAGE_COOKIE_SECURE": True,
        "SESSION_COOKIE_HTTPONLY": True, "CSRF_COOKIE_HTTPONLY": True, "SESSION_COOKIE_SAMESITE": "Lax",
        "SECURE_HSTS_SECONDS": 31536000, "SECURE_SSL_REDIRECT": True,
    }
