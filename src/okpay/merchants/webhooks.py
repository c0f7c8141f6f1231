"""Webhook signing, URL safety (SSRF) and the one HTTP POST of a delivery.

``OKPay-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.body" with the endpoint secret>``.
Outside debug (and unless ``OKPAY_WEBHOOK_ALLOW_PRIVATE``), a URL must be ``https`` and every
address its host resolves to must be global; the check runs when the endpoint is saved and again
at each send, and the connection goes to the address that was checked (no second lookup that a
rebinding DNS server could answer differently). Redirects are never followed.

An IPv6 address that carries an IPv4 address (v4-mapped ``::ffff:0:0/96``, v4-compatible ``::/96``,
NAT64 ``64:ff9b::/96``, 6to4 ``2002::/16``, Teredo ``2001::/32``) is judged by the IPv4 address it
leads to as well; the local-use NAT64 prefix ``64:ff9b:1::/48`` (RFC 8215) is never global.
A failed attempt is recorded as a coarse code (``timeout``, ``refused``, ``tls``, ``unreachable``,
``connection_error``, ``bad_response``, ``http_<status>``), never the exception's text: the delivery
log must not become a map of the network behind the merchant's URL.
"""

from __future__ import annotations

import errno
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


_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")
_V4_COMPATIBLE = ipaddress.IPv6Network("::/96")


def embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address leads to (mapped, compatible, NAT64, 6to4, Teredo)."""
    found: list[ipaddress.IPv4Address] = []
    if ip.ipv4_mapped is not None:
        found.append(ip.ipv4_mapped)
    if ip in _NAT64 or ip in _V4_COMPATIBLE:
        found.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    if ip.sixtofour is not None:
        found.append(ip.sixtofour)
    if ip.teredo is not None:
        found.extend(ip.teredo)  # (server, client)
    return found


def address_is_public(address: str) -> bool:
    """True when ``address`` (and every IPv4 address it embeds) is globally reachable unicast."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if not ip.is_global or ip.is_multicast or ip.is_unspecified:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        if ip in _NAT64_LOCAL or ip in _V4_COMPATIBLE:  # local-use NAT64; deprecated v4-compatible
            return False
        for inner in embedded_ipv4(ip):
            if not inner.is_global or inner.is_multicast or inner.is_unspecified:
                return False
    return True


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
            if not address_is_public(address):
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


def error_code(exc: BaseException) -> str:
    """A coarse, fixed code for a failed attempt (what the merchant's delivery log shows)."""
    if isinstance(exc, TimeoutError | socket.timeout):
        return "timeout"
    if isinstance(exc, ConnectionRefusedError):
        return "refused"
    if isinstance(exc, ssl.SSLError | ssl.CertificateError):
        return "tls"
    if isinstance(exc, http.client.HTTPException):
        return "bad_response"
    if isinstance(exc, OSError) and exc.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH, errno.EADDRNOTAVAIL):
        return "unreachable"
    return "connection_error"


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
        return done(False, None, error_code(exc))
    finally:
        conn.close()
    return done(200 <= code < 300, code, "" if 200 <= code < 300 else f"http_{code}")
