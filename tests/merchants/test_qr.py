"""Merchant QR codes (issue 22 item 2): the printable store code, the store page that opens a
checkout for the amount the customer types (once per form), and the till's one-payment code."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from okpay.merchants.models import PaymentIntent
from tests.factories import sign_in

pytestmark = pytest.mark.django_db


def test_store_code_downloads(merchant, shop) -> None:  # type: ignore[no-untyped-def]
    client = sign_in(shop)
    dashboard = client.get("/merchant/").content.decode()
    assert 'src="/merchant/store-code.svg"' in dashboard and 'href="/merchant/store-code.pdf"' in dashboard
    svg = client.get("/merchant/store-code.svg")
    assert svg["Content-Type"] == "image/svg+xml" and "茶叶小店" in svg.content.decode()
    png = client.get("/merchant/store-code.png")
    assert png.content[:4] == b"\x89PNG" and "okpay-store-code-mer_" in png["Content-Disposition"]
    pdf = client.get("/merchant/store-code.pdf")
    assert pdf["Content-Type"] == "application/pdf" and pdf.content[:5] == b"%PDF-"
    assert client.get("/merchant/store-code.gif").status_code == 404


def test_store_code_is_only_for_merchants(alice) -> None:  # type: ignore[no-untyped-def]
    assert sign_in(alice).get("/merchant/store-code.png").status_code == 404
    assert Client().get("/merchant/store-code.png").status_code == 302


def test_store_page_opens_a_checkout_for_the_typed_amount_once(merchant, funded) -> None:  # type: ignore[no-untyped-def]
    client = sign_in(funded)
    page = client.get(f"/store/{merchant.public_id}/")
    assert page.status_code == 200 and "茶叶小店" in page.content.decode()
    body = {"idempotency_key": "store-key-1", "amount": "36.80", "note": "两杯奶茶"}
    first = client.post(f"/store/{merchant.public_id}/", body)
    second = client.post(f"/store/{merchant.public_id}/", body)  # a double tap: the same checkout
    assert first.status_code == 302 and first["Location"].startswith("/checkout/pi_")
    assert second["Location"] == first["Location"]
    intent = PaymentIntent.objects.get()
    assert (intent.amount, intent.description, intent.status) == (3680, "两杯奶茶", "requires_confirmation")
    checkout = client.get(first["Location"])
    assert checkout.status_code == 200 and "¥36.80" in checkout.content.decode()


def test_store_page_refuses_bad_amounts_and_unknown_merchants(merchant, funded) -> None:  # type: ignore[no-untyped-def]
    client = sign_in(funded)
    for amount in ("", "0", "-5", "1.234", "abc"):
        answer = client.post(f"/store/{merchant.public_id}/", {"idempotency_key": f"k-{amount}", "amount": amount})
        assert answer.status_code == 400, amount
    assert PaymentIntent.objects.count() == 0
    assert client.get("/store/mer_nobody/").status_code == 404


def test_till_code_for_one_payment(merchant, shop, funded) -> None:  # type: ignore[no-untyped-def]
    client = sign_in(shop)
    made = client.post("/merchant/till/", {"amount": "88", "description": "龙井"})
    intent = PaymentIntent.objects.get()
    assert made["Location"] == f"/merchant/till/{intent.public_id}/"
    html = client.get(made["Location"]).content.decode()
    assert f"http://testserver/checkout/{intent.public_id}/" in html and 'class="qr-code"' in html
    assert "¥88.00" in html
    # another merchant's (or a customer's) eyes: nothing
    assert sign_in(funded).get(made["Location"]).status_code == 404
    # A bad amount: the dashboard again (no redirect), the error at the amount (issue 22).
    bad = client.post("/merchant/till/", {"amount": "x", "description": "龙井"})
    page = bad.content.decode()
    tag = re.search(r'<input[^>]*id="till-amount"[^>]*>', page).group(0)  # type: ignore[union-attr]
    assert bad.status_code == 400 and 'aria-invalid="true" aria-describedby="till-error"' in tag and 'value="x"' in tag
    assert re.search(r'role="alert" id="till-error">[^<]+<', page)
    assert PaymentIntent.objects.count() == 1
