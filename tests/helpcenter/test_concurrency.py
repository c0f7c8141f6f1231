"""Votes from many connections at once keep the counters equal to the vote rows."""

from __future__ import annotations

import threading

import pytest
from django.db import close_old_connections, connection

from okpay.helpcenter.models import Article, ArticleVote
from okpay.helpcenter.services import article_vote


@pytest.mark.slow
def test_concurrent_votes_keep_counters_exact(transactional_db: None) -> None:
    article = Article.objects.create(lang="en", slug="concurrency", title="T", summary="S", body="B",
                                     category="technical")
    barrier = threading.Barrier(12)
    errors: list[BaseException] = []

    def vote(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            for round_ in range(5):
                # Readers 0–3 share one key and flip their answer; the others vote once each, twice.
                key = "anon:shared" if index < 4 else f"anon:{index}"
                helpful = (index + round_) % 2 == 0 if index < 4 else index % 3 != 0
                article_vote(article=article, helpful=helpful, comment="", voter_key=key)
        except BaseException as exc:  # collected and re-raised in the test thread
            errors.append(exc)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=vote, args=(i,)) for i in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    article.refresh_from_db()
    votes = ArticleVote.objects.filter(article=article)
    assert votes.count() == 9  # one shared reader + eight single readers
    assert article.helpful_yes == votes.filter(helpful=True).count()
    assert article.helpful_no == votes.filter(helpful=False).count()
