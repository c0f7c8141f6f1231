"""jieba's dictionary in 2 MB instead of 56 MB.

jieba keeps its dictionary as one Python dict of every word and every prefix of every word
(~500,000 entries): 56 MB in each process that segments Chinese, more than a quarter of the
200 MB one web process may use, and paid by every web process as soon as anyone searches
(docs/performance.md, "Live chat"). Here jieba's words are a marisa trie, built once from
jieba's ``dict.txt`` into ``var/cache/`` (by a child process, so the build's transient memory is
never part of a server process) and memory-mapped: 2 MB, shared between the processes of one
machine. Words added at run time (the wallet words in ``text.py``) sit in a small dict on top.
Segmentation is jieba's own, unchanged: only where the frequencies live differs.

This module imports nothing of Django (the child process that builds the trie runs it bare).
"""

from __future__ import annotations

import hashlib
import logging
import os
import subprocess  # nosec B404: runs this module with the same interpreter, no shell
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

import jieba
import marisa_trie

logger = logging.getLogger("okpay.helpcenter.search")

_TOTAL = "\uffff total"  # the one key that is no word (jieba never looks up U+FFFF): the sum of all frequencies
_FORMAT = "<Q"
_LONGEST = 16  # characters in jieba's longest word


class Frequencies:
    """What jieba's ``Tokenizer.FREQ`` is used as (``in``, ``[]``, ``get``, assignment by
    ``add_word``), over a read-only trie and a dict of words added since."""

    def __init__(self, trie: Any) -> None:
        self.trie = trie
        self.added: dict[str, int] = {}
        self._by_first: dict[str, list[int]] | None = None  # added_by_first(), until the next word

    def __contains__(self, word: object) -> bool:
        return word in self.added or word in self.trie

    def get(self, word: str, default: int | None = None) -> int | None:
        if word in self.added:
            return self.added[word]
        found = self.trie.get(word)
        return int(found[0][0]) if found else default

    def __getitem__(self, word: str) -> int:
        value = self.get(word)
        if value is None:
            raise KeyError(word)
        return value

    def __setitem__(self, word: str, freq: int) -> None:
        self.added[word] = int(freq)
        self._by_first = None

    def added_by_first(self) -> dict[str, list[int]]:
        """The lengths of the added words (and prefixes) by their first character."""
        if self._by_first is None:
            by_first: dict[str, set[int]] = {}
            for word in self.added:
                by_first.setdefault(word[:1], set()).add(len(word))
            self._by_first = {first: sorted(lengths) for first, lengths in by_first.items()}
        return self._by_first


def source() -> Path:
    return Path(jieba.__file__).parent / jieba.DEFAULT_DICT_NAME


def cache_path(directory: Path) -> Path:
    """One file per dictionary content and format (a new jieba release builds a new one)."""
    digest = hashlib.sha256(source().read_bytes()).hexdigest()[:16]
    return directory / f"jieba-{jieba.__version__}-{digest}.marisa"


def build(target: Path) -> None:
    """Write the trie of jieba's words and their frequencies to ``target`` (atomically). jieba's
    own dict also holds every prefix of every word (frequency 0) for ``get_DAG``'s walk; the
    trie answers that walk with one ``prefixes()`` call instead, so it holds words only."""
    words: list[tuple[str, tuple[int]]] = []
    total = 0
    with source().open(encoding="utf-8") as handle:
        for line in handle:
            word, freq = line.split()[:2]
            words.append((word, (int(freq),)))
            total += int(freq)
    trie = marisa_trie.RecordTrie(_FORMAT, [*words, (_TOTAL, (total,))])
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=".jieba-", suffix=".tmp")
    os.close(fd)
    try:
        trie.save(temporary)
        os.replace(temporary, target)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


def load(directory: Path) -> Any:
    """The trie, memory-mapped; built first by a child process when the cache has none."""
    target = cache_path(directory)
    if not target.exists():
        # our own interpreter and module, the path we computed: no shell, no outside input
        done = subprocess.run([sys.executable, "-m", __name__, str(target)],  # noqa: S603  # nosec B603
                              capture_output=True, text=True, check=False)
        if done.returncode != 0 or not target.exists():
            logger.warning("building jieba's dictionary into %s in a child process failed (%s); building "
                           "it here", target, (done.stderr or "").strip()[-300:])
            try:
                build(target)
            except OSError:  # a read-only OKPAY_HOME: a private copy in the temporary directory
                target = cache_path(Path(tempfile.gettempdir()) / f"okpay-jieba-{os.getuid()}")
                if not target.exists():
                    build(target)
    trie = marisa_trie.RecordTrie(_FORMAT)
    trie.mmap(str(target))
    return trie


class CompactTokenizer(jieba.Tokenizer):  # type: ignore[misc]
    """jieba's tokenizer with its frequencies in a memory-mapped trie (``Frequencies``)."""

    def __init__(self, cache_dir: Path) -> None:
        super().__init__()
        self.cache_dir = cache_dir
        self._ready = threading.Lock()

    def initialize(self, dictionary: object = None) -> None:
        if self.initialized:
            return
        with self._ready:
            if self.initialized:
                return
            trie = load(self.cache_dir)
            self.FREQ = Frequencies(trie)
            self.total = int(trie[_TOTAL][0][0])
            self.initialized = True

    def get_DAG(self, sentence: str) -> dict[int, list[int]]:
        """jieba's DAG (for each position, where the words starting there end), from the trie's
        prefix search plus the words added at run time: the same result as jieba's walk."""
        self.check_initialized()
        prefixes, added = self.FREQ.trie.prefixes, self.FREQ.added
        by_first = self.FREQ.added_by_first()
        dag: dict[int, list[int]] = {}
        size = len(sentence)
        for k, first in enumerate(sentence):
            ends = [k + len(word) - 1 for word in prefixes(sentence[k:k + _LONGEST])]
            lengths = by_first.get(first)
            if lengths:
                ends = sorted({end for end in ends if added.get(sentence[k:end + 1], 1)}
                              | {k + n - 1 for n in lengths if k + n <= size and added.get(sentence[k:k + n])})
            dag[k] = ends or [k]
        return dag


if __name__ == "__main__":
    build(Path(sys.argv[1]))
