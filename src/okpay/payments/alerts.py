"""Money-arrived alerts (issue 22 item 3).

Every in-app notice (``okpay.payments.notify``) also reaches the customer's open pages and, when
they asked for it, their devices:

- **Live**: after the transaction that wrote the notice commits, an event goes to the Channels
  group ``wallet.<user pk>``; the wallet socket (``/ws/wallet/``, ``okpay.payments.consumers``)
  hands it to every open page of that customer, which refreshes its balance without a reload and,
  when the tab is in the background and the customer allowed it, shows a browser notification.
- **Web Push** to a closed app: a task row, written in the same transaction (so it exists only if
  the money moved), makes the worker send an encrypted message with a VAPID signature to each of
  the customer's push subscriptions (pywebpush). It reaches the customer only through the browser
  vendor's push service (FCM, Mozilla, Apple, Windows): the endpoints accepted are those hosts
  (``OKPAY_PUSH_HOSTS``), so the server never posts to an address a browser made up. The message
  says only that something happened, never an amount or a name: it may show on a locked screen.
"""

from __future__ import annotations

import base64
import json
import logging
import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from django_tasks import task

from okpay.core import sockets
from okpay.core.errors import InvalidRequest
from okpay.identity.models import User
from okpay.payments.models import PushSubscription, Transaction

logger = logging.getLogger("okpay.payments.alerts")

# Notices that mean money arrived (or came back), or that a pending payment settled.
MONEY_IN = ("received", "returned", "settled")
PUSH_TEXT = {
    "received": gettext_noop("Money arrived in your OKPay wallet."),
    "returned": gettext_noop("Money came back to your OKPay wallet."),
    "settled": gettext_noop("A pending payment in your OKPay wallet is complete."),
}


def wallet_group(user_pk: int) -> str:
    return f"wallet.{user_pk}"


_UNKNOWN = object()


def notice(*, user_id: int, txn: Transaction, kind: str, locale: Any = _UNKNOWN) -> None:
    """Called in the transaction that wrote the notice: the live event after it commits, the Web
    Push task row inside it. ``locale``: the reader's language when the caller has their user row
    at hand (saves a query after the commit)."""
    transaction.on_commit(lambda: _live(user_id, txn, kind, locale), robust=True)  # never fails a payment
    if kind in MONEY_IN and PushSubscription.objects.filter(user_id=user_id).exists():
        push_deliver.enqueue(user_id, kind)


def _live(user_id: int, txn: Transaction, kind: str, locale: Any = _UNKNOWN) -> None:
    from okpay.payments.notify import title

    if locale is _UNKNOWN:
        locale = User.objects.filter(pk=user_id).values_list("locale", flat=True).first()
    with translation.override(locale or settings.LANGUAGE_CODE):
        text = title(kind, txn)
    sockets.send_now(wallet_group(user_id), {"type": "wallet.changed", "kind": kind, "transaction": txn.public_id,
                                             "title": text, "money_in": kind in MONEY_IN})


# --- VAPID key -------------------------------------------------------------------------------------

def _vapid() -> Any:
    from py_vapid import Vapid

    path = Path(settings.OKPAY_VAPID_KEY_FILE)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        vapid = Vapid()
        vapid.generate_keys()
        pem = vapid.private_pem()
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process made it first: use theirs
            pass
        else:
            with os.fdopen(fd, "wb") as fh:
                fh.write(pem)
    return Vapid.from_file(str(path))


def vapid_public_key() -> str:
    """The application server key a browser subscribes with (base64url, uncompressed P-256 point)."""
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    raw = _vapid().public_key.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


# --- subscriptions ------------------------------------------------------------------------------------

def _host_allowed(endpoint: str) -> bool:
    parts = urlsplit(endpoint)
    host = (parts.hostname or "").lower()
    for allowed in settings.OKPAY_PUSH_HOSTS:
        allowed = allowed.lower()
        if host == allowed or (allowed.startswith(".") and host.endswith(allowed)):
            return parts.scheme == "https" or host in ("127.0.0.1", "localhost")
    return False


def _b64(value: Any, *, size: int) -> str:
    if not isinstance(value, str) or not value or len(value) > 200:
        raise InvalidRequest(gettext_noop("This push subscription is not valid."), param="keys")
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except ValueError:
        raise InvalidRequest(gettext_noop("This push subscription is not valid."), param="keys") from None
    if len(raw) != size:
        raise InvalidRequest(gettext_noop("This push subscription is not valid."), param="keys")
    return value


def push_subscription_save(*, user: User, data: Any) -> PushSubscription:
    """Store a browser's ``PushSubscription.toJSON()``; the same endpoint moves to the newest user."""
    if not isinstance(data, dict) or not isinstance(data.get("keys"), dict):
        raise InvalidRequest(gettext_noop("This push subscription is not valid."), param="keys")
    endpoint = data.get("endpoint")
    if not isinstance(endpoint, str) or len(endpoint) > 1000 or not _host_allowed(endpoint):
        raise InvalidRequest(gettext_noop("This push service is not accepted."), param="endpoint")
    p256dh = _b64(data["keys"].get("p256dh"), size=65)
    auth = _b64(data["keys"].get("auth"), size=16)
    with transaction.atomic():
        subscription, _created = PushSubscription.objects.update_or_create(
            endpoint=endpoint, defaults={"user": user, "p256dh": p256dh, "auth": auth, "created_at": timezone.now()})
    return subscription


def push_subscription_delete(*, user: User, endpoint: str) -> int:
    deleted, _rows = PushSubscription.objects.filter(user=user, endpoint=endpoint).delete()
    return deleted


# --- sending --------------------------------------------------------------------------------------------

def push_send(*, user_id: int, kind: str) -> int:
    """Send the alert to each of the user's subscriptions; returns how many the push service took.
    Subscriptions the service says are gone (404, 410) are removed."""
    from pywebpush import WebPushException, webpush

    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None or kind not in PUSH_TEXT:
        return 0
    with translation.override(user.locale or settings.LANGUAGE_CODE):
        payload = json.dumps({"title": "OKPay", "body": _(PUSH_TEXT[kind]), "url": reverse("payments:home"),
                              "tag": "okpay-wallet"}, ensure_ascii=False)
    vapid = _vapid()
    sent = 0
    for subscription in PushSubscription.objects.filter(user_id=user_id).order_by("pk"):
        if not _host_allowed(subscription.endpoint):
            continue
        info = {"endpoint": subscription.endpoint, "keys": {"p256dh": subscription.p256dh, "auth": subscription.auth}}
        try:
            webpush(info, data=payload, vapid_private_key=vapid,
                    vapid_claims={"sub": f"mailto:{settings.OKPAY_SUPPORT_EMAIL}"}, ttl=3600, timeout=10)
        except WebPushException as exc:
            status = getattr(exc.response, "status_code", None)
            if status in (404, 410):
                subscription.delete()
            else:
                logger.warning("web push refused: %s", status)
            continue
        except OSError:
            logger.warning("web push service unreachable", exc_info=True)
            continue
        PushSubscription.objects.filter(pk=subscription.pk).update(last_sent_at=timezone.now())
        sent += 1
    return sent


@task()
def push_deliver(user_id: int, kind: str) -> int:
    return push_send(user_id=user_id, kind=kind)
