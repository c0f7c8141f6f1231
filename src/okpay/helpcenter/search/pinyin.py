"""Chinese typed by sound: pinyin ("tixian", "wang ji mi ma") and same-sound typos (提线, 密马).

Chinese customers type on pinyin keyboards, so their typos are characters that *sound* like the
right ones (提线 for 提现, 注消 for 注销), and some type the pinyin itself. Both are matched to
the words of the help centre's own index by their toneless pinyin: a word customers typed that
the index does not have, but that sounds like one it has, is searched as that word.

The readings come from pypinyin's table of single characters (its JSON file, read directly:
importing pypinyin itself loads a 50 MB phrase dictionary this does not need), cut down to the
GB2312 characters a keyboard offers (about 7,000, well under 1 MB); each character's first,
most common, reading is used.
"""

from __future__ import annotations

import importlib.util
import json
import threading
import unicodedata
from collections.abc import Iterable
from pathlib import Path

_table: dict[str, str] | None = None
_lock = threading.Lock()
_LONGEST_KEY = 24  # letters in four syllables


def _toneless(reading: str) -> str:
    decomposed = unicodedata.normalize("NFKD", reading)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()


def _load() -> dict[str, str]:
    global _table
    if _table is None:
        with _lock:
            if _table is None:
                spec = importlib.util.find_spec("pypinyin")
                table: dict[str, str] = {}
                if spec is not None and spec.submodule_search_locations:
                    path = Path(next(iter(spec.submodule_search_locations))) / "pinyin_dict.json"
                    for code, readings in json.loads(path.read_text(encoding="utf-8")).items():
                        char = chr(int(code))
                        try:
                            char.encode("gb2312")
                        except UnicodeEncodeError:
                            continue
                        table[char] = _toneless(readings.split(",")[0])
                _table = table
    return _table


def sound(word: str) -> str | None:
    """The toneless pinyin of a Chinese word (提现 → "tixian"), or None for a character without one."""
    table = _load()
    out = []
    for char in word:
        reading = table.get(char)
        if reading is None:
            return None
        out.append(reading)
    return "".join(out)


def build(words: Iterable[tuple[str, int]]) -> dict[str, str]:
    """``{pinyin: word}`` for the index's Chinese words of 2-4 characters; where several words
    sound alike, the one most articles use."""
    best: dict[str, tuple[int, str]] = {}
    for word, frequency in words:
        if not 2 <= len(word) <= 4:
            continue
        key = sound(word)
        if key and (key not in best or frequency > best[key][0]):
            best[key] = (frequency, word)
    return {key: word for key, (_frequency, word) in best.items()}


def from_latin(words: list[str], sounds: dict[str, str]) -> list[str]:
    """Index words spelt out in pinyin by ``words`` (non-English Latin words of a Chinese query):
    "tuikuan" → 退款, "wang ji mi ma" → 忘记, 密码. Longest match first; a word that starts no
    match is skipped."""
    joined = "".join(words)
    boundaries = []
    position = 0
    for word in words:
        position += len(word)
        boundaries.append(position)
    found: list[str] = []
    i = 0
    while i < len(joined):
        for length in range(min(_LONGEST_KEY, len(joined) - i), 3, -1):
            match = sounds.get(joined[i:i + length])
            if match:
                found.append(match)
                i += length
                break
        else:
            i = next(b for b in boundaries if b > i)
    return found


def sound_alike(tokens: list[str], known: set[str] | dict[str, int], sounds: dict[str, str]) -> list[str]:
    """Index words that runs of the query's tokens (a plain, non-overlapping segmentation) sound
    like when the run itself is not an index word: 提/线 → 提现, 密/马 → 密码, 待/处/里 → 待处理."""
    found: list[str] = []
    for i in range(len(tokens)):
        text = ""
        for j in range(i, min(i + 4, len(tokens))):
            text += tokens[j]
            if len(text) > 4:
                break
            if len(text) < 2 or text in known:
                continue
            match = sounds.get(sound(text) or "")
            if match and match != text:
                found.append(match)
    return found
