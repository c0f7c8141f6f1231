"""The social channel: Telegram bot and WeChat Official Account webhooks (payloads as in their
public documentation), the generic signed JSON webhook, proving a social account with a one-time
code, and agents' replies delivered through each platform's send-message API (a local fake
platform server) by the worker, with retries."""

from __future__ import annotations

import json
import secrets
import time
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from okpay.core import signing
from okpay.social import services, wechat
from okpay.social.models import AccountLink, InboundMessage, OutboundMessage
from okpay.social.views import wechat_signature
from okpay.support.models import Channel, Ticket, TicketMessage
from okpay.support.services import agent_reply
from tests.conftest import run_worker_until_idle
from tests.factories import sign_in
from tests.social.conftest import GENERIC_SECRET, TELEGRAM_SECRET, WECHAT_TOKEN
from tests.social.fake_platforms import APPID

pytestmark = pytest.mark.django_db(transaction=True)


def telegram_update(update_id: int, text: str, *, user_id: int = 1111111, message_id: int = 1365) -> dict:
    """An Update as in the Bot API documentation (a private chat: chat.id is the user's id)."""
    person = {"id": user_id, "first_name": "Test Firstname", "last_name": "Test Lastname", "username": "Testusername"}
    return {"update_id": update_id, "message": {
        "message_id": message_id, "date": 1441645532, "text": text,
        "from": {**person, "is_bot": False, "language_code": "en"},
        "chat": {**person, "type": "private"}}}


def post_telegram(update: dict, secret: str | None = TELEGRAM_SECRET):  # type: ignore[no-untyped-def]
    headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret is not None else {}
    return Client().post("/hooks/telegram", json.dumps(update), content_type="application/json", headers=headers)


WECHAT_TEXT = """<xml>
  <ToUserName><![CDATA[gh_okpaywallet]]></ToUserName>
  <FromUserName><![CDATA[oUpF8uMuAJO_M2pxb1Q9zNjWeS6o]]></FromUserName>
  <CreateTime>1348831860</CreateTime>
  <MsgType><![CDATA[text]]></MsgType>
  <Content><![CDATA[{content}]]></Content>
  <MsgId>{msg_id}</MsgId>
</xml>"""


def wechat_query(token: str = WECHAT_TOKEN, *, timestamp: str = "", nonce: str = "", **extra: str) -> str:
    timestamp, nonce = timestamp or str(int(time.time())), nonce or str(secrets.randbelow(10**10))
    params = {"signature": wechat_signature(token, timestamp, nonce), "timestamp": timestamp, "nonce": nonce, **extra}
    return "&".join(f"{k}={v}" for k, v in params.items())


def post_wechat(content: str, msg_id: int = 1234567890123456, token: str = WECHAT_TOKEN):  # type: ignore[no-untyped-def]
    body = WECHAT_TEXT.replace("{content}", content).replace("{msg_id}", str(msg_id))
    return Client().post(f"/hooks/wechat?{wechat_query(token, openid='oUpF8uMuAJO_M2pxb1Q9zNjWeS6o')}",
                         body.encode(), content_type="text/xml")


def nothing_stored() -> bool:
    return not (InboundMessage.objects.exists() or Ticket.objects.exists() or OutboundMessage.objects.exists())


# --- Telegram ---------------------------------------------------------------------------------------

def test_telegram_round_trip_message_ticket_agent_reply_sendmessage(platforms, agent) -> None:  # type: ignore[no-untyped-def]
    response = post_telegram(telegram_update(10000, "我的转账一直显示待处理"))
    assert (response.status_code, response.json()) == (200, {"ok": True})
    ticket = Ticket.objects.get()
    assert (ticket.channel, ticket.requester_handle, ticket.requester_id, ticket.requester_name, ticket.priority) == (
        Channel.SOCIAL, "telegram:1111111", None, "Test Firstname Test Lastname", "normal")
    assert ticket.subject == "我的转账一直显示待处理"
    assert ticket.first_response_due - ticket.created_at == timedelta(hours=8)  # the social channel's SLA
    # Telegram retries a webhook it thinks failed: the same update is stored once.
    assert post_telegram(telegram_update(10000, "我的转账一直显示待处理")).status_code == 200
    # A second message joins the open ticket.
    post_telegram(telegram_update(10001, "交易号 txn_123", message_id=1366))
    assert Ticket.objects.count() == 1
    assert list(ticket.messages.values_list("body_text", flat=True).order_by("pk")) == [
        "我的转账一直显示待处理", "交易号 txn_123"]

    reply = agent_reply(ticket=ticket, agent=agent, body="您好，转账正在风控审核，预计 24 小时内完成。")
    out = OutboundMessage.objects.get()
    assert (out.platform, out.recipient, out.ticket_message_id, out.status) == ("telegram", "1111111", reply.pk,
                                                                                "queued")
    run_worker_until_idle()
    assert platforms.sent == [{"platform": "telegram", "chat_id": 1111111,
                               "text": "您好，转账正在风控审核，预计 24 小时内完成。"}]
    out.refresh_from_db()
    assert (out.status, out.attempts, out.last_error) == ("sent", 1, "")


def test_telegram_bad_secret_is_refused_and_nothing_is_stored(platforms) -> None:  # type: ignore[no-untyped-def]
    for secret in ("wrong", None, TELEGRAM_SECRET + "x"):
        response = post_telegram(telegram_update(1, "hi"), secret=secret)
        assert response.status_code == 403
        assert response.json() == {"error": {"code": "forbidden", "param": None,
                                             "message": "The request is not signed by the platform."}}
    assert nothing_stored()


def test_telegram_other_updates_and_groups_are_acknowledged_not_stored(platforms) -> None:  # type: ignore[no-untyped-def]
    edited = {"update_id": 5, "edited_message": telegram_update(5, "x")["message"]}
    group = telegram_update(6, "hello all")
    group["message"]["chat"] = {"id": -100123, "type": "group", "title": "OKPay fans"}
    for update in (edited, group):
        assert post_telegram(update).json() == {"ok": True, "ignored": True}
    assert post_telegram({"message": {}}).status_code == 400
    assert nothing_stored()


def test_delivery_retries_after_a_platform_failure_and_gives_up_with_a_note(platforms, agent) -> None:  # type: ignore[no-untyped-def]
    post_telegram(telegram_update(20, "help"))
    ticket = Ticket.objects.get()
    platforms.fail.append((502, {"ok": False, "error_code": 502, "description": "Bad Gateway"}))
    agent_reply(ticket=ticket, agent=agent, body="Answer one")
    run_worker_until_idle()
    out = OutboundMessage.objects.get()
    assert (out.status, out.attempts, out.last_error, platforms.sent) == (
        "queued", 1, "telegram 502: Bad Gateway", [])
    assert out.next_attempt_at > timezone.now()
    # The retry's time comes: the reply arrives.
    OutboundMessage.objects.filter(pk=out.pk).update(next_attempt_at=timezone.now())
    assert services.outbound_deliver(outbound_id=out.pk) == "sent"
    assert services.outbound_deliver(outbound_id=out.pk) == "skipped"  # twice is harmless
    assert [m["text"] for m in platforms.sent] == ["Answer one"]
    # A permanent refusal (the customer blocked the bot): failed at once, and the desk is told.
    blocked = "Forbidden: bot was blocked by the user"
    platforms.fail.append((403, {"ok": False, "error_code": 403, "description": blocked}))
    agent_reply(ticket=ticket, agent=agent, body="Answer two")
    run_worker_until_idle()
    failed = OutboundMessage.objects.get(status="failed")
    assert failed.last_error == "telegram 403: Forbidden: bot was blocked by the user"
    note = TicketMessage.objects.filter(ticket=ticket, author_kind="system").get()
    assert note.visibility == "internal" and "telegram 403" in note.body_text


# --- WeChat -----------------------------------------------------------------------------------------

def test_wechat_echo_handshake(platforms) -> None:  # type: ignore[no-untyped-def]
    ok = Client().get(f"/hooks/wechat?{wechat_query(echostr='5837397520665436492')}")
    assert (ok.status_code, ok.content) == (200, b"5837397520665436492")
    bad = Client().get(f"/hooks/wechat?{wechat_query(token='not-our-token', echostr='5837397520665436492')}")
    assert bad.status_code == 403 and bad.json()["error"]["code"] == "forbidden"


def test_wechat_round_trip_with_access_token_refresh(platforms, agent) -> None:  # type: ignore[no-untyped-def]
    response = post_wechat("你好，我的账户被冻结了")
    assert (response.status_code, response.content) == (200, b"success")
    ticket = Ticket.objects.get()
    assert (ticket.channel, ticket.requester_handle, ticket.requester_id) == (
        Channel.SOCIAL, "wechat:oUpF8uMuAJO_M2pxb1Q9zNjWeS6o", None)
    assert post_wechat("你好，我的账户被冻结了").content == b"success"  # WeChat's retry: stored once
    assert ticket.messages.count() == 1
    agent_reply(ticket=ticket, agent=agent, body="您好，请在官网登录后点击“解冻”。")
    run_worker_until_idle()
    assert platforms.sent == [{"platform": "wechat", "touser": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o",
                               "text": "您好，请在官网登录后点击“解冻”。"}]
    # The platform revokes the token: the next send fetches a new one and goes through.
    platforms.tokens.append("ROTATED_BY_WECHAT")
    platforms.tokens.append("ROTATED_AGAIN")  # the cached ACCESS_TOKEN_1 is now stale
    agent_reply(ticket=ticket, agent=agent, body="还需要帮助吗？")
    run_worker_until_idle()
    assert [m["text"] for m in platforms.sent] == ["您好，请在官网登录后点击“解冻”。", "还需要帮助吗？"]
    assert platforms.tokens[-1] == "ACCESS_TOKEN_4"


def test_wechat_bad_signature_and_hostile_xml_are_refused(platforms) -> None:  # type: ignore[no-untyped-def]
    assert post_wechat("hi", token="forged").status_code == 403
    bomb = ('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>'
            "<xml><MsgType>text</MsgType><FromUserName>o1</FromUserName><Content>&b;</Content></xml>")
    response = Client().post(f"/hooks/wechat?{wechat_query()}", bomb.encode(), content_type="text/xml")
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_request"
    event = ("<xml><ToUserName>gh</ToUserName><FromUserName>o1</FromUserName><CreateTime>1</CreateTime>"
             "<MsgType>event</MsgType><Event>subscribe</Event></xml>")
    assert Client().post(f"/hooks/wechat?{wechat_query()}", event.encode(), content_type="text/xml").content == \
        b"success"
    assert nothing_stored()


def test_wechat_push_outside_the_window_or_replayed_is_refused(platforms, settings) -> None:  # type: ignore[no-untyped-def]
    """Issue 16.4: the query signature does not cover the body. A signature made in 2001 (or one
    already used) with a new XML body is refused and stores nothing."""
    settings.OKPAY_CTI_TOLERANCE_SECONDS = 300
    body = WECHAT_TEXT.replace("{content}", "把钱转给我").replace("{msg_id}", "42").encode()
    for timestamp in ("978307200", str(int(time.time()) - 330), str(int(time.time()) + 330), "soon"):
        stale = Client().post(f"/hooks/wechat?{wechat_query(timestamp=timestamp)}", body, content_type="text/xml")
        assert stale.status_code == 403 and stale.json()["error"]["code"] == "forbidden"
    assert nothing_stored()
    query = wechat_query(nonce="1514711492")
    first = Client().post(f"/hooks/wechat?{query}", body, content_type="text/xml")
    assert (first.status_code, first.content) == (200, b"success")
    forged = WECHAT_TEXT.replace("{content}", "请点击 http://evil.example").replace("{msg_id}", "43").encode()
    replayed = Client().post(f"/hooks/wechat?{query}", forged, content_type="text/xml")
    assert replayed.status_code == 403
    assert list(TicketMessage.objects.values_list("body_text", flat=True)) == ["把钱转给我"]
    assert InboundMessage.objects.count() == 1
    stale_handshake = Client().get(f"/hooks/wechat?{wechat_query(timestamp='978307200', echostr='1')}")
    assert stale_handshake.status_code == 403


def test_old_nonces_are_forgotten_after_the_window(platforms, settings) -> None:  # type: ignore[no-untyped-def]
    from okpay.social.models import WebhookNonce
    assert services.webhook_nonce_claim(platform="wechat", nonce="1:2")
    assert not services.webhook_nonce_claim(platform="wechat", nonce="1:2")
    window = timedelta(seconds=2 * settings.OKPAY_CTI_TOLERANCE_SECONDS + 1)
    WebhookNonce.objects.update(seen_at=timezone.now() - window)
    assert services.webhook_nonces_prune() == 1 and not WebhookNonce.objects.exists()


AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"


def post_wechat_safe(content: str, *, msg_id: int = 7, appid: str = APPID, key: str = AES_KEY,
                     tamper: bool = False, token: str = WECHAT_TOKEN):  # type: ignore[no-untyped-def]
    """A push as WeChat sends it in safe mode: AES body, msg_signature over it (and signature)."""
    inner = WECHAT_TEXT.replace("{content}", content).replace("{msg_id}", str(msg_id)).encode()
    encrypted = wechat.encrypt(key, inner, appid)
    timestamp, nonce = str(int(time.time())), str(secrets.randbelow(10**10))
    msg_signature = wechat.signature(token, timestamp, nonce, encrypted)
    if tamper:
        encrypted = wechat.encrypt(key, inner.replace(content.encode(), b"tampered"), appid)
    body = f"<xml><ToUserName><![CDATA[gh_okpaywallet]]></ToUserName><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
    query = (f"signature={wechat.signature(token, timestamp, nonce)}&timestamp={timestamp}&nonce={nonce}"
             f"&openid=oUpF8uMuAJO_M2pxb1Q9zNjWeS6o&encrypt_type=aes&msg_signature={msg_signature}")
    return Client().post(f"/hooks/wechat?{query}", body.encode(), content_type="text/xml")


def test_wechat_safe_mode_decrypts_signed_bodies_and_refuses_the_rest(platforms, settings) -> None:  # type: ignore[no-untyped-def]
    """Issue 16.4, safe mode: the body is AES-encrypted and ``msg_signature`` covers it; with the key
    set, plaintext pushes, a body that is not the signed one and another AppID's messages are refused."""
    settings.OKPAY_WECHAT_ENCODING_AES_KEY = AES_KEY
    assert post_wechat("明文消息").status_code == 403  # plaintext is no longer accepted
    assert post_wechat_safe("被改过", tamper=True).status_code == 403
    assert post_wechat_safe("别的公众号", appid="wx_someone_else").status_code == 403
    assert post_wechat_safe("伪造", token="forged").status_code == 403
    assert nothing_stored()
    response = post_wechat_safe("你好，安全模式")
    assert (response.status_code, response.content) == (200, b"success")
    ticket = Ticket.objects.get()
    assert (ticket.requester_handle, ticket.messages.get().body_text) == (
        "wechat:oUpF8uMuAJO_M2pxb1Q9zNjWeS6o", "你好，安全模式")


def test_wechat_aes_round_trip_and_bad_ciphertexts() -> None:
    sealed = wechat.encrypt(AES_KEY, "消息".encode(), APPID)
    assert wechat.decrypt(AES_KEY, sealed, APPID) == "消息".encode()
    for bad in ("", "not base64!", sealed[:-8] + "AAAAAAA=", wechat.encrypt(AES_KEY, b"x", "wxother")):
        with pytest.raises(wechat.WeChatCryptoError):
            wechat.decrypt(AES_KEY, bad, APPID)


# --- other platforms -----------------------------------------------------------------------------------

def post_generic(platform: str, payload: dict, secret: str = GENERIC_SECRET, timestamp: int | None = None):  # type: ignore[no-untyped-def]
    body = json.dumps(payload).encode()
    return Client().post(f"/hooks/social/{platform}", body, content_type="application/json",
                         headers={"OKPay-Signature": signing.sign(secret, body, timestamp)})


def test_generic_signed_webhook_round_trip(platforms, agent) -> None:  # type: ignore[no-untyped-def]
    payload = {"message_id": "m-1", "sender": {"id": "5566", "name": "微博用户"}, "text": "客服在吗"}
    assert post_generic("weibo", payload, secret="wrong").status_code == 403
    assert post_generic("weibo", payload, timestamp=int(time.time()) - 3600).status_code == 403  # replayed later
    assert nothing_stored()
    assert post_generic("weibo", payload).json() == {"ok": True}
    ticket = Ticket.objects.get()
    assert (ticket.requester_handle, ticket.requester_name) == ("weibo:5566", "微博用户")
    agent_reply(ticket=ticket, agent=agent, body="在的，请问有什么可以帮您？")
    run_worker_until_idle()
    assert platforms.sent == [{"platform": "weibo", "recipient": "5566", "text": "在的，请问有什么可以帮您？",
                               "ticket": ticket.number, "via": "generic"}]


# --- proving a social account (issue 9, item 5) ------------------------------------------------------------

def test_link_code_links_the_handle_and_only_then_the_desk_sees_the_wallet(platforms, alice, agent) -> None:  # type: ignore[no-untyped-def]
    # Before linking: a stranger. The desk shows no wallet data.
    post_telegram(telegram_update(30, "余额不对", user_id=424242))
    stranger = Ticket.objects.get()
    assert stranger.requester_id is None
    desk = sign_in(agent)
    context = desk.get(f"/desk/t/{stranger.public_id}/context/").content.decode()
    assert "不是 OKPay 用户" in context and "balance" not in context
    # Alice gets a code on her account page and sends it from Telegram.
    page = Client()
    page.force_login(alice)
    html = page.post("/account/social/", {"code": "1"}).content.decode()
    code = html.split("/link ")[1].split("<")[0]
    assert len(code) == 9 and code[4] == "-"
    post_telegram(telegram_update(31, "/link WRONG-CODE", user_id=424242))
    assert not AccountLink.objects.exists()
    post_telegram(telegram_update(32, f"/link {code}", user_id=424242))
    link = AccountLink.objects.get()
    assert (link.user_id, link.handle) == (alice.pk, "telegram:424242")
    post_telegram(telegram_update(33, f"/link {code}", user_id=999))  # used once only
    assert AccountLink.objects.count() == 1
    run_worker_until_idle()
    answers = [m["text"] for m in platforms.sent]
    assert len(answers) == 3
    assert answers[0].startswith("That code is wrong or has expired.")  # the sender's Telegram speaks English
    assert answers[1].startswith("This account is now linked to your OKPay account al***@example.com.")
    assert answers[2].startswith("That code is wrong or has expired.")
    # The handle's open conversation is now Alice's (event and audit say how), wallet data included.
    post_telegram(telegram_update(34, "现在可以看到我的余额吗", user_id=424242))
    stranger.refresh_from_db()
    assert (stranger.requester_id, stranger.requester_link, stranger.messages.count()) == (alice.pk, "social_link", 2)
    assert stranger.events.filter(kind="requester_linked").get().detail == {"customer": alice.public_id,
                                                                          "link": "social_link"}
    assert "Alice" in desk.get(f"/desk/t/{stranger.public_id}/context/").content.decode()
    # A new conversation after that one is solved is Alice's from the start.
    Ticket.objects.filter(pk=stranger.pk).update(status="solved", solved_at=timezone.now() - timedelta(days=30))
    post_telegram(telegram_update(35, "还有一个问题", user_id=424242))
    mine = Ticket.objects.exclude(pk=stranger.pk).get()
    assert (mine.requester_id, mine.requester_handle, mine.requester_link) == (alice.pk, "telegram:424242",
                                                                                "social_link")
    # Unlinking from the page ends it: the next message is a stranger's again, in a new ticket.
    page.post("/account/social/", {"unlink": str(link.pk)})
    assert not AccountLink.objects.exists()
    post_telegram(telegram_update(36, "我是谁", user_id=424242))
    assert Ticket.objects.filter(requester__isnull=True, requester_handle="telegram:424242").count() == 1
    assert mine.messages.count() == 1


def test_a_reply_whose_task_was_lost_is_sent_by_the_sweep(platforms, agent) -> None:  # type: ignore[no-untyped-def]
    from django_tasks_db.models import DBTaskResult

    post_telegram(telegram_update(30, "help"))
    agent_reply(ticket=Ticket.objects.get(), agent=agent, body="Lost, then found")
    DBTaskResult.objects.all().delete()  # a crash between the commit and the task's run
    out = OutboundMessage.objects.get()
    assert services.outbound_requeue_stuck() == 0  # not overdue yet: its task may still come
    OutboundMessage.objects.filter(pk=out.pk).update(next_attempt_at=timezone.now() - timedelta(minutes=11))
    assert services.outbound_requeue_stuck() == 1
    run_worker_until_idle()
    out.refresh_from_db()
    assert out.status == "sent"
    assert [m["text"] for m in platforms.sent] == ["Lost, then found"]


def test_deploy_check_recommends_wechat_safe_mode(settings) -> None:  # type: ignore[no-untyped-def]
    from okpay.social.checks import wechat_safe_mode_check

    settings.OKPAY_WECHAT_TOKEN, settings.OKPAY_WECHAT_ENCODING_AES_KEY = "token", ""
    assert [m.id for m in wechat_safe_mode_check()] == ["social.W001"]
    settings.OKPAY_WECHAT_ENCODING_AES_KEY = AES_KEY
    assert wechat_safe_mode_check() == []
    settings.OKPAY_WECHAT_TOKEN = ""
    assert wechat_safe_mode_check() == []
