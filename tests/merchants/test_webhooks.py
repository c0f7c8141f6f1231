from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone

from okpay.identity.models import OutboundEmail
from okpay.merchants import services, webhooks
from okpay.merchants.errors import UnsafeWebhookUrl
from okpay.merchants.models import DeliveryAttempt, WebhookDelivery

pytestmark = pytest.mark.django_db


class Receiver:
    """A local merchant server: answers the next codes in ``plan`` (then 200) and keeps what it got."""

    def __init__(self, plan: list[int]) -> None:
        self.plan = list(plan)
        self.received: list[tuple[dict[str, str], bytes]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.received.append((dict(self.headers), body))
                code = outer.plan.pop(0) if outer.plan else 200
                self.send_response(code)
                if code in (301, 302):
                    self.send_header("Location", "http://127.0.0.1:1/elsewhere")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/okpay/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(settings):  # type: ignore[no-untyped-def]
    settings.OKPAY_WEBHOOK_ALLOW_PRIVATE = True
    made: list[Receiver] = []

    def make(plan: list[int]) -> Receiver:
        made.append(Receiver(plan))
        return made[-1]

    yield make
    for r in made:
        r.close()


def make_due() -> None:
    WebhookDelivery.objects.filter(status="pending").update(next_attempt_at=timezone.now())


def test_signature_verify_with_tolerance() -> None:
    body = b'{"id":"evt_1"}'
    header = webhooks.sign("whsec_x", body, 1_700_000_000)
    assert webhooks.verify("whsec_x", body, header, now=1_700_000_100)
    assert not webhooks.verify("whsec_x", body, header, now=1_700_000_301)  # too old: a replay
    assert not webhooks.verify("whsec_y", body, header, now=1_700_000_000)
    assert not webhooks.verify("whsec_x", body + b" ", header, now=1_700_000_000)
    assert not webhooks.verify("whsec_x", body, "t=abc,v1=00", now=1_700_000_000)


def test_delivery_fails_then_succeeds_signed(merchant, funded, receiver) -> None:
    r = receiver([500, 503])
    endpoint = services.webhook_endpoint_create(merchant=merchant, url=r.url, events=["payment_intent.succeeded"])
    intent = services.intent_create(merchant=merchant, amount=1_000)
    services.intent_confirm(intent_id=intent.public_id, customer=funded)
    delivery = WebhookDelivery.objects.get()
    assert services.webhooks_deliver_due() == 1
    delivery.refresh_from_db()
    assert delivery.status == "pending" and delivery.attempts == 1 and delivery.next_attempt_at > timezone.now()
    assert services.webhooks_deliver_due() == 0  # not due yet: backoff
    make_due()
    services.webhooks_deliver_due()
    make_due()
    services.webhooks_deliver_due()
    delivery.refresh_from_db()
    assert delivery.status == "succeeded" and delivery.attempts == 3
    assert [a.status_code for a in DeliveryAttempt.objects.order_by("id")] == [500, 503, 200]
    headers, body = r.received[-1]
    assert webhooks.verify(endpoint.secret, body, headers["OKPay-Signature"])
    payload = json.loads(body)
    assert payload["type"] == "payment_intent.succeeded" and payload["data"]["object"]["id"] == intent.public_id
    # Resend makes a new delivery of the same event.
    services.webhook_delivery_resend(merchant=merchant, delivery_id=delivery.public_id)
    services.webhooks_deliver_due()
    assert len(r.received) == 4 and json.loads(r.received[-1][1])["id"] == payload["id"]


def test_backoff_grows_with_jitter() -> None:
    values = [services.backoff_seconds(n) for n in range(1, 8)]
    assert 15 <= values[0] <= 30 and 960 <= values[6] <= 1920
    assert all(services.backoff_seconds(30) <= 6 * 3600 for _ in range(5))


def test_redirect_is_a_failure_and_gives_up(merchant, funded, receiver) -> None:
    r = receiver([302])
    services.webhook_endpoint_create(merchant=merchant, url=r.url, events=["*"])
    services.intent_create(merchant=merchant, amount=1_000)
    services.webhooks_deliver_due()
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "pending" and delivery.attempt_log.get().status_code == 302 and len(r.received) == 1
    WebhookDelivery.objects.update(give_up_at=timezone.now(), next_attempt_at=timezone.now())
    r.plan = [500]
    services.webhooks_deliver_due()
    delivery.refresh_from_db()
    assert delivery.status == "failed" and delivery.attempts == 2


def test_endpoint_disabled_after_repeated_failures_with_email(merchant, receiver, settings) -> None:
    settings.OKPAY_WEBHOOK_DISABLE_AFTER = 3
    r = receiver([500] * 10)
    endpoint = services.webhook_endpoint_create(merchant=merchant, url=r.url, events=["*"])
    for _ in range(3):
        services.intent_create(merchant=merchant, amount=100)
    services.webhooks_deliver_due()
    endpoint.refresh_from_db()
    assert not endpoint.enabled and endpoint.disabled_reason == "failing"
    assert OutboundEmail.objects.filter(to__icontains=merchant.user.email).count() == 1
    services.intent_create(merchant=merchant, amount=100)  # no new delivery to a disabled endpoint
    assert WebhookDelivery.objects.filter(endpoint=endpoint).count() == 3


@pytest.mark.parametrize("url", [
    "http://example.com/hook",            # not https
    "https://127.0.0.1/hook",             # loopback
    "https://10.0.0.5/hook",              # private
    "https://169.254.169.254/latest",     # link-local (cloud metadata)
    "https://[::1]/hook",                 # IPv6 loopback
    "https://[::ffff:127.0.0.1]/hook",    # v4-mapped loopback
    "https://localhost/hook",             # resolves to loopback
    "https://0.0.0.0/hook",               # unspecified
    "https://user:pw@example.com/hook",   # credentials
    "ftp://example.com/hook",
])
def test_ssrf_refused(url: str, merchant, settings) -> None:  # type: ignore[no-untyped-def]
    settings.DEBUG = False
    settings.OKPAY_WEBHOOK_ALLOW_PRIVATE = False
    with pytest.raises(UnsafeWebhookUrl):
        services.webhook_endpoint_create(merchant=merchant, url=url, events=["*"])


def test_ssrf_checked_at_send_time(merchant, receiver, settings) -> None:
    r = receiver([])
    services.webhook_endpoint_create(merchant=merchant, url=r.url, events=["*"])  # allowed in development
    services.intent_create(merchant=merchant, amount=100)
    settings.OKPAY_WEBHOOK_ALLOW_PRIVATE = False
    settings.DEBUG = False
    services.webhooks_deliver_due()
    attempt = DeliveryAttempt.objects.get()
    assert attempt.error == "unsafe_url" and not attempt.succeeded and r.received == []


@pytest.mark.parametrize("url", [
    "https://[64:ff9b::a9fe:a9fe]/",                       # NAT64 of 169.254.169.254 (metadata)
    "https://[64:ff9b::a00:5]/hook",                       # NAT64 of 10.0.0.5
    "https://[64:ff9b:1::a9fe:a9fe]/",                     # local-use NAT64 prefix (RFC 8215)
    "https://[2002:a9fe:a9fe::1]/",                        # 6to4 of 169.254.169.254
    "https://[2002:7f00:1::1]/hook",                       # 6to4 of 127.0.0.1
    "https://[2001:0:4136:e378:8000:63bf:f5fe:fefe]/",     # Teredo, client 10.1.1.1
    "https://[::7f00:1]/hook",                             # v4-compatible 127.0.0.1
])
def test_ssrf_refused_through_embedded_ipv4(url: str, merchant, settings) -> None:  # type: ignore[no-untyped-def]
    """Issue 16.8: an IPv6 address that leads to a private IPv4 address is refused like it."""
    settings.DEBUG = False
    settings.OKPAY_WEBHOOK_ALLOW_PRIVATE = False
    with pytest.raises(UnsafeWebhookUrl):
        services.webhook_endpoint_create(merchant=merchant, url=url, events=["*"])
    assert not merchant.endpoints.exists()


@pytest.mark.parametrize("address", ["64:ff9b::808:808", "2002:808:808::1", "2606:4700:4700::1111", "8.8.8.8"])
def test_public_addresses_embedded_or_not_pass_the_guard(address: str) -> None:
    assert webhooks.address_is_public(address)


def test_delivery_log_shows_coarse_errors_not_exception_text(merchant, receiver, settings) -> None:
    """Issue 16.8: the attempt records ``refused``, not the socket error (addresses, errno text)."""
    import socket
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # nothing listens there now: connection refused
    receiver([])  # development settings (private addresses allowed)
    services.webhook_endpoint_create(merchant=merchant, url=f"http://127.0.0.1:{port}/hook", events=["*"])
    services.intent_create(merchant=merchant, amount=100)
    services.webhooks_deliver_due()
    attempt = DeliveryAttempt.objects.get()
    assert (attempt.error, attempt.status_code, attempt.succeeded) == ("refused", None, False)
    assert str(attempt.outcome_label) in ("Connection refused", "连接被拒绝")


def test_error_codes_are_coarse() -> None:
    import ssl
    assert webhooks.error_code(TimeoutError("timed out")) == "timeout"
    assert webhooks.error_code(ConnectionRefusedError(111, "refused by 10.0.0.7")) == "refused"
    assert webhooks.error_code(ssl.SSLCertVerificationError("hostname mismatch for db.internal")) == "tls"
    assert webhooks.error_code(OSError(113, "No route to host 10.9.9.9")) == "unreachable"
    assert webhooks.error_code(ConnectionResetError(104, "reset")) == "connection_error"
    assert webhooks.error_code(__import__("http.client").client.BadStatusLine("SSH-2.0-OpenSSH")) == "bad_response"


@pytest.mark.django_db(transaction=True)
def test_worker_sends_at_once_through_the_task(merchant, funded, receiver) -> None:
    from tests.conftest import run_worker_until_idle

    r = receiver([])
    services.webhook_endpoint_create(merchant=merchant, url=r.url, events=["payment_intent.created"])
    services.intent_create(merchant=merchant, amount=100)
    run_worker_until_idle()
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "succeeded" and delivery.attempts == 1 and len(r.received) == 1
    run_worker_until_idle()  # the sweep finds nothing more to send
    assert len(r.received) == 1
