from __future__ import annotations

import pytest
from django.core.cache import cache

from okpay.helpcenter.search import vocabulary
from okpay.helpcenter.seed import load


@pytest.fixture
def seeded(db: None) -> None:
    """The seed articles of both languages, indexed by the database's full-text backend."""
    load()
    vocabulary.invalidate()


@pytest.fixture(autouse=True)
def _fresh_rate_limits() -> None:
    cache.clear()
