"""Route: the planner's last step for a piece of foreign text -- the package that translates its
language (:func:`package_for`), and the passages it goes to that package in (:func:`passages`):
a sentence longer than :data:`PASSAGE` characters is cut into several, so that no one request
holds the engine for long and a document's time budget can stop between them.

Pure functions over offsets into the text; grapheme clusters come from the ``regex`` module's
``\\X`` (the standard library has no grapheme segmentation).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping

import regex

from .packages import PackageInfo

# When a language has no package of its own: the package that also serves it, and the conversion.
FALLBACKS = {"zt": ("zh", "t2s"), "pb": ("pt", None), "pt": ("pb", None)}

#: The longest passage, in characters, that one request carries. It bounds the work between two
#: looks at the clock (64 passages, ``translate.DEADLINE_SLICE``) so that the document's time budget
#: holds for a document of one endless sentence; it is not a model limit (the engine cuts what exceeds
#: a model's 256 to 512 positions itself). 1,000 characters are about 250 tokens of French (3 to 5
#: letters a SentencePiece token) and 500 to 1,000 of Chinese: news sentences are nearly all shorter
#: and are sent whole, as before; a longer one is cut at clause punctuation, where a translation
#: loses least.
PASSAGE = 1000

# Where a long sentence is cut first: after clause punctuation, else at whitespace.
# (A Latin comma only before whitespace: 1,000 is one number.)
_CLAUSE = re.compile(r"[,;:](?=\s)|[，、；：،؛]")
_SPACE = re.compile(r"\s+")
_GRAPHEME = regex.compile(r"\X")


def package_for(lang: str, packages: Mapping[str, PackageInfo]) -> tuple[PackageInfo | None, str | None]:
    """The package that translates ``lang`` and the conversion the text needs first: its own
    package, else one that also serves it (Traditional Chinese through zh after conversion to
    Simplified; Brazilian and European Portuguese)."""
    if lang in packages:
        return packages[lang], None
    fallback, conversion = FALLBACKS.get(lang, (None, None))
    if fallback in packages:
        return packages[fallback], conversion
    return None, None


def passages(text: str, start: int, end: int, limit: int = PASSAGE) -> list[tuple[int, int]]:
    """``text[start:end]`` as passages of at most ``limit`` characters, in order: whole if it is
    that short; else each cut after the last clause punctuation in the second half of its window,
    else at the last whitespace, else after any clause punctuation, else at the last grapheme
    boundary (a grapheme longer than ``limit`` -- a letter under hundreds of marks -- is the one
    thing cut inside, between code points, never inside a surrogate pair). Whitespace where a cut
    falls is in no passage: the caller keeps it between them. Linear in the length."""
    if end - start <= limit:
        return [(start, end)]
    out: list[tuple[int, int]] = []
    pos = start
    while end - pos > limit:
        tail, following = _cut(text, pos, pos + limit, end)
        if tail > pos:
            out.append((pos, tail))
        pos = following
    if pos < end:
        out.append((pos, end))
    return out


def _cut(text: str, pos: int, stop: int, end: int) -> tuple[int, int]:
    """Where the passage from ``pos`` (at most to ``stop``) ends, and where the next one starts."""
    half = pos + (stop - pos) // 2
    candidates = (
        lambda: _last(_CLAUSE, text, half, stop, after=True),
        lambda: _last(_SPACE, text, pos + 1, stop + 1, after=False),
        lambda: _last(_CLAUSE, text, pos, stop, after=True),
    )
    for candidate in candidates:
        cut = candidate()
        if cut is None:
            continue
        tail, following = cut, cut
        while tail > pos and text[tail - 1].isspace():
            tail -= 1
        while following < end and text[following].isspace():
            following += 1
        # (A space or a comma carries a combining mark in made-up text only: then cut elsewhere.)
        if _boundary(text, pos, tail) and (following == end or _boundary(text, pos, following)):
            return tail, following
    cut = _grapheme_boundary(text, pos, stop, end)
    return cut, cut


def _boundary(text: str, pos: int, cut: int) -> bool:
    """Whether a grapheme boundary lies at ``cut`` (``pos``, before it, is one)."""
    if cut <= pos or cut >= len(text) or _between_letters(text[cut - 1], text[cut]):
        return True
    return any(m.end() == cut for m in _GRAPHEME.finditer(text, pos, cut + 1))


def _last(pattern: re.Pattern[str], text: str, start: int, stop: int, after: bool) -> int | None:
    """Where the last match of ``pattern`` in ``text[start:stop]`` ends (``after``) or starts."""
    found = None
    for m in pattern.finditer(text, start, stop):
        found = m
    if found is None:
        return None
    return found.end() if after else found.start()


def _grapheme_boundary(text: str, pos: int, stop: int, end: int) -> int:
    """The last grapheme boundary in ``(pos, stop]``; if the first grapheme from ``pos`` is longer,
    ``stop`` itself (moved back off a surrogate pair)."""
    # Most text (Han, Latin letters, digits) has a boundary between any two of its characters:
    # look for one near ``stop`` first, and segment the whole window only where none is.
    for cut in range(stop, max(pos, stop - 32), -1):
        if cut == end or _between_letters(text[cut - 1], text[cut]):
            return cut
    cut = pos
    # One character past the window settles whether a grapheme ends at ``stop``.
    for m in _GRAPHEME.finditer(text, pos, min(end, stop + 1)):
        if m.end() > stop:
            break
        cut = m.end()
    if cut > pos:
        return cut
    if "\ud800" <= text[stop - 1] <= "\udbff" and "\udc00" <= text[stop] <= "\udfff":
        stop -= 1
    return stop


# Characters of these categories never join the next or the previous one into a grapheme, but for
# the few listed (Thai and Lao SARA AM are spacing marks, the halfwidth sound marks extend, a few
# letters prepend) and Hangul jamo, which combine with each other.
_PLAIN = frozenset("Lu Ll Lt Lo Nd Nl No Pc Pd Ps Pe Pi Pf Po Sm Sc Zs Cc".split())
_JOINING = frozenset("\u0e33\u0eb3\u0d4e\uff9e\uff9f\U000111c2\U000111c3\U00011a3a")


def _between_letters(a: str, b: str) -> bool:
    """Whether a grapheme boundary lies between ``a`` and ``b`` for certain, from the two alone."""
    return (
        unicodedata.category(a) in _PLAIN
        and unicodedata.category(b) in _PLAIN
        and a not in _JOINING
        and b not in _JOINING
        and not _hangul(a)
        and not _hangul(b)
        and (a, b) != ("\r", "\n")
    )


def _hangul(c: str) -> bool:
    return (
        "\u1100" <= c <= "\u11ff"
        or "\ua960" <= c <= "\ua97f"
        or "\ud7b0" <= c <= "\ud7ff"
        or "\uac00" <= c <= "\ud7a3"
    )
