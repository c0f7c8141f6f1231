"""Typo tolerance for Latin words: symmetric-delete lookup (SymSpell) over the index vocabulary.

A query word that is not in the vocabulary is replaced by the vocabulary word closest in
Damerau-Levenshtein distance (1 for words of 5–6 letters, 2 from 7), ties broken by how many
articles use it. Lookup costs a few dictionary probes, not a scan of the vocabulary.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable


def max_distance(word: str) -> int:
    if len(word) < 5:  # short words have too many neighbours to guess right
        return 0
    return 1 if len(word) <= 6 else 2


def _deletes(word: str, depth: int) -> set[str]:
    out: set[str] = set()
    frontier = {word}
    for _ in range(depth):
        nxt: set[str] = set()
        for item in frontier:
            for i in range(len(item)):
                nxt.add(item[:i] + item[i + 1:])
        out |= nxt
        frontier = nxt
    return out


def damerau_levenshtein(a: str, b: str) -> int:
    """Optimal string alignment distance."""
    if a == b:
        return 0
    rows = len(a) + 1
    cols = len(b) + 1
    d = [[0] * cols for _ in range(rows)]
    for i in range(rows):
        d[i][0] = i
    for j in range(cols):
        d[0][j] = j
    for i in range(1, rows):
        for j in range(1, cols):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
    return d[-1][-1]


class SpellIndex:
    def __init__(self, words: Iterable[str]) -> None:
        self.frequency: Counter[str] = Counter(w for w in words if w.isascii() and w.isalpha() and len(w) >= 3)
        self._candidates: dict[str, set[str]] = {}
        for word in self.frequency:
            self._candidates.setdefault(word, set()).add(word)
            for deleted in _deletes(word, 2 if len(word) >= 6 else 1):
                self._candidates.setdefault(deleted, set()).add(word)

    def __contains__(self, word: str) -> bool:
        return word in self.frequency

    def correct(self, word: str) -> str | None:
        """The best vocabulary word for ``word``, or ``None`` if it is known or nothing is close."""
        limit = max_distance(word)
        if not limit or word in self.frequency or not word.isascii() or not word.isalpha():
            return None
        probes = {word} | _deletes(word, limit)
        found: set[str] = set()
        for probe in probes:
            found |= self._candidates.get(probe, set())
        best: tuple[int, int, str] | None = None
        for candidate in found:
            if abs(len(candidate) - len(word)) > limit:
                continue
            distance = damerau_levenshtein(word, candidate)
            if distance > limit:
                continue
            key = (distance, -self.frequency[candidate], candidate)
            if best is None or key < best:
                best = key
        return best[2] if best else None
