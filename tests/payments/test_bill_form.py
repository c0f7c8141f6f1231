"""Issue 18, item 4: the bill form says the expected reference format (per biller) and refuses a bad
reference with a clear error at the field, before anything is paid."""

from __future__ import annotations

import html as html_lib
import json
import re

import pytest
from django.test import Client

from okpay.payments.models import Transaction

pytestmark = pytest.mark.django_db


@pytest.fixture
def web(funded) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(funded)
    return client


def hint_of(page: str) -> str:
    return re.search(r'data-testid="reference-hint"[^>]*>([^<]*)<', page).group(1)  # type: ignore[union-attr]


def test_the_reference_hint_names_the_chosen_billers_format(web, billers):
    en = web.get("/wallet/bills/?biller=sh-gas", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert hint_of(en) == "Format: Gas account (2 letters + 8 digits), for example SG12345674."
    assert 'aria-describedby="reference-hint"' in en
    hints = json.loads(html_lib.unescape(re.search(r'data-hints="([^"]*)"', en).group(1)))  # type: ignore[union-attr]
    assert hints["sh-water"] == "Format: Account number (8 digits), for example 12345674."
    assert set(hints) == {"state-grid-sh", "sh-water", "sh-gas", "china-mobile", "china-unicom"}
    zh = web.get("/wallet/bills/?biller=sh-gas", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert hint_of(zh).startswith("格式：") and "SG12345674" in hint_of(zh)
    assert "payments/bill.js" in zh  # the hint follows the chosen biller


def test_a_bad_reference_is_a_clear_field_error_and_nothing_is_paid(web, billers):
    body = {"idempotency_key": "bill-1", "biller": "sh-gas", "account_reference": "12345", "amount": "12.00"}
    en = web.post("/wallet/bills/", body, HTTP_ACCEPT_LANGUAGE="en")
    assert en.status_code == 400
    page = en.content.decode()
    error = re.search(r'id="id_account_reference-error">([^<]*)<', page).group(1)  # type: ignore[union-attr]
    assert error == "This is not a valid Gas account (2 letters + 8 digits) for Shanghai Gas: it looks like SG12345674."
    assert hint_of(page).startswith("Format: Gas account")  # the hint stays with the chosen biller
    zh = web.post("/wallet/bills/", {**body, "idempotency_key": "bill-2"}, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert zh.status_code == 400 and "这不是有效的上海燃气户号" in zh.content.decode()
    assert not Transaction.objects.filter(type="bill_payment").exists()
    ok = web.post("/wallet/bills/", {**body, "idempotency_key": "bill-3", "account_reference": "sg 1234 5674"})
    assert ok.status_code == 302  # spaces and lower case are fine: the reference is normalised
