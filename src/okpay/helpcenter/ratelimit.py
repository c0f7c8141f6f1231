"""Fixed-window limits on the cache (Redis when configured), for anonymous tools like the verifier."""

from __future__ import annotations

import time

from django.core.cache import cache

from okpay.core.errors import RateLimited


def hit(name: str, subject: str, *, limit: int, window: int) -> None:
    """Count one use by ``subject``; raise :class:`RateLimited` past ``limit`` per ``window`` seconds."""
    now = int(time.time())
    bucket = now // window
    key = f"okpay:rl:{name}:{subject}:{bucket}"
    cache.add(key, 0, timeout=window + 1)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=window + 1)
        count = 1
    if count > limit:
        raise RateLimited(retry_after=max((bucket + 1) * window - now, 1))
