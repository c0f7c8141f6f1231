from __future__ import annotations

import re

import pytest
from django.test import Client

from okpay.merchants import services
from okpay.merchants.models import Merchant, PaymentIntent, Refund, RefundRequest
from tests.factories import user_create
from tests.merchants.conftest import available

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_shop(db):  # type: ignore[no-untyped-def]
    from okpay.merchants.demo import merchants_demo

    user_create("shop@okpay.example", name="Demo Shop", role="merchant")
    merchants_demo()
    return Merchant.objects.get()


def form_key(html: str) -> str:
    import re

    found = re.search(r'name="idempotency_key" value="([^"]+)"', html)
    assert found, "the form carries a hidden idempotency key"
    return found.group(1)


def test_demo_shop_checkout_refund_request_dashboard(demo_shop, funded) -> None:
    customer = Client()
    customer.force_login(funded)
    assert "OKPay 演示茶铺" in customer.get("/demo-shop/").content.decode()
    bought = customer.post("/demo-shop/buy/", {"product": "tea"})
    intent = PaymentIntent.objects.get()
    assert bought.status_code == 302 and bought["Location"] == f"/checkout/{intent.public_id}/"
    page = customer.get(bought["Location"]).content.decode()
    assert "OKPay 演示茶铺" in page and "88.00" in page
    paid = customer.post(f"/checkout/{intent.public_id}/", {"idempotency_key": form_key(page)})
    assert paid.status_code == 302
    intent.refresh_from_db()
    assert intent.status == "succeeded" and available(funded) == 100_000 - 8_800
    assert customer.get(paid["Location"]).status_code == 200
    assert customer.get(f"/demo-shop/orders/{intent.public_id}/").content.decode().count('data-testid="order-status"')
    # Ask for a refund above the auto-approve limit: the merchant decides on the dashboard.
    url = f"/wallet/transactions/{intent.customer_txn.public_id}/refund-request/"
    assert customer.get(url).status_code == 200
    assert customer.post(url, {"amount": "88.00", "reason": "茶叶受潮"}).status_code == 302
    req = RefundRequest.objects.get()
    assert req.status == "pending" and req.amount == 8_800
    merchant = Client()
    merchant.force_login(demo_shop.user)
    board = merchant.get("/merchant/")
    assert board.status_code == 200 and req.public_id in board.content.decode()
    merchant.post(f"/merchant/refund-requests/{req.public_id}/approve/",
                  {"idempotency_key": form_key(board.content.decode())})
    req.refresh_from_db()
    assert req.status == "approved" and available(funded) == 100_000
    assert "已批准" in customer.get(url).content.decode() or "Approved" in customer.get(url).content.decode()
    svg = merchant.get("/merchant/sales.svg")
    assert svg["Content-Type"] == "image/svg+xml" and b"<rect" in svg.content
    csv = merchant.get("/merchant/export.csv").content.decode()
    assert csv.splitlines()[1].startswith(f"{intent.public_id},") and ",succeeded,8800,8800,8800,CNY," in csv
    # Keys from the dashboard: shown once.
    merchant.post("/merchant/keys/", {"name": "server"})
    shown = merchant.get("/merchant/").content.decode()
    assert 'data-testid="new-key"' in shown
    assert 'data-testid="new-key"' not in merchant.get("/merchant/").content.decode()


def test_declined_request_offers_support(demo_shop, funded) -> None:
    intent = services.intent_create(merchant=demo_shop, amount=9_000)
    txn = services.intent_confirm(intent_id=intent.public_id, customer=funded)
    req = services.refund_request_create(customer=funded, txn_id=txn.public_id, reason="x")
    services.refund_request_decline(merchant=demo_shop, request_id=req.public_id, reason="已拆封")
    customer = Client()
    customer.force_login(funded)
    page = customer.get(f"/wallet/transactions/{txn.public_id}/refund-request/").content.decode()
    assert f"/support/new/?category=payment&amp;transaction={txn.public_id}" in page and "已拆封" in page


def test_pages_refuse_others(demo_shop, funded, bob) -> None:
    intent = services.intent_create(merchant=demo_shop, amount=100)
    txn = services.intent_confirm(intent_id=intent.public_id, customer=funded)
    other = Client()
    other.force_login(bob)
    assert other.get(f"/checkout/{intent.public_id}/").status_code == 404
    assert other.get(f"/wallet/transactions/{txn.public_id}/refund-request/").status_code == 404
    assert other.get("/merchant/").status_code == 404
    assert Client().get(f"/checkout/{intent.public_id}/").status_code == 302  # to the sign-in page


def test_checkout_asks_for_2fa_above_the_step_up_amount(demo_shop, funded, settings) -> None:
    from django_otp.oath import totp
    from django_otp.plugins.otp_totp.models import TOTPDevice

    settings.OKPAY_STEP_UP_AMOUNT = 1_000
    device = TOTPDevice.objects.create(user=funded, name="phone", confirmed=True)
    intent = services.intent_create(merchant=demo_shop, amount=5_000, description="礼盒")
    customer = Client()
    customer.force_login(funded)
    page = customer.get(f"/checkout/{intent.public_id}/").content.decode()
    assert 'name="otp_code"' in page
    refused = customer.post(f"/checkout/{intent.public_id}/", {"idempotency_key": form_key(page)})
    assert refused.status_code == 401 and 'data-testid="checkout-error"' in refused.content.decode()
    wrong = customer.post(f"/checkout/{intent.public_id}/", {"otp_code": "000000", "idempotency_key": "k-wrong"})
    assert wrong.status_code == 401
    intent.refresh_from_db()
    assert intent.status == "requires_confirmation" and available(funded) == 100_000
    code = f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"
    paid = customer.post(f"/checkout/{intent.public_id}/", {"otp_code": code, "idempotency_key": "k-ok"})
    assert paid.status_code == 302
    intent.refresh_from_db()
    assert intent.status == "succeeded" and available(funded) == 95_000


def test_policy_form(demo_shop) -> None:
    merchant = Client()
    merchant.force_login(demo_shop.user)
    merchant.post("/merchant/policy/", {"refund_window_days": "7", "auto_approve_up_to": ""})
    demo_shop.refresh_from_db()
    assert demo_shop.refund_window_days == 7 and demo_shop.auto_approve_up_to is None
    merchant.post("/merchant/policy/", {"refund_window_days": "10", "auto_approve_up_to": "¥20.50"})
    demo_shop.refresh_from_db()
    assert demo_shop.refund_window_days == 10 and demo_shop.auto_approve_up_to == 2_050
    merchant.post("/merchant/policy/", {"refund_window_days": "-1", "auto_approve_up_to": ""})
    demo_shop.refresh_from_db()
    assert demo_shop.refund_window_days == 10
    assert merchant.get("/merchant/").status_code == 200


def test_endpoint_actions_on_dashboard(demo_shop, settings) -> None:
    settings.OKPAY_WEBHOOK_ALLOW_PRIVATE = True
    endpoint = services.webhook_endpoint_create(merchant=demo_shop, url="http://127.0.0.1:9/h", events=["*"])
    old_secret = endpoint.secret
    merchant = Client()
    merchant.force_login(demo_shop.user)
    merchant.post(f"/merchant/webhooks/{endpoint.public_id}/disable/")
    endpoint.refresh_from_db()
    assert not endpoint.enabled and endpoint.disabled_reason == "by_merchant"
    merchant.post(f"/merchant/webhooks/{endpoint.public_id}/enable/")
    merchant.post(f"/merchant/webhooks/{endpoint.public_id}/rotate/")
    endpoint.refresh_from_db()
    assert endpoint.enabled and endpoint.secret != old_secret
    assert endpoint.secret in merchant.get("/merchant/").content.decode()


def test_checkout_shows_merchant_and_amount_before_sign_in_and_signs_in_on_the_page(demo_shop) -> None:
    intent = services.intent_create(merchant=demo_shop, amount=12_800, description="西湖龙井 250g",
                                    return_url="https://shop.example/cart")
    page = Client().get(f"/checkout/{intent.public_id}/")
    html = page.content.decode()
    assert page.status_code == 200
    assert "¥128.00" in html and "西湖龙井 250g" in html and demo_shop.name in html
    assert 'action="/account/login/"' in html and f'name="next" value="/checkout/{intent.public_id}/"' in html
    assert 'href="https://shop.example/cart"' in html  # back to the merchant / cancel
    assert "site-header" not in html and "okpay-chat" not in html  # a focused page


@pytest.mark.parametrize(("reason", "words"), [("requested_by_merchant", "付款已取消"),
                                              ("expired", "此付款链接已过期")])
def test_checkout_says_cancelled_or_expired(demo_shop, reason: str, words: str) -> None:
    intent = services.intent_create(merchant=demo_shop, amount=3_000, return_url="https://shop.example/cart")
    services.intent_cancel(merchant=demo_shop, intent_id=intent.public_id, reason=reason)
    html = Client().get(f"/checkout/{intent.public_id}/").content.decode()
    assert words in html and "没有扣款" in html and 'href="https://shop.example/cart"' in html


def test_dashboard_has_a_refund_button_per_payment_with_the_amount_and_window(demo_shop, funded) -> None:
    intent = services.intent_create(merchant=demo_shop, amount=6_600, description="白瓷杯")
    services.intent_confirm(intent_id=intent.public_id, customer=funded)
    shop = Client()
    shop.force_login(demo_shop.user)
    html = shop.get("/merchant/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert f'data-testid="refund-{intent.public_id}"' in html
    assert f'id="refund-amount-{intent.public_id}" name="amount" inputmode="decimal" value="66.00"' in html
    assert "最多可退 ¥66.00，截至" in html and 'placeholder="pi_…"' not in html
    assert "网络钩子" not in html
    row_form = html.split(f'id="refund-amount-{intent.public_id}"')[0].rsplit("<form", 1)[1]
    done = shop.post("/merchant/refunds/", {"payment_intent": intent.public_id, "amount": "16.00", "reason": "少",
                                            "idempotency_key": form_key(row_form)})
    assert done.status_code == 302
    intent.refresh_from_db()
    assert intent.amount_refunded == 1_600 or Refund.objects.filter(intent=intent, amount=1_600).exists()


def test_a_new_secret_key_is_shown_once_at_the_top_with_a_copy_button(demo_shop) -> None:
    shop = Client()
    shop.force_login(demo_shop.user)
    shop.post("/merchant/keys/", {"name": "server"})
    html = shop.get("/merchant/").content.decode()
    assert html.index('data-testid="new-key"') < html.index("<section")  # above everything else
    assert 'data-copy="#new-key-value"' in html and "sk_" in html
    assert 'data-testid="new-key"' not in shop.get("/merchant/").content.decode()  # once
# --- issue 17, item 2: one effect per money click on the dashboard and the checkout ---------------------

def _paid_intent(merchant, customer, amount: int = 3_000, capture: str = "automatic"):  # type: ignore[no-untyped-def]
    intent = services.intent_create(merchant=merchant, amount=amount, description="茶", capture=capture)
    services.intent_confirm(intent_id=intent.public_id, customer=customer)
    intent.refresh_from_db()
    return intent


def _board(merchant) -> tuple[Client, str]:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(merchant.user)
    return client, client.get("/merchant/").content.decode()


def _key_of(html: str, action: str) -> str:
    import re

    form = html[html.index(f'action="{action}"'):]
    return re.search(r'name="idempotency_key" value="([^"]+)"', form).group(1)  # type: ignore[union-attr]


def test_dashboard_refund_double_submitted_refunds_once(demo_shop, funded) -> None:
    from okpay.merchants.models import Refund

    intent = _paid_intent(demo_shop, funded)
    board, html = _board(demo_shop)
    key = _key_of(html, "/merchant/refunds/")
    form = {"idempotency_key": key, "payment_intent": intent.public_id, "amount": "10.00", "reason": "破损"}
    one = board.post("/merchant/refunds/", form)
    two = board.post("/merchant/refunds/", form)
    assert one.status_code == two.status_code == 302 and two["Idempotent-Replayed"] == "true"
    assert Refund.objects.count() == 1 and available(funded) == 100_000 - 3_000 + 1_000
    shown = board.get("/merchant/").content.decode()
    assert "已经提交过" in shown or "already sent" in shown  # the second submit says it showed the first result
    # Without a key nothing happens.
    board.post("/merchant/refunds/", {k: v for k, v in form.items() if k != "idempotency_key"})
    assert Refund.objects.count() == 1


@pytest.mark.parametrize("decision", ["approve", "decline"])
def test_dashboard_refund_request_decision_double_submitted_decides_once(demo_shop, funded, decision) -> None:
    from okpay.merchants.models import Refund

    intent = _paid_intent(demo_shop, funded, amount=20_000)  # above the automatic approval
    req = services.refund_request_create(customer=funded, txn_id=intent.customer_txn.public_id, reason="不要了")
    board, html = _board(demo_shop)
    url = f"/merchant/refund-requests/{req.public_id}/{decision}/"
    key = _key_of(html, url)
    for _ in range(2):
        board.post(url, {"idempotency_key": key, "reason": "已发货"})
    req.refresh_from_db()
    assert req.status == ("approved" if decision == "approve" else "declined")
    assert Refund.objects.count() == (1 if decision == "approve" else 0)


@pytest.mark.parametrize("decision", ["capture", "cancel"])
def test_dashboard_capture_and_cancel_double_submitted_act_once(demo_shop, funded, decision) -> None:
    intent = _paid_intent(demo_shop, funded, capture="manual")
    assert intent.status == "requires_capture"
    board, html = _board(demo_shop)
    url = f"/merchant/payments/{intent.public_id}/{decision}/"
    key = _key_of(html, url)
    one = board.post(url, {"idempotency_key": key})
    two = board.post(url, {"idempotency_key": key})
    assert one.status_code == 302 and two["Idempotent-Replayed"] == "true"
    intent.refresh_from_db()
    assert intent.status == ("succeeded" if decision == "capture" else "cancelled")
    assert available(funded) == (97_000 if decision == "capture" else 100_000)


def test_checkout_pay_button_double_submitted_pays_once(demo_shop, funded) -> None:
    from okpay.payments.models import Transaction

    intent = services.intent_create(merchant=demo_shop, amount=2_000, description="茶")
    customer = Client()
    customer.force_login(funded)
    key = form_key(customer.get(f"/checkout/{intent.public_id}/").content.decode())
    one = customer.post(f"/checkout/{intent.public_id}/", {"idempotency_key": key})
    two = customer.post(f"/checkout/{intent.public_id}/", {"idempotency_key": key})
    assert one.status_code == two.status_code == 302 and one["Location"] == two["Location"]
    assert Transaction.objects.filter(user=funded, type="payment").count() == 1 and available(funded) == 98_000


def test_webhook_settings_have_styled_choices_and_a_delivery_log_with_an_empty_state(demo_shop, settings) -> None:
    """Issue 18, item 2: event choices as styled tiles (not a row of raw checkboxes), and a delivery log
    table that says each delivery's status, attempts and next retry, with an empty state."""
    settings.OKPAY_WEBHOOK_ALLOW_PRIVATE = True
    merchant = Client()
    merchant.force_login(demo_shop.user)
    empty = merchant.get("/merchant/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'data-testid="deliveries-empty"' in empty and 'data-testid="delivery-log"' not in empty
    choices = re.findall(r'<label class="event-choice"><input type="checkbox" name="events" value="([^"]+)" checked>',
                         empty)
    assert len(choices) == 10 and "refund.succeeded" in choices
    services.webhook_endpoint_create(merchant=demo_shop, url="http://127.0.0.1:9/h", events=["*"])
    services.intent_create(merchant=demo_shop, amount=1_000)  # payment_intent.created: one delivery, not tried yet
    page = merchant.get("/merchant/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'data-testid="deliveries-empty"' not in page
    log = page[page.index('data-testid="delivery-log"'):]
    headers = re.findall(r'<th scope="col"[^>]*>([^<]*)<', log[:log.index("</thead>")])
    assert headers[:5] == ["Event", "Status", "Attempts", "Last answer", "Next retry"]
    assert 'class="status status-pending" data-testid="delivery-status">Retrying<' in log
    assert re.search(r'data-testid="delivery-attempts">0<', log)
    assert re.search(r'data-testid="delivery-next"><time datetime="', log)
    assert 'data-testid="endpoints"' in page and "all events" in page and 'class="status status-ok"' in page
    zh = merchant.get("/merchant/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "下次重试" in zh and "尝试次数" in zh and "要发送的事件" in zh


# --- form errors are announced (issue 22): the dashboard forms answer bad input on the form -------------

def _invalid(html: str, field_id: str, error_id: str) -> bool:
    """Field ``field_id`` is marked invalid and described by the role=alert error ``error_id``."""
    tag = re.search(rf'<input[^>]*\bid="{re.escape(field_id)}"[^>]*>', html)
    return bool(tag and 'aria-invalid="true"' in tag.group(0) and f'aria-describedby="{error_id}"' in tag.group(0)
                and re.search(rf'role="alert" id="{re.escape(error_id)}">[^<]+<', html))


def test_policy_form_with_bad_input_shows_the_error_at_the_field(demo_shop) -> None:
    board, _ = _board(demo_shop)
    before = (demo_shop.refund_window_days, demo_shop.auto_approve_up_to)
    empty = board.post("/merchant/policy/", {"refund_window_days": "", "auto_approve_up_to": ""})
    html = empty.content.decode()
    assert empty.status_code == 400 and _invalid(html, "refund_window_days", "policy-error")
    assert "退款期限为 0 至 3650 天" in html
    bad_limit = board.post("/merchant/policy/", {"refund_window_days": "9", "auto_approve_up_to": "abc"})
    html = bad_limit.content.decode()
    assert bad_limit.status_code == 400 and _invalid(html, "auto_approve_up_to", "policy-error")
    assert 'value="9"' in html and 'value="abc"' in html  # what was typed is kept
    demo_shop.refresh_from_db()
    assert (demo_shop.refund_window_days, demo_shop.auto_approve_up_to) == before


def test_refund_form_sent_empty_refunds_nothing_and_says_so_at_the_amount(demo_shop, funded) -> None:
    intent = _paid_intent(demo_shop, funded)
    board, html = _board(demo_shop)
    key = _key_of(html, "/merchant/refunds/")
    form = {"idempotency_key": key, "payment_intent": intent.public_id, "amount": "", "reason": ""}
    answer = board.post("/merchant/refunds/", form)
    page = answer.content.decode()
    assert answer.status_code == 400 and _invalid(page, f"refund-amount-{intent.public_id}",
                                                  f"refund-error-{intent.public_id}")
    assert "请输入退款金额" in page and "<details class=\"refund-details\" open>" in page
    assert Refund.objects.count() == 0 and available(funded) == 100_000 - 3_000
    # The page carries a fresh key; corrected, the refund goes through once (post/redirect/get).
    fixed = {**form, "idempotency_key": _key_of(page, "/merchant/refunds/"), "amount": "10.00"}
    assert board.post("/merchant/refunds/", fixed).status_code == 302
    assert board.post("/merchant/refunds/", fixed)["Idempotent-Replayed"] == "true"
    assert Refund.objects.count() == 1 and available(funded) == 100_000 - 3_000 + 1_000


def test_endpoint_form_with_a_bad_address_shows_the_error_at_the_field(demo_shop) -> None:
    from okpay.merchants.models import WebhookEndpoint

    board, _ = _board(demo_shop)
    answer = board.post("/merchant/webhooks/", {"url": "", "events": ["payment_intent.succeeded"]})
    html = answer.content.decode()
    assert answer.status_code == 400 and _invalid(html, "endpoint-url", "endpoint-error")
    assert 'value="payment_intent.succeeded" checked' in html and 'value="refund.succeeded">' in html
    assert not WebhookEndpoint.objects.exists()
