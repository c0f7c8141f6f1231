"""Chinese typed by sound (search/pinyin.py): pinyin words and same-sound typos reach the article.

The examples here are not from any question set: they check the mechanism, not the figures."""

from __future__ import annotations

import pytest

from okpay.helpcenter.search import pinyin, search


def test_readings_are_toneless_and_small() -> None:
    assert pinyin.sound("提现") == "tixian"
    assert pinyin.sound("绿") == "lu"
    assert pinyin.sound("abc") is None
    assert len(pinyin._load()) < 8000  # GB2312's characters, not pypinyin's 40,000


def test_latin_words_are_segmented_longest_first() -> None:
    sounds = {"chongzhi": "充值", "mima": "密码", "wangji": "忘记"}
    assert pinyin.from_latin(["chongzhi"], sounds) == ["充值"]
    assert pinyin.from_latin(["wang", "ji", "mi", "ma", "ne"], sounds) == ["忘记", "密码"]
    assert pinyin.from_latin(["hello"], sounds) == []


def test_only_runs_that_are_not_words_are_heard_again() -> None:
    sounds = {"dongjie": "冻结"}
    assert pinyin.sound_alike(["冻", "洁"], {"冻结"}, sounds) == ["冻结"]
    assert pinyin.sound_alike(["冻结"], {"冻结"}, sounds) == []


@pytest.mark.parametrize(("query", "slug"), [
    ("chongzhi", "top-up"), ("zhuxiao zhanghu", "close-account"),
    ("冻洁了怎么办", "frozen-account"), ("怎么冲值", "top-up"),
])
def test_typed_by_sound_finds_the_article(seeded: None, query: str, slug: str) -> None:
    assert slug in [a.slug for a in search(query, lang="zh-hans", limit=3).articles]


def test_english_words_in_a_chinese_query_are_not_read_as_pinyin(seeded: None) -> None:
    assert search("refund 怎么操作", lang="zh-hans", limit=3).articles[0].slug == "cancel-or-refund"
