"""``/api/v1/help/...`` and ``/api/v1/support/channels|verify-channel`` (API.md, "Support").

Everything here is readable without signing in (the help centre is public); a bearer token,
when given, only attributes votes and reports to its user.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.http import HttpRequest
from ninja import Field, Schema, Status

from okpay.api.auth import bearer_of, client_ip, user_for_token
from okpay.api.router import OkpayRouter
from okpay.api.schemas import ERRORS
from okpay.core.errors import InvalidRequest
from okpay.core.pagination import check_limit, keyset_page
from okpay.core.replicas import lagging_reads
from okpay.helpcenter import ratelimit, registry, selectors, services
from okpay.helpcenter.models import Article, Category, Lang
from okpay.helpcenter.rendering import article_html, fill
from okpay.helpcenter.verifier import verify
from okpay.identity.models import User

router = OkpayRouter(tags=["help centre"])


class ArticleSummaryOut(Schema):
    slug: str
    title: str
    summary: str
    category: str
    lang: str
    updated_at: datetime
    url: str


class ArticleListOut(Schema):
    data: list[ArticleSummaryOut]
    next_cursor: str | None
    corrected_query: str | None = Field(None, description="The query with typos fixed, when any was.")


class ArticleRefOut(Schema):
    slug: str
    title: str
    lang: str


class ArticleOut(ArticleSummaryOut):
    id: str
    body_html: str
    tags: list[str]
    related: list[ArticleRefOut]
    translations: list[ArticleRefOut]
    helpful_yes: int
    helpful_no: int


class VoteIn(Schema):
    helpful: bool
    comment: str = ""


class VoteOut(Schema):
    helpful: bool
    helpful_yes: int
    helpful_no: int


class ChannelOut(Schema):
    kind: str
    value: str
    label: str
    hours: str
    url: str
    note: str
    platform: str


class ChannelListOut(Schema):
    data: list[ChannelOut]


class VerifyIn(Schema):
    value: str = Field(..., max_length=500)


class VerifyOut(Schema):
    official: bool
    kind: str
    value: str
    normalized: str
    matched: ChannelOut | None
    lookalike_of: ChannelOut | None
    signals: list[str]
    advice: str


class ReportIn(Schema):
    value: str = Field(..., max_length=500)
    note: str = Field("", max_length=2000)


class ReportOut(Schema):
    id: str
    value: str
    kind: str
    official: bool
    lookalike_of: str
    status: str
    created_at: datetime


def _summary(article: Article) -> dict[str, object]:
    return {"slug": article.slug, "title": fill(article.title, html=False),
            "summary": fill(article.summary, html=False),
            "category": article.category, "lang": article.lang, "updated_at": article.updated_at,
            "url": settings.OKPAY_BASE_URL + article.get_absolute_url()}


def _optional_user(request: HttpRequest) -> User | None:
    raw = bearer_of(request)
    return user_for_token(request, raw) if raw else None


def _lang(request: HttpRequest, lang: str | None) -> str:
    if lang and not lang.lower().startswith(("zh", "en")):
        raise InvalidRequest("lang must be zh-Hans or en.", param="lang")
    return selectors.lang_of(lang or getattr(request, "LANGUAGE_CODE", None))


@router.get("/help/articles", response={200: ArticleListOut, **ERRORS}, auth=None,
            summary="List or search help articles")
def list_articles(request: HttpRequest, q: str = "", lang: str | None = None, category: str | None = None,
                  limit: int | None = None, cursor: str | None = None) -> dict[str, object]:
    """Without ``q``: newest first, keyset paged. With ``q``: the best matches first (one page);
    a query that finds nothing is recorded for staff as a content gap."""
    language = _lang(request, lang)
    if category and category not in Category.values:
        raise InvalidRequest(f"category must be one of {', '.join(Category.values)}.", param="category")
    size = check_limit(limit)
    if q.strip():
        result = lagging_reads(request, lambda: selectors.articles_search(q, lang=language, category=category,
                                                                          limit=size))  # may read a replica
        if not result.articles:
            services.content_gap_record(query=q, lang=language)
        return {"data": [_summary(a) for a in result.articles], "next_cursor": None,
                "corrected_query": result.corrected}
    qs = selectors.published(language)
    if category:
        qs = qs.filter(category=category)
    page = keyset_page(qs, limit=size, cursor=cursor)
    return {"data": [_summary(a) for a in page.items], "next_cursor": page.next_cursor, "corrected_query": None}


def _ref(article: Article) -> dict[str, str]:
    return {"slug": article.slug, "title": fill(article.title, html=False), "lang": article.lang}


@router.get("/help/articles/{slug}", response={200: ArticleOut, **ERRORS}, auth=None, summary="One help article")
def get_article(request: HttpRequest, slug: str, lang: str | None = None) -> dict[str, object]:
    """The article in ``lang`` (default: the request's language); if it has no such translation,
    the other language's version."""
    article = selectors.article_get(slug, lang=_lang(request, lang))
    return {**_summary(article), "id": article.public_id, "body_html": str(article_html(article.body_html)),
            "tags": article.tag_list, "related": [_ref(a) for a in selectors.related_articles(article)],
            "translations": [_ref(a) for a in selectors.translations(article)],
            "helpful_yes": article.helpful_yes, "helpful_no": article.helpful_no}


@router.post("/help/articles/{slug}/votes", response={201: VoteOut, **ERRORS}, auth=None, summary="Was this helpful?")
def vote_article(request: HttpRequest, slug: str, payload: VoteIn, lang: str | None = None) -> Status:
    """One vote per reader (the bearer token's user, else the caller's address); voting again changes it."""
    ratelimit.hit("help-vote", client_ip(request), limit=60, window=3600)
    article = selectors.article_get(slug, lang=_lang(request, lang))
    user = _optional_user(request)
    key = services.voter_key_for(user=user, session_key=None if user else f"ip:{client_ip(request)}")
    vote = services.article_vote(article=article, helpful=payload.helpful, comment=payload.comment, user=user,
                                 voter_key=key)
    article.refresh_from_db(fields=["helpful_yes", "helpful_no"])
    return Status(201, {"helpful": vote.helpful, "helpful_yes": article.helpful_yes, "helpful_no": article.helpful_no})


@router.get("/support/channels", response={200: ChannelListOut, **ERRORS}, auth=None,
            summary="OKPay's official channels")
def list_channels(request: HttpRequest) -> dict[str, object]:
    return {"data": [channel.as_dict() for channel in registry.channels()]}


@router.post("/support/verify-channel", response={200: VerifyOut, **ERRORS}, auth=None,
             summary="Is this channel really OKPay?")
def verify_channel(request: HttpRequest, payload: VerifyIn) -> dict[str, object]:
    """Paste a URL, domain, email address, phone number or social handle. Rate-limited per client."""
    ratelimit.hit("verify", client_ip(request), limit=settings.OKPAY_VERIFY_RATE_PER_MINUTE, window=60)
    if not payload.value.strip():
        raise InvalidRequest("Paste the link, address, number or account to check.", param="value")
    return verify(payload.value).as_dict()


@router.post("/support/phishing-reports", response={201: ReportOut, **ERRORS}, auth=None,
             summary="Report a link, address, number or account pretending to be OKPay")
def report_phishing(request: HttpRequest, payload: ReportIn) -> Status:
    ratelimit.hit("phishing-report", client_ip(request), limit=10, window=3600)
    report = services.phishing_report_create(value=payload.value, note=payload.note,
                                             reporter=_optional_user(request), ip=client_ip(request))
    return Status(201, {"id": report.public_id, "value": report.value, "kind": report.kind,
                        "official": report.official, "lookalike_of": report.lookalike_of, "status": report.status,
                        "created_at": report.created_at})


__all__ = ["Lang", "router"]
