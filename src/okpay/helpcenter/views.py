"""Help-centre pages: /help/ (search as you type), articles with votes, /contact/, /verify/."""

from __future__ import annotations

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from okpay.core.errors import InvalidRequest, NotFound, RateLimited
from okpay.core.replicas import replica_reads
from okpay.helpcenter import ratelimit, registry, selectors, services
from okpay.helpcenter.models import Article, ArticleVote, Category
from okpay.helpcenter.rendering import article_html
from okpay.helpcenter.verifier import signal_text, verify
from okpay.identity.staff import request_verified

SUGGESTED_QUERIES = {
    "zh-hans": ["忘记密码", "待处理", "退款", "双重验证", "转错人", "提现多久到账"],
    "en": ["forgot password", "pending", "refund", "two-factor", "wrong person", "withdrawal time"],
}


def _lang(request: HttpRequest) -> str:
    return selectors.lang_of(getattr(request, "LANGUAGE_CODE", None))


def _client_ip(request: HttpRequest) -> str:
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def _is_htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


@require_GET
def help_home(request: HttpRequest) -> HttpResponse:
    lang = _lang(request)
    return render(request, "helpcenter/home.html", {
        "groups": selectors.articles_by_category(lang), "q": "", "suggested": SUGGESTED_QUERIES[lang],
    })


@require_GET
@replica_reads
def help_search(request: HttpRequest) -> HttpResponse:
    """Full results page, or (for htmx, as the customer types) just the results list."""
    lang = _lang(request)
    q = request.GET.get("q", "")[:200]
    category = request.GET.get("category") or None
    typing = _is_htmx(request)
    result = selectors.articles_search(q, lang=lang, category=category, limit=10, prefix=typing) if q.strip() else None
    if result is not None and not result.articles and not typing:
        # As-you-type prefixes are not gaps; what the customer finally submits is.
        services.content_gap_record(query=q, lang=lang)
    context = {"q": q, "result": result, "category": category, "suggested": SUGGESTED_QUERIES[lang]}
    if typing:
        return render(request, "helpcenter/_results.html", context)
    return render(request, "helpcenter/search.html", context)


@require_GET
def category_page(request: HttpRequest, category: str) -> HttpResponse:
    if category not in Category.values:
        raise Http404
    lang = _lang(request)
    return render(request, "helpcenter/category.html", {
        "category": category, "label": Category(category).label,
        "articles": selectors.category_articles(lang, category),
    })


def _vote_of(request: HttpRequest, article: Article) -> ArticleVote | None:
    user = request.user if request.user.is_authenticated else None
    if user is None and not request.session.session_key:
        return None
    key = services.voter_key_for(user=user, session_key=request.session.session_key)
    return ArticleVote.objects.filter(article=article, voter_key=key).first()


@require_GET
def article_page(request: HttpRequest, slug: str) -> HttpResponse:
    staff = (request.GET.get("preview") == "1" and request.user.is_authenticated and request.user.is_staff
             and request_verified(request))  # an unpublished draft is staff-only: second factor too
    try:
        article = selectors.article_get(slug, lang=_lang(request), staff=staff)
    except NotFound:
        raise Http404 from None
    return render(request, "helpcenter/article.html", {
        "article": article, "body": article_html(article.body_html),
        "related": selectors.related_articles(article), "translations": selectors.translations(article),
        "vote": _vote_of(request, article), "other_language": article.lang != _lang(request),
    })


@require_POST
def article_vote(request: HttpRequest, slug: str) -> HttpResponse:
    try:
        article = selectors.article_get(slug, lang=request.POST.get("lang") or _lang(request))
    except NotFound:
        raise Http404 from None
    helpful = request.POST.get("helpful")
    if helpful not in {"yes", "no"}:
        return HttpResponse(status=400)
    error = ""
    vote: ArticleVote | None
    try:
        ratelimit.hit("help-vote", _client_ip(request), limit=60, window=3600)
        if not request.session.session_key:
            request.session.save()
        user = request.user if request.user.is_authenticated else None
        key = services.voter_key_for(user=user, session_key=request.session.session_key)
        vote = services.article_vote(article=article, helpful=helpful == "yes",
                                     comment=request.POST.get("comment", ""), user=user, voter_key=key)
    except (InvalidRequest, RateLimited) as exc:
        vote, error = _vote_of(request, article), exc.message
    if not _is_htmx(request):
        return redirect(article.get_absolute_url() + "#feedback")
    article.refresh_from_db(fields=["helpful_yes", "helpful_no"])
    return render(request, "helpcenter/_vote.html", {"article": article, "vote": vote, "error": error,
                                                     "just_voted": not error})


def _url(name: str) -> str | None:
    """The URL of another app's page, or None while that app is not installed (no dead links)."""
    try:
        return reverse(name)
    except NoReverseMatch:
        return None


@require_GET
def contact(request: HttpRequest) -> HttpResponse:
    channels = registry.channels()
    return render(request, "helpcenter/contact.html", {
        "ticket_url": _url("support:new"), "callback_url": _url("support:callback"),
        "my_tickets_url": _url("support:mine"), "feedback_url": _url("support:feedback"),
        "chat": next(c for c in channels if c.kind == "chat"),
        "email": next(c for c in channels if c.kind == "email"),
        "hotline": next(c for c in channels if c.kind == "phone"),
        "socials": [c for c in channels if c.kind == "social"],
        "websites": [c for c in channels if c.kind == "web"],
    })


@require_http_methods(["GET", "POST"])
def verify_page(request: HttpRequest) -> HttpResponse:
    value = (request.POST.get("value") if request.method == "POST" else request.GET.get("value")) or ""
    value = value[:500]
    verdict, error, error_field, status = None, "", "", 200
    response_headers: dict[str, str] = {}
    if request.method == "POST" and not value.strip():
        # Sent empty: say so at the input (aria-invalid, described by the error), with and without JS.
        error, error_field = _("Enter a link, address, phone number or account to check."), "value"
    elif value.strip():
        try:
            ratelimit.hit("verify", _client_ip(request), limit=settings.OKPAY_VERIFY_RATE_PER_MINUTE, window=60)
            verdict = verify(value)
        except RateLimited as exc:
            error, status = _("Too many checks from your network. Wait a minute and try again."), 429
            response_headers = exc.headers
    context = {"value": value, "verdict": verdict, "error": error, "error_field": error_field,
               "htmx": _is_htmx(request), "signals": [signal_text(s) for s in verdict.signals] if verdict else []}
    template = "helpcenter/_verdict.html" if _is_htmx(request) else "helpcenter/verify.html"
    response = render(request, template, context, status=status)
    for name, header in response_headers.items():
        response[name] = header
    return response


@require_POST
def verify_report(request: HttpRequest) -> HttpResponse:
    value = request.POST.get("value", "")
    error, report = "", None
    try:
        ratelimit.hit("phishing-report", _client_ip(request), limit=10, window=3600)
        report = services.phishing_report_create(value=value, note=request.POST.get("note", ""),
                                                 reporter=request.user if request.user.is_authenticated else None,
                                                 ip=_client_ip(request))
    except (InvalidRequest, RateLimited) as exc:
        error = exc.message
    if not _is_htmx(request):
        if report is not None:
            return redirect(reverse("helpcenter:verify") + "?reported=1")
        return render(request, "helpcenter/verify.html", {"value": value, "error": error}, status=400)
    return render(request, "helpcenter/_reported.html", {"report": report, "error": error})
