"""Quality gate: a translation into English is not accepted when it is not in the Latin script
(Chinese characters left in it; most of its letters in another script), it loops on repeated
words, or it copies its source. The span is then left untranslated
(``bad-translation``) with the model's output kept for inspection. A pure function.

Its work is linear in the length of its input (no sentence can hold a worker): the copy check
compares at most :data:`COPY_WINDOW` letters of each side. It measures the longest common
subsequence with our own bit-parallel routine: difflib's SequenceMatcher only approximates it and
is cubic on repetitive text, and none of our dependencies computes it.
"""

from __future__ import annotations

import itertools
import re

from .scripts import DENSE, script_counts

# Each reason completes "the translation ...".
NOT_LATIN = "is not in the Latin script"
LOOPS = "repeats itself"
COPIES = "copies its source"

_TOKEN = re.compile(r"\w+", re.UNICODE)
_RUN = re.compile(rb"\x01+")
#: A translation is a loop when one group of 1–4 words, repeated in a row, covers this share of it.
LOOP_SHARE = 0.8
#: ... and it has at least this many words.
LOOP_MIN_WORDS = 8
#: Letters of another script beyond this share of an English translation reject it: it is mostly
#: not English (for scripts written without spaces, such as Chinese, any letter does).
FOREIGN_SHARE = 0.5
#: A translation of four words or more whose letters are this similar to its source's copies it.
COPY_SHARE = 0.9
#: The copy check compares whole sentences of up to this many letters (every sentence of real
#: text); of longer ones, the first and the last half of it: a copy is a copy at both ends.
COPY_WINDOW = 2000


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
        # A group of ``size`` words repeated r times in a row from i: words[k] == words[k + size]
        # for the (r - 1) * size positions k from i on. The longest run of such positions (a run
        # of 1 bytes in ``same``) gives the most repeats.
        same = bytes(map(str.__eq__, words, words[size:]))
        best = max(map(len, _RUN.findall(same)), default=0)
        if best >= size:
            longest = max(longest, size * (1 + best // size))
    return longest >= LOOP_SHARE * n


def copies(source: str, translation: str) -> bool:
    """The translation is (nearly) the source again: four words or more, and :data:`COPY_SHARE`
    of their letters the same (see :func:`similarity`)."""
    if len(list(itertools.islice(_TOKEN.finditer(source), 4))) < 4:
        return False  # a name or a number translates to itself
    a = "".join(_TOKEN.findall(source.casefold()))
    b = "".join(_TOKEN.findall(translation.casefold()))
    if a == b:
        return True
    if 2 * min(len(a), len(b)) < COPY_SHARE * (len(a) + len(b)):
        return False  # the lengths alone are too different
    return similarity(a, b) >= COPY_SHARE


def similarity(a: str, b: str) -> float:
    """2·LCS / total length of ``a`` and ``b`` (1.0: the same; what difflib's ``ratio`` estimates),
    over the whole strings when both have at most :data:`COPY_WINDOW` characters, else over their
    first and last ``COPY_WINDOW // 2`` characters: bounded work, whatever the length."""
    if not a and not b:
        return 1.0
    if len(a) <= COPY_WINDOW and len(b) <= COPY_WINDOW:
        pairs = [(a, b)]
    else:
        half = COPY_WINDOW // 2
        pairs = [(a[:half], b[:half]), (a[-half:], b[-half:])]
    common = sum(lcs_length(x, y) for x, y in pairs)
    return 2 * common / sum(len(x) + len(y) for x, y in pairs)


def lcs_length(a: str, b: str) -> int:
    """Length of the longest common subsequence of ``a`` and ``b``, bit-parallel (Allison and
    Dix; Hyyrö): one pass over the shorter string with integers as bit vectors over the longer,
    O(len(a) * len(b) / word size) whatever the text."""
    if len(a) < len(b):
        a, b = b, a
    positions: dict[str, int] = {}
    for i, ch in enumerate(a):
        positions[ch] = positions.get(ch, 0) | (1 << i)
    full = (1 << len(a)) - 1
    v = full  # a zero bit i: a[i] ends a step of the LCS so far
    for ch in b:
        match = positions.get(ch)
        if match:
            u = v & match
            v = ((v + u) | (v - u)) & full
    return len(a) - v.bit_count()
