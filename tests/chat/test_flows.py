"""The seed's four FAQ flows as short guided conversations (issue 23 item 4): a pending payment (what,
why, until when, cancel or contact support), a password reset (through the identity app's own reset,
same answer for every address, rate-limited like the reset page), turning on 2FA and a refund. Each
flow in Chinese first, then English; account facts only for the signed-in customer; a hand-off
carries the conversation and the matched help article to the person."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.utils import timezone, translation

from okpay.chat import services
from okpay.chat.models import Conversation, Message
from okpay.helpcenter.search import vocabulary
from okpay.helpcenter.seed import load
from okpay.payments.services import topup_create, transfer_create
from tests.chat.conftest import communicator, receive_until, run, session_cookie

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _setup(settings, db):  # type: ignore[no-untyped-def]
    settings.OKPAY_STEP_UP_AMOUNT = 10_000_000
    settings.OKPAY_RISK_REVIEW_AMOUNT = 50_000
    load()
    vocabulary.invalidate()
    cache.clear()


def chat(user, lang: str = "zh-hans") -> Conversation:  # type: ignore[no-untyped-def]
    return services.conversation_open(user=user, guest_email="" if user else "guest@example.com",
                                      lang=lang).conversation


def say(conv: Conversation, text: str, ip: str = "203.0.113.9") -> Message:
    n = Message.objects.filter(conversation=conv).count()
    with translation.override(conv.lang):
        services.customer_says(conversation=conv, body=text, client_id=f"q{n}", user=conv.user, ip=ip)
    return Message.objects.filter(conversation=conv, kind="bot").order_by("-seq").first()


def kinds(reply: Message) -> list[str]:
    return [a["action"] for a in reply.data["actions"]]


@pytest.fixture
def claim(alice):  # type: ignore[no-untyped-def]
    topup_create(user=alice, amount=100_000)
    return transfer_create(sender=alice, to="newcomer@example.com", amount=20_000)


# --- 1. a pending payment ---------------------------------------------------------------------------

@pytest.mark.parametrize("lang,question,why,until", [
    ("zh-hans", "付款一直pending，怎么回事", "收款人还没有 OKPay 账户", "年"),
    ("en", "paid but it says pending", "the recipient has no OKPay account yet", "returns to you on"),
])
def test_pending_flow_shows_this_customers_payment_why_until_when_cancel_and_contact(
        alice, claim, lang, question, why, until) -> None:  # type: ignore[no-untyped-def]
    reply = say(chat(alice, lang), question)
    assert reply.data["flow"] == "pending"
    assert claim.public_id in reply.body and why in reply.body and until in reply.body
    day = timezone.localtime(claim.expected_by)
    assert str(day.year) in reply.body and str(day.day) in reply.body
    assert kinds(reply) == ["cancel", "open", "open", "handoff"]
    cancel, details, contact, _person = reply.data["actions"]
    assert cancel["target"] == claim.public_id and cancel["key"].startswith("cancel-")
    assert details["url"].endswith(f"/{claim.public_id}/")
    assert contact["url"] == "/contact/"
    assert reply.data["articles"][0]["slug"] == "pending-transaction"


def test_pending_flow_cancel_click_moves_the_money_once(alice, claim) -> None:  # type: ignore[no-untyped-def]
    conv = chat(alice)
    reply = say(conv, "转账卡在处理中好几个小时了")
    button = reply.data["actions"][0]
    first = services.customer_action(conversation=conv, user=alice, action="cancel", target=button["target"],
                                      key=button["key"])
    again = services.customer_action(conversation=conv, user=alice, action="cancel", target=button["target"],
                                     key=button["key"])
    assert (first["replayed"], again["replayed"]) == (False, True)
    claim.refresh_from_db()
    assert claim.status == "cancelled"


@pytest.mark.parametrize("lang,question", [("zh-hans", "付款一直pending"), ("en", "payment pending")])
def test_pending_flow_tells_a_guest_nothing_about_any_account(alice, claim, lang, question) -> None:  # type: ignore[no-untyped-def]
    reply = say(chat(None, lang), question)
    assert reply.data["flow"] == "pending"
    assert claim.public_id not in reply.body and "200" not in reply.body and "newcomer" not in reply.body
    assert "cancel" not in kinds(reply) and "/contact/" in [a.get("url") for a in reply.data["actions"]]


def test_pending_flow_over_the_sockets_only_the_signed_in_customer_sees_it(alice, claim) -> None:  # type: ignore[no-untyped-def]
    cookie = session_cookie(alice)

    async def ask(cookie, email=""):  # type: ignore[no-untyped-def]
        comm = communicator(cookie=cookie)
        await comm.connect()
        await comm.send_json_to({"type": "hello", "lang": "zh-hans", "email": email})
        await receive_until(comm, "welcome")
        await comm.send_json_to({"type": "message", "client_id": "c1", "body": "为啥我的交易一直没完成"})
        asked = (await receive_until(comm, "ack", client_id="c1"))["seq"]
        reply = await receive_until(comm, "message", timeout=10)
        # the answer, not the greeting: on PostgreSQL the greeting's broadcast can arrive after welcome
        while reply["message"]["kind"] != "bot" or reply["message"]["seq"] <= asked:
            reply = await receive_until(comm, "message", timeout=10)
        await comm.disconnect()
        return reply["message"]

    mine = run(lambda: ask(cookie))
    guest = run(lambda: ask(None, "alice@example.com"))  # typing alice's address proves nothing
    assert mine["data"]["flow"] == guest["data"]["flow"] == "pending"
    assert claim.public_id in mine["body"] and "cancel" in [a["action"] for a in mine["data"]["actions"]]
    assert claim.public_id not in guest["body"] and "¥200" not in guest["body"]
    assert "cancel" not in [a["action"] for a in guest["data"]["actions"]]


# --- 2. a password reset by email link --------------------------------------------------------------

def reset_mails(address: str) -> list:  # type: ignore[type-arg]
    from okpay.identity.models import OutboundEmail

    return [m for m in OutboundEmail.objects.order_by("pk") if address in m.to
            and "/account/password-reset/t/" in m.body_text]


@pytest.mark.parametrize("lang,question,ask,sent", [
    ("zh-hans", "密码忘了咋办", "注册邮箱", "重置链接已经发往该邮箱"),
    ("en", "forgot my password", "type the email address", "a reset link is on its way"),
])
def test_reset_flow_asks_the_address_then_sends_through_the_reset_service_same_answer_for_all(
        alice, lang, question, ask, sent) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import run_worker_until_idle

    conv = chat(None, lang)  # a guest: the customer who forgot the password cannot sign in
    first = say(conv, question)
    assert (first.data["flow"], first.data["step"]) == ("reset", "ask_email") and ask in first.body
    assert first.data["articles"][0]["slug"] == "reset-password"
    assert "/account/password-reset/" in [a.get("url") for a in first.data["actions"]]
    known = say(conv, "alice@example.com")
    assert (known.data["flow"], known.data["step"]) == ("reset", "sent") and sent in known.body
    other = chat(None, lang)
    say(other, question)
    unknown = say(other, "nobody@example.com")
    assert unknown.body == known.body.replace("alice@example.com", "nobody@example.com")  # reveals nothing
    run_worker_until_idle()
    assert len(reset_mails("alice@example.com")) == 1 and reset_mails("nobody@example.com") == []


def test_reset_flow_is_rate_limited_like_the_reset_page(alice, client) -> None:  # type: ignore[no-untyped-def]
    from okpay.identity.models import EmailToken

    for _ in range(5):  # the reset page's own limit: 5 an hour per address, shared with the chat
        assert client.post("/account/password-reset/", {"email": "alice@example.com"}).status_code == 302
    conv = chat(None)
    say(conv, "忘记密码")
    before = EmailToken.objects.count()
    limited = say(conv, "alice@example.com")
    assert limited.data["step"] == "limited" and "次数太多" in limited.body
    assert EmailToken.objects.count() == before
    unknown = chat(None)
    say(unknown, "忘记密码")
    for _ in range(5):
        say(unknown, "忘记密码")
        reply = say(unknown, "nobody@example.com")
    assert reply.data["step"] == "sent"
    say(unknown, "忘记密码")
    assert say(unknown, "nobody@example.com").data["step"] == "limited"  # the same for an unknown address


def test_reset_flow_per_ip_limit() -> None:
    conv = chat(None, "en")
    steps = []
    for i in range(21):
        say(conv, "forgot my password")
        steps.append(say(conv, f"person{i}@example.com", ip="198.51.100.7").data["step"])
    assert steps[:20] == ["sent"] * 20 and steps[20] == "limited"


# --- 3. turning on two-factor authentication ----------------------------------------------------------

@pytest.mark.parametrize("lang,question,step1,on", [
    ("zh-hans", "2fa怎么开", "扫描二维码", "已经开启了双重验证"),
    ("en", "enable 2fa", "Scan the QR code", "already on for your account"),
])
def test_two_factor_flow_in_steps_with_the_link_and_the_customers_own_state(
        alice, lang, question, step1, on) -> None:  # type: ignore[no-untyped-def]
    from tests.identity.helpers import enable_2fa

    reply = say(chat(alice, lang), question)
    assert (reply.data["flow"], reply.data["step"]) == ("2fa", "steps") and step1 in reply.body
    assert reply.data["actions"][0]["url"] == "/account/2fa/"
    assert reply.data["articles"][0]["slug"] == "enable-two-factor"
    enable_2fa(alice)
    Conversation.objects.filter(user=alice).update(state="ended")
    reply = say(chat(alice, lang), question)
    assert reply.data["step"] == "already_on" and on in reply.body
    guest = say(chat(None, lang), question)  # a guest hears the steps, nothing about any account
    assert guest.data["step"] == "steps" and on not in guest.body


# --- the hand-off carries the conversation and the matched article -------------------------------------

@pytest.mark.parametrize("lang,question", [("zh-hans", "2fa怎么开"), ("en", "enable 2fa")])
def test_handoff_attaches_the_conversation_and_the_matched_article(alice, agent, lang, question) -> None:  # type: ignore[no-untyped-def]
    from okpay.support.services import agent_duty_set

    agent_duty_set(user=agent, on_duty=True, capacity=3)
    conv = chat(alice, lang)
    reply = say(conv, question)
    article = reply.data["articles"][0]
    say(conv, "转人工" if lang == "zh-hans" else "talk to a person")
    conv.refresh_from_db()
    ticket = conv.ticket
    assert ticket is not None and ticket.meta["article"] == "enable-two-factor" and ticket.meta["flow"] == "2fa"
    first = ticket.messages.order_by("pk").first().body_text
    assert question in first and article["url"] in first and article["title"] in first
    detail = services.agent_detail(agent=agent, conversation=conv)
    assert detail["article"]["slug"] == "enable-two-factor"


# --- 4. a refund: the policy and "ask for a refund" on the right transaction --------------------------

@pytest.mark.parametrize("lang,question,policy,can", [
    ("zh-hans", "我要退款，茶叶小店那笔", "退款政策", "可以申请退款，截止"),
    ("en", "i want a refund from 茶叶小店", "the policy", "you can ask for a refund until"),
])
def test_refund_flow_policy_then_ask_for_a_refund_on_the_right_payment(
        alice, shop, bob, lang, question, policy, can) -> None:  # type: ignore[no-untyped-def]
    from okpay.merchants import services as merchants

    topup_create(user=alice, amount=100_000)
    tea = merchants.merchant_create(user=shop, name="茶叶小店", refund_window_days=30)
    books = merchants.merchant_create(user=bob, name="Book Corner", refund_window_days=30)
    paid_tea = merchants.intent_confirm(intent_id=merchants.intent_create(merchant=tea, amount=8_800).public_id,
                                        customer=alice)
    paid_books = merchants.intent_confirm(
        intent_id=merchants.intent_create(merchant=books, amount=4_500).public_id, customer=alice)
    reply = say(chat(alice, lang), question)
    assert reply.data["flow"] == "refund" and policy in reply.body and can in reply.body
    assert paid_tea.public_id in reply.body and paid_books.public_id not in reply.body  # the one named
    ask = [a for a in reply.data["actions"] if a.get("target") == paid_tea.public_id]
    assert ask and ask[0]["url"] == f"/wallet/transactions/{paid_tea.public_id}/refund-request/"
    assert reply.data["articles"][0]["slug"] in ("cancel-or-refund", "merchant-refund-policy")
    Conversation.objects.filter(user=alice).update(state="ended")
    both = say(chat(alice, lang), "我要退款" if lang == "zh-hans" else "i want a refund")
    assert paid_tea.public_id in both.body and paid_books.public_id in both.body  # none named: the newest
    guest = say(chat(None, lang), question)
    assert guest.data["flow"] == "refund" and paid_tea.public_id not in guest.body and "8" not in guest.body
    assert [a["action"] for a in guest.data["actions"]] == ["handoff"]
