"""Keyset pagination: ``?limit=&cursor=`` → ``{"data": [...], "next_cursor": ...}``.

The cursor is the signed primary key of the last row shown; the next page is
``WHERE pk < cursor ORDER BY pk DESC LIMIT n``, so page N costs what page 1 costs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from django.core import signing
from django.db.models import Model, QuerySet

from okpay.core.errors import InvalidRequest

M = TypeVar("M", bound=Model)

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
_SALT = "okpay.cursor"


@dataclass(frozen=True)
class Page(Generic[M]):
    items: list[M]
    next_cursor: str | None


def encode_cursor(pk: int) -> str:
    return signing.dumps(pk, salt=_SALT, compress=False)


def decode_cursor(cursor: str) -> int:
    try:
        value = signing.loads(cursor, salt=_SALT)
    except signing.BadSignature:
        raise InvalidRequest("The cursor is not valid.", param="cursor") from None
    if not isinstance(value, int):
        raise InvalidRequest("The cursor is not valid.", param="cursor")
    return value


def check_limit(limit: int | None) -> int:
    if limit is None:
        return DEFAULT_LIMIT
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidRequest(f"limit must be between 1 and {MAX_LIMIT}.", param="limit")
    return limit


def keyset_page(queryset: QuerySet[M], *, limit: int | None = None, cursor: str | None = None) -> Page[M]:
    """Newest first by primary key."""
    size = check_limit(limit)
    if cursor:
        queryset = queryset.filter(pk__lt=decode_cursor(cursor))
    rows = list(queryset.order_by("-pk")[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    return Page(rows, encode_cursor(rows[-1].pk) if more and rows else None)
