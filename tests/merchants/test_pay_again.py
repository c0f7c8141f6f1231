"""Issue 17, item 4 for merchant checkout: a checkout payment that was cancelled or expired offers
"pay again": a form with a key minted when it is shown makes one new payment intent (same merchant,
amount, description, return address) that only this customer may pay, confirmed on its own checkout
page; a double click, a second tab or a retry makes no second one; the new payment and the failed
one link to each other in both timelines."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from okpay.core.errors import NotFound
from okpay.merchants import services
from okpay.merchants.models import PaymentIntent, WebhookEvent
from okpay.payments.models import Transaction
from tests.merchants.conftest import available

pytestmark = pytest.mark.django_db


def key_of(html: str) -> str:
    return re.search(r'name="idempotency_key" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]


@pytest.fixture
def web(funded) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(funded)
    return client


@pytest.fixture
def expired(merchant, funded):  # type: ignore[no-untyped-def]
    """A manual-capture payment the merchant never captured: the hold expired, no money taken."""
    intent = services.intent_create(merchant=merchant, amount=4_200, description="龙井 50 g",
                                    return_url="https://shop.example/orders/7", capture="manual")
    services.intent_confirm(intent_id=intent.public_id, customer=funded)
    PaymentIntent.objects.filter(pk=intent.pk).update(capture_before=timezone.now() - timedelta(seconds=1))
    assert services.intents_expire_due() == 1
    intent.refresh_from_db()
    assert intent.status == "cancelled" and intent.cancellation_reason == "expired"
    return intent


def test_an_expired_checkout_payment_is_paid_again_once_and_linked_both_ways(web, funded, merchant, expired):
    failed_txn = expired.customer_txn
    detail = web.get(f"/wallet/transactions/{failed_txn.public_id}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert f'href="/checkout/{expired.public_id}/done/"' in detail and 'data-testid="pay-again"' in detail
    done = web.get(f"/checkout/{expired.public_id}/done/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'data-testid="checkout-pay-again"' in done and "This payment link has expired" in done
    key = key_of(done)
    assert key != key_of(web.get(f"/checkout/{expired.public_id}/done/").content.decode())  # minted per form
    before = available(funded)
    url = f"/checkout/{expired.public_id}/again/"
    first = web.post(url, {"idempotency_key": key})
    second = web.post(url, {"idempotency_key": key})  # a double click
    other_tab = web.post(url, {"idempotency_key": "another-tab"})
    assert first.status_code == second.status_code == other_tab.status_code == 302
    assert first["Location"] == second["Location"] == other_tab["Location"]
    [again] = PaymentIntent.objects.filter(again_of=expired)
    assert first["Location"] == f"/checkout/{again.public_id}/"
    assert (again.amount, again.description, again.return_url, again.capture_method, again.customer_id) == (
        4_200, "龙井 50 g", "https://shop.example/orders/7", "manual", funded.pk)
    assert again.status == "requires_confirmation" and available(funded) == before  # nothing paid yet
    assert WebhookEvent.objects.filter(type="payment_intent.created",
                                       data__pay_again_of=expired.public_id).count() == 1
    page = web.get(first["Location"]).content.decode()
    pay = web.post(first["Location"], {"idempotency_key": key_of(page)})
    assert pay.status_code == 302
    again.refresh_from_db()
    assert again.status == "requires_capture" and available(funded) == before - 4_200
    assert again.customer_txn.retry_of_id == failed_txn.pk
    new_page = web.get(f"/wallet/transactions/{again.customer_txn.public_id}/").content.decode()
    assert 'data-testid="retry-of"' in new_page and failed_txn.public_id in new_page
    old_page = web.get(f"/wallet/transactions/{failed_txn.public_id}/").content.decode()
    assert 'data-testid="paid-again"' in old_page and 'data-testid="pay-again"' not in old_page
    done_again = web.get(f"/checkout/{expired.public_id}/done/").content.decode()
    assert 'data-testid="checkout-pay-again"' not in done_again and again.public_id in done_again
    assert web.post(url, {"idempotency_key": "late"})["Location"] == first["Location"]  # still the one


def test_a_merchant_cancelled_authorisation_offers_pay_again_too(web, funded, merchant):
    intent = services.intent_create(merchant=merchant, amount=1_000, capture="manual")
    services.intent_confirm(intent_id=intent.public_id, customer=funded)
    services.intent_cancel(merchant=merchant, intent_id=intent.public_id)
    zh = web.get(f"/checkout/{intent.public_id}/done/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "重新发起支付" in zh and "在下一页确认之前不会扣款" in zh


def test_only_the_payer_may_pay_again_and_only_a_failed_payment(web, funded, bob, merchant, expired):
    other = Client()
    other.force_login(bob)
    assert other.get(f"/checkout/{expired.public_id}/done/").status_code == 404
    assert other.post(f"/checkout/{expired.public_id}/again/", {"idempotency_key": "k"}).status_code == 404
    assert not PaymentIntent.objects.filter(again_of=expired).exists()
    # A payment that went through offers nothing; a forged POST changes nothing.
    paid = services.intent_create(merchant=merchant, amount=500)
    services.intent_confirm(intent_id=paid.public_id, customer=funded)
    assert 'data-testid="checkout-pay-again"' not in web.get(f"/checkout/{paid.public_id}/done/").content.decode()
    refused = web.post(f"/checkout/{paid.public_id}/again/", {"idempotency_key": "k2"})
    assert refused.status_code == 409 and not PaymentIntent.objects.filter(again_of=paid).exists()
    assert web.post(f"/checkout/{expired.public_id}/again/", {}).status_code == 400  # no key: nothing made
    # The new intent is the payer's: someone else with its link cannot pay it.
    made = services.intent_pay_again(customer=funded, intent_id=expired.public_id)
    bob_txns = Transaction.objects.filter(user=bob).count()
    assert other.get(f"/checkout/{made.public_id}/").status_code == 404
    with pytest.raises(NotFound):
        services.intent_confirm(intent_id=made.public_id, customer=bob)
    assert Transaction.objects.filter(user=bob).count() == bob_txns
