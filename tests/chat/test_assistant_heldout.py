"""How the chat assistant routes customers' questions (docs/search-quality.md, "The chat assistant").

Two question sets, each question asked by a guest (no account data) as the first message of a chat:

- ``tests/chat/questions/<lang>.tsv``: the assistant's own held-out set, labelled with the expected
  outcome (a seed flow, an article, or a hand-off), written before the routing was scored and pinned
  by SHA-256. Measured once, at the end, on request:

      OKPAY_ASSISTANT_HELDOUT=1 .venv/bin/pytest -q -s -p no:cacheprovider tests/chat/test_assistant_heldout.py

  (the tuning report: OKPAY_ASSISTANT_TUNING=1 and ``-k tuning``)

- the help centre's question set (tests/helpcenter/questions/, both halves, each labelled with an
  article) plus ``tests/chat/questions/<lang>.tuning.tsv``: the assistant's tuning data (the help
  centre's held-out half was the assistant's first measurement, so it has been seen). It runs by
  default and must not fall below a floor.

Outcomes: **resolved** (the expected flow starts, or no flow and the expected article is first, or a
flow whose own articles include the expected one), **handed off correctly** (a hand-off was
expected and the assistant handed off, or said it was not sure and offered a person), **handed off
needlessly** (an answer existed but the assistant offered a person instead: safe, costs an agent),
**wrong** (another flow or article given with confidence, or no hand-off where one was expected).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest
from django.core.cache import cache
from django.db import connection
from django.utils import translation

from okpay.chat import assistant
from okpay.helpcenter.search import vocabulary
from okpay.helpcenter.seed import load as seed_load
from tests.helpcenter.test_search_heldout import LANGS
from tests.helpcenter.test_search_heldout import load as helpcenter_questions

pytestmark = pytest.mark.django_db

QUESTIONS = Path(__file__).parent / "questions"
HELDOUT_SHA256 = {
    "zh-hans": "a4f7172b5e03a2c214039fd745a49d4851ed2eef0ab00a5d4fc2b004e3d94b61",
    "en": "13adf9dc96c1a39babf10624101d381c64bbfcd1b8a50cec1aab4a12f8ac4aff",
}


def heldout(lang: str, name: str = "") -> list[tuple[str, set[str]]]:
    rows = []
    for line in (QUESTIONS / f"{lang}{name}.tsv").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            expected, question = line.split("\t")
            rows.append((question, set(expected.split("|"))))
    return rows


def tuning(lang: str) -> list[tuple[str, set[str]]]:
    """The help centre's questions (both halves) and the assistant's own tuning questions (flows,
    confusions between them, requests for a person, questions nobody here can answer)."""
    articles = [(q, {f"article:{slug}"}) for part in ("tuning", "heldout")
                for q, slug in helpcenter_questions(lang, part)]
    return [*articles, *heldout(lang, ".tuning")]


def outcome(question: str, lang: str) -> tuple[str, list[str]]:
    """What the assistant does with a guest's first message: ``flow:X``, ``handoff``, ``article:slug``
    or ``none``; and the slugs of the articles it shows (a hand-off attaches the first)."""
    cache.clear()  # no rate limit carries over between questions
    reply = assistant.answer(text=question, user=None, lang=lang, ip="192.0.2.1")
    slugs = [a["slug"] for a in reply.data.get("articles", [])]
    if reply.data.get("handoff") or reply.data.get("unsure"):
        return "handoff", slugs
    if reply.data.get("flow"):
        return f"flow:{reply.data['flow']}", slugs
    return (f"article:{slugs[0]}" if slugs else "none"), slugs


def evaluate(questions: list[tuple[str, set[str]]], lang: str) -> dict:  # type: ignore[type-arg]
    counts = {"questions": 0, "resolved": 0, "handoff_correct": 0, "handoff_needless": 0, "wrong": 0,
              "handoffs_expected": 0}
    misses = []
    with translation.override(lang):
        for question, expected in questions:
            got, slugs = outcome(question, lang)
            counts["questions"] += 1
            counts["handoffs_expected"] += "handoff" in expected
            flow_articles = assistant.FLOW_ARTICLES.get(got.removeprefix("flow:"), ()) if got.startswith("flow:") \
                else ()
            if got in expected and got == "handoff":
                counts["handoff_correct"] += 1
                continue
            if got in expected or any(e.removeprefix("article:") in flow_articles for e in expected):
                counts["resolved"] += 1
                continue
            kind = "handoff_needless" if got == "handoff" else "wrong"
            counts[kind] += 1
            misses.append(f"{kind}: {question!r}: expected {'|'.join(sorted(expected))}, got {got} {slugs}")
    return {**counts, "misses": misses}


def report(name: str, lang: str, result: dict) -> str:  # type: ignore[type-arg]
    n = result["questions"]
    return (f"\n[assistant {name} {connection.vendor} {lang}] {n} questions: resolved without a person "
            f"{result['resolved']} ({result['resolved'] / n:.1%}), handed off correctly {result['handoff_correct']} "
            f"of {result['handoffs_expected']}, handed off needlessly {result['handoff_needless']}, "
            f"wrong {result['wrong']} ({result['wrong'] / n:.1%})")


def _ready() -> None:
    seed_load()
    vocabulary.invalidate()


@pytest.mark.parametrize("lang", LANGS)
def test_the_heldout_set_is_fixed(lang: str) -> None:
    digest = hashlib.sha256((QUESTIONS / f"{lang}.tsv").read_bytes()).hexdigest()
    assert digest == HELDOUT_SHA256[lang], "the held-out questions changed: they must stay as written"
    rows = heldout(lang)
    # Three questions per language turned out to be word for word in the help centre's set: they
    # were seen while tuning, so the measurement leaves them out.
    assert len({q for q, _ in rows} & {q for q, _ in tuning(lang)}) == 3
    assert len(unseen(lang)) >= 60


def unseen(lang: str) -> list[tuple[str, set[str]]]:
    """The held-out questions minus any that also appear, word for word, in the tuning data."""
    seen = {q for q, _ in tuning(lang)}
    return [(q, expected) for q, expected in heldout(lang) if q not in seen]


@pytest.mark.parametrize("lang", LANGS)
def test_assistant_tuning_set(db, lang: str, capsys) -> None:  # type: ignore[no-untyped-def]
    _ready()
    result = evaluate(tuning(lang), lang)
    with capsys.disabled():
        if os.environ.get("OKPAY_ASSISTANT_TUNING") == "1":
            print(report("tuning", lang, result))
            for m in result["misses"]:
                print("   ", m)
    assert result["resolved"] / result["questions"] >= TUNING_FLOOR[lang]


TUNING_FLOOR = {"zh-hans": 0.80, "en": 0.83}  # measured 82.9 % / 86.1 % (docs/search-quality.md)


@pytest.mark.skipif(os.environ.get("OKPAY_ASSISTANT_HELDOUT") != "1", reason="held-out: measured once, on request")
@pytest.mark.parametrize("lang", LANGS)
def test_assistant_heldout_report(db, lang: str, capsys) -> None:  # type: ignore[no-untyped-def]
    _ready()
    result = evaluate(unseen(lang), lang)
    with capsys.disabled():
        print(report("held-out", lang, result))
        for m in result["misses"]:
            print("   ", m)
    out = Path(__file__).resolve().parents[2] / "test-artifacts"
    out.mkdir(exist_ok=True)
    (out / f"assistant-heldout-{connection.vendor}-{lang}.json").write_text(
        json.dumps(result, ensure_ascii=False, indent=1))
