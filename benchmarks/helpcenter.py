"""Help-centre search latency at 1,000 articles against the bare full-text query, on SQLite and PostgreSQL.

Each database runs in its own child process (settings are per process): a fresh database gets
the seed articles plus synthetic ones built from their paragraphs (half Chinese, half English)
until there are 1,000, then the same customer queries are timed through

- ``search()``: tokenising (jieba / stemming), typo correction, synonyms, the backend's match,
  loading the candidates and the shared re-ranking — what the API and the pages call;
- the bare full-text query: the backend's own ``MATCH`` / ``@@`` SQL with the query already
  tokenised, returning ids and scores — the floor any search on that database pays.

The ratio (search / bare, lower is better) is the price of everything OKPay adds.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import sys
import tempfile
import time

from benchmarks.util import drop_postgres, run_child, scratch_postgres

ARTICLES = 1000
PG_DB = "okpay_bench_helpcenter"

QUERIES = [
    ("zh-hans", "忘记密码了怎么办"), ("zh-hans", "付款一直显示待处理是怎么回事"), ("zh-hans", "我想退钱"),
    ("zh-hans", "手机丢了收不到动态码登录不了"), ("zh-hans", "钱转错人了能追回吗"), ("zh-hans", "提现多久到账"),
    ("zh-hans", "电费交了显示失败"), ("zh-hans", "账户被冻结了怎么解冻"), ("zh-hans", "有人冒充客服让我转账"),
    ("zh-hans", "退"), ("zh-hans", "怎么联系人工客服"), ("zh-hans", "每天最多能转多少钱"),
    ("en", "i forgot my password"), ("en", "my payment is stuck on pending"), ("en", "how do i get my money back"),
    ("en", "lost my phone cant get the code"), ("en", "sent money to the wrong person"),
    ("en", "how long does a withdrawal take"), ("en", "electricity bill payment failed"),
    ("en", "my account is frozen"), ("en", "someone pretending to be support asked for my code"),
    ("en", "recieve verfication emial"), ("en", "2f"), ("en", "talk to a human agent"),
]


def _populate() -> int:
    from django.core.management import call_command
    from django.db import transaction

    from okpay.helpcenter.models import Article
    from okpay.helpcenter.search.backends import get_backend
    from okpay.helpcenter.seed import load
    from okpay.helpcenter.services import article_prepare

    call_command("migrate", verbosity=0)
    Article.objects.all().delete()
    get_backend().clear()
    load()
    rng = random.Random(7)
    seeds = list(Article.objects.all())
    made: list[Article] = []
    n = len(seeds)
    while n + len(made) < ARTICLES:
        lang = "zh-hans" if len(made) % 2 == 0 else "en"
        pool = [a for a in seeds if a.lang == lang]
        parts = [a.body.split("\n\n") for a in rng.sample(pool, 3)]
        body = "\n\n".join(rng.choice(p) for p in parts for _ in range(2))
        words = " ".join(rng.choice(pool).title for _ in range(2))
        title = words[: 60] if lang == "en" else words[: 30]
        article = Article(lang=lang, slug=f"synthetic-{len(made)}", title=title, summary=rng.choice(pool).summary,
                          body=body, category=rng.choice(pool).category, tags=rng.choice(pool).tags)
        article_prepare(article)
        made.append(article)
    with transaction.atomic():
        Article.objects.bulk_create(made, batch_size=200)
        get_backend().upsert(Article.objects.filter(slug__startswith="synthetic-"))
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return Article.objects.count()


def _time(fn, repeat: int) -> list[float]:  # type: ignore[no-untyped-def]
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def child(repeat: int) -> None:
    import django

    django.setup()
    from django.db import connection

    from okpay.helpcenter.search import search, text, vocabulary
    from okpay.helpcenter.search.backends import get_backend

    count = _populate()
    backend = get_backend()
    vocabulary.get()  # built once per process (and on change), not per query
    for lang, query in QUERIES:  # warm caches, jieba, connections
        search(query, lang=lang, limit=10)
    full: list[float] = []
    bare: list[float] = []
    for lang, query in QUERIES:
        terms = text.unique(text.tokens(query))
        prefix = len(query) <= 2
        full += _time(lambda lang=lang, query=query: search(query, lang=lang, limit=10), repeat)
        bare += _time(lambda lang=lang, terms=terms, prefix=prefix: backend.match(
            terms, lang=lang, category=None, limit=10, prefix_last=prefix), repeat)
    quantiles = lambda xs: (statistics.median(xs), statistics.quantiles(xs, n=20)[18])  # noqa: E731
    print(json.dumps({"vendor": connection.vendor, "articles": count, "queries": len(QUERIES) * repeat,
                      "search": quantiles(full), "bare": quantiles(bare)}))


def _run_child(env: dict[str, str], repeat: int) -> dict[str, object]:
    return run_child("helpcenter", str(repeat), env=env)


def _postgres_env() -> dict[str, str] | None:
    return scratch_postgres(PG_DB)


def _drop_postgres() -> None:
    drop_postgres(PG_DB)


def main(report) -> None:  # type: ignore[no-untyped-def]
    repeat = 5 if report.quick else 30
    section = f"Help-centre search at {ARTICLES:,} articles"
    runs = []
    with tempfile.TemporaryDirectory(prefix="okpay-bench-help-") as home:
        runs.append(_run_child({"OKPAY_HOME": home, "OKPAY_DATABASE_URL": ""}, repeat))
        pg = _postgres_env()
        if pg is None:
            report.note(section, "PostgreSQL not reachable: only SQLite measured.")
        else:
            try:
                runs.append(_run_child({"OKPAY_HOME": home, **pg}, repeat))
            finally:
                _drop_postgres()
    for run in runs:
        (s50, s95), (b50, b95) = run["search"], run["bare"]
        name = "SQLite FTS5" if run["vendor"] == "sqlite" else "PostgreSQL tsvector"
        report.add(section, f"{name}: search() p50 / p95", f"{s50:.2f} / {s95:.2f} ms",
                   baseline=f"bare full-text query {b50:.2f} / {b95:.2f} ms", ratio=s50 / b50, target=5.0,
                   higher_is_better=False)
    report.note(section, f"1-minute load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs "
                         "(other work on the machine inflates search(), which needs more CPU slices, more than "
                         "the bare query).")
    report.note(section, f"{len(QUERIES)} customer queries (zh-Hans and en, with typos and 1–2 character ones), "
                         f"{repeat} times each, {runs[0]['articles']} articles; ratio = search p50 / bare p50.")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        child(int(sys.argv[2]))
    else:
        from benchmarks.report import Report

        r = Report(quick="--quick" in sys.argv)
        main(r)
        print(r.render_text())
