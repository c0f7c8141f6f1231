"""The social channel's edges: the platforms' webhooks (``/hooks/telegram``, ``/hooks/wechat``,
``/hooks/social/<platform>``) and the customer's "social accounts" page where a link code is made.

A webhook that fails its platform's check answers ``403`` with the API error object and stores
nothing. Telegram and WeChat retry on anything but a success, so a message we cannot use (another
update type, a picture) is acknowledged and ignored rather than refused.
"""

from __future__ import annotations

import hmac
import json
import time
from typing import Any

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from okpay.api.errors import envelope
from okpay.core import signing
from okpay.core.errors import OkpayError
from okpay.helpcenter import registry
from okpay.identity.models import User
from okpay.social import services, wechat
from okpay.social.models import AccountLink


def _refused() -> HttpResponse:
    return envelope(403, "forbidden", "The request is not signed by the platform.")


def _receive(**fields: Any) -> HttpResponse | None:
    try:
        services.social_message_receive(**fields)
    except OkpayError as exc:
        return envelope(exc.status, exc.code, exc.message, exc.param)
    return None


# --- Telegram ------------------------------------------------------------------------------------

@csrf_exempt
def telegram_webhook(request: HttpRequest) -> HttpResponse:
    """An ``Update`` from the Bot API (setWebhook with ``secret_token``)."""
    if request.method != "POST":
        return envelope(405, "method_not_allowed", "Use POST.")
    expected = settings.OKPAY_TELEGRAM_SECRET_TOKEN
    given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
    if not expected or not hmac.compare_digest(expected.encode(), given.encode()):
        return _refused()
    try:
        update = json.loads(request.body)
    except ValueError:
        return envelope(400, "invalid_request", "The body is not JSON.")
    if not isinstance(update, dict) or not isinstance(update.get("update_id"), int):
        return envelope(400, "invalid_request", "Not a Telegram Update.", "update_id")
    message = update.get("message")
    if not isinstance(message, dict) or not isinstance(message.get("chat"), dict):
        return JsonResponse({"ok": True, "ignored": True})  # edited messages, callbacks, channel posts…
    chat, sender = message["chat"], message.get("from") or {}
    if chat.get("type", "private") != "private":
        return JsonResponse({"ok": True, "ignored": True})  # groups: the bot answers people one to one
    name = " ".join(str(sender.get(k) or "") for k in ("first_name", "last_name")).strip() or \
        str(sender.get("username") or "")
    lang = "en" if str(sender.get("language_code") or "").startswith("en") else ""
    text = message.get("text") if isinstance(message.get("text"), str) else ""
    refused = _receive(platform="telegram", sender_id=str(chat.get("id", "")), text=text,
                       message_key=f"u{update['update_id']}", sender_name=name, lang=lang)
    return refused or JsonResponse({"ok": True})


# --- WeChat Official Account -------------------------------------------------------------------------

def wechat_signature(token: str, timestamp: str, nonce: str) -> str:
    return wechat.signature(token, timestamp, nonce)


def _wechat_fresh(timestamp: str) -> bool:
    try:
        sent = int(timestamp)
    except ValueError:
        return False
    return abs(time.time() - sent) <= settings.OKPAY_CTI_TOLERANCE_SECONDS


def _wechat_signed(request: HttpRequest) -> bool:
    """The plaintext-mode query signature (the handshake, and every push in plaintext mode)."""
    token = settings.OKPAY_WECHAT_TOKEN
    q = request.GET
    timestamp, nonce = q.get("timestamp", ""), q.get("nonce", "")
    if not (token and timestamp and nonce) or not _wechat_fresh(timestamp):
        return False
    return wechat.signature_matches((token, timestamp, nonce), q.get("signature", ""))


def _wechat_message(request: HttpRequest) -> Any:
    """The push's message element, checked for the configured mode; None when it is refused
    (403); raises ``SyntaxError``/``DefusedXmlException`` for a signed body that is not XML (400).
    Both modes carry the query ``signature`` (checked first, with the time window); safe mode adds
    ``msg_signature`` over the encrypted body."""
    if not _wechat_signed(request):
        return None
    q, aes_key = request.GET, settings.OKPAY_WECHAT_ENCODING_AES_KEY
    if not aes_key:  # plaintext mode
        return fromstring(request.body) if q.get("encrypt_type", "raw") == "raw" else None
    if q.get("encrypt_type") != "aes":  # safe mode: nothing unencrypted is accepted
        return None
    encrypted = (fromstring(request.body).findtext("Encrypt") or "").strip()
    parts = (settings.OKPAY_WECHAT_TOKEN, q["timestamp"], q["nonce"], encrypted)
    if not encrypted or not wechat.signature_matches(parts, q.get("msg_signature", "")):
        return None
    try:
        return fromstring(wechat.decrypt(aes_key, encrypted, settings.OKPAY_WECHAT_APPID))
    except wechat.WeChatCryptoError:
        return None


@csrf_exempt
def wechat_webhook(request: HttpRequest) -> HttpResponse:
    """GET: the server-address handshake (echo ``echostr``); POST: a message pushed as XML, in
    plaintext mode or (with ``OKPAY_WECHAT_ENCODING_AES_KEY``) safe mode. A push is accepted only
    inside the replay window and once per ``timestamp``+``nonce`` (``okpay.social.wechat``)."""
    if request.method not in ("GET", "POST"):
        return envelope(405, "method_not_allowed", "Use GET or POST.")
    if request.method == "GET":
        if not _wechat_signed(request):
            return _refused()
        return HttpResponse(request.GET.get("echostr", "")[:200], content_type="text/plain; charset=utf-8")
    with transaction.atomic():
        try:
            root = _wechat_message(request)
        except (SyntaxError, DefusedXmlException):  # xml.etree's ParseError is a SyntaxError
            return envelope(400, "invalid_request", "The body is not the XML of a WeChat message.")
        if root is None:
            return _refused()
        q = request.GET
        if not services.webhook_nonce_claim(platform="wechat", nonce=f"{q['timestamp']}:{q['nonce']}"):
            return _refused()  # the same signed push again: a replay

        def field(name: str) -> str:
            return (root.findtext(name) or "").strip()

        msg_type, openid = field("MsgType"), field("FromUserName")
        if msg_type != "text" or not openid:
            return HttpResponse("success", content_type="text/plain")  # events, images…: acknowledged, not stored
        key = field("MsgId") or f"{openid}:{field('CreateTime')}"
        refused = _receive(platform="wechat", sender_id=openid, text=root.findtext("Content") or "",
                           message_key=key)
    return refused or HttpResponse("success", content_type="text/plain")


# --- other platforms ---------------------------------------------------------------------------------

@csrf_exempt
def generic_webhook(request: HttpRequest, platform: str) -> HttpResponse:
    """``{"message_id", "sender": {"id", "name"?}, "text", "lang"?}`` signed with
    ``OKPAY_SOCIAL_WEBHOOK_SECRET`` (``OKPay-Signature: t=…,v1=…``)."""
    if request.method != "POST":
        return envelope(405, "method_not_allowed", "Use POST.")
    if platform in ("telegram", "wechat") or not signing.verify(
            settings.OKPAY_SOCIAL_WEBHOOK_SECRET, request.body, request.headers.get(signing.HEADER, ""),
            tolerance=settings.OKPAY_CTI_TOLERANCE_SECONDS):
        return _refused()
    try:
        data = json.loads(request.body)
    except ValueError:
        return envelope(400, "invalid_request", "The body is not JSON.")
    sender = data.get("sender") if isinstance(data, dict) else None
    if not isinstance(sender, dict) or not isinstance(data.get("text"), str):
        return envelope(400, "invalid_request", "Send message_id, sender.id and text.", "sender")
    refused = _receive(platform=platform, sender_id=str(sender.get("id") or ""), text=data["text"],
                       message_key=str(data.get("message_id") or ""), sender_name=str(sender.get("name") or ""),
                       lang="en" if str(data.get("lang") or "").startswith("en") else "")
    return refused or JsonResponse({"ok": True})


# --- the customer's page ---------------------------------------------------------------------------

@login_required
@require_http_methods(["GET", "POST"])
def account_social(request: HttpRequest) -> HttpResponse:
    """Linked social accounts; a one-time code to link another (shown once)."""
    user: User = request.user  # type: ignore[assignment]
    code, error = "", ""
    if request.method == "POST":
        try:
            if request.POST.get("unlink"):
                services.account_link_remove(user=user, link_id=int(request.POST["unlink"]))
            else:
                code = services.link_code_create(user=user)
        except (OkpayError, ValueError):
            error = "not_found"
    accounts = [c for c in registry.channels() if c.kind == "social" and c.platform in ("telegram", "wechat")]
    return render(request, "social/account.html", {
        "links": AccountLink.objects.filter(user=user).order_by("platform", "pk"), "code": code, "error": error,
        "accounts": accounts, "section": "social", "ttl_minutes": int(services.CODE_TTL.total_seconds() // 60)})
