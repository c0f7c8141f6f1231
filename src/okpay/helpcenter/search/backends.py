"""Full-text backends behind one interface: SQLite FTS5 and PostgreSQL ``tsvector('simple')``.

Their tables are created by migration 0002. The SQL below names its tables literally (nothing is
interpolated into it) and every value goes through query parameters.

Both index the same pre-segmented tokens (see :mod:`.text`), so Chinese works without a
database extension: jieba does the segmentation, the database only matches words. Title words
weigh most (SQLite ``bm25`` column weights; PostgreSQL ``setweight`` A/B/C and ``ts_rank``
weights), then summary and tags, then the body.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from django.db import connection

from okpay.helpcenter.models import Article
from okpay.helpcenter.search import text

FTS_TABLE = "helpcenter_article_fts"
TSV_TABLE = "helpcenter_article_tsv"
# Relative weights of title : summary+tags : body.
TITLE_WEIGHT, SUMMARY_WEIGHT, BODY_WEIGHT = 10.0, 4.0, 1.0


def article_columns(article: Article) -> tuple[str, str, str]:
    """The three indexed columns of an article, as space-separated tokens."""
    from okpay.helpcenter.rendering import fill

    return (
        text.index_text(fill(article.title, html=False)),
        text.index_text(fill(article.summary, html=False), article.tags.replace(",", " ")),
        text.index_text(fill(article.body, html=False)),
    )


class Backend(Protocol):
    vendor: str

    def upsert(self, articles: Iterable[Article]) -> None: ...

    def remove(self, article_ids: Sequence[int]) -> None: ...

    def clear(self) -> None: ...

    def prune(self) -> int: ...

    def match(self, terms: Sequence[str], *, lang: str, category: str | None, limit: int,
              prefix_last: bool = False) -> list[tuple[int, float]]: ...


class SqliteFts5Backend:
    vendor = "sqlite"


    @staticmethod
    def expression(terms: Sequence[str], prefix_last: bool) -> str:
        quoted = ['"' + term.replace('"', '""') + '"' for term in terms]
        if prefix_last and quoted:
            quoted[-1] += "*"
        return " OR ".join(quoted)

    def upsert(self, articles: Iterable[Article]) -> None:
        with connection.cursor() as cursor:
            for article in articles:
                cursor.execute("DELETE FROM helpcenter_article_fts WHERE rowid = %s", [article.pk])
                if article.is_published:
                    title, summary, body = article_columns(article)
                    cursor.execute(
                        "INSERT INTO helpcenter_article_fts (rowid, title, summary, body, lang, category) "
                        "VALUES (%s, %s, %s, %s, %s, %s)",
                        [article.pk, title, summary, body, article.lang, article.category],
                    )

    def remove(self, article_ids: Sequence[int]) -> None:
        with connection.cursor() as cursor:
            for pk in article_ids:
                cursor.execute("DELETE FROM helpcenter_article_fts WHERE rowid = %s", [pk])

    def clear(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM helpcenter_article_fts")

    def prune(self) -> int:
        """Drop index rows whose article is gone (a table flush does not know this table)."""
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM helpcenter_article_fts WHERE rowid NOT IN (SELECT id FROM helpcenter_article)")
            return cursor.rowcount

    def match(self, terms: Sequence[str], *, lang: str, category: str | None, limit: int,
              prefix_last: bool = False) -> list[tuple[int, float]]:
        if not terms:
            return []
        sql = (
            "SELECT rowid, bm25(helpcenter_article_fts, %s, %s, %s, 0, 0) AS score FROM helpcenter_article_fts "
            "WHERE helpcenter_article_fts MATCH %s AND lang = %s"
        )
        params: list[Any] = [TITLE_WEIGHT, SUMMARY_WEIGHT, BODY_WEIGHT, self.expression(terms, prefix_last), lang]
        if category:
            sql += " AND category = %s"
            params.append(category)
        sql += " ORDER BY score LIMIT %s"
        params.append(limit)
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            # bm25() is lower-is-better; flip it so every backend answers higher-is-better.
            return [(row[0], -row[1]) for row in cursor.fetchall()]


class PostgresTsvectorBackend:
    vendor = "postgresql"

    # ts_rank weights are {D, C, B, A}: body (C), summary and tags (B), title (A).
    WEIGHTS = f"{{0.0, {BODY_WEIGHT / TITLE_WEIGHT:.2f}, {SUMMARY_WEIGHT / TITLE_WEIGHT:.2f}, {1.0:.2f}}}"

    @staticmethod
    def expression(terms: Sequence[str], prefix_last: bool) -> str:
        quoted = ["'" + term.replace("\\", "").replace("'", "''") + "'" for term in terms]
        if prefix_last and quoted:
            quoted[-1] += ":*"
        return " | ".join(quoted)

    def upsert(self, articles: Iterable[Article]) -> None:
        with connection.cursor() as cursor:
            for article in articles:
                if not article.is_published:
                    cursor.execute("DELETE FROM helpcenter_article_tsv WHERE article_id = %s", [article.pk])
                    continue
                title, summary, body = article_columns(article)
                cursor.execute(
                    "INSERT INTO helpcenter_article_tsv (article_id, lang, category, document) VALUES (%s, %s, %s, "
                    "setweight(to_tsvector('simple', %s), 'A') || setweight(to_tsvector('simple', %s), 'B') "
                    "|| setweight(to_tsvector('simple', %s), 'C')) "
                    "ON CONFLICT (article_id) DO UPDATE SET lang = EXCLUDED.lang, category = EXCLUDED.category, "
                    "document = EXCLUDED.document",
                    [article.pk, article.lang, article.category, title, summary, body],
                )

    def remove(self, article_ids: Sequence[int]) -> None:
        if article_ids:
            with connection.cursor() as cursor:
                cursor.execute("DELETE FROM helpcenter_article_tsv WHERE article_id = ANY(%s)", [list(article_ids)])

    def clear(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM helpcenter_article_tsv")

    def prune(self) -> int:
        """Drop index rows whose article is gone. No foreign key on purpose: a test-suite flush
        (TRUNCATE of the known tables) must not trip over this table."""
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM helpcenter_article_tsv t WHERE NOT EXISTS "
                           "(SELECT 1 FROM helpcenter_article a WHERE a.id = t.article_id)")
            return cursor.rowcount

    def match(self, terms: Sequence[str], *, lang: str, category: str | None, limit: int,
              prefix_last: bool = False) -> list[tuple[int, float]]:
        if not terms:
            return []
        sql = (
            "SELECT article_id, ts_rank(%s::float4[], document, q) AS score "
            "FROM helpcenter_article_tsv, to_tsquery('simple', %s) AS q WHERE document @@ q AND lang = %s"
        )
        params: list[Any] = [self.WEIGHTS, self.expression(terms, prefix_last), lang]
        if category:
            sql += " AND category = %s"
            params.append(category)
        sql += " ORDER BY score DESC, article_id LIMIT %s"
        params.append(limit)
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return [(row[0], float(row[1])) for row in cursor.fetchall()]


def get_backend() -> Backend:
    if connection.vendor == "postgresql":
        return PostgresTsvectorBackend()
    if connection.vendor == "sqlite":
        return SqliteFts5Backend()
    raise RuntimeError(f"No help-centre search backend for {connection.vendor}")
