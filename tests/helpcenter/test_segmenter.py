"""jieba over a memory-mapped trie (okpay.helpcenter.segmenter): the same words as jieba's own
dictionary, a fraction of the memory, built once per machine and shared."""

from __future__ import annotations

import logging
import re
import subprocess
from pathlib import Path

import jieba
import pytest

from okpay.helpcenter import segmenter
from okpay.helpcenter.search.text import WALLET_WORDS

SEED = Path(segmenter.__file__).parent / "seed"
SHARED_SEED = Path(__file__).resolve().parents[3] / "shared" / "seeds" / "okpay-customer-service.zh.txt"


def chinese_runs() -> list[str]:
    texts = [p.read_text(encoding="utf-8") for p in sorted(SEED.rglob("*")) if p.is_file()]
    if SHARED_SEED.exists():
        texts.append(SHARED_SEED.read_text(encoding="utf-8"))
    runs = [run for text in texts for run in re.findall(r"[\u4e00-\u9fff]+", text)]
    return [*runs, "我的转账为什么还在处理中", "南京市长江大桥", "中华人民共和国", "登录密码忘了怎么办", "钱"]


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[jieba.Tokenizer, segmenter.CompactTokenizer]:
    jieba.setLogLevel(logging.WARNING)
    stock = jieba.Tokenizer()
    compact = segmenter.CompactTokenizer(tmp_path_factory.mktemp("cache"))
    for word in WALLET_WORDS:
        stock.add_word(word, freq=20000)
        compact.add_word(word, freq=20000)
    return stock, compact


def test_the_same_words_as_jiebas_own_dictionary(pair: tuple[jieba.Tokenizer, segmenter.CompactTokenizer]) -> None:
    stock, compact = pair
    runs = chinese_runs()
    assert len(runs) > 200
    assert compact.total == stock.total
    for run in runs:
        assert list(compact.cut_for_search(run, HMM=False)) == list(stock.cut_for_search(run, HMM=False)), run
        assert list(compact.cut(run, HMM=True)) == list(stock.cut(run, HMM=True)), run
        assert compact.get_DAG(run) == stock.get_DAG(run), run


def test_words_added_and_removed_at_run_time(tmp_path: Path) -> None:
    stock = jieba.Tokenizer()
    compact = segmenter.CompactTokenizer(tmp_path)
    for tokenizer in (stock, compact):
        tokenizer.add_word("钱包号码", freq=50000)  # new word, longer than any added before
        tokenizer.del_word("长江大桥")  # a dictionary word forced apart (frequency 0)
    for text in ("我的钱包号码是多少", "南京市长江大桥", "钱包号码"):
        assert list(compact.cut(text, HMM=False)) == list(stock.cut(text, HMM=False)), text
    assert "钱包号码" in compact.FREQ and compact.FREQ["钱包号码"] == 50000
    with pytest.raises(KeyError):
        compact.FREQ["不是一个词的东西"]


def test_the_dictionary_is_a_shared_file_not_a_dict_per_process(tmp_path: Path) -> None:
    compact = segmenter.CompactTokenizer(tmp_path)
    list(compact.cut("转账"))
    (built,) = tmp_path.glob("jieba-*.marisa")
    assert built.stat().st_size < 5_000_000  # jieba's dict.txt alone is 5 MB; its dict in memory ~56 MB
    assert len(compact.FREQ.added) == 0  # nothing of the dictionary itself lives in a Python dict
    before = built.stat().st_mtime_ns
    again = segmenter.CompactTokenizer(tmp_path)
    assert list(again.cut("转账")) == ["转账"]
    assert built.stat().st_mtime_ns == before  # built once, then reused


def test_a_failed_child_build_is_done_in_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    def failing(*args: object, **kwargs: object) -> subprocess.CompletedProcess[str]:
        return subprocess.CompletedProcess(args, 1, "", "boom")

    monkeypatch.setattr(segmenter.subprocess, "run", failing)
    compact = segmenter.CompactTokenizer(tmp_path)
    assert list(compact.cut("退款")) == ["退款"]
    assert list(tmp_path.glob("jieba-*.marisa"))
    assert "failed" in caplog.text
