"""Receive codes (issue 22 item 2): the code's link, "pay this person" with the masked name, and a
payment from a code going through the same confirmation, step-up and idempotency as any transfer."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client

from okpay.payments.models import Transaction
from okpay.payments.services import wallet
from tests.factories import sign_in, totp_code, totp_device, user_create
from tests.payments.conftest import assert_ledger_ok, available

pytestmark = pytest.mark.django_db


def _link(html: str) -> str:
    return html.split('data-testid="receive-link">', 1)[1].split("</code>", 1)[0].replace("&amp;", "&")


def test_receive_code_links_to_pay_this_person(bob) -> None:  # type: ignore[no-untyped-def]
    client = sign_in(bob)
    html = client.get("/wallet/receive/").content.decode()
    wallet_id = wallet(bob).public_id
    assert _link(html) == f"http://testserver/pay/{wallet_id}/"
    assert '<svg xmlns="http://www.w3.org/2000/svg"' in html and 'class="qr-code"' in html
    fixed = client.get("/wallet/receive/", {"amount": "12.5", "note": "午饭 AA"})
    link = urlsplit(_link(fixed.content.decode()))
    assert link.path == f"/pay/{wallet_id}/" and parse_qs(link.query) == {"amount": ["12.50"], "note": ["午饭 AA"]}
    assert 'data-testid="receive-amount">¥12.50<' in fixed.content.decode()
    png = client.get("/wallet/receive/qr.png", {"amount": "12.5"})
    assert png["Content-Type"] == "image/png" and png.content[:4] == b"\x89PNG"
    assert "no-store" in png["Cache-Control"]


def test_receive_code_refuses_a_bad_amount(bob) -> None:  # type: ignore[no-untyped-def]
    client = sign_in(bob)
    answer = client.get("/wallet/receive/", {"amount": "-3"})
    assert answer.status_code == 400
    assert "Enter an amount such as 10 or 10.50." in answer.content.decode() or "请输入" in answer.content.decode()
    assert _link(answer.content.decode()) == f"http://testserver/pay/{wallet(bob).public_id}/"
    assert client.get("/wallet/receive/qr.png", {"amount": "abc"}).status_code == 400


def test_pay_this_person_shows_the_masked_name_first(funded, bob) -> None:  # type: ignore[no-untyped-def]
    answer = sign_in(funded).get(f"/pay/{wallet(bob).public_id}/", {"amount": "20", "note": "咖啡"})
    html = answer.content.decode()
    assert answer.status_code == 200
    assert 'data-testid="payee-name">B**<' in html or 'data-testid="payee-name">B*' in html
    assert "Bob" not in html.split('data-testid="payee-name">', 1)[1].split("<", 1)[0]
    assert 'name="amount" value="20.00" readonly' in html
    assert 'action="/wallet/send/"' in html and 'name="stage" value="details"' in html


def test_pay_this_person_refuses_unknown_and_own_codes(funded) -> None:  # type: ignore[no-untyped-def]
    client = sign_in(funded)
    unknown = client.get("/pay/acc_nobodyHere1234567890/")
    assert unknown.status_code in (400, 404) and 'data-testid="pay-to-problem"' in unknown.content.decode()
    own = client.get(f"/pay/{wallet(funded).public_id}/")
    assert own.status_code in (400, 422) and 'data-testid="pay-to-problem"' in own.content.decode()
    anonymous = Client().get(f"/pay/{wallet(funded).public_id}/")
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/account/login/")


def _from_code(client: Client, payee, amount: str, key: str, otp: str = ""):  # type: ignore[no-untyped-def]
    """What the pay-this-person form posts, then what its confirmation screen posts."""
    to = wallet(payee).public_id
    first = client.post("/wallet/send/", {"stage": "details", "idempotency_key": key, "to": to,
                                          "amount": amount, "note": "扫码"})
    assert first.status_code == 200 and "data-testid=\"recipient-name\"" in first.content.decode()
    return first, client.post("/wallet/send/", {"stage": "confirm", "idempotency_key": key, "to": to,
                                                "amount": amount, "note": "扫码", "otp_code": otp})


def test_a_payment_from_a_code_is_confirmed_once(funded, bob) -> None:  # type: ignore[no-untyped-def]
    client = sign_in(funded)
    _, paid = _from_code(client, bob, "20.00", "qr-key-1")
    assert paid.status_code == 302 and "/wallet/transactions/txn_" in paid["Location"]
    again = client.post("/wallet/send/", {"stage": "confirm", "idempotency_key": "qr-key-1",  # a double click
                                          "to": wallet(bob).public_id, "amount": "20.00", "note": "扫码",
                                          "otp_code": ""})
    assert again["Location"] == paid["Location"]  # the same answer: one payment
    assert Transaction.objects.filter(user=funded, type="transfer").count() == 1
    assert available(funded) == 100_000 - 2_000 and available(bob) == 2_000
    assert_ledger_ok()


def test_a_large_payment_from_a_code_needs_the_step_up(settings, bob) -> None:  # type: ignore[no-untyped-def]
    from okpay.payments.services import topup_create

    payer = user_create("carol@example.com", name="Carol")
    totp_device(payer)  # a customer who turned on two-factor sign-in
    topup_create(user=payer, amount=500_000)
    settings.OKPAY_STEP_UP_AMOUNT = 100_000
    client = sign_in(payer)
    confirm, refused = _from_code(client, bob, "1500", "qr-key-2")
    assert 'name="otp_code"' in confirm.content.decode()
    assert refused.status_code in (401, 403, 422)
    assert Transaction.objects.filter(user=payer, type="transfer").count() == 0
    assert available(payer) == 500_000 and available(bob) == 0
    _, paid = _from_code(client, bob, "1500", "qr-key-3", otp=totp_code(payer))
    assert paid.status_code == 302 and available(bob) == 150_000


def test_scan_page_may_use_the_camera_and_no_other_page_may(alice) -> None:  # type: ignore[no-untyped-def]
    client = sign_in(alice)
    scan = client.get("/wallet/scan/")
    assert scan["Permissions-Policy"].startswith("camera=(self)")
    assert "/static/okpay/vendor/jsqr-1.4.0/jsQR.js" in scan.content.decode()
    assert client.get("/wallet/")["Permissions-Policy"].startswith("camera=()")
