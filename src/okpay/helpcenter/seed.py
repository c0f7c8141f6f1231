"""The help centre's seed articles (``seed/<lang>/<slug>.md``) and their idempotent loader.

Each file starts with a ``---`` block of ``key: value`` lines (title, summary, category, tags,
related, position), then the Markdown body. ``okpay helpcenter load`` creates missing articles
and updates the ones still as the seed left them; an article a staff member edited in the admin
is left alone unless ``--force`` is given.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from django.db import transaction

from okpay.helpcenter.models import Article, Category, Lang
from okpay.helpcenter.search.backends import get_backend
from okpay.helpcenter.services import article_prepare

SEED_DIR = Path(__file__).resolve().parent / "seed"


@dataclass
class SeedArticle:
    lang: str
    slug: str
    title: str
    summary: str
    category: str
    tags: str
    related: list[str]
    position: int
    body: str


@dataclass
class LoadStats:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    kept_edited: list[str] = field(default_factory=list)


def parse(path: Path, lang: str) -> SeedArticle:
    raw = path.read_text(encoding="utf-8")
    if not raw.startswith("---\n"):
        raise ValueError(f"{path}: missing front matter")
    head, _sep, body = raw[4:].partition("\n---\n")
    meta: dict[str, str] = {}
    for line in head.splitlines():
        if line.strip():
            key, _colon, value = line.partition(":")
            meta[key.strip()] = value.strip()
    if meta.get("category") not in Category.values:
        raise ValueError(f"{path}: unknown category {meta.get('category')!r}")
    return SeedArticle(
        lang=lang, slug=path.stem, title=meta["title"], summary=meta["summary"], category=meta["category"],
        tags=", ".join(t.strip() for t in meta.get("tags", "").split(",") if t.strip()),
        related=[s.strip() for s in meta.get("related", "").split(",") if s.strip()],
        position=int(meta.get("position", "100")), body=body.strip() + "\n",
    )


def seed_articles() -> list[SeedArticle]:
    out = []
    for lang in (Lang.ZH_HANS, Lang.EN):
        for path in sorted((SEED_DIR / lang).glob("*.md")):
            out.append(parse(path, lang))
    return out


def content_checksum(article: Article) -> str:
    text = "\x1f".join([article.title, article.summary, article.body, article.category, article.tags,
                        str(article.position)])
    return hashlib.sha256(text.encode()).hexdigest()


@transaction.atomic
def load(*, force: bool = False) -> LoadStats:
    stats = LoadStats()
    get_backend().prune()
    seeds = seed_articles()
    existing = {(a.lang, a.slug): a for a in Article.objects.all()}
    touched: list[Article] = []
    for seed in seeds:
        article = existing.get((seed.lang, seed.slug))
        if article is not None and not force and (
                not article.seed_checksum or content_checksum(article) != article.seed_checksum):
            stats.kept_edited.append(f"{seed.lang}/{seed.slug}")
            continue
        is_new = article is None
        article = article or Article(lang=seed.lang, slug=seed.slug)
        before = content_checksum(article) if not is_new else ""
        for name in ("title", "summary", "category", "tags", "position", "body"):
            setattr(article, name, getattr(seed, name))
        if not is_new and content_checksum(article) == before and article.body_html:
            stats.unchanged += 1
            continue
        article.is_published = True
        article_prepare(article)
        article.seed_checksum = content_checksum(article)
        article.save()
        existing[(seed.lang, seed.slug)] = article
        touched.append(article)
        stats.created += is_new
        stats.updated += not is_new
    get_backend().upsert(touched)
    for seed in seeds:
        article = existing.get((seed.lang, seed.slug))
        if article is None or f"{seed.lang}/{seed.slug}" in stats.kept_edited:
            continue
        wanted = [existing[(seed.lang, s)] for s in seed.related if (seed.lang, s) in existing]
        if {a.pk for a in wanted} != set(article.related.values_list("pk", flat=True)):
            article.related.set(wanted)
    from okpay.helpcenter.search import vocabulary

    transaction.on_commit(vocabulary.invalidate)
    return stats
