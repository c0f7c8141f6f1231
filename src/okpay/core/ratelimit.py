"""A small fixed-window rate limiter on the cache (Redis when configured, else process memory).

It deliberately lives outside the database: a limit must hold even when the request that hit
it is rolled back (every API POST that answers an error is).

    limiter = RateLimit("otp", limit=5, window=900)
    limiter.hit(f"user:{user.pk}")        # raises RateLimited once the window is full
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.core.cache import cache

from okpay.core.errors import RateLimited


@dataclass(frozen=True)
class RateLimit:
    name: str
    limit: int
    window: int  # seconds

    def _key(self, subject: str) -> tuple[str, int]:
        bucket = int(time.time()) // self.window
        retry_after = (bucket + 1) * self.window - int(time.time())
        return f"rl:{self.name}:{subject}:{bucket}", max(retry_after, 1)

    def count(self, subject: str) -> int:
        key, _ = self._key(subject)
        return int(cache.get(key, 0))

    def exceeded(self, subject: str) -> bool:
        return self.count(subject) >= self.limit

    def retry_after(self, subject: str) -> int:
        return self._key(subject)[1]

    def check(self, subject: str) -> None:
        """Raise :class:`RateLimited` if the window is already full, without counting."""
        if self.exceeded(subject):
            raise RateLimited(retry_after=self.retry_after(subject))

    def hit(self, subject: str) -> int:
        """Count one attempt; raise :class:`RateLimited` when it goes over the limit."""
        key, retry_after = self._key(subject)
        cache.add(key, 0, timeout=self.window + 1)
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, timeout=self.window + 1)
            count = 1
        if count > self.limit:
            raise RateLimited(retry_after=retry_after)
        return count

    def reset(self, subject: str) -> None:
        cache.delete(self._key(subject)[0])
