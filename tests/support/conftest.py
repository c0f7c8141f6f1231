from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from okpay.support import clock
from tests.chat.conftest import servers  # noqa: F401 - real `okpay serve` processes, for the browser tests


class FakeClock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> datetime:
        self.now += timedelta(**kwargs)
        return self.now


@pytest.fixture
def fake_clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    """The desk's clock, moved by hand: Monday 2026-11-23 09:00 Beijing time (01:00 UTC)."""
    fake = FakeClock(datetime(2026, 11, 23, 1, 0, tzinfo=UTC))
    monkeypatch.setattr(clock, "now", fake)
    return fake
