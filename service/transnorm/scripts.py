"""Writing-system facts about characters, shared by segmentation and detection.

A character's *script* here is coarse: the scripts that decide a language (Han, Kana, Hangul,
Cyrillic, ...) or ``Latin``; digits, punctuation, symbols and spaces are ``Common``.
"""

from __future__ import annotations

import bisect
import re
from collections import Counter

# (first code point, last code point, script); letters only, checked with str.isalpha().
_RANGES: list[tuple[int, int, str]] = sorted(
    [
        (0x0041, 0x024F, "Latin"),
        (0x1E00, 0x1EFF, "Latin"),
        (0x2C60, 0x2C7F, "Latin"),
        (0xA720, 0xA7FF, "Latin"),
        (0xFF21, 0xFF5A, "Latin"),
        (0x0370, 0x03FF, "Greek"),
        (0x1F00, 0x1FFF, "Greek"),
        (0x0400, 0x052F, "Cyrillic"),
        (0x1C80, 0x1C8F, "Cyrillic"),
        (0x2DE0, 0x2DFF, "Cyrillic"),
        (0xA640, 0xA69F, "Cyrillic"),
        (0x0530, 0x058F, "Armenian"),
        (0x0590, 0x05FF, "Hebrew"),
        (0x0600, 0x06FF, "Arabic"),
        (0x0750, 0x077F, "Arabic"),
        (0x08A0, 0x08FF, "Arabic"),
        (0xFB50, 0xFDFF, "Arabic"),
        (0xFE70, 0xFEFF, "Arabic"),
        (0x0700, 0x074F, "Syriac"),
        (0x0780, 0x07BF, "Thaana"),
        (0x0900, 0x097F, "Devanagari"),
        (0xA8E0, 0xA8FF, "Devanagari"),
        (0x0980, 0x09FF, "Bengali"),
        (0x0A00, 0x0A7F, "Gurmukhi"),
        (0x0A80, 0x0AFF, "Gujarati"),
        (0x0B00, 0x0B7F, "Oriya"),
        (0x0B80, 0x0BFF, "Tamil"),
        (0x0C00, 0x0C7F, "Telugu"),
        (0x0C80, 0x0CFF, "Kannada"),
        (0x0D00, 0x0D7F, "Malayalam"),
        (0x0D80, 0x0DFF, "Sinhala"),
        (0x0E00, 0x0E7F, "Thai"),
        (0x0E80, 0x0EFF, "Lao"),
        (0x0F00, 0x0FFF, "Tibetan"),
        (0x1000, 0x109F, "Myanmar"),
        (0x10A0, 0x10FF, "Georgian"),
        (0x2D00, 0x2D2F, "Georgian"),
        (0x1200, 0x139F, "Ethiopic"),
        (0x1780, 0x17FF, "Khmer"),
        (0x1800, 0x18AF, "Mongolian"),
        (0x0250, 0x02AF, "Latin"),
        (0xFB00, 0xFB06, "Latin"),
        (0xFB1D, 0xFB4F, "Hebrew"),
        (0x1100, 0x11FF, "Hangul"),
        (0x3130, 0x318F, "Hangul"),
        (0xA960, 0xA97F, "Hangul"),
        (0xAC00, 0xD7AF, "Hangul"),
        (0xD7B0, 0xD7FF, "Hangul"),
        (0xFFA0, 0xFFDC, "Hangul"),
        (0x3040, 0x309F, "Hiragana"),
        (0x3100, 0x312F, "Han"),  # Bopomofo, written with Chinese
        (0x30A0, 0x30FF, "Katakana"),
        (0x31F0, 0x31FF, "Katakana"),
        (0xFF66, 0xFF9F, "Katakana"),
        (0x2E80, 0x2FDF, "Han"),
        (0x3005, 0x3007, "Han"),
        (0x3021, 0x3029, "Han"),
        (0x3400, 0x4DBF, "Han"),
        (0x4E00, 0x9FFF, "Han"),
        (0xF900, 0xFAFF, "Han"),
        (0x20000, 0x3FFFF, "Han"),
    ]
)
_STARTS = [r[0] for r in _RANGES]

#: Scripts written without spaces between words, whose characters each carry about a word.
DENSE = frozenset({"Han", "Hiragana", "Katakana", "Thai", "Lao", "Khmer", "Myanmar", "Tibetan"})
CJK = frozenset({"Han", "Hiragana", "Katakana"})

# Punctuation used in CJK text (ideographic space and punctuation, fullwidth forms, corner
# brackets, book-title marks); it belongs to an adjacent CJK run.
CJK_PUNCT = re.compile(
    r"[\u3000-\u303f\uff01-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uff65《》「」『』【】〈〉]"
)

# Text made only of these characters cannot contain a non-Latin letter.
_LATIN_ONLY = re.compile(r"[\x00-\u02ff\u2000-\u206f\u20a0-\u20cf\u2100-\u214f\u2190-\u23ff\u25a0-\u26ff]*")


def script_of(ch: str) -> str:
    """The coarse script of one character (``Common`` for non-letters)."""
    if ch.isascii():
        return "Latin" if ch.isalpha() else "Common"
    if not ch.isalpha():
        return "Common"
    cp = ord(ch)
    i = bisect.bisect_right(_STARTS, cp) - 1
    if i >= 0 and cp <= _RANGES[i][1]:
        return _RANGES[i][2]
    return "Other"


def is_latin_only(text: str) -> bool:
    """True when ``text`` has no letter outside the Latin script (a fast path for English)."""
    return text.isascii() or _LATIN_ONLY.fullmatch(text) is not None


def script_counts(text: str) -> Counter[str]:
    """Letters per script, ignoring ``Common``."""
    if is_latin_only(text):
        letters = sum(map(str.isalpha, text))
        return Counter({"Latin": letters}) if letters else Counter()
    counts: Counter[str] = Counter()
    for ch in text:
        if ch.isalpha():
            counts[script_of(ch)] += 1
    return counts


def weighted(counts: Counter[str]) -> Counter[str]:
    """Letter counts weighted so that Han and Kana characters weigh like whole words.

    A Han character carries about as much as a short Latin word, so a Chinese sentence with
    "NATO" in it stays Chinese, and an English sentence with one Chinese name in it stays English.
    """
    out: Counter[str] = Counter()
    for script, n in counts.items():
        group = "CJK" if script in CJK else script
        # (Thai, Lao, Khmer and Burmese are alphabets: a letter weighs a letter.)
        out[group] += n * (3 if script in CJK else 1)
    return out


def dominant(text: str) -> str:
    """The script group that dominates ``text``: ``CJK`` (Han+Kana), a script name, or ``Common``."""
    counts = weighted(script_counts(text))
    if not counts:
        return "Common"
    return counts.most_common(1)[0][0]


def group_of(ch: str) -> str:
    script = script_of(ch)
    return "CJK" if script in CJK else script
