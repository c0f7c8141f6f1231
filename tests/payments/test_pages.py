"""The wallet pages: forms with idempotency keys, confirmation screen, list, detail, receipts, CSV."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from okpay.payments import services
from okpay.payments.models import Transaction
from tests.payments.conftest import assert_ledger_ok, available, held

pytestmark = pytest.mark.django_db


@pytest.fixture
def web(funded) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(funded)
    return client


def form_key(html: str) -> str:
    match = re.search(r'name="idempotency_key" value="([^"]+)"', html)
    assert match, "the form carries a hidden idempotency key"
    return match.group(1)


def test_home_shows_balances_limits_chart_and_activity(web, funded, bob):
    services.transfer_create(sender=funded, to="bob@example.com", amount=1_234)
    services.withdrawal_create(user=funded, amount=1_000)
    page = web.get("/wallet/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    html = page.content.decode()
    assert page.status_code == 200
    assert "¥977.66" in html and "¥10.00" in html  # available, held
    assert "最近交易" in html
    assert 'class="chart-bar"' in html and "¥12.34" in html
    from okpay.payments.selectors import spending_by_category

    assert [s.amount for s in spending_by_category(funded)] == [1_234]  # the held withdrawal is not spending
    assert "单笔限额" in html and "今日剩余额度" in html


def test_send_flow_confirmation_then_double_submit_is_one_transfer(web, funded, bob):
    html = web.get("/wallet/send/").content.decode()
    key = form_key(html)
    details = {"stage": "details", "idempotency_key": key, "to": "bob@example.com", "amount": "12.50", "note": "书"}
    confirm = web.post("/wallet/send/", details)
    assert confirm.status_code == 200
    assert 'data-testid="recipient-name">B*b<' in confirm.content.decode()
    assert 'data-testid="recipient-typed">bob@example.com<' in confirm.content.decode()  # what they typed
    assert Transaction.objects.filter(type="transfer").count() == 0
    final = {**details, "stage": "confirm"}
    first = web.post("/wallet/send/", final)
    second = web.post("/wallet/send/", final)
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]
    assert Transaction.objects.filter(user=funded, type="transfer").count() == 1
    assert available(bob) == 1_250
    detail = web.get(first["Location"])
    assert detail.status_code == 200 and "txn_" in detail.content.decode()
    assert_ledger_ok()


def test_send_errors_are_shown_on_the_form(web, funded):
    key = form_key(web.get("/wallet/send/").content.decode())
    answer = web.post("/wallet/send/", {"stage": "details", "idempotency_key": key, "to": "+8613900000000",
                                        "amount": "1"})
    assert answer.status_code == 422
    assert form_key(answer.content.decode()) != key
    too_much = web.post("/wallet/send/", {"stage": "confirm", "idempotency_key": "k2", "to": "z@example.com",
                                          "amount": "5000"}, HTTP_ACCEPT_LANGUAGE="en")
    assert too_much.status_code == 422
    page = too_much.content.decode()
    assert 'role="alert"' in page and 'data-testid="error-amount"' in page  # the refusal is shown, not lost
    assert held(funded) == 0 and Transaction.objects.filter(type="transfer").count() == 0


def test_pending_detail_explains_and_cancel_restores(web, funded):
    txn = services.transfer_create(sender=funded, to="someone@example.com", amount=3_000)
    html = web.get(f"/wallet/transactions/{txn.public_id}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'data-testid="cancel"' in html
    assert f"transaction={txn.public_id}" in html
    answer = web.post(f"/wallet/transactions/{txn.public_id}/cancel/")
    assert answer.status_code == 302
    txn.refresh_from_db()
    assert txn.status == "cancelled" and available(funded) == 100_000
    again = web.post(f"/wallet/transactions/{txn.public_id}/cancel/", {"idempotency_key": "second"})
    assert again.status_code == 302


def test_other_peoples_pages_are_404(web, funded, mallory):
    txn = services.topup_create(user=funded, amount=100)
    other = Client()
    other.force_login(mallory)
    for path in ("/", "/receipt/", "/receipt.svg"):
        assert other.get(f"/wallet/transactions/{txn.public_id}{path}").status_code == 404


def test_top_up_withdraw_and_bill_forms(web, funded, billers):
    key = form_key(web.get("/wallet/top-up/").content.decode())
    assert web.post("/wallet/top-up/", {"idempotency_key": key, "amount": "100"}).status_code == 302
    key = form_key(web.get("/wallet/withdraw/").content.decode())
    assert web.post("/wallet/withdraw/", {"idempotency_key": key, "amount": "50.5"}).status_code == 302
    html = web.get("/wallet/bills/").content.decode()
    assert "state-grid-sh" in html
    answer = web.post("/wallet/bills/", {"idempotency_key": form_key(html), "biller": "sh-gas",
                                         "account_reference": "SG12345674", "amount": "20"})
    assert answer.status_code == 302
    bad = web.post("/wallet/bills/", {"idempotency_key": "x1", "biller": "sh-gas", "account_reference": "12",
                                      "amount": "20"})
    assert bad.status_code == 400
    assert available(funded) == 100_000 + 10_000 - 5_050 - 2_000
    assert_ledger_ok()


def test_list_filters_paging_receipts_and_csv(web, funded):
    for amount in range(1, 26):
        services.topup_create(user=funded, amount=amount)
    first = web.get("/wallet/transactions/?type=top_up").content.decode()
    assert first.count('class="txn-row"') == 20
    cursor = re.search(r'cursor=([^"&]+)', first).group(1)  # type: ignore[union-attr]
    second = web.get(f"/wallet/transactions/?type=top_up&cursor={cursor}").content.decode()
    assert second.count('class="txn-row"') == 6
    txn = Transaction.objects.filter(user=funded).first()
    receipt = web.get(f"/wallet/transactions/{txn.public_id}/receipt/")
    assert receipt.status_code == 200 and txn.public_id in receipt.content.decode()
    svg = web.get(f"/wallet/transactions/{txn.public_id}/receipt.svg")
    assert svg["Content-Type"].startswith("image/svg+xml") and b"<svg" in svg.content
    import xml.dom.minidom

    xml.dom.minidom.parseString(svg.content)  # noqa: S318 - our own output, well-formed
    from django.utils import timezone

    today = timezone.localdate().isoformat()
    csv_answer = web.get(f"/wallet/transactions/export.csv?from={today}&to={today}")
    body = b"".join(csv_answer.streaming_content).decode()
    lines = body.lstrip("\ufeff").strip().splitlines()
    assert lines[0].startswith("id,created_at,type,status") and len(lines) == 27
    assert web.get("/wallet/transactions/export.csv?from=2030-01-01&to=2020-01-01").status_code == 400


def test_notifications_page_marks_read(web, funded):
    html = web.get("/wallet/notifications/").content.decode()
    assert "txn_" in html
    assert web.get("/wallet/").content.decode().count('class="badge"') == 0


def test_pages_need_login(client):
    assert client.get("/wallet/").status_code == 302


def test_money_form_asks_for_the_2fa_code_above_the_step_up_amount(web, funded, settings):
    from django_otp.oath import totp
    from django_otp.plugins.otp_totp.models import TOTPDevice

    settings.OKPAY_STEP_UP_AMOUNT = 1_000
    device = TOTPDevice.objects.create(user=funded, name="phone", confirmed=True)
    html = web.get("/wallet/withdraw/").content.decode()
    answer = web.post("/wallet/withdraw/", {"idempotency_key": form_key(html), "amount": "20"})
    assert answer.status_code == 401
    page = answer.content.decode()
    assert 'name="otp_code"' in page and 'class="otp-details"' not in page  # shown, not folded away
    assert held(funded) == 0
    code = f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"
    done = web.post("/wallet/withdraw/", {"idempotency_key": form_key(page), "amount": "20", "otp_code": code})
    assert done.status_code == 302
    assert held(funded) == 2_000



def test_a_refused_payment_shows_its_page_made_after_the_rollback_and_replays_it(web, funded, bob, settings):
    """The money service runs without a savepoint (its error dooms the transaction), so the page
    of the refusal, which reads the limits, is made after the rollback; it is stored for a double
    submit like any refusal."""
    settings.OKPAY_LIMIT_EMAIL_DAILY = 50_000
    services.transfer_create(sender=funded, to="bob@example.com", amount=30_000)
    form = {"idempotency_key": "over-the-limit", "amount": "300"}
    first = web.post("/wallet/withdraw/", form, HTTP_ACCEPT_LANGUAGE="en")
    second = web.post("/wallet/withdraw/", form, HTTP_ACCEPT_LANGUAGE="en")
    assert first.status_code == second.status_code == 422
    html = first.content.decode()
    assert "This payment would take you over your daily limit." in html
    assert 'data-testid="remaining-today">¥200.00<' in html
    assert second.content == first.content and second["Idempotent-Replayed"] == "true"
    assert held(funded) == 0 and available(funded) == 70_000


def test_no_two_factor_code_field_for_people_without_two_factor(web, funded):
    for path in ("/wallet/send/", "/wallet/withdraw/", "/wallet/bills/"):
        page = web.get(path).content.decode()
        assert 'name="otp_code"' not in page and 'class="otp-details"' not in page, path
