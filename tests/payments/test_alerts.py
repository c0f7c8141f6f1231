"""Money-arrived alerts (issue 22 item 3): the wallet socket hears a transfer that arrives and a
pending payment that settles; Web Push reaches a local push endpoint encrypted (RFC 8291) and
signed (VAPID, RFC 8292); subscriptions only for the push services' hosts."""

from __future__ import annotations

import base64
import json
import os
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from channels.db import database_sync_to_async
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.test import Client

from okpay.payments import alerts
from okpay.payments.models import PushSubscription
from okpay.payments.services import topup_create, transfer_create
from tests.chat.conftest import communicator, run
from tests.conftest import run_worker_until_idle
from tests.factories import session_cookie, sign_in

pytestmark = pytest.mark.django_db(transaction=True)


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# --- the wallet socket ---------------------------------------------------------------------------------

def test_socket_hears_money_arrive_and_a_pending_payment_settle(alice, bob, billers, settings) -> None:  # type: ignore[no-untyped-def]
    from okpay.payments.services import bill_payment_create, payments_sweep

    settings.OKPAY_BILL_SUBMIT_SECONDS = 0
    settings.OKPAY_BILL_CONFIRM_SECONDS = 0
    topup_create(user=alice, amount=100_000)
    bob_cookie, alice_cookie = session_cookie(bob), session_cookie(alice)

    async def scenario():  # type: ignore[no-untyped-def]
        payee, payer = communicator("/ws/wallet/", cookie=bob_cookie), communicator("/ws/wallet/", cookie=alice_cookie)
        assert (await payee.connect())[0] and (await payer.connect())[0]
        await database_sync_to_async(transfer_create)(sender=alice, to="bob@example.com", amount=2_050, note="AA")
        heard = await payee.receive_json_from(timeout=5)
        sent = await payer.receive_json_from(timeout=5)
        await database_sync_to_async(bill_payment_create)(user=alice, biller="state-grid-sh",
                                                          account_reference="1234567897", amount=12_000)
        pending = await payer.receive_json_from(timeout=5)
        await database_sync_to_async(payments_sweep)()
        settled = await payer.receive_json_from(timeout=5)
        await payee.disconnect()
        await payer.disconnect()
        return heard, sent, pending, settled

    heard, sent, pending, settled = run(scenario)
    assert heard["type"] == "wallet" and heard["kind"] == "received" and heard["money_in"] is True
    assert heard["title"] == "您收到 Alice 的转账 ¥20.50"
    assert sent["kind"] == "sent" and sent["money_in"] is False
    assert (pending["kind"], pending["money_in"]) == ("pending", False)
    assert (settled["kind"], settled["money_in"]) == ("settled", True)
    assert settled["transaction"] == pending["transaction"]


def test_socket_is_for_signed_in_customers_only(db) -> None:  # type: ignore[no-untyped-def]
    async def scenario():  # type: ignore[no-untyped-def]
        comm = communicator("/ws/wallet/")
        connected, code = await comm.connect()
        return connected, code

    connected, code = run(scenario)
    assert connected is False and code == 4401


def test_an_alert_failing_never_fails_the_payment(alice, bob, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    def broken(group: str, event: dict) -> None:
        raise ConnectionError("the channel layer is down")

    monkeypatch.setattr(alerts.sockets, "send_now", broken)
    topup_create(user=alice, amount=10_000)
    txn = transfer_create(sender=alice, to="bob@example.com", amount=500)
    assert txn.status == "succeeded"


# --- Web Push against a local push endpoint -------------------------------------------------------------

class PushEndpoint:
    """A push service on 127.0.0.1 speaking the Web Push protocol: it takes POSTs, answers
    ``status`` and keeps what came."""

    def __init__(self, status: int = 201) -> None:
        self.status = status
        self.received: list[tuple[dict[str, str], bytes]] = []
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                endpoint.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(endpoint.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def push_endpoint(settings, tmp_path):  # type: ignore[no-untyped-def]
    settings.OKPAY_VAPID_KEY_FILE = tmp_path / "vapid_private.pem"
    settings.OKPAY_PUSH_HOSTS = ["127.0.0.1"]
    endpoint = PushEndpoint()
    yield endpoint
    endpoint.close()


def browser_keys() -> tuple[ec.EllipticCurvePrivateKey, str, bytes, str]:
    """What a browser makes when it subscribes: a P-256 key pair and a 16-byte auth secret."""
    private = ec.generate_private_key(ec.SECP256R1())
    public = private.public_key().public_bytes(serialization.Encoding.X962,
                                               serialization.PublicFormat.UncompressedPoint)
    auth = os.urandom(16)
    return private, b64(public), auth, b64(auth)


def verify_es256(token: str, public: ec.EllipticCurvePublicKey) -> dict:
    """A VAPID JWT's claims, after checking its ES256 signature (raw r || s) with ``public``."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

    header, payload, signature = token.split(".")
    raw = unb64(signature)
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    public.verify(der, f"{header}.{payload}".encode(), ec.ECDSA(hashes.SHA256()))  # raises if forged
    assert json.loads(unb64(header))["alg"] == "ES256"
    return json.loads(unb64(payload))


def test_vapid_key_is_made_once_into_var(push_endpoint, settings) -> None:  # type: ignore[no-untyped-def]
    key = alerts.vapid_public_key()
    assert len(unb64(key)) == 65 and unb64(key)[0] == 4
    assert alerts.vapid_public_key() == key
    assert oct(os.stat(settings.OKPAY_VAPID_KEY_FILE).st_mode & 0o777) == "0o600"


def test_money_arrived_reaches_the_push_endpoint_encrypted_and_signed(push_endpoint, alice, bob) -> None:  # type: ignore[no-untyped-def]
    import http_ece

    private, p256dh, auth_raw, auth = browser_keys()
    client = sign_in(bob)
    key = client.get("/wallet/push/key").json()["key"]
    answer = client.post("/wallet/push/subscribe", {"endpoint": push_endpoint.url + "/push/bob-device",
                                                     "keys": {"p256dh": p256dh, "auth": auth}},
                         content_type="application/json")
    assert answer.status_code == 201
    topup_create(user=alice, amount=10_000)
    transfer_create(sender=alice, to="bob@example.com", amount=2_050)
    run_worker_until_idle()
    assert len(push_endpoint.received) == 1
    headers, body = push_endpoint.received[0]
    assert headers["content-encoding"] == "aes128gcm" and headers["ttl"] == "3600"
    message = json.loads(http_ece.decrypt(body, private_key=private, auth_secret=auth_raw, version="aes128gcm"))
    assert message == {"title": "OKPay", "body": "您的 OKPay 钱包收到一笔钱。", "url": "/wallet/",
                       "tag": "okpay-wallet"}
    scheme, _, params = headers["authorization"].partition(" ")
    assert scheme == "vapid"
    fields = dict(part.strip().split("=", 1) for part in params.split(","))
    assert fields["k"] == key
    public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64(key))
    claims = verify_es256(fields["t"], public)
    assert claims["aud"] == push_endpoint.url and claims["sub"] == "mailto:support@okpay.example"
    # the payer, who sent rather than received, has no subscription: nothing else went out
    assert PushSubscription.objects.get().last_sent_at is not None


def test_gone_subscriptions_are_removed(push_endpoint, bob) -> None:  # type: ignore[no-untyped-def]
    _, p256dh, _, auth = browser_keys()
    alerts.push_subscription_save(user=bob, data={"endpoint": push_endpoint.url + "/push/old",
                                                  "keys": {"p256dh": p256dh, "auth": auth}})
    push_endpoint.status = 410
    assert alerts.push_send(user_id=bob.pk, kind="received") == 0
    assert PushSubscription.objects.count() == 0


@pytest.mark.parametrize("endpoint", ["https://evil.example/push", "http://169.254.169.254/latest/", "file:///etc/passwd",
                                      "http://fcm.googleapis.com/fcm/send/x", "https://fcm.googleapis.com.evil.example/x"])
def test_only_the_push_services_hosts_are_accepted(bob, endpoint) -> None:  # type: ignore[no-untyped-def]
    _, p256dh, _, auth = browser_keys()
    answer = sign_in(bob).post("/wallet/push/subscribe",
                               {"endpoint": endpoint, "keys": {"p256dh": p256dh, "auth": auth}},
                               content_type="application/json")
    assert answer.status_code == 400 and answer.json()["error"]["param"] == "endpoint"
    assert PushSubscription.objects.count() == 0


def test_a_real_push_service_endpoint_is_accepted_and_bad_keys_are_not(bob) -> None:  # type: ignore[no-untyped-def]
    _, p256dh, _, auth = browser_keys()
    client = sign_in(bob)
    good = {"endpoint": "https://fcm.googleapis.com/fcm/send/abc123", "keys": {"p256dh": p256dh, "auth": auth}}
    assert client.post("/wallet/push/subscribe", good, content_type="application/json").status_code == 201
    for bad in ({"endpoint": good["endpoint"], "keys": {"p256dh": "xx", "auth": auth}}, {"endpoint": good["endpoint"]},
                "not json"):
        answer = client.post("/wallet/push/subscribe", bad, content_type="application/json")
        assert answer.status_code == 400
    assert client.post("/wallet/push/unsubscribe", {"endpoint": good["endpoint"]},
                       content_type="application/json").json() == {"removed": 1}
    assert Client().post("/wallet/push/subscribe", good, content_type="application/json").status_code == 302
