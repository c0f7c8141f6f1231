from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from okpay.core.errors import InvalidRequest
from okpay.core.models import PeriodicJob
from okpay.core.pagination import decode_cursor, encode_cursor, keyset_page


@pytest.fixture
def jobs(db) -> list[PeriodicJob]:  # type: ignore[no-untyped-def]
    now = timezone.now()
    return PeriodicJob.objects.bulk_create([PeriodicJob(name=f"job-{i:02d}", next_run_at=now) for i in range(45)])


def test_pages_walk_newest_first_without_gaps_or_repeats(jobs) -> None:  # type: ignore[no-untyped-def]
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        page = keyset_page(PeriodicJob.objects.all(), limit=20, cursor=cursor)
        seen += [job.name for job in page.items]
        pages += 1
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert pages == 3
    assert seen == [f"job-{i:02d}" for i in reversed(range(45))]


def test_a_later_page_is_one_indexed_query_like_the_first(jobs) -> None:  # type: ignore[no-untyped-def]
    first = keyset_page(PeriodicJob.objects.all(), limit=5)
    with CaptureQueriesContext(connection) as queries:
        keyset_page(PeriodicJob.objects.all(), limit=5, cursor=first.next_cursor)
    [query] = queries.captured_queries
    assert "OFFSET" not in query["sql"].upper()
    assert '"id" <' in query["sql"]


def test_exact_fit_has_no_next_cursor(jobs) -> None:  # type: ignore[no-untyped-def]
    assert keyset_page(PeriodicJob.objects.all(), limit=45).next_cursor is None


@pytest.mark.parametrize("limit", [0, 101, -1])
def test_limits_outside_1_to_100_are_refused(db, limit: int) -> None:
    with pytest.raises(InvalidRequest) as error:
        keyset_page(PeriodicJob.objects.all(), limit=limit)
    assert error.value.param == "limit"


@pytest.mark.parametrize("cursor", ["garbage", encode_cursor(5)[:-2] + "xx", "MTIz"])
def test_tampered_cursors_are_refused(cursor: str) -> None:
    with pytest.raises(InvalidRequest) as error:
        decode_cursor(cursor)
    assert error.value.param == "cursor"


def test_cursor_round_trip() -> None:
    assert decode_cursor(encode_cursor(12345)) == 12345
