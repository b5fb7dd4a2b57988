"""Stage 6, post-normalize translated text: CJK punctuation to English, spacing at span joins,
no doubled sentence punctuation. Pure string functions."""

from __future__ import annotations

import re
import unicodedata

_PUNCT = str.maketrans(
    {
        "，": ", ",
        "、": ", ",
        "。": ". ",
        "．": ".",
        "：": ": ",
        "；": "; ",
        "！": "! ",
        "？": "? ",
        "（": "(",
        "）": ")",
        "【": "[",
        "】": "]",
        "〔": "[",
        "〕": "]",
        "《": "“",
        "》": "”",
        "〈": "“",
        "〉": "”",
        "「": "“",
        "」": "”",
        "『": "‘",
        "』": "’",
        "　": " ",
        "～": "~",
    }
)
_SPACE_BEFORE = re.compile(r"\s+([,;:!?.)\]”’])")
_COMMA_SPACE = re.compile(r"([,;])(?=[^\W\d_])")
_DOUBLED = re.compile(r"([.!?])(?:\s*[.!?])+")
_DASHES = re.compile(r"——|－－")
_SPACES = re.compile(r"[ \t]{2,}")


def english_punctuation(text: str) -> str:
    """Map CJK punctuation and fullwidth forms to their English equivalents, with English spacing."""
    if text.isascii():
        out = text
    else:
        out = _DASHES.sub("—", text).translate(_PUNCT)
        # Fullwidth ASCII variants (ＡＢＣ１２３) → ASCII.
        out = "".join(unicodedata.normalize("NFKC", c) if "\uff01" <= c <= "\uff5e" else c for c in out)
    out = _SPACE_BEFORE.sub(r"\1", out)
    out = _COMMA_SPACE.sub(r"\1 ", out)
    out = _collapse_doubled(out)
    return _SPACES.sub(" ", out).strip()


def _collapse_doubled(text: str) -> str:
    """ "Done.." → "Done.", "Why?." → "Why?"; an ellipsis "..." is left alone."""

    def repl(m: re.Match[str]) -> str:
        marks = "".join(m.group(0).split())
        if len(marks) >= 3 and set(marks) == {"."}:
            return "..."
        return m.group(1)

    return _DOUBLED.sub(repl, text)


def join_space(before: str, text: str) -> str:
    """The text to insert between output ``before`` and a translated ``text`` ("" or " ")."""
    if not before or not text:
        return ""
    last, first = before[-1], text[0]
    if last.isspace() or first.isspace():
        return ""
    if first in ",.;:!?)]}”’%":
        return ""
    if last in "([{“‘/-–—":
        return ""
    return " "


def trailing_space(text: str, after: str) -> str:
    """The text to insert between a translated ``text`` and the output that follows it."""
    if not text or not after:
        return ""
    last, first = text[-1], after[0]
    if last.isspace() or first.isspace() or first in ",.;:!?)]}”’%":
        return ""
    if first.isalnum() or first in "“‘([":
        return " "
    return ""
