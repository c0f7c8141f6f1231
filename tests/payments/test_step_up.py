"""Issue 17, item 1: step-up for every customer. Without an authenticator app, a large payment (or a
first one to a new payee) is confirmed with a one-time code sent by SMS to the verified phone, else
by email; the code is bound to that payment (amount, payee, Idempotency-Key), single-use,
short-lived and rate-limited."""

from __future__ import annotations

import json
import re

import pytest
from django.test import Client
from django.utils import timezone

from okpay.identity.models import OutboundSms, StepUpChallenge
from okpay.merchants import services as merchants
from okpay.merchants.models import Merchant
from okpay.payments import services
from okpay.payments.models import Transaction
from tests.factories import step_up_code, stepped_up, user_create
from tests.payments.conftest import assert_ledger_ok, available

pytestmark = pytest.mark.django_db

PHONE = "+8613800138000"


def post(client, path, body, key):  # type: ignore[no-untyped-def]
    return client.post(path, data=json.dumps(body), content_type="application/json",
                       headers={"Idempotency-Key": key})


@pytest.fixture
def rich(funded):  # type: ignore[no-untyped-def]
    """alice (no TOTP, no phone) with ¥3,000.00."""
    services.topup_create(user=funded, amount=200_000)
    return funded


@pytest.fixture
def with_phone(rich):  # type: ignore[no-untyped-def]
    rich.phone, rich.phone_verified_at = PHONE, timezone.now()
    rich.save(update_fields=["phone", "phone_verified_at"])
    return rich


def test_a_large_transfer_without_totp_needs_the_code_sent_by_email(api_client, rich, bob):
    client = api_client(rich)
    refused = post(client, "/api/v1/transfers", {"to": bob.email, "amount": 150_000}, "k1")
    assert refused.status_code == 401, refused.content  # it answered 201 before the fix
    error = refused.json()["error"]
    assert (error["code"], error["param"], error["method"]) == ("otp_required", "otp_code", "email")
    assert "a***@example.com" in error["message"]
    assert Transaction.objects.filter(type="transfer").count() == 0 and available(bob) == 0
    code = step_up_code(rich)
    paid = post(client, "/api/v1/transfers", {"to": bob.email, "amount": 150_000, "otp_code": code}, "k1")
    assert paid.status_code == 201, paid.content
    assert available(rich) == 300_000 - 150_000
    assert_ledger_ok()


def test_the_code_goes_by_sms_to_a_verified_phone(api_client, with_phone, bob):
    client = api_client(with_phone)
    refused = post(client, "/api/v1/transfers", {"to": bob.email, "amount": 150_000}, "k1")
    assert refused.json()["error"]["method"] == "sms"
    sms = OutboundSms.objects.get()
    assert sms.to == PHONE and "¥1,500.00" in sms.body
    code = re.search(r"(\d{6})", sms.body).group(1)  # type: ignore[union-attr]
    assert post(client, "/api/v1/transfers", {"to": bob.email, "amount": 150_000, "otp_code": code},
                "k1").status_code == 201


def test_the_code_is_bound_to_its_payment_and_works_once(api_client, with_phone, bob, mallory):
    client = api_client(with_phone)
    post(client, "/api/v1/transfers", {"to": bob.email, "amount": 150_000}, "k1")
    code = step_up_code(with_phone)
    # Another payee, another amount, another key: never accepted, and nothing moves.
    for body, key in (({"to": mallory.email, "amount": 150_000}, "k1"), ({"to": bob.email, "amount": 150_001}, "k1"),
                      ({"to": bob.email, "amount": 150_000}, "k2")):
        answer = post(client, "/api/v1/transfers", {**body, "otp_code": code}, key)
        assert answer.status_code == 401 and answer.json()["error"]["code"] == "otp_required", body
    assert Transaction.objects.filter(type="transfer").count() == 0
    # The k2 attempt above sent a new code for its own payment; the first code still fits k1.
    ok = post(client, "/api/v1/transfers", {"to": bob.email, "amount": 150_000, "otp_code": code}, "k1")
    assert ok.status_code == 201
    # Used: the same code for the same payment under a new key (a new binding) is refused.
    again = post(client, "/api/v1/transfers", {"to": bob.email, "amount": 150_000, "otp_code": code}, "k3")
    assert again.status_code == 401
    assert Transaction.objects.filter(type="transfer", user=with_phone).count() == 1


def test_wrong_codes_are_limited_and_expired_codes_refused(api_client, with_phone, bob, settings):
    client = api_client(with_phone)
    post(client, "/api/v1/transfers", {"to": bob.email, "amount": 150_000}, "k1")
    code = step_up_code(with_phone)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        answer = post(client, "/api/v1/transfers", {"to": bob.email, "amount": 150_000, "otp_code": wrong}, "k1")
        assert answer.json()["error"]["code"] == "invalid_otp"
    # Five wrong tries kill the code: the right one no longer works (a new code is sent instead).
    dead = post(client, "/api/v1/transfers", {"to": bob.email, "amount": 150_000, "otp_code": code}, "k1")
    assert dead.status_code == 401 and dead.json()["error"]["code"] == "otp_required"
    assert Transaction.objects.filter(type="transfer").count() == 0
    # An expired code is refused too.
    StepUpChallenge.objects.update(created_at=timezone.now() - timezone.timedelta(minutes=10),
                                   expires_at=timezone.now() - timezone.timedelta(seconds=1))
    latest = step_up_code(with_phone)
    late = post(client, "/api/v1/transfers", {"to": bob.email, "amount": 150_000, "otp_code": latest}, "k1")
    assert late.status_code == 401 and late.json()["error"]["code"] == "otp_required"
    assert Transaction.objects.filter(type="transfer").count() == 0


def test_codes_sent_are_rate_limited(api_client, with_phone, bob):
    client = api_client(with_phone)
    statuses = [post(client, "/api/v1/transfers", {"to": bob.email, "amount": 150_000}, f"k{i}").status_code
                for i in range(7)]
    assert statuses[:5] == [401] * 5 and statuses[5:] == [429, 429]
    assert OutboundSms.objects.count() == 5


def test_a_retry_within_a_minute_does_not_send_another_code(api_client, with_phone, bob):
    client = api_client(with_phone)
    for _ in range(3):
        post(client, "/api/v1/transfers", {"to": bob.email, "amount": 150_000}, "k1")
    assert OutboundSms.objects.count() == 1


def test_a_new_payee_above_the_lower_amount_needs_the_code(api_client, rich, bob, settings):
    settings.OKPAY_STEP_UP_NEW_PAYEE_AMOUNT = 50_000
    client = api_client(rich)
    first = post(client, "/api/v1/transfers", {"to": bob.email, "amount": 60_000}, "k1")
    assert first.status_code == 401 and first.json()["error"]["method"] == "email"
    assert post(client, "/api/v1/transfers", {"to": bob.email, "amount": 60_000, "otp_code": step_up_code(rich)},
                "k1").status_code == 201
    # Bob is a known payee now: the same amount goes through on the password alone.
    assert post(client, "/api/v1/transfers", {"to": bob.email, "amount": 60_000}, "k2").status_code == 201
    assert post(client, "/api/v1/transfers", {"to": bob.email, "amount": 40_000}, "k3").status_code == 201


def test_bill_payments_need_the_code_too(api_client, rich, billers):
    from okpay.payments.models import Biller

    biller = Biller.objects.filter(max_amount__gte=150_000).order_by("pk").first()
    body = {"biller": biller.code, "account_reference": biller.reference_example, "amount": 150_000}
    client = api_client(rich)
    refused = post(client, "/api/v1/bill-payments", body, "b1")
    assert refused.status_code == 401 and refused.json()["error"]["method"] == "email"
    paid = post(client, "/api/v1/bill-payments", {**body, "otp_code": step_up_code(rich)}, "b1")
    assert paid.status_code == 201, paid.content


def test_checkout_needs_the_code_by_api_and_on_the_page(api_client, with_phone, bob):
    shop = user_create("shop@example.com", name="Shop", role="merchant")
    merchant = Merchant.objects.create(user=shop, name="Tea shop", created_at=timezone.now())
    intent = merchants.intent_create(merchant=merchant, amount=150_000, description="tea")
    client = api_client(with_phone)
    path = f"/api/v1/payment-intents/{intent.public_id}/confirm"
    refused = post(client, path, {}, "c1")
    assert refused.status_code == 401 and refused.json()["error"]["method"] == "sms"
    assert post(client, path, {"otp_code": step_up_code(with_phone)}, "c1").status_code == 200
    # The checkout page: a code field appears after the first click, with the same form key.
    other = merchants.intent_create(merchant=merchant, amount=150_000, description="more tea")
    web = Client()
    web.force_login(with_phone)
    page = web.get(f"/checkout/{other.public_id}/").content.decode()
    key = re.search(r'name="idempotency_key" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    first = web.post(f"/checkout/{other.public_id}/", {"idempotency_key": key}, HTTP_ACCEPT_LANGUAGE="en")
    html = first.content.decode()
    assert first.status_code == 401 and 'data-testid="checkout-code"' in html and key in html
    assert "+86****8000" in html
    done = web.post(f"/checkout/{other.public_id}/", {"idempotency_key": key, "otp_code": step_up_code(with_phone)})
    assert done.status_code == 302
    other.refresh_from_db()
    assert other.status == "succeeded"


def test_the_send_page_sends_the_code_on_the_confirmation_step(with_phone, bob):
    web = Client()
    web.force_login(with_phone)
    page = web.get("/wallet/send/").content.decode()
    key = re.search(r'name="idempotency_key" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    form = {"idempotency_key": key, "to": bob.email, "amount": "1500"}
    confirm = web.post("/wallet/send/", {**form, "stage": "details"}, HTTP_ACCEPT_LANGUAGE="zh-hans")
    html = confirm.content.decode()
    assert 'data-testid="step-up-sent"' in html and "+86****8000" in html and 'name="otp_code"' in html
    assert "确认码" in html  # the field is named for a code by SMS, not an authenticator app
    missing = web.post("/wallet/send/", {**form, "stage": "confirm"})
    assert missing.status_code == 401 and Transaction.objects.filter(type="transfer").count() == 0
    assert key in missing.content.decode()  # the same key: the code sent is bound to it
    sent = web.post("/wallet/send/", {**form, "stage": "confirm", "otp_code": step_up_code(with_phone)})
    assert sent.status_code == 302
    assert available(bob) == 150_000 or Transaction.objects.get(type="transfer", user=with_phone).status == "pending"


def test_services_refuse_without_the_code(rich, bob):
    from okpay.identity.stepup import StepUpRequired

    with pytest.raises(StepUpRequired):
        services.withdrawal_create(user=rich, amount=150_000)
    txn = stepped_up(rich, lambda code: services.withdrawal_create(user=rich, amount=150_000, otp_code=code))
    assert txn.status == "pending"


@pytest.mark.parametrize("page", ["/wallet/bills/", "/wallet/withdraw/"])
def test_the_step_up_hint_without_totp_names_where_the_code_goes_not_an_app(rich, with_phone, billers, page):
    """A customer without 2FA is told the code comes to the verified phone (or email), never to
    enter a two-factor code from an authenticator app they do not have."""
    client = Client()
    client.force_login(rich)
    for lang, phone_text, banned in (("en", "by SMS to your verified phone number", "two-factor"),
                                     ("zh-hans", "短信向您已验证的手机号", "双重验证")):
        html = client.get(page, HTTP_ACCEPT_LANGUAGE=lang).content.decode()
        assert 'data-testid="step-up-hint"' in html and phone_text in html, lang
        assert banned not in html.lower() and "authenticator" not in html.lower(), lang


def test_the_step_up_hint_without_a_phone_names_the_verified_email(rich, billers):
    client = Client()
    client.force_login(rich)
    html = client.get("/wallet/bills/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "to your verified email address" in html and "two-factor" not in html.lower()
