"""The first-line assistant over real data: each pending reason, a frozen account, a lockout,
30+ customer questions in both languages; it never shows anyone else's data and moves money only
on the customer's click (payments' cancel service, under the button's idempotency key)."""

from __future__ import annotations

import pytest
from django.utils import timezone, translation

from okpay.chat import assistant, services
from okpay.chat.models import Conversation, Message
from okpay.helpcenter.search import vocabulary
from okpay.helpcenter.seed import load
from okpay.identity.models import SecurityEvent
from okpay.payments.billers import billers_seed
from okpay.payments.models import Biller, Transaction
from okpay.payments.services import bill_payment_create, topup_create, transfer_create, withdrawal_create
from tests.factories import stepped_up

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _setup(settings, db):  # type: ignore[no-untyped-def]
    settings.OKPAY_STEP_UP_AMOUNT = 10_000_000
    settings.OKPAY_RISK_REVIEW_AMOUNT = 50_000  # ¥500 and more waits for the risk team
    load()
    vocabulary.invalidate()
    billers_seed()


def ask(user, text: str, lang: str = "zh-hans"):  # type: ignore[no-untyped-def]
    opened = services.conversation_open(user=user, guest_email="" if user else "guest@example.com", lang=lang)
    conv = opened.conversation
    n = Message.objects.filter(conversation=conv).count()
    services.customer_says(conversation=conv, body=text, client_id=f"q{n}", user=user)
    return Message.objects.filter(conversation=conv, kind="bot").order_by("-seq").first()


@pytest.fixture
def pending(alice, bob):  # type: ignore[no-untyped-def]
    """alice with one pending transaction of each reason (real services, real ledger)."""
    topup_create(user=alice, amount=500_000)
    biller = Biller.objects.order_by("pk").first()
    return {
        "claim": transfer_create(sender=alice, to="newcomer@example.com", amount=20_000),
        "review": stepped_up(alice, lambda code: transfer_create(sender=alice, to="bob@example.com", amount=60_000,
                                                                 otp_code=code)),
        "bank": withdrawal_create(user=alice, amount=30_000),
        "biller": bill_payment_create(user=alice, biller=biller.code, account_reference=biller.reference_example,
                                      amount=12_300),
    }


def test_each_pending_reason_is_explained_with_its_facts_in_chinese(pending, alice) -> None:  # type: ignore[no-untyped-def]
    reply = ask(alice, "我的转账为什么还在待处理？")
    body = reply.body
    claim, review, bank, biller = pending["claim"], pending["review"], pending["bank"], pending["biller"]
    for txn in (claim, review, bank, biller):
        assert txn.status == "pending" and txn.public_id in body
    assert "¥200.00" in body and "n***@example.com" in body and "newcomer@" not in body
    claim_day = timezone.localtime(claim.expected_by)
    assert f"{claim_day.year}年{claim_day.month}月{claim_day.day}日" in body
    assert "¥600.00" in body and "b***@example.com" in body
    assert "¥300.00" in body and "¥123.00" in body
    cancels = [a for a in reply.data["actions"] if a["action"] == "cancel"]
    assert {a["target"] for a in cancels} == {t.public_id for t in (claim, review, bank, biller)}
    assert all(a["key"].startswith("cancel-") for a in cancels)
    assert reply.data["actions"][-1]["action"] == "handoff"


def test_reasons_in_english_and_filtered_by_topic(pending, alice) -> None:  # type: ignore[no-untyped-def]
    with translation.override("en"):
        reply = ask(alice, "Where is my withdrawal to the bank?", "en")
    assert pending["bank"].public_id in reply.body and pending["claim"].public_id not in reply.body
    assert "being processed by the bank" in reply.body and "¥300.00" in reply.body
    with translation.override("en"):
        reply = ask(alice, "my electricity bill payment", "en")
    assert pending["biller"].public_id in reply.body and "waiting for the biller" in reply.body
    with translation.override("en"):
        reply = ask(alice, "why is my transfer pending?", "en")
    claim_day = timezone.localtime(pending["claim"].expected_by)
    assert f"returns to you on {claim_day.day} {claim_day:%b} {claim_day.year}" in reply.body
    assert "security review" in reply.body


def test_cancel_on_click_goes_through_payments_once(pending, alice) -> None:  # type: ignore[no-untyped-def]
    from okpay.ledger.selectors import account_balance
    from okpay.payments.services import wallet

    reply = ask(alice, "取消转账")
    target = pending["claim"].public_id
    button = next(a for a in reply.data["actions"] if a["action"] == "cancel" and a["target"] == target)
    before = account_balance(wallet(alice)).available
    conv = Conversation.objects.get(user=alice)
    assert Transaction.objects.get(pk=pending["claim"].pk).status == "pending"  # nothing moved by the answer
    first = services.customer_action(conversation=conv, user=alice, action="cancel", target=button["target"],
                                     key=button["key"])
    second = services.customer_action(conversation=conv, user=alice, action="cancel", target=button["target"],
                                      key=button["key"])
    assert (first["cancelled"], first["replayed"], second["replayed"]) == (True, False, True)
    assert Transaction.objects.get(pk=pending["claim"].pk).status == "cancelled"
    assert account_balance(wallet(alice)).available == before + 20_000
    done = Message.objects.filter(conversation=conv, data__cancelled=button["target"])
    assert done.count() == 1 and "¥200.00" in done.get().body


def test_nobody_else_can_cancel_or_see(pending, alice, bob, mallory) -> None:  # type: ignore[no-untyped-def]
    target = pending["claim"].public_id
    reply = ask(mallory, "我的转账为什么还在待处理？")
    assert target not in reply.body and "alice" not in reply.body.lower()
    assert not [a for a in reply.data["actions"] if a["action"] == "cancel"]
    mconv = Conversation.objects.get(user=mallory)
    with pytest.raises(services.NotFound):
        services.customer_action(conversation=mconv, user=mallory, action="cancel", target=target, key="k1")
    aconv = Conversation.objects.get(user=alice) if Conversation.objects.filter(user=alice).exists() else \
        services.conversation_open(user=alice).conversation
    with pytest.raises(services.NotFound):  # bob clicking in alice's conversation
        services.customer_action(conversation=aconv, user=bob, action="cancel", target=target, key="k2")
    guest = ask(None, "my transfer is pending", "en")
    assert target not in guest.body
    assert Transaction.objects.get(pk=pending["claim"].pk).status == "pending"


def test_frozen_account_and_lockout(alice) -> None:  # type: ignore[no-untyped-def]
    from okpay.identity.services import account_freeze

    reply = ask(alice, "账户被锁定了，登录不了")
    assert "没有" in reply.body or "no sign-in lockout" in reply.body
    SecurityEvent.objects.create(user=alice, kind=SecurityEvent.Kind.LOCKED_OUT, detail={"cool_off_minutes": 15})
    reply = ask(alice, "账户被锁定了，登录不了")
    assert "15" in reply.body and reply.data["articles"]
    account_freeze(user=alice)
    alice.refresh_from_db()
    reply = ask(alice, "我的账户被冻结了怎么办")
    frozen = timezone.localtime(alice.frozen_at)
    assert f"{frozen.year}年{frozen.month}月{frozen.day}日" in reply.body
    assert Conversation.objects.get(user=alice).category == "security"


# 36 questions: (language, question, intent, a help-centre slug that must be among the articles or None)
QUESTIONS = [
    ("zh-hans", "怎么充值？", "help", "top-up"),
    ("zh-hans", "如何给朋友转账", "help", "send-money"),  # how to send, not a payment that waits
    ("zh-hans", "提现多久到账", "withdrawal", "withdrawal-time"),
    ("zh-hans", "我的付款显示待处理", "pending", "pending-transaction"),
    ("zh-hans", "忘记密码了怎么办", "reset", "reset-password"),
    ("zh-hans", "怎么开启双重验证", "2fa", "enable-two-factor"),
    ("zh-hans", "手机丢了，收不到验证码", "help", None),
    ("zh-hans", "我的账户被冻结了", "frozen", "frozen-account"),
    ("zh-hans", "账户被锁定", "lockout", "account-locked"),
    ("zh-hans", "我被骗了，有人冒充客服", "security", None),
    ("zh-hans", "有陌生登录提醒", "security", None),
    ("zh-hans", "转错人了能退回吗", "help", "transfer-wrong-person"),
    ("zh-hans", "怎么申请退款", "refund", None),
    ("zh-hans", "电费缴费失败", "bill", None),
    ("zh-hans", "怎么修改手机号", "help", "change-phone-number"),
    ("zh-hans", "怎么注销账户", "help", "close-account"),
    ("zh-hans", "转人工", "handoff", None),
    ("zh-hans", "我要找真人客服", "handoff", None),
    ("en", "How do I top up my wallet?", "help", "top-up"),
    ("en", "How long does a withdrawal take?", "withdrawal", "withdrawal-time"),
    ("en", "My payment shows pending", "pending", "pending-transaction"),
    ("en", "I forgot my password", "reset", "reset-password"),
    ("en", "How do I turn on two-factor authentication?", "2fa", None),
    ("en", "My account is frozen", "frozen", "frozen-account"),
    ("en", "My account is locked", "lockout", "account-locked"),
    ("en", "I think my account was hacked", "security", None),
    ("en", "Someone called me pretending to be OKPay, is it a scam?", "security", None),
    ("en", "I sent money to the wrong person", "help", None),
    ("en", "How do I get a refund?", "refund", None),
    ("en", "My bill payment failed", "bill", None),
    ("en", "How do I change my email address?", "help", "change-email"),
    ("en", "Can I cancel a transfer?", "cancel", None),
    ("en", "I want to talk to a person", "handoff", None),
    ("en", "Let me speak to someone", "handoff", None),
    ("en", "What are the limits of my account?", "help", "limits"),
    ("en", "The recipient has not claimed my money", "help", None),
]


def test_thirty_six_questions_in_both_languages(alice) -> None:  # type: ignore[no-untyped-def]
    assert len(QUESTIONS) >= 30
    misses = []
    for i, (lang, question, intent, slug) in enumerate(QUESTIONS):
        conv = Conversation.objects.create(user=alice, lang=lang, created_at=timezone.now(),
                                           updated_at=timezone.now())
        with translation.override(lang):
            services.customer_says(conversation=conv, body=question, client_id=f"q{i}", user=alice)
        reply = Message.objects.filter(conversation=conv, kind="bot").order_by("-seq").first()
        conv.state = "ended"  # the next question gets a fresh conversation
        conv.save(update_fields=["state"])
        got = reply.data.get("intent")
        slugs = [a["slug"] for a in reply.data.get("articles", [])]
        if got != intent or (slug and slug not in slugs):
            misses.append((question, got, slugs))
        if intent != "handoff":
            assert reply.data["actions"][-1]["action"] == "handoff", question
            assert reply.body.strip(), question
            for article in reply.data.get("articles", []):
                assert article["url"].startswith("/") and len(article["summary"]) <= 120
    assert misses == []


def test_refund_requests_to_merchants_are_explained(alice, shop) -> None:  # type: ignore[no-untyped-def]
    from okpay.merchants import services as merchants
    from okpay.merchants.models import RefundRequest

    topup_create(user=alice, amount=100_000)
    merchant = merchants.merchant_create(user=shop, name="茶叶小店", refund_window_days=30)
    intent = merchants.intent_create(merchant=merchant, amount=8_800, description="龙井")
    txn = merchants.intent_confirm(intent_id=intent.public_id, customer=alice)
    request = merchants.refund_request_create(customer=alice, txn_id=txn.public_id, reason="茶叶受潮")
    assert request.status == "pending"
    reply = ask(alice, "我申请的退款怎么样了")
    assert "茶叶小店" in reply.body and "¥88.00" in reply.body and txn.public_id in reply.body
    assert "等待商家" in reply.body
    merchants.refund_request_decline(merchant=merchant, request_id=request.public_id, reason="已拆封")
    with translation.override("en"):
        reply = ask(alice, "what happened to my refund?", "en")
    assert "declined your refund request of ¥88.00" in reply.body and "已拆封" in reply.body
    # Nobody else hears about it.
    assert RefundRequest.objects.count() == 1
    assert "茶叶小店" not in ask(None, "我的退款", "zh-hans").body


# Questions that share a word with a flow but are about something else (docs/search-quality.md):
# (language, question, the flow that must start or "", the first article or None, handed off).
CONFUSIONS = [
    ("en", "cancel my okpay account", "", "close-account", False),
    ("en", "Can I cancel the transfer I just sent?", "pending", None, False),
    ("zh-hans", "怎么取消我的账号", "", "close-account", False),
    ("zh-hans", "取消那笔转账", "pending", None, False),
    ("en", "turn off two-factor authentication", "", "disable-two-factor", False),
    ("en", "turn on two-factor authentication", "2fa", "enable-two-factor", False),
    ("zh-hans", "关闭双重验证", "", "disable-two-factor", False),
    ("zh-hans", "手机丢了收不到双重验证的验证码", "", "lost-phone-two-factor", False),
    ("en", "I forgot my password", "reset", "reset-password", False),
    ("en", "locked out after too many wrong passwords", "", "account-locked", False),
    ("en", "the merchant declined my refund", "refund", "refund-request-status", False),
    ("zh-hans", "退款", "refund", None, False),
    ("en", "someone hacked my account and took my money", "", None, True),
    ("en", "how do I keep my account from being hacked", "", None, False),
    ("zh-hans", "转人工", "", None, True),
]


def test_routing_tells_flows_from_look_alikes(db) -> None:  # type: ignore[no-untyped-def]
    load()
    vocabulary.invalidate()
    misses = []
    for lang, question, flow, slug, handed in CONFUSIONS:
        with translation.override(lang):
            reply = assistant.answer(text=question, user=None, lang=lang)
        slugs = [a["slug"] for a in reply.data.get("articles", [])]
        if (reply.data.get("flow", "") != flow or (slug and slugs[:1] != [slug])
                or bool(reply.data.get("handoff")) != handed):
            misses.append((question, reply.data.get("flow"), slugs, reply.data.get("handoff")))
    assert misses == []


def test_unsure_offers_a_person_with_the_closest_article(db) -> None:  # type: ignore[no-untyped-def]
    load()
    vocabulary.invalidate()
    with translation.override("en"):
        reply = assistant.answer(text="qqqqzzzz xxyyww", user=None, lang="en")
    assert reply.data.get("unsure") is True and reply.intent == "unsure"
    assert [a["action"] for a in reply.data["actions"]] == ["handoff"]
    assert "not sure" in reply.body
