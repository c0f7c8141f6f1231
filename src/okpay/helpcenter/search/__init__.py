"""Help-centre search: one entry point, :func:`search`, over whichever database backend runs.

1. The query is normalised and tokenised like the index (jieba for Chinese, stemming for English).
2. English words the index does not know are corrected to the nearest known word (typos).
3. Synonyms of wallet vocabulary are added (退钱 finds 退款, "money back" finds refund).
4. The backend ranks the articles matching any term, title first (:mod:`.backends`).
5. One- and two-character queries, and queries the full-text match misses, fall back to a
   substring match on titles, summaries and tags (then bodies), so "退" or "2fa" still answer.
"""

from __future__ import annotations

import itertools
import math
import re
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

from django.db.models import Count, Max, Q

from okpay.helpcenter.models import Article
from okpay.helpcenter.search import pinyin, text
from okpay.helpcenter.search.backends import get_backend
from okpay.helpcenter.search.spelling import SpellIndex

MAX_QUERY_CHARS = 200
MAX_TERMS = 40
CANDIDATES = 50
SHORT_QUERY_CHARS = 2
_STATS_TTL = 30.0
_LATIN_WORD = re.compile(r"[a-z]+")


@dataclass
class SearchResult:
    query: str
    articles: list[Article] = field(default_factory=list)
    corrected: str | None = None  # the query with its typos fixed, when any was
    fallback: bool = False

    def __bool__(self) -> bool:
        return bool(self.articles)


class _Vocabulary:
    """Per-process spelling vocabulary, rebuilt when the published articles change."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._index: SpellIndex | None = None
        self._signature: tuple[object, ...] | None = None
        self._checked = 0.0
        self.generation = 0
        self._built_generation = -1
        self.document_frequency: dict[str, Counter[str]] = {}
        self.documents: Counter[str] = Counter()
        self.surface: dict[str, str] = {}  # stem → a word as articles write it (for "showing results for")
        self.sounds: dict[str, str] = {}  # toneless pinyin → the Chinese index word that sounds so

    def invalidate(self) -> None:
        self.generation += 1

    def idf(self, lang: str, term: str) -> float:
        n = self.documents.get(lang, 0)
        df = self.document_frequency.get(lang, Counter()).get(term, 0)
        return math.log(1 + (n - df + 0.5) / (df + 0.5))

    def get(self) -> SpellIndex:
        now = time.monotonic()
        if (self._index is not None and self._built_generation == self.generation
                and now - self._checked < _STATS_TTL):
            return self._index
        with self._lock:
            stats = Article.objects.filter(is_published=True).aggregate(n=Count("pk"), last=Max("updated_at"))
            signature = (stats["n"], stats["last"])
            self._checked = now
            if self._index is None or signature != self._signature or self._built_generation != self.generation:
                words: list[str] = []
                frequency: dict[str, Counter[str]] = {}
                counts: Counter[str] = Counter()
                surface: dict[str, str] = {}
                rows = Article.objects.filter(is_published=True).values_list(
                    "lang", "search_title", "search_summary", "search_body", "title", "summary", "tags")
                topical: set[str] = set(text.WALLET_WORDS)
                for lang, title, summary, body, raw_title, raw_summary, tags in rows.iterator(chunk_size=500):
                    if lang == "zh-hans":
                        topical.update(text.tokens(tags.replace(",", " ")))
                    distinct = set(title.split()) | set(summary.split()) | set(body.split())
                    for word in _LATIN_WORD.findall(f"{raw_title} {raw_summary}".lower()):
                        stem = text.stem(word)
                        if stem not in surface or len(word) < len(surface[stem]):
                            surface[stem] = word
                    words.extend(distinct)
                    frequency.setdefault(lang, Counter()).update(distinct)
                    counts[lang] += 1
                self._index = SpellIndex(words)
                self.document_frequency = frequency
                self.documents = counts
                self.surface = surface
                # Sound-alike words are looked for only among the wallet's own vocabulary (tags
                # and wallet words): over every word, a sound-alike of two ordinary ones
                # (中要 → 重要) would drag in articles nobody asked for.
                zh = frequency.get("zh-hans", Counter())
                self.sounds = pinyin.build((word, zh[word]) for word in topical)
                self._signature = signature
                self._built_generation = self.generation
            return self._index


vocabulary = _Vocabulary()


def _correct(terms: list[str]) -> tuple[list[str], dict[str, str]]:
    """The terms with typos fixed, and ``{misspelt stem: fixed stem}``."""
    spell = vocabulary.get()
    out, fixes = [], {}
    for term in terms:
        fixed = spell.correct(term)
        if fixed:
            out.append(fixed)
            fixes[term] = fixed
        else:
            out.append(term)
    return out, fixes


def _heard(query: str) -> list[str]:
    """Chinese index words the customer typed by sound: pinyin words, same-sound typos."""
    spell = vocabulary.get()
    sounds = vocabulary.sounds
    if not sounds:
        return []
    normalized = text.normalize(query)
    latin = [w for w in _LATIN_WORD.findall(normalized) if w not in spell and w not in text.STOP_EN]
    found = pinyin.from_latin(latin, sounds) if latin else []
    known = vocabulary.document_frequency.get("zh-hans", Counter())
    for run in text.cjk_runs(normalized):
        found.extend(pinyin.sound_alike(text.segments(run), known, sounds))
    return found


def _corrected_text(query: str, fixes: dict[str, str]) -> str:
    """The customer's query with each misspelt word replaced by a real word."""

    def replace(match: re.Match[str]) -> str:
        word = match.group(0)
        fixed = fixes.get(text.stem(word.lower()))
        return vocabulary.surface.get(fixed, fixed) if fixed else word

    return re.sub(r"[A-Za-z]+", replace, query)


def _published(lang: str, category: str | None) -> Q:
    condition = Q(is_published=True, lang=lang)
    if category:
        condition &= Q(category=category)
    return condition


def _substring(query: str, *, lang: str, category: str | None, limit: int, exclude: set[int]) -> list[Article]:
    """Title hits first, then summary and tags, then body; each group by position."""
    base = Article.objects.filter(_published(lang, category)).exclude(pk__in=exclude).defer(*HEAVY_FIELDS)
    found: list[Article] = []
    seen = set(exclude)
    for condition in (Q(title__icontains=query), Q(summary__icontains=query) | Q(tags__icontains=query),
                      Q(body__icontains=query)):
        if len(found) >= limit:
            break
        for article in base.filter(condition).exclude(pk__in=seen).order_by("position", "pk")[: limit - len(found)]:
            found.append(article)
            seen.add(article.pk)
    return found


# How much a query word counts by where it appears; synonyms count a fraction of the words typed.
FIELD_WEIGHTS = (("title", 3.0), ("summary", 2.0), ("body", 1.0))
SYNONYM_FACTOR = 0.35
# Result lists show titles and summaries; these load only if someone reads them.
HEAVY_FIELDS = ("body", "body_html", "search_title", "search_summary", "search_body")
BACKEND_FACTOR = 0.5


def _weight(term: str, fields: dict[str, str], *, prefix: bool) -> float:
    # Fields are " token token ... " strings: a substring test finds a whole token (or, for the
    # word being typed, a token's beginning) in C, without splitting the text.
    needle = f" {term}" if prefix else f" {term} "
    for name, weight in FIELD_WEIGHTS:
        if needle in fields[name]:
            return weight
    return 0.0


PAIR_FACTOR = 1.0
SINGLE_CJK_FACTOR = 0.3


def _term_factor(term: str, terms: list[str]) -> float:
    """A lone Chinese character (号, 解, 点 left over by the segmenter) says little next to real
    words: it counts a fraction, unless it is all the customer typed."""
    if len(term) == 1 and text.has_cjk(term) and any(len(t) > 1 for t in terms):
        return SINGLE_CJK_FACTOR
    return 1.0


Candidate = tuple[int, str, str, str]  # pk, search_title, search_summary, search_body


def rerank(candidates: list[Candidate], scores: dict[int, float], *, lang: str, terms: list[str],
           synonyms: list[str], prefix_last: bool) -> list[int]:
    """Order the backend's candidates the same way on every database.

    Each word the customer typed adds its rarity (idf) times where it appears (title > summary
    and tags > body); synonyms add a fraction, capped so a page that lists many synonyms cannot
    outrank one that answers the words typed; the backend's own rank breaks ties.
    """
    if not candidates:
        return []
    vocabulary.get()
    idf = {term: vocabulary.idf(lang, term) for term in {*terms, *synonyms}}
    top_backend = max((abs(v) for v in scores.values()), default=0.0) or 1.0
    mean_idf = sum(idf[t] for t in terms) / len(terms) if terms else 1.0
    extra = [t for t in synonyms if t not in terms]
    # Two words typed side by side that an article also has side by side ("cancel account",
    # "可疑 邮件") say more than the two words apart: they tell close-account from cancel-or-refund.
    pairs = [(a, b) for a, b in itertools.pairwise(terms) if a != b]
    ranked = []
    for position, (pk, title, summary, body) in enumerate(candidates):
        fields = {"title": f" {title} ", "summary": f" {summary} ", "body": f" {body} "}
        typed = sum(idf[t] * _weight(t, fields, prefix=prefix_last and i == len(terms) - 1) * _term_factor(t, terms)
                    for i, t in enumerate(terms))
        typed += PAIR_FACTOR * sum(min(idf[a], idf[b]) * _weight(f"{a} {b}", fields, prefix=False)
                                   for a, b in pairs)
        synonym = min(sum(idf[t] * _weight(t, fields, prefix=False) for t in extra) * SYNONYM_FACTOR,
                      3.0 * mean_idf)
        backend = BACKEND_FACTOR * mean_idf * (scores.get(pk, 0.0) / top_backend)
        ranked.append((-(typed + synonym + backend), position, pk))
    ranked.sort()
    return [row[2] for row in ranked]


def search(query: str, *, lang: str, category: str | None = None, limit: int = 10,
           prefix: bool = False) -> SearchResult:
    """Published articles in ``lang`` answering ``query``, best first."""
    query = " ".join(text.clean(query).split())[:MAX_QUERY_CHARS]
    result = SearchResult(query=query)
    if not query:
        return result
    # A query of stop words only ("what is okpay", "okpay是什么") is still a question: keep them.
    raw_terms = text.unique(text.tokens(query)) or text.unique(text.tokens(query, keep_stop=True))
    terms, fixes = _correct(raw_terms)
    if lang == "zh-hans":  # typed by sound: "tixian", 提线 → 提现
        terms = text.unique([*terms, *_heard(query)])
    corrected = bool(fixes)
    if corrected:
        result.corrected = _corrected_text(query, fixes)
    expanded = text.unique([*terms, *text.synonym_tokens(query, lang),
                            *(text.synonym_tokens(result.corrected or "", lang) if corrected else [])])
    # The word being typed may be unfinished: it is matched as a prefix (and kept last).
    short = len(query) <= SHORT_QUERY_CHARS
    prefix_last = bool(raw_terms) and (prefix or short) and not query.endswith(" ")
    if prefix_last and terms:
        last = terms[-1]
        expanded = [*[term for term in expanded if term != last][:MAX_TERMS - 1], last]
    else:
        expanded = expanded[:MAX_TERMS]
    ranked = get_backend().match(expanded, lang=lang, category=category, limit=max(limit, CANDIDATES),
                                 prefix_last=prefix_last)
    order = {pk: i for i, (pk, _score) in enumerate(ranked)}
    candidates = sorted(
        Article.objects.filter(pk__in=order, is_published=True).values_list(
            "pk", "search_title", "search_summary", "search_body"),
        key=lambda row: order[row[0]])
    synonyms = [t for t in expanded if t not in terms]
    best = rerank(candidates, dict(ranked), lang=lang, terms=[t for t in terms if t in expanded] or terms,
                  synonyms=synonyms, prefix_last=prefix_last)[:limit]
    by_id = Article.objects.defer(*HEAVY_FIELDS).in_bulk(best)
    articles = [by_id[pk] for pk in best if pk in by_id]
    if short or not articles:
        extra = _substring(query, lang=lang, category=category, limit=limit, exclude={a.pk for a in articles})
        if extra:
            result.fallback = True
        if short:
            # For one or two characters a title containing them is the best answer there is:
            # those the index ranked keep its order (it weighed tags and summaries too), then
            # those only the substring match found, the shortest (most general) title first.
            needle = query.lower()
            titled = [a for a in articles if needle in a.title.lower()]
            titled += sorted((a for a in extra if needle in a.title.lower()), key=lambda a: len(a.title))
            articles = [*titled, *(a for a in [*articles, *extra] if a not in titled)]
        else:
            articles = [*articles, *extra]
    result.articles = articles[:limit]
    return result


def rebuild_index() -> int:
    """Re-tokenise every article and rebuild the backend's index; returns the number indexed."""
    backend = get_backend()
    backend.clear()
    count = 0
    batch: list[Article] = []
    for article in Article.objects.order_by("pk").iterator(chunk_size=200):
        refresh_tokens(article)
        Article.objects.filter(pk=article.pk).update(search_title=article.search_title,
                                                     search_summary=article.search_summary,
                                                     search_body=article.search_body)
        batch.append(article)
        if len(batch) >= 200:
            backend.upsert(batch)
            count += len(batch)
            batch = []
    backend.upsert(batch)
    count += len(batch)
    vocabulary.invalidate()
    return count


def refresh_tokens(article: Article) -> None:
    """Fill the article's token fields (kept for spelling, independent of the backend)."""
    from okpay.helpcenter.search.backends import article_columns

    title, summary, body = article_columns(article)
    article.search_title = title
    article.search_summary = summary
    article.search_body = body


__all__ = ["SearchResult", "rebuild_index", "refresh_tokens", "search", "vocabulary"]
