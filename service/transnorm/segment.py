"""Segment stage: logical lines (hard wraps rejoined), sentences, and inline foreign runs.

Pure functions over the decoded text; every result is a pair of code-point offsets into it.
Whitespace between the pieces returned here is not a piece: the planner tiles it as gaps.
"""

from __future__ import annotations

import bisect
import itertools
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from . import addresses, gloss
from .document import Reason
from .scripts import CJK_PUNCT, DENSE, dominant, group_of, is_latin_only, script_counts

# Sentence-final punctuation in CJK text; always a boundary.
_CJK_TERMINATORS = "。！？；"
_CLOSERS = "”’」』）)》】\"'»"
# A run of sentence punctuation and the closing quotes or brackets after it (one character class
# first, so the scan over English text is fast).
_TERMINATOR = re.compile(r"[。！？；.!?;…]+[" + re.escape(_CLOSERS) + r"]*")
_INITIALS = re.compile(r"(?:\w\.)+\w")
# Thai, Lao, Khmer and Burmese end a sentence without a mark: where such text stops and a
# capitalized Latin sentence starts, one sentence has ended.
# (A character class first, so that the scan over English text stays fast.)
_UNMARKED_END = r"[\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff](\s+)(?=[A-Z])"
_BOUNDARY = re.compile(rf"{_UNMARKED_END}|{_TERMINATOR.pattern}")
_ANY_LETTER = re.compile(r"[^\W\d_]")
_OPENERS = "“‘「『《（(【[\"'«"
# A line ending in one of these does not continue on the next line.
_LINE_FINAL = set("。！？!?；;…:：.") | set(_CLOSERS)
# A Chinese photo credit ("图/视觉中国") ends a caption line, not a sentence in progress.
_CAPTION_CREDIT = re.compile(r"(?:图|圖|摄|攝|来源|來源)\s*[/／:：]\s*\S{1,12}$")
# A line that is one quoted or bracketed phrase is a heading, not the rest of a sentence.
_QUOTED_LINE = re.compile(r"^[“「『《\"][^”」』》\"]*[”」』》\"]$")

#: A line at least this long that does not end a sentence is hard-wrapped text when the next line
#: goes on in its script (headings, menus and captions are shorter).
WRAPPED_LINE = 40

# Lower-cased tokens that a period does not end a sentence after.
ABBREVIATIONS = frozenset(
    """
    mr mrs ms dr prof st sr jr gen col lt sgt capt cmdr adm gov sen rep pres rev hon vs etc
    e.g i.e cf al approx no nos vol vols pp p ch fig figs art sec jan feb mar apr jun jul
    aug sep sept oct nov dec inc ltd co corp dept est mt ft ave blvd u.s u.k u.n e.u a.m p.m lit
    т.е т.д т.п г гг им ул
    """.split()
)


@dataclass(frozen=True, slots=True)
class Join:
    """A line break inside a logical line: ``[start, end)`` is replaced by ``text`` ("" or " ")."""

    start: int
    end: int
    text: str


@dataclass(frozen=True, slots=True)
class Line:
    """A logical line: one or more physical lines, trimmed of surrounding whitespace.

    ``code`` marks a line of a fenced code block (between ````` lines, fences included).
    """

    start: int
    end: int
    joins: tuple[Join, ...] = ()
    code: bool = False


@dataclass(frozen=True, slots=True)
class Sentence:
    """A sentence inside a line; ``runs`` are inline runs of another script (e.g. 《中国新闻周刊》),
    ``verbatim`` the addresses, code and glosses (:mod:`transnorm.gloss`) inside it, ``joins``
    the line's hard-wrap joins inside it. Runs and verbatim regions are sorted and never overlap."""

    start: int
    end: int
    script: str
    runs: tuple[tuple[int, int], ...] = ()
    joins: tuple[Join, ...] = ()
    verbatim: tuple[tuple[int, int, Reason], ...] = ()


def lines(text: str) -> list[Line]:
    """Split ``text`` into logical lines, rejoining lines hard-wrapped in mid-sentence.

    Chinese/Japanese continuations are joined without a space, others with one.
    Blank lines always separate; they are never part of a line.
    """
    physical: list[tuple[int, int, bool]] = []
    pos = 0
    n = len(text)
    fenced = False
    while pos <= n:
        nl = text.find("\n", pos)
        end = n if nl < 0 else nl
        s, e = trim(text, pos, end)
        if s < e:
            fence = text.startswith(("```", "~~~"), s)
            physical.append((s, e, fenced or fence))
            fenced ^= fence
        if nl < 0:
            break
        pos = nl + 1

    out: list[Line] = []
    i = 0
    while i < len(physical):
        start, end, code = physical[i]
        if code:
            out.append(Line(start, end, (), True))
            i += 1
            continue
        joins: list[Join] = []
        last = start  # where the logical line's last physical line starts
        while i + 1 < len(physical):
            nstart, nend, ncode = physical[i + 1]
            if ncode:
                break
            gap = text[end:nstart]
            if gap.count("\n") != 1:
                break
            # Only the last physical line is looked at: the whole line so far would make a long
            # wrapped paragraph quadratic.
            glue = _continuation(text[last:end], text[nstart:nend])
            if glue is None:
                break
            joins.append(Join(end, nstart, glue))
            last, end = nstart, nend
            i += 1
        out.append(Line(start, end, tuple(joins)))
        i += 1
    return out


def trim(text: str, start: int, end: int) -> tuple[int, int]:
    """``start``, ``end`` moved inwards past whitespace."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _continuation(current: str, following: str) -> str | None:
    """The glue to join the physical line ``following`` onto the physical line ``current`` ("" or
    " "), or None if it starts anew."""
    last = current[-1]
    first = following[0]
    if last in _LINE_FINAL:
        return None
    last_group = group_of(last) if last.isalpha() else ("CJK" if CJK_PUNCT.match(last) else "")
    first_group = group_of(first) if first.isalpha() else ""
    if last_group == "CJK":
        if _CAPTION_CREDIT.search(current) or _QUOTED_LINE.match(following):
            return None
        if first_group == "CJK" or first.isdigit() or first in _OPENERS or first in ",，、":
            return ""
        return None
    continues = first.isalpha() and first.islower() and first_group in ("Latin", "Cyrillic", "Greek")
    if (last.isalpha() or last in ",;") and continues:
        return " "
    # A paragraph hard-wrapped at a fixed width goes on with a name, a number or a quotation as
    # well: a long line that does not end a sentence continues on the next line of its script.
    wrapped = len(current) >= WRAPPED_LINE and (last.isalnum() or last in ",;-–—)»”\"'")
    script = next((group_of(c) for c in reversed(current) if c.isalpha()), "")
    # (Thai and the other dense scripts end sentences without a mark: their lines stay apart.)
    if wrapped and script not in ("CJK", "", *DENSE) and first_group in (script, ""):
        return " " if first.isalnum() or first in _OPENERS else None
    return None


def sentences(text: str, line: Line) -> list[Sentence]:
    """Split a logical line into sentences (trimmed), with inline runs of other scripts, the
    addresses and code inside each, and the line's joins that fall inside each. A sentence never
    ends inside an address."""
    start, end = line.start, line.end
    verbatim = sorted(addresses.find(text, start, end))
    inside_verbatim = _cover(verbatim)
    cuts: list[tuple[int, int]] = []
    sent_start = start
    latin = is_latin_only(text[start:end])  # then so is every sentence of the line
    for m in (_TERMINATOR if latin else _BOUNDARY).finditer(text, start, end):
        cut = m.end()
        if cut >= end or ((latin or m.group(1) is None) and not _is_boundary(text, sent_start, m, end)):
            continue
        if inside_verbatim(cut):
            continue
        cuts.append((sent_start, cut))
        sent_start = cut
    if sent_start < end:
        cuts.append((sent_start, end))
    out = []
    joins = _Within([(j.start, j.end, j) for j in line.joins])
    spans = _Within([(v[0], v[1], v) for v in verbatim])
    for s, e in cuts:
        s, e = trim(text, s, e)
        if s < e:
            out.append(_sentence(text, s, e, tuple(joins.take(s, e)), tuple(spans.take(s, e)), latin))
    return out


def _cover(spans: list[tuple[int, int, Reason]]) -> Callable[[int], bool]:
    """Whether a position is strictly inside one of ``spans`` (sorted by start), in log time."""
    starts = [s for s, _, _ in spans]
    reach = list(itertools.accumulate((e for _, e, _ in spans), max))

    def inside(pos: int) -> bool:
        i = bisect.bisect_left(starts, pos) - 1  # the spans that start before pos
        return i >= 0 and reach[i] > pos

    return inside


class _Within:
    """Items ``(start, end, item)`` sorted by start, taken for windows that come in order and do
    not overlap: each item is looked at a bounded number of times (the sentences of a line)."""

    def __init__(self, items: list[tuple[int, int, Any]]) -> None:
        self.items = sorted(items, key=lambda t: t[0])
        self.next = 0

    def take(self, start: int, end: int) -> list[Any]:
        """The items wholly inside ``[start, end)``."""
        items, i = self.items, self.next
        while i < len(items) and items[i][0] < start:
            i += 1
        found = []
        while i < len(items) and items[i][0] < end:
            if items[i][1] <= end:
                found.append(items[i][2])
            i += 1
        self.next = i
        return found


def _sentence(
    text: str,
    start: int,
    end: int,
    joins: tuple[Join, ...],
    verbatim: tuple[tuple[int, int, Reason], ...],
    latin: bool,
) -> Sentence:
    body = text[start:end]
    if latin or is_latin_only(body):
        script = "Latin" if _ANY_LETTER.search(body) else "Common"
        if not body.isascii():
            ipa = gloss.pronunciations(text, start, end, [(s, e) for s, e, _ in verbatim])
            verbatim = _with_glosses(verbatim, ipa)
        return Sentence(start, end, script, (), joins, verbatim)
    script = dominant(body)
    runs = _foreign_runs(text, start, end, verbatim) if script in ("Latin", "Common") or verbatim else ()
    # A lone Greek letter (χ², μmol, α Aquilae) is a symbol, not a language.
    runs = tuple(r for r in runs if not _symbol(text[r[0] : r[1]]))
    if script in ("Latin", "Common"):
        glosses, left = gloss.find(text, start, end, runs, verbatim)
        runs = tuple(left)
        verbatim = _with_glosses(verbatim, glosses)
    return Sentence(start, end, script, runs, joins, verbatim)


def _with_glosses(
    verbatim: tuple[tuple[int, int, Reason], ...], glosses: list[tuple[int, int]]
) -> tuple[tuple[int, int, Reason], ...]:
    if not glosses:
        return verbatim
    return tuple(sorted((*verbatim, *((s, e, Reason.GLOSS) for s, e in glosses))))


def _symbol(run: str) -> bool:
    """A lone Greek letter: the symbol science writes (μ, σ, χ²), not a word."""
    letters = [c for c in run if c.isalpha()]
    return len(letters) == 1 and group_of(letters[0]) == "Greek"


_NEXT = re.compile(r"\s*(\S)")


def _is_boundary(text: str, sent_start: int, m: re.Match[str], end: int) -> bool:
    """Whether the terminator ``m`` (inside ``text[sent_start:end]``) ends a sentence."""
    mark = m.group()
    if not mark.isascii() and any(c in _CJK_TERMINATORS for c in mark):
        return True
    after = text[m.end()]
    before = text[m.start() - 1] if m.start() > sent_start else ""
    if group_of(after) == "CJK" or CJK_PUNCT.match(after):
        return not (mark.startswith(".") and before.isdigit())
    if not after.isspace():
        return False
    following = _NEXT.match(text, m.end(), end)
    if following is None:
        return False
    nxt = following.group(1)
    if mark[0] == ";":  # ends a Chinese clause, not an English one that quotes a Chinese word
        if not (before.isalpha() and group_of(before) == "CJK"):
            return False
        letters = script_counts(text[sent_start : m.start()])
        return letters["Latin"] <= letters["Han"] + letters["Hiragana"] + letters["Katakana"]
    # A capital, or a letter of a script without case (Thai, Arabic, Hebrew, Devanagari, CJK ...).
    capital = nxt.isalpha() and not nxt.islower()
    if not (capital or nxt.isdigit() or nxt in _OPENERS or nxt in "—–-•"):
        return False
    if mark[0] == ".":
        space = text.rfind(" ", sent_start, m.start())
        words = text[max(space + 1, sent_start) : m.start()].split()
        token = words[-1].lstrip(_OPENERS).lower() if words else ""
        if token in ABBREVIATIONS or (len(token) == 1 and token.isalpha()):
            return False
        if _INITIALS.fullmatch(token):
            return False
    return True


def _foreign_runs(
    text: str, start: int, end: int, verbatim: tuple[tuple[int, int, Reason], ...] = ()
) -> tuple[tuple[int, int], ...]:
    """Runs of non-Latin letters of one script (with the marks, joiners and non-letters between
    them), as a left-to-right partition: a run never reaches back into the previous run or into an
    address, and only a CJK run takes in the CJK punctuation that hugs it (《中国新闻周刊》, 科尔图诺夫。)."""
    runs: list[tuple[int, int]] = []
    blocked = start  # nothing before this may join a run
    stops = iter(verbatim)
    next_stop = next(stops, None)
    i = start
    while i < end:
        if next_stop is not None and i >= next_stop[0]:
            i = blocked = next_stop[1]
            next_stop = next(stops, None)
            continue
        limit = end if next_stop is None else next_stop[0]
        ch = text[i]
        group = group_of(ch) if ch.isalpha() else ""
        if group in ("", "Latin", "Other"):
            i += 1
            continue
        j = i + 1
        last = i
        while j < limit:
            c = text[j]
            if c.isalpha():
                if group_of(c) != group:
                    break
                last = j
            elif c == "\n":
                break
            elif c in "\u200c\u200d" or unicodedata.category(c).startswith("M"):
                last = j  # marks and joiners belong to the letters before them
            j += 1
        s, e = i, last + 1
        if group == "CJK":
            while s > blocked and CJK_PUNCT.match(text[s - 1]):
                s -= 1
            while e < limit and CJK_PUNCT.match(text[e]):
                e += 1
        runs.append((s, e))
        i = blocked = e
    return tuple(runs)
