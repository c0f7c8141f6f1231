"""Issue 17, item 5: merchants can sign up. A verified customer applies; an operator approves in the
back office or with ``okpay merchants approve``; the merchant gets the dashboard and creates keys.
Operators also make merchants and keys with the CLI, and ``okpay users create --role merchant``
makes the business profile, so the dashboard never answers 404 to a merchant."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from okpay.audit.models import AuditRecord
from okpay.identity.models import OutboundEmail, User
from okpay.merchants.models import ApiKey, Merchant, MerchantApplication
from tests.factories import sign_in, user_create

pytestmark = pytest.mark.django_db

FORM = {"business_name": "阿里茶庄", "contact_name": "Alice Wang", "contact_email": "tea@example.com",
        "contact_phone": "+86 138 0013 8000", "website": "https://tea.example.com",
        "refund_policy": "七天无理由退货：未拆封的茶叶可在收货后 7 天内退款。"}


def _call(*args: str) -> str:
    out = io.StringIO()
    call_command("merchants", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_a_verified_customer_applies_and_an_operator_approves_with_the_cli(alice) -> None:
    browser = sign_in(alice)
    assert 'href="/merchant/apply/"' in browser.get("/account/security/").content.decode()  # the account menu
    assert browser.get("/merchant/").status_code == 404  # a customer has no dashboard
    page = browser.get("/merchant/apply/").content.decode()
    assert "成为 OKPay 商户" in page and 'value="alice@example.com"' in page
    assert browser.post("/merchant/apply/", FORM).status_code == 302
    application = MerchantApplication.objects.get()
    assert (application.user, application.status, application.business_name) == (alice, "pending", "阿里茶庄")
    assert 'data-status="pending"' in browser.get("/merchant/apply/").content.decode()
    assert "阿里茶庄" in _call("applications")
    assert _call("approve", "--email", "alice@example.com").startswith(f"approved {application.public_id}")
    merchant = Merchant.objects.get(user=alice)
    application.refresh_from_db()
    assert (application.status, application.merchant, merchant.name) == ("approved", merchant, "阿里茶庄")
    assert application.decided_by.startswith("cli:")
    assert merchant.support_email == "tea@example.com"
    (mail,) = OutboundEmail.objects.filter(subject__contains="商户账户")
    assert mail.to == ["alice@example.com"] and alice.anti_phishing_code in mail.body_text
    assert AuditRecord.objects.filter(action="merchants.application_approve").count() == 1
    # the merchant now has the dashboard and makes a secret key there
    assert browser.get("/merchant/").status_code == 200
    assert browser.post("/merchant/keys/", {"name": "server"}).status_code == 302
    assert ApiKey.objects.filter(merchant=merchant, kind="secret").count() == 1
    assert browser.get("/merchant/apply/")["Location"] == "/merchant/"
    # approving twice changes nothing
    _call("approve", "--id", application.public_id)
    assert Merchant.objects.count() == 1 and AuditRecord.objects.filter(
        action="merchants.application_approve").count() == 1


def test_an_operator_approves_in_the_back_office(bob, admin_client) -> None:
    sign_in(bob).post("/merchant/apply/", FORM)
    application = MerchantApplication.objects.get()
    url = "/admin/merchants/merchantapplication/"
    assert admin_client.get(url).status_code == 200
    admin_client.post(url, {"action": "approve_applications", "_selected_action": [application.pk]})
    application.refresh_from_db()
    assert application.status == "approved" and Merchant.objects.filter(user=bob).exists()
    operator = User.objects.get(email="operator@example.com")
    assert application.decided_by == operator.public_id


def test_a_rejected_applicant_reads_the_reason_and_may_apply_again(alice) -> None:
    browser = sign_in(alice)
    browser.post("/merchant/apply/", FORM)
    application = MerchantApplication.objects.get()
    assert _call("reject", "--id", application.public_id, "--reason", "网站无法访问") == \
        f"rejected {application.public_id}\n"
    page = browser.get("/merchant/apply/").content.decode()
    assert 'data-status="rejected"' in page and "网站无法访问" in page
    assert not Merchant.objects.exists()
    with pytest.raises(CommandError, match="already decided"):
        _call("approve", "--id", application.public_id)
    assert browser.post("/merchant/apply/", FORM).status_code == 302
    assert MerchantApplication.objects.filter(status="pending").count() == 1


def test_bad_applications_change_nothing(alice) -> None:
    unverified = user_create("new@example.com", verified=False)
    page = sign_in(unverified).post("/merchant/apply/", FORM)
    assert page.status_code == 422 and "请先验证您的电子邮箱" in page.content.decode()
    browser = sign_in(alice)
    for field, value in (("website", "javascript:alert(1)"), ("website", "tea.example"), ("business_name", "x"),
                         ("contact_email", "not-an-email"), ("refund_policy", "no")):
        response = browser.post("/merchant/apply/", {**FORM, field: value})
        assert response.status_code == 400, field
        assert f'data-param="{field}"' in response.content.decode()
    assert not MerchantApplication.objects.exists()
    browser.post("/merchant/apply/", FORM)
    again = browser.post("/merchant/apply/", FORM)
    assert again.status_code == 409 and MerchantApplication.objects.count() == 1


def test_a_merchant_account_without_its_profile_is_led_to_the_application_not_a_404() -> None:
    shop = user_create("legacy-shop@example.com", role="merchant")  # a merchant group member made before profiles
    assert sign_in(shop).get("/merchant/")["Location"] == "/merchant/apply/"


def test_operators_create_merchants_and_keys_with_the_cli(alice) -> None:
    assert _call("create", "--email", "alice@example.com", "--name", "阿里茶庄").startswith("merchant mer_")
    merchant = Merchant.objects.get(user=alice)
    secret = _call("keys", "create", "--email", "alice@example.com").strip()
    assert secret.startswith("sk_")
    key = ApiKey.objects.get(merchant=merchant, kind="secret")
    assert key.key_hash == ApiKey.hash(secret) and secret not in key.hint  # shown once, kept as a hash
    publishable = _call("keys", "create", "--email", "alice@example.com", "--publishable").strip()
    assert publishable.startswith("pk_")
    assert ApiKey.objects.filter(merchant=merchant, kind="publishable").count() == 2  # the default one too
    assert AuditRecord.objects.filter(action="merchants.key_create").count() == 2
    with pytest.raises(CommandError, match="No account"):
        _call("keys", "create", "--email", "nobody@example.com")
    with pytest.raises(CommandError, match="no merchant profile"):
        _call("keys", "create", "--email", user_create("carol@example.com").email)


def test_users_create_with_the_merchant_role_makes_the_business_profile() -> None:
    call_command("users", "create", "--email", "shop2@example.com", "--password", "Create-me-42!", "--name",
                 "茶具店", "--role", "merchant", "--verified", stdout=io.StringIO())
    user = User.objects.get(email="shop2@example.com")
    merchant = Merchant.objects.get(user=user)
    assert merchant.name == "茶具店"
    assert sign_in(user).get("/merchant/").status_code == 200
