"""Reads of the help centre, including :func:`suggest_articles` for deflection by support and chat."""

from __future__ import annotations

from django.db.models import QuerySet

from okpay.core.errors import NotFound
from okpay.helpcenter.models import Article, Category, ContentGap, Lang, PhishingReport
from okpay.helpcenter.search import SearchResult, search

LANGS = {code for code, _label in Lang.choices}


def lang_of(code: str | None) -> str:
    """Map any language tag (zh, zh-CN, zh-Hans, en-US ...) onto an article language."""
    code = (code or "").lower().replace("_", "-")
    if code.startswith("zh"):
        return Lang.ZH_HANS
    if code.startswith("en"):
        return Lang.EN
    return Lang.ZH_HANS


def published(lang: str | None = None) -> QuerySet[Article]:
    qs = Article.objects.filter(is_published=True)
    return qs.filter(lang=lang) if lang else qs


def articles_search(query: str, *, lang: str, category: str | None = None, limit: int = 10,
                    prefix: bool = False) -> SearchResult:
    if category and category not in Category.values:
        category = None
    return search(query, lang=lang, category=category, limit=limit, prefix=prefix)


def suggest_articles(text: str, lang: str, limit: int = 3) -> list[Article]:
    """The articles that best answer a ticket subject or a chat question (deflection).

    Never logs a content gap (a ticket is not a search); returns at most ``limit`` articles.
    """
    if not text or not text.strip():
        return []
    return search(text[:500], lang=lang_of(lang), limit=max(1, min(limit, 10))).articles


def article_get(slug: str, *, lang: str | None, staff: bool = False) -> Article:
    """The article ``slug`` in ``lang`` (or, if it has no such translation, in the other language)."""
    qs = Article.objects.all() if staff else published()
    candidates = list(qs.filter(slug=slug))
    if not candidates:
        raise NotFound("No help article with this slug.", param="slug")
    wanted = lang_of(lang) if lang else None
    for article in candidates:
        if article.lang == wanted:
            return article
    return sorted(candidates, key=lambda a: a.lang != Lang.ZH_HANS)[0]


def translations(article: Article) -> list[Article]:
    return list(published().filter(slug=article.slug).exclude(pk=article.pk))


def related_articles(article: Article) -> list[Article]:
    return list(article.related.filter(is_published=True, lang=article.lang).order_by("position", "pk"))


def articles_by_category(lang: str) -> list[tuple[str, str, list[Article]]]:
    """``(category, label, articles)`` for every category, in the order of :class:`Category`."""
    groups: dict[str, list[Article]] = {value: [] for value in Category.values}
    for article in published(lang).order_by("position", "pk").only(
            "slug", "title", "summary", "category", "lang", "position", "updated_at"):
        groups.setdefault(article.category, []).append(article)
    return [(value, str(label), groups[value]) for value, label in Category.choices]


def category_articles(lang: str, category: str) -> list[Article]:
    if category not in Category.values:
        raise NotFound("No such category.", param="category")
    return list(published(lang).filter(category=category).order_by("position", "pk"))


def content_gaps(*, lang: str | None = None, limit: int = 50) -> list[ContentGap]:
    """The most frequent searches without result, for staff (and the support dashboard)."""
    qs = ContentGap.objects.filter(resolved=False)
    if lang:
        qs = qs.filter(lang=lang)
    return list(qs.order_by("-count", "-last_seen_at")[:limit])


def phishing_reports(*, status: str | None = "new", limit: int = 50) -> list[PhishingReport]:
    """Reported look-alikes for support and security staff, newest first."""
    qs = PhishingReport.objects.all()
    if status:
        qs = qs.filter(status=status)
    return list(qs.order_by("-created_at", "-pk")[:limit])
