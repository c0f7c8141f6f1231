"""The send-message APIs of the platforms, as their public documentation describes them.

- Telegram Bot API: ``POST {OKPAY_TELEGRAM_API_URL}/bot<token>/sendMessage`` with JSON
  ``{"chat_id", "text"}``; the answer is ``{"ok": true, "result": Message}`` or ``{"ok": false,
  "error_code", "description", "parameters": {"retry_after"}?}``.
- WeChat Official Account customer-service message: ``POST {OKPAY_WECHAT_API_URL}/cgi-bin/message/
  custom/send?access_token=…`` with ``{"touser", "msgtype": "text", "text": {"content"}}``, answer
  ``{"errcode": 0, "errmsg": "ok"}``; the access token comes from ``GET /cgi-bin/token?grant_type=
  client_credential&appid=…&secret=…`` → ``{"access_token", "expires_in"}`` and is cached.
- Other platforms: ``POST OKPAY_SOCIAL_REPLY_URL`` with ``{"platform", "recipient", "text",
  "ticket"}`` signed like our inbound webhooks (``OKPay-Signature``); any 2xx is success.

Each raises :class:`DeliveryError` (``permanent`` when trying again cannot help).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from okpay.core import signing
from okpay.social.models import PlatformToken

TEXT_MAX = 4000  # Telegram takes 4096 characters; WeChat's limit is in bytes, about the same in practice


class DeliveryError(Exception):
    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


def _http(method: str, url: str, body: bytes | None = None, headers: dict[str, str] | None = None
          ) -> tuple[int, bytes]:
    if not url.startswith(("https://", "http://")):
        raise DeliveryError(f"not an http(s) URL: {url[:60]}", permanent=True)
    # the scheme is checked above: http(s) only, never file: or custom ones
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})  # noqa: S310  # nosec B310
    try:
        with urllib.request.urlopen(request, timeout=settings.OKPAY_SOCIAL_TIMEOUT) as response:  # noqa: S310  # nosec B310
            return response.status, response.read(1_000_000)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(1_000_000)
    except (urllib.error.URLError, OSError) as exc:
        raise DeliveryError(f"{type(exc).__name__}: {exc}") from exc


def _json(raw: bytes) -> dict[str, Any]:
    try:
        data = json.loads(raw or b"{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _post_json(url: str, payload: dict[str, Any], headers: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
    body = json.dumps(payload, ensure_ascii=False).encode()
    status, raw = _http("POST", url, body, {"Content-Type": "application/json; charset=utf-8", **(headers or {})})
    return status, _json(raw)


# --- Telegram ---------------------------------------------------------------------------------------

def telegram_send(chat_id: str, text: str) -> str:
    token = settings.OKPAY_TELEGRAM_BOT_TOKEN
    if not token:
        raise DeliveryError("OKPAY_TELEGRAM_BOT_TOKEN is not set", permanent=True)
    url = f"{settings.OKPAY_TELEGRAM_API_URL.rstrip('/')}/bot{token}/sendMessage"
    status, data = _post_json(url, {"chat_id": int(chat_id) if chat_id.lstrip("-").isdigit() else chat_id,
                                    "text": text[:TEXT_MAX]})
    if status == 200 and data.get("ok") is True:
        return str((data.get("result") or {}).get("message_id", ""))
    code = data.get("error_code", status)
    description = str(data.get("description") or f"HTTP {status}")
    # 400 (chat not found, text empty…) and 403 (the bot was blocked) do not get better by waiting
    raise DeliveryError(f"telegram {code}: {description}", permanent=status in (400, 401, 403, 404))


# --- WeChat Official Account -----------------------------------------------------------------------

WECHAT_TOKEN_ERRORS = {40001, 40014, 42001}  # invalid or expired access_token: fetch a new one
WECHAT_PERMANENT = {40003, 43004, 45015, 45047, 48001}  # bad openid, unsubscribed, outside the 48 h window…


def _wechat_base() -> str:
    return settings.OKPAY_WECHAT_API_URL.rstrip("/")


def wechat_access_token(*, refresh: bool = False) -> str:
    now = timezone.now()
    if not refresh:
        row = PlatformToken.objects.filter(platform="wechat", expires_at__gt=now + timedelta(minutes=5)).first()
        if row is not None:
            return row.token
    appid, secret = settings.OKPAY_WECHAT_APPID, settings.OKPAY_WECHAT_APPSECRET
    if not (appid and secret):
        raise DeliveryError("OKPAY_WECHAT_APPID / OKPAY_WECHAT_APPSECRET are not set", permanent=True)
    query = urllib.parse.urlencode({"grant_type": "client_credential", "appid": appid, "secret": secret})
    status, raw = _http("GET", f"{_wechat_base()}/cgi-bin/token?{query}")
    data = _json(raw)
    token = data.get("access_token")
    if status != 200 or not isinstance(token, str) or not token:
        raise DeliveryError(f"wechat token {data.get('errcode', status)}: {data.get('errmsg', '')}")
    expires_in = data.get("expires_in")
    if not isinstance(expires_in, int) or isinstance(expires_in, bool):
        expires_in = 7200
    with transaction.atomic():
        PlatformToken.objects.update_or_create(platform="wechat", defaults={
            "token": token[:600], "expires_at": now + timedelta(seconds=int(expires_in))})
    return token


def wechat_send(openid: str, text: str) -> str:
    payload = {"touser": openid, "msgtype": "text", "text": {"content": text[:TEXT_MAX]}}
    for attempt in range(2):
        token = wechat_access_token(refresh=attempt > 0)
        url = f"{_wechat_base()}/cgi-bin/message/custom/send?{urllib.parse.urlencode({'access_token': token})}"
        status, data = _post_json(url, payload)
        errcode = data.get("errcode")
        if status == 200 and errcode == 0:
            return ""
        if errcode in WECHAT_TOKEN_ERRORS and attempt == 0:
            continue
        raise DeliveryError(f"wechat {errcode if errcode is not None else status}: {data.get('errmsg', '')}",
                            permanent=errcode in WECHAT_PERMANENT)
    raise DeliveryError("wechat: the access token was refused twice")


# --- other platforms (signed JSON) ------------------------------------------------------------------

def generic_send(platform: str, recipient: str, text: str, ticket_number: str = "") -> str:
    url, secret = settings.OKPAY_SOCIAL_REPLY_URL, settings.OKPAY_SOCIAL_WEBHOOK_SECRET
    if not (url and secret):
        raise DeliveryError("OKPAY_SOCIAL_REPLY_URL / OKPAY_SOCIAL_WEBHOOK_SECRET are not set", permanent=True)
    body = json.dumps({"platform": platform, "recipient": recipient, "text": text[:TEXT_MAX],
                       "ticket": ticket_number}, ensure_ascii=False).encode()
    status, raw = _http("POST", url, body, {"Content-Type": "application/json; charset=utf-8",
                                            signing.HEADER: signing.sign(secret, body)})
    if 200 <= status < 300:
        return str(_json(raw).get("id", ""))
    raise DeliveryError(f"{platform} reply endpoint answered HTTP {status}", permanent=status in (400, 404, 410))


def send(platform: str, recipient: str, text: str, *, ticket_number: str = "") -> str:
    if platform == "telegram":
        return telegram_send(recipient, text)
    if platform == "wechat":
        return wechat_send(recipient, text)
    return generic_send(platform, recipient, text, ticket_number)
