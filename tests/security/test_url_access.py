"""Every URL pattern of the project has an access rule in ``RULES``, and each rule holds.

The resolver is walked, so a new URL without a rule fails ``test_every_url_has_an_access_rule``.
Each rule is checked by requesting the URL (with dummy path arguments) anonymously and as the
roles it must refuse: a protected page sends nobody to the sign-in page, and a wrong role gets a
403 or a 404 (never the page). The API's operations are checked one by one in tests/fuzz/.

Rules:
  public      anybody, signed in or not
  customer    any signed-in account (every role has a wallet and an account); nobody → sign-in
  merchant    a merchant account; nobody → sign-in, a customer → 403/404
  agent       the support desk (agents and supervisors); nobody → sign-in, customer/merchant → 403
  supervisor  supervisors only; nobody → sign-in, customer and agent → 403
  admin       Django's admin (staff); nobody and customers → the admin's sign-in page
  api         /api/v1/*: bearer tokens or merchant keys per operation (tests/fuzz/)
  debug       development helpers and /metrics: 404 for everybody unless OKPAY_DEBUG (/metrics: or
              with the bearer token OKPAY_METRICS_TOKEN, tests/api/test_openapi_and_health.py)
  demo        the demo shop: 404 until `okpay demo` created its merchant
  webhook     called by another system (phone system, social platforms) and authenticated by its
              signature or secret, not a session: an unsigned request gets 403 (or 405) and the
              error object
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from okpay.identity.models import User
from tests.factories import sign_in, user_create

RULES: dict[str, str] = {
    "admin/*": "admin",
    "api/v1/*": "api",
    "i18n/setlang/": "public",
    "metrics": "debug",  # private: OKPAY_METRICS_TOKEN makes it a bearer-token URL (tests/api/), else 404
    "healthz": "public",
    "readyz": "public",
    "": "public",
    # identity
    "account/": "customer",
    "account/login/": "public",
    "account/login/2fa/": "customer",  # the second step: only after the password step
    "account/logout/": "customer",
    "account/register/": "public",
    "account/register/sent/": "public",
    "account/verify-email/resend/": "customer",
    "account/verify-email/<str:token>/": "public",
    "account/password-reset/": "public",
    "account/password-reset/sent/": "public",
    "account/password-reset/new/": "public",
    "account/password-reset/done/": "public",
    "account/password-reset/t/<str:token>/": "public",
    "account/security/": "customer",
    "account/activity/": "customer",
    "account/sessions/": "customer",
    "account/password/": "customer",
    "account/2fa/": "customer",
    "account/2fa/setup/": "customer",
    "account/2fa/verify/": "customer",
    "account/2fa/recovery-codes/": "customer",
    "account/2fa/disable/": "customer",
    "account/profile/": "customer",
    "account/email/": "customer",
    "account/email/confirm/<str:token>/": "public",
    "account/phone/": "customer",
    "account/anti-phishing/": "customer",
    "account/freeze/": "customer",
    "account/freeze/link/<str:token>/": "public",
    "account/close/": "customer",
    "dev/mail/sms/": "debug",
    "dev/mail/": "debug",
    "dev/mail/<int:pk>/": "debug",
    # help centre
    "help/": "public",
    "help/search/": "public",
    "help/category/<slug:category>/": "public",
    "help/<slug:slug>/": "public",
    "help/<slug:slug>/vote/": "public",
    "contact/": "public",
    "verify/": "public",
    "verify/report/": "public",
    # support, customer side
    "support/new/": "customer",
    "support/suggest/": "public",
    "support/tickets/": "customer",
    "support/tickets/<str:public_id>/": "customer",
    "support/tickets/<str:public_id>/reply/": "customer",
    "support/tickets/<str:public_id>/close/": "customer",
    "support/tickets/<str:public_id>/rate/": "customer",
    "support/tickets/<str:public_id>/files/<str:attachment_id>": "customer",
    "support/nps/": "customer",
    "support/prove/<str:token>/": "public",  # the signed "prove it's you" link from an email
    "support/feedback/": "public",
    "support/callback/": "public",
    # support desk
    "desk/": "agent",
    "desk/duty/": "agent",
    "desk/bulk/": "agent",
    "desk/dashboard/": "supervisor",
    "desk/dashboard.csv": "supervisor",
    "desk/files/<str:attachment_id>": "agent",
    "desk/actions/<str:action_id>/decide/": "supervisor",
    "desk/risk-reviews/": "supervisor",
    "desk/risk-reviews/<str:txn_id>/decide/": "supervisor",
    "desk/t/<str:public_id>/": "agent",
    "desk/t/<str:public_id>/live/": "agent",
    "desk/t/<str:public_id>/context/": "agent",
    "desk/t/<str:public_id>/reply/": "agent",
    "desk/t/<str:public_id>/status/": "agent",
    "desk/t/<str:public_id>/assign/": "agent",
    "desk/t/<str:public_id>/tags/": "agent",
    "desk/t/<str:public_id>/action/": "agent",
    "desk/t/<str:public_id>/link/": "agent",
    "desk/t/<str:public_id>/category/": "agent",
    "desk/t/<str:public_id>/prove/": "agent",
    "desk/t/<str:public_id>/deliverable/": "agent",
    "desk/t/<str:public_id>/canned/<int:pk>/": "agent",
    "desk/chat/": "agent",
    "desk/chat/waiting/": "agent",
    "chat/transcript/<str:token>/": "public",  # the signed "send the transcript here?" link from an email
    "desk/t/<str:public_id>/calls/": "agent",
    "desk/t/<str:public_id>/caller/": "agent",
    "desk/calls/<str:call_id>/": "agent",
    "desk/calls/<str:call_id>/ticket/": "agent",
    "account/social/": "customer",
    # webhooks of the phone and social channels
    "hooks/phone/calls": "webhook",
    "hooks/telegram": "webhook",
    "hooks/wechat": "webhook",
    "hooks/social/<slug:platform>": "webhook",
    # wallet
    "wallet/": "customer",
    "wallet/send/": "customer",
    "wallet/bills/": "customer",
    "wallet/top-up/": "customer",
    "wallet/withdraw/": "customer",
    "wallet/transactions/": "customer",
    "wallet/transactions/export.csv": "customer",
    "wallet/transactions/<str:txn_id>/": "customer",
    "wallet/transactions/<str:txn_id>/cancel/": "customer",
    "wallet/transactions/<str:txn_id>/receipt/": "customer",
    "wallet/transactions/<str:txn_id>/receipt.svg": "customer",
    "wallet/transactions/<str:txn_id>/refund-request/": "customer",
    "wallet/notifications/": "customer",
    # merchants
    "checkout/<str:intent_id>/": "public",  # hosted checkout: amount shown before sign-in
    "checkout/<str:intent_id>/done/": "public",  # a paid one: its payer only (tests/merchants/test_pages.py)
    "checkout/<str:intent_id>/again/": "customer",  # pay again: its payer only (test_pay_again.py)
    "demo-shop/": "demo",
    "demo-shop/buy/": "demo",
    "demo-shop/orders/<str:intent_id>/": "demo",
    "merchant/": "merchant",
    "merchant/apply/": "customer",  # a customer applies to become a merchant
    "merchant/export.csv": "merchant",
    "merchant/sales.svg": "merchant",
    "merchant/refund-requests/<str:request_id>/<str:decision>/": "merchant",
    "merchant/refunds/": "merchant",
    "merchant/payments/<str:intent_id>/<str:decision>/": "merchant",
    "merchant/policy/": "merchant",
    "merchant/keys/": "merchant",
    "merchant/keys/<str:key_id>/revoke/": "merchant",
    "merchant/webhooks/": "merchant",
    "merchant/webhooks/<str:endpoint_id>/<str:action>/": "merchant",
    "merchant/webhooks/deliveries/<str:delivery_id>/resend/": "merchant",
    # the installable app (issue 22): nothing personal in any of these
    "sw.js": "public",
    "manifest.webmanifest": "public",
    "offline/<str:lang>/": "public",
    "favicon.ico": "public",
    # QR codes (issue 22)
    "wallet/receive/": "customer",
    "wallet/receive/qr.png": "customer",
    "wallet/scan/": "customer",
    "pay/<str:wallet_id>/": "customer",
    "store/<str:merchant_id>/": "customer",
    "merchant/store-code.<str:fmt>": "merchant",
    "merchant/till/": "merchant",
    "merchant/till/<str:intent_id>/": "merchant",
    # money-arrived alerts (issue 22): Web Push subscriptions
    "wallet/push/key": "customer",
    "wallet/push/subscribe": "customer",
    "wallet/push/unsubscribe": "customer",
}

# Who must be refused, per rule (besides nobody, who is sent to sign in).
REFUSED = {
    "customer": (),
    "merchant": ("alice",),
    "agent": ("alice", "shop"),
    "supervisor": ("alice", "shop", "agent"),
}


def routes(patterns=None, prefix: str = "") -> Iterator[str]:  # type: ignore[no-untyped-def]
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from routes(entry.url_patterns, route)
        else:
            assert isinstance(entry, URLPattern)
            yield route


def rule_of(route: str) -> str | None:
    for prefix in ("admin/", "api/v1/"):
        if route.startswith(prefix):
            return RULES[prefix + "*"]
    return RULES.get(route)


def test_every_url_has_an_access_rule() -> None:
    missing = [route for route in routes() if rule_of(route) is None]
    assert missing == [], f"URLs without an access rule in RULES: {missing}"
    known = set(routes())
    stale = [route for route in RULES if not route.endswith("*") and route not in known]
    assert stale == [], f"rules for URLs that no longer exist: {stale}"


def url_for(route: str) -> str:
    return "/" + re.sub(r"<int:\w+>", "1", re.sub(r"<(?:str|slug|path):\w+>", "x-1", route))


def request(client: Client, url: str):  # type: ignore[no-untyped-def]
    response = client.get(url)
    if response.status_code == 405:
        response = client.post(url)
    return response


def signed_in(user: User | None) -> Client:
    return sign_in(user) if user is not None else Client()


def goes_to_sign_in(response, page: str = "/account/login/") -> bool:  # type: ignore[no-untyped-def]
    return response.status_code == 302 and response["Location"].startswith(page)


@pytest.fixture
def cast(db) -> dict[str, User]:  # type: ignore[no-untyped-def]
    from okpay.merchants.services import merchant_create

    users = {"alice": user_create("alice@example.com"), "shop": user_create("shop@example.com", role="merchant"),
             "agent": user_create("agent@example.com", role="agent"),
             "supervisor": user_create("supervisor@example.com", role="supervisor")}
    merchant_create(user=users["shop"], name="茶叶小店")
    return users


def test_each_rule_holds(cast: dict[str, User]) -> None:
    wrong = []
    for route in sorted(set(routes())):
        rule = rule_of(route)
        if rule in ("api", "admin"):
            continue
        url = url_for(route)
        anonymous = request(Client(), url)
        if rule == "public":
            ok = anonymous.status_code < 500 and anonymous.status_code != 403 and not goes_to_sign_in(anonymous)
        elif rule == "webhook":
            answer = Client().post(url, b"{}", content_type="application/json")
            ok = anonymous.status_code in (403, 405) and answer.status_code == 403 and \
                answer.json()["error"]["code"] == "forbidden"
        elif rule in ("debug", "demo"):
            ok = anonymous.status_code == 404 and request(signed_in(cast["supervisor"]), url).status_code == 404
        else:
            ok = goes_to_sign_in(anonymous)
            for who in REFUSED[rule]:
                answer = request(signed_in(cast[who]), url)
                if answer.status_code not in (403, 404):
                    ok = False
                    wrong.append(f"{route} [{rule}] as {who}: {answer.status_code}")
        if not ok:
            wrong.append(f"{route} [{rule}] anonymously: {anonymous.status_code} {anonymous.get('Location', '')}")
    assert wrong == []


def test_the_admin_is_for_staff_only(cast: dict[str, User]) -> None:
    admin_routes = [route for route in routes() if route.startswith("admin/")]
    assert "admin/" in admin_routes
    for who in (None, cast["alice"], cast["shop"]):
        for url in ("/admin/", "/admin/identity/user/", "/admin/payments/transaction/"):
            assert goes_to_sign_in(signed_in(who).get(url), "/admin/login/"), (who, url)
