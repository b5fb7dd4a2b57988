"""Quality gate: a translation into English is not accepted when it is not in the Latin script
(Chinese characters left in it; most of its letters in another script), it loops on repeated
words, or it copies its source. The span is then left untranslated
(``bad-translation``) with the model's output kept for inspection. A pure function.
"""

from __future__ import annotations

import difflib
import re

from .scripts import DENSE, script_counts

NOT_LATIN = "not in the Latin script"
LOOPS = "repeats itself"
COPIES = "copies its source"

_TOKEN = re.compile(r"\w+", re.UNICODE)
#: A translation is a loop when one group of 1–4 words, repeated in a row, covers this share of it.
LOOP_SHARE = 0.8
#: ... and it has at least this many words.
LOOP_MIN_WORDS = 8
#: Letters of another script beyond this share of an English translation reject it: it is mostly
#: not English (for scripts written without spaces, such as Chinese, any letter does).
FOREIGN_SHARE = 0.5


def rejection(source: str, translation: str) -> str | None:
    """Why ``translation`` (into English) of ``source`` is not acceptable, or None."""
    counts = script_counts(translation)
    if any(counts[script] for script in DENSE):
        return NOT_LATIN  # characters of Chinese, Japanese, Thai ... left in an English sentence
    total = sum(counts.values())
    if total and (total - counts["Latin"]) > FOREIGN_SHARE * total:
        return NOT_LATIN
    words = [w.lower() for w in _TOKEN.findall(translation)]
    if loops(words):
        return LOOPS
    if copies(source, translation):
        return COPIES
    return None


def loops(words: list[str]) -> bool:
    """One group of 1–4 words, repeated in a row, makes up :data:`LOOP_SHARE` of the output: a
    decoder that got stuck ("the the the", "and the talks and the talks ..."). Word salad that
    merely repeats a word here and there is not a loop."""
    n = len(words)
    if n < LOOP_MIN_WORDS:
        return False
    longest = 0
    for size in range(1, 5):
        for i in range(0, n - 2 * size + 1):
            repeats = 1
            while words[i + repeats * size : i + (repeats + 1) * size] == words[i : i + size]:
                repeats += 1
            if repeats >= 2:
                longest = max(longest, repeats * size)
    return longest >= LOOP_SHARE * n


def copies(source: str, translation: str) -> bool:
    """The translation is (nearly) the source again: four words or more, 90 % the same letters."""
    if len(_TOKEN.findall(source)) < 4:
        return False  # a name or a number translates to itself
    a = "".join(_TOKEN.findall(source.casefold()))
    b = "".join(_TOKEN.findall(translation.casefold()))
    return a == b or difflib.SequenceMatcher(None, a, b, autojunk=False).ratio() >= 0.9
