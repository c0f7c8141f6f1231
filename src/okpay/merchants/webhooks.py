"""Webhook signing, URL safety (SSRF) and the one HTTP POST of a delivery.

``OKPay-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.body" with the endpoint secret>``.
Outside debug (and unless ``OKPAY_WEBHOOK_ALLOW_PRIVATE``), a URL must be ``https`` and every
address its host resolves to must be global; the check runs when the endpoint is saved and again
at each send, and the connection goes to the address that was checked (no second lookup that a
rebinding DNS server could answer differently). Redirects are never followed.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import ipaddress
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

from okpay.merchants.errors import UnsafeWebhookUrl

SIGNATURE_HEADER = "OKPay-Signature"
DEFAULT_TOLERANCE = 300


def sign(secret: str, body: bytes, timestamp: int) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify(secret: str, body: bytes, header: str, *, tolerance: int = DEFAULT_TOLERANCE,
           now: float | None = None) -> bool:
    """What a merchant's server does (docs/merchants.md shows the same in a few lines)."""
    parts = dict(item.split("=", 1) for item in header.split(",") if "=" in item)
    try:
        timestamp = int(parts.get("t", ""))
    except ValueError:
        return False
    if abs((time.time() if now is None else now) - timestamp) > tolerance:
        return False
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts.get("v1", ""))


def _private_allowed() -> bool:
    return bool(settings.DEBUG or settings.OKPAY_WEBHOOK_ALLOW_PRIVATE)


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str
    address: str


def resolve(url: str) -> Target:
    """Check ``url`` and pick the address to connect to; raise ``UnsafeWebhookUrl``."""
    parts = urlsplit(url)
    allow_private = _private_allowed()
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise UnsafeWebhookUrl(param="url")
    if parts.scheme != "https" and not allow_private:
        raise UnsafeWebhookUrl(param="url")
    if parts.username or parts.password:
        raise UnsafeWebhookUrl(param="url")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise UnsafeWebhookUrl(param="url") from exc
    try:
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UnsafeWebhookUrl(param="url") from exc
    addresses = [str(info[4][0]) for info in infos]
    if not addresses:
        raise UnsafeWebhookUrl(param="url")
    if not allow_private:
        for address in addresses:
            ip = ipaddress.ip_address(address.split("%", 1)[0])
            mapped = getattr(ip, "ipv4_mapped", None)
            if not ip.is_global or (mapped is not None and not mapped.is_global) or ip.is_multicast:
                raise UnsafeWebhookUrl(param="url")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(parts.scheme, parts.hostname, port, path, addresses[0])


class _PinnedHTTPS(http.client.HTTPSConnection):
    def __init__(self, target: Target, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout, context=ssl.create_default_context())
        self._address = target.address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]


class _PinnedHTTP(http.client.HTTPConnection):
    def __init__(self, target: Target, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout)
        self._address = target.address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


@dataclass(frozen=True)
class Outcome:
    ok: bool
    status_code: int | None
    error: str
    duration_ms: int


def post(url: str, *, secret: str, body: bytes) -> Outcome:
    """One delivery attempt: 2xx is success; anything else (3xx included) is a failure."""
    started = time.monotonic()

    def done(ok: bool, code: int | None, error: str) -> Outcome:
        return Outcome(ok, code, error[:200], int((time.monotonic() - started) * 1000))

    try:
        target = resolve(url)
    except UnsafeWebhookUrl:
        return done(False, None, "unsafe_url")
    timeout = settings.OKPAY_WEBHOOK_TIMEOUT
    conn: http.client.HTTPConnection = (_PinnedHTTPS(target, timeout) if target.scheme == "https"
                                        else _PinnedHTTP(target, timeout))
    headers = {"Content-Type": "application/json", "User-Agent": "OKPay-Webhooks/1",
               SIGNATURE_HEADER: sign(secret, body, int(time.time()))}
    try:
        conn.request("POST", target.path, body=body, headers=headers)
        response = conn.getresponse()
        response.read(65536)
        code = response.status
    except (OSError, http.client.HTTPException) as exc:
        return done(False, None, f"{type(exc).__name__}: {exc}")
    finally:
        conn.close()
    return done(200 <= code < 300, code, "" if 200 <= code < 300 else f"http_{code}")
