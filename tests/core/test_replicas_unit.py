"""okpay.core.replicas without a replica: the read-your-writes pin in the cache (the real standby
is in tests/fault/test_replicas.py)."""

from __future__ import annotations

from django.test import RequestFactory, override_settings

from okpay.core import replicas
from tests.fault.bank import free_port

DEAD_REDIS = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                          "LOCATION": f"redis://127.0.0.1:{free_port()}/0",
                          "OPTIONS": {"socket_connect_timeout": 1}}}


def test_a_write_pins_its_token_and_only_its_token() -> None:
    alice = RequestFactory().get("/api/v1/transactions", headers={"Authorization": "Bearer tok-alice"})
    bob = RequestFactory().get("/api/v1/transactions", headers={"Authorization": "Bearer tok-bob"})
    replicas.pin(alice)
    assert (replicas.pinned(alice), replicas.pinned(bob)) == (True, False)


def test_without_the_cache_a_write_still_answers_and_reads_go_to_the_primary() -> None:
    """Found while reviewing the pin: with Redis down, storing the pin after a committed POST raised,
    and the client got a 500 for work that was done."""
    request = RequestFactory().post("/api/v1/transfers", headers={"Authorization": "Bearer tok-alice"})
    with override_settings(CACHES=DEAD_REDIS):
        replicas.pin(request)  # no exception
        assert replicas.pinned(request) is True
