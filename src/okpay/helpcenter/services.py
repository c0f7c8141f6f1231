"""Every write of the help centre: saving an article (and its index), votes, gaps, phishing reports."""

from __future__ import annotations

import hashlib
import ipaddress

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from okpay.core.errors import InvalidRequest
from okpay.helpcenter.models import Article, ArticleVote, ContentGap, PhishingReport
from okpay.helpcenter.rendering import render_markdown
from okpay.helpcenter.search import refresh_tokens, vocabulary
from okpay.helpcenter.search.backends import get_backend
from okpay.helpcenter.search.text import clean
from okpay.helpcenter.verifier import verify
from okpay.identity.models import User

MAX_COMMENT = 2000
MAX_GAP_QUERY = 200


def article_prepare(article: Article) -> None:
    """Derived fields: sanitised HTML and search tokens (no database write)."""
    article.body_html = render_markdown(article.body)
    refresh_tokens(article)


@transaction.atomic
def article_save(*, article: Article) -> Article:
    """Create or update an article, render it and keep the search index in step, in one transaction."""
    article_prepare(article)
    article.save()
    get_backend().upsert([article])
    transaction.on_commit(vocabulary.invalidate)
    return article


@transaction.atomic
def article_delete(*, article: Article) -> None:
    get_backend().remove([article.pk])
    article.delete()
    transaction.on_commit(vocabulary.invalidate)


def voter_key_for(*, user: User | None, session_key: str | None) -> str:
    if user is not None and user.is_authenticated:
        return f"user:{user.public_id}"
    if not session_key:
        raise InvalidRequest("A session is needed to vote.")
    return "anon:" + hashlib.sha256(session_key.encode()).hexdigest()[:40]


@transaction.atomic
def article_vote(*, article: Article, helpful: bool, comment: str = "", user: User | None = None,
                 voter_key: str) -> ArticleVote:
    """Record or change one reader's "was this helpful?" answer; counters move with F()."""
    comment = clean(comment or "").strip()
    if len(comment) > MAX_COMMENT:
        raise InvalidRequest(f"The comment is limited to {MAX_COMMENT} characters.", param="comment")
    existing = ArticleVote.objects.select_for_update().filter(article=article, voter_key=voter_key).first()
    if existing is None:
        try:
            with transaction.atomic():
                vote = ArticleVote.objects.create(article=article, helpful=helpful, comment=comment,
                                                  user=user if user and user.is_authenticated else None,
                                                  voter_key=voter_key)
        except IntegrityError:  # a concurrent first vote by the same reader won the race
            return article_vote(article=article, helpful=helpful, comment=comment, user=user, voter_key=voter_key)
        field = "helpful_yes" if helpful else "helpful_no"
        Article.objects.filter(pk=article.pk).update(**{field: F(field) + 1})
        return vote
    if existing.helpful != helpful:
        old, new = ("helpful_yes", "helpful_no") if existing.helpful else ("helpful_no", "helpful_yes")
        Article.objects.filter(pk=article.pk).update(**{old: F(old) - 1, new: F(new) + 1})
        existing.helpful = helpful
    if comment:
        existing.comment = comment
    existing.save(update_fields=["helpful", "comment", "updated_at"])
    return existing


def content_gap_record(*, query: str, lang: str) -> None:
    """Count a search that found nothing (its own short transaction: it must survive a rollback)."""
    query = " ".join(clean(query).lower().split())[:MAX_GAP_QUERY]
    if len(query) < 2:
        return
    now = timezone.now()
    with transaction.atomic():
        updated = ContentGap.objects.filter(lang=lang, query=query).update(count=F("count") + 1, last_seen_at=now)
        if not updated:
            try:
                with transaction.atomic():
                    ContentGap.objects.create(lang=lang, query=query, last_seen_at=now)
            except IntegrityError:
                ContentGap.objects.filter(lang=lang, query=query).update(count=F("count") + 1, last_seen_at=now)


@transaction.atomic
def phishing_report_create(*, value: str, note: str = "", reporter: User | None = None,
                           ip: str | None = None) -> PhishingReport:
    value = " ".join(clean(value or "", drop_format=False).split())
    if not value:
        raise InvalidRequest("Paste the link, address, number or account you want to report.", param="value")
    if len(value) > 500:
        raise InvalidRequest("The value is limited to 500 characters.", param="value")
    note = clean(note or "").strip()
    if len(note) > MAX_COMMENT:
        raise InvalidRequest(f"The note is limited to {MAX_COMMENT} characters.", param="note")
    verdict = verify(value)
    try:
        ip = str(ipaddress.ip_address(ip or ""))
    except ValueError:
        ip = None
    return PhishingReport.objects.create(
        value=value, kind=verdict.kind, official=verdict.official,
        lookalike_of=verdict.lookalike_of.value if verdict.lookalike_of else "",
        signals=verdict.signals, note=note,
        reporter=reporter if reporter is not None and reporter.is_authenticated else None, reporter_ip=ip or None,
    )


@transaction.atomic
def content_gaps_resolve(*, gap_ids: list[int]) -> int:
    return ContentGap.objects.filter(pk__in=gap_ids).update(resolved=True)


@transaction.atomic
def phishing_reports_set_status(*, report_ids: list[int], status: str) -> int:
    if status not in PhishingReport.Status.values:
        raise InvalidRequest("Unknown status.", param="status")
    return PhishingReport.objects.filter(pk__in=report_ids).update(status=status)
