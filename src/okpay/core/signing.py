"""Signed webhooks into OKPay (the phone system's CTI, generic social platforms).

``OKPay-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "t." + body with the shared secret>``,
the same scheme OKPay uses for its own merchant webhooks. A request is accepted only when the
signature matches (constant-time compare) and ``t`` is within the replay window.
"""

from __future__ import annotations

import hashlib
import hmac
import time

HEADER = "OKPay-Signature"


def sign(secret: str, body: bytes, timestamp: int | None = None) -> str:
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def verify(secret: str, body: bytes, header: str, *, tolerance: int, now: float | None = None) -> bool:
    if not secret or not header:
        return False
    parts = dict(item.strip().split("=", 1) for item in header.split(",") if "=" in item)
    try:
        timestamp = int(parts.get("t", ""))
    except ValueError:
        return False
    if abs((time.time() if now is None else now) - timestamp) > tolerance:
        return False
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts.get("v1", ""))
