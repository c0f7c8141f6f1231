"""Issue 17, item 8 (the API part): error messages are in the caller's language: ``Accept-Language``
when the request names one OKPay speaks, else the account's language, else zh-Hans. A message with
values is translated first and filled in after (``payments/services/funding.py``)."""

from __future__ import annotations

import pytest
from django.test import Client

from okpay.payments.services import topup_create

pytestmark = pytest.mark.django_db


def error(response):  # type: ignore[no-untyped-def]
    return response.json()["error"]


def test_the_account_language_without_accept_language(alice, bob, api_client) -> None:
    bob.locale = "en"
    bob.save(update_fields=["locale"])
    assert not error(api_client(alice).get("/api/v1/transactions/txn_nope"))["message"].isascii()  # zh-hans
    assert error(api_client(bob).get("/api/v1/transactions/txn_nope"))["message"].isascii()


def test_accept_language_wins_over_the_account(alice, bob, api_client) -> None:
    bob.locale = "en"
    bob.save(update_fields=["locale"])
    zh = error(api_client(bob).get("/api/v1/transactions/txn_nope", headers={"Accept-Language": "zh-CN,zh;q=0.9"}))
    en = error(api_client(alice).get("/api/v1/transactions/txn_nope", headers={"Accept-Language": "en-US,en;q=0.8"}))
    assert not zh["message"].isascii() and en["message"].isascii() and zh["code"] == en["code"] == "not_found"
    # a language OKPay does not speak falls back to the account's
    fr = error(api_client(bob).get("/api/v1/transactions/txn_nope", headers={"Accept-Language": "fr-FR"}))
    assert fr["message"] == en["message"]


def test_a_message_with_values_is_translated_before_they_are_filled_in(alice, api_client) -> None:
    txn = topup_create(user=alice, amount=10_000)  # succeeded: cannot be cancelled
    client = api_client(alice)
    zh = client.post(f"/api/v1/transactions/{txn.public_id}/cancel", headers={"Idempotency-Key": "k1"})
    assert zh.status_code == 409
    assert error(zh) == {"code": "not_cancellable", "param": None,
                         "message": "只有待处理的交易可以取消；这笔交易的状态是 成功。"}
    en = client.post(f"/api/v1/transactions/{txn.public_id}/cancel",
                     headers={"Idempotency-Key": "k2", "Accept-Language": "en"})
    assert error(en)["message"] == "Only a pending transaction can be cancelled; this one is Succeeded."


def test_the_apis_own_errors_in_both_languages(alice, api_client) -> None:
    anonymous = Client()
    assert error(anonymous.get("/api/v1/me"))["message"] == "需要身份验证。"
    assert error(anonymous.get("/api/v1/me", headers={"Accept-Language": "en"}))["message"] == \
        "Authentication is required."
    assert error(anonymous.get("/api/v1/no-such-thing"))["message"] == "/api/v1/no-such-thing 没有 API 端点。"
    client = api_client(alice)
    missing = error(client.post("/api/v1/transfers", {"amount": 100}, content_type="application/json",
                                headers={"Idempotency-Key": "t1"}))
    assert missing == {"code": "invalid_request", "param": "to", "message": "缺少此字段。"}
    english = error(client.post("/api/v1/transfers", {"amount": 100}, content_type="application/json",
                                headers={"Idempotency-Key": "t2", "Accept-Language": "en"}))
    assert english["param"] == "to" and english["message"] == "This field is required."
    # the idempotency layer's refusals too
    body = {"amount": 1000, "to": "bob@example.com"}
    client.post("/api/v1/transfers", body, content_type="application/json", headers={"Idempotency-Key": "same"})
    reused = client.post("/api/v1/transfers", {**body, "amount": 2000}, content_type="application/json",
                         headers={"Idempotency-Key": "same"})
    assert error(reused)["message"] == "此 Idempotency-Key 已用于另一个不同的请求。"


def test_the_chat_transcript_email_is_in_the_readers_language(alice) -> None:
    from okpay.chat import services as chat
    from okpay.identity.models import OutboundEmail

    for lang, intro, who in (("zh-hans", "以下是您与 OKPay 客服的聊天记录。", "客户"),
                             ("en", "Here is the transcript of your chat with OKPay customer service.", "Customer")):
        alice.locale = lang  # the transcript goes to the account's address, in the account's language
        alice.save(update_fields=["locale"])
        conv = chat.conversation_open(user=alice, lang=lang).conversation
        chat.message_post(conversation=conv, body="hello 你好", client_id="c1", author=alice)
        chat.transcript_send(conversation=conv)
        mail = OutboundEmail.objects.order_by("-pk").first()
        assert intro in mail.body_text and "hello 你好" in mail.body_text and who in mail.body_text
