"""Issue 17, item 4: "pay again" after a failed payment: a prefilled form with a new idempotency key
(never a blind resubmit); the new transaction links to the failed one in both timelines."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from okpay.payments import services
from okpay.payments.models import Transaction

pytestmark = pytest.mark.django_db


def key_of(html: str) -> str:
    return re.search(r'name="idempotency_key" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]


@pytest.fixture
def web(funded) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(funded)
    return client


@pytest.fixture
def failed_bill(funded, billers, settings):  # type: ignore[no-untyped-def]
    settings.OKPAY_BILL_SUBMIT_SECONDS = 0
    settings.OKPAY_BILL_CONFIRM_SECONDS = 0
    txn = services.bill_payment_create(user=funded, biller="sh-water", account_reference="12345670", amount=1_200)
    services.payments_sweep()
    txn.refresh_from_db()
    assert txn.status == "failed"
    return txn


def test_a_failed_bill_offers_a_prefilled_form_that_pays_once_and_links_both_ways(web, funded, failed_bill):
    detail = web.get(f"/wallet/transactions/{failed_bill.public_id}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'data-testid="pay-again"' in detail
    url = f"/wallet/bills/?again={failed_bill.public_id}"
    assert url in detail
    form = web.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'data-testid="pay-again-banner"' in form and failed_bill.public_id in form
    assert 'value="12345670"' in form and 'value="12.00"' in form and 'value="sh-water" selected' in form
    key = key_of(form)
    assert key != key_of(web.get(url).content.decode())  # a new key for each form: never a blind resubmit
    # Nothing was paid by showing the form.
    assert Transaction.objects.filter(user=funded, type="bill_payment").count() == 1
    body = {"idempotency_key": key, "again": failed_bill.public_id, "biller": "sh-water",
            "account_reference": "12345674", "amount": "12.00"}
    one = web.post("/wallet/bills/", body)
    two = web.post("/wallet/bills/", body)
    assert one.status_code == two.status_code == 302 and one["Location"] == two["Location"]
    again = Transaction.objects.get(user=funded, type="bill_payment", retry_of=failed_bill)
    assert Transaction.objects.filter(user=funded, type="bill_payment").count() == 2
    new_page = web.get(f"/wallet/transactions/{again.public_id}/").content.decode()
    assert 'data-testid="retry-of"' in new_page and failed_bill.public_id in new_page
    old_page = web.get(f"/wallet/transactions/{failed_bill.public_id}/").content.decode()
    assert 'data-testid="paid-again"' in old_page and again.public_id in old_page
    assert 'data-testid="pay-again"' not in old_page  # paid again already: the link to it instead


def test_a_cancelled_transfer_is_paid_again_to_the_same_person(web, funded, bob):
    txn = services.transfer_create(sender=funded, to="guest@example.com", amount=2_500, note="午饭")
    services.transaction_cancel(user=funded, txn_id=txn.public_id)
    form = web.get(f"/wallet/send/?again={txn.public_id}").content.decode()
    assert 'value="guest@example.com"' in form and 'value="25.00"' in form and 'value="午饭"' in form
    key = key_of(form)
    data = {"idempotency_key": key, "again": txn.public_id, "to": "guest@example.com", "amount": "25.00",
            "note": "午饭"}
    confirm = web.post("/wallet/send/", {**data, "stage": "details"})
    assert confirm.status_code == 200 and txn.public_id in confirm.content.decode()  # "again" rides along
    sent = web.post("/wallet/send/", {**data, "stage": "confirm"})
    assert sent.status_code == 302
    assert Transaction.objects.get(user=funded, type="transfer", retry_of=txn).amount == 2_500


def test_only_ones_own_failed_payments_can_be_paid_again(web, funded, bob, failed_bill):
    # Someone else's, or a payment that went through: a plain, empty form, and no link.
    ok = services.topup_create(user=funded, amount=100)
    for target in (ok.public_id, "txn_nothing"):
        form = web.get(f"/wallet/top-up/?again={target}").content.decode()
        assert 'data-testid="pay-again-banner"' not in form
    other = Client()
    other.force_login(bob)
    theirs = other.get(f"/wallet/bills/?again={failed_bill.public_id}").content.decode()
    assert 'data-testid="pay-again-banner"' not in theirs
    assert 'data-testid="pay-again"' not in web.get(f"/wallet/transactions/{ok.public_id}/").content.decode()
    # A forged "again" on someone else's payment links nothing.
    services.topup_create(user=bob, amount=5_000)
    body = {"idempotency_key": "k1", "again": failed_bill.public_id, "biller": "sh-water",
            "account_reference": "12345674", "amount": "12.00"}
    assert other.post("/wallet/bills/", body).status_code == 302
    assert not Transaction.objects.filter(user=bob, retry_of__isnull=False).exists()
