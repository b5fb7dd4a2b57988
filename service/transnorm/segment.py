"""Segment stage: logical lines (hard wraps rejoined), sentences, and inline foreign runs.

Pure functions over the decoded text; every result is a pair of code-point offsets into it.
Whitespace between the pieces returned here is not a piece: the planner tiles it as gaps.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .scripts import CJK_PUNCT, dominant, group_of, is_latin_only

# Sentence-final punctuation in CJK text; always a boundary.
_CJK_TERMINATORS = "。！？；"
_CLOSERS = "”’」』）)》】\"'»"
_TERMINATOR = re.compile(r"(?:[。！？；]+|[.!?;…]+)[" + re.escape(_CLOSERS) + r"]*")
_OPENERS = "“‘「『《（(【[\"'«"
# A line ending in one of these does not continue on the next line.
_LINE_FINAL = set("。！？!?；;…:：.") | set(_CLOSERS)
# A Chinese photo credit ("图/视觉中国") ends a caption line, not a sentence in progress.
_CAPTION_CREDIT = re.compile(r"(?:图|圖|摄|攝|来源|來源)\s*[/／:：]\s*\S{1,12}$")
# A line that is one quoted or bracketed phrase is a heading, not the rest of a sentence.
_QUOTED_LINE = re.compile(r"^[“「『《\"][^”」』》\"]*[”」』》\"]$")

# Lower-cased tokens that a period does not end a sentence after.
ABBREVIATIONS = frozenset(
    """
    mr mrs ms dr prof st sr jr gen col lt sgt capt cmdr adm gov sen rep pres rev hon vs etc
    e.g i.e cf al approx no nos vol vols pp p ch fig figs art sec jan feb mar apr jun jul
    aug sep sept oct nov dec inc ltd co corp dept est mt ft ave blvd u.s u.k u.n e.u a.m p.m
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
    """A logical line: one or more physical lines, trimmed of surrounding whitespace."""

    start: int
    end: int
    joins: tuple[Join, ...] = ()


@dataclass(frozen=True, slots=True)
class Sentence:
    """A sentence inside a line; ``runs`` are inline runs of another script (e.g. 《中国新闻周刊》),
    ``joins`` the line's hard-wrap joins that fall inside it."""

    start: int
    end: int
    script: str
    runs: tuple[tuple[int, int], ...] = ()
    joins: tuple[Join, ...] = ()


def lines(text: str) -> list[Line]:
    """Split ``text`` into logical lines, rejoining lines hard-wrapped in mid-sentence.

    Chinese/Japanese continuations are joined without a space, others with one.
    Blank lines always separate; they are never part of a line.
    """
    physical: list[tuple[int, int]] = []
    pos = 0
    n = len(text)
    while pos <= n:
        nl = text.find("\n", pos)
        end = n if nl < 0 else nl
        s, e = _trim(text, pos, end)
        if s < e:
            physical.append((s, e))
        if nl < 0:
            break
        pos = nl + 1

    out: list[Line] = []
    i = 0
    while i < len(physical):
        start, end = physical[i]
        joins: list[Join] = []
        while i + 1 < len(physical):
            nstart, nend = physical[i + 1]
            gap = text[end:nstart]
            if gap.count("\n") != 1:
                break
            glue = _continuation(text[start:end], text[nstart:nend])
            if glue is None:
                break
            joins.append(Join(end, nstart, glue))
            end = nend
            i += 1
        out.append(Line(start, end, tuple(joins)))
        i += 1
    return out


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _continuation(current: str, following: str) -> str | None:
    """The glue to join ``following`` onto ``current`` ("" or " "), or None if it starts anew."""
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
    return None


def sentences(text: str, line: Line) -> list[Sentence]:
    """Split a logical line into sentences (trimmed), with inline runs of other scripts and the
    line's joins that fall inside each."""
    start, end = line.start, line.end
    chunk = text[start:end]
    cuts: list[tuple[int, int]] = []
    sent_start = 0
    for m in _TERMINATOR.finditer(chunk):
        cut = m.end()
        if cut >= len(chunk) or not _is_boundary(chunk, sent_start, m):
            continue
        cuts.append((start + sent_start, start + cut))
        sent_start = cut
    if sent_start < len(chunk):
        cuts.append((start + sent_start, end))
    out = []
    for s, e in cuts:
        s, e = _trim(text, s, e)
        if s < e:
            joins = tuple(j for j in line.joins if s <= j.start and j.end <= e) if line.joins else ()
            out.append(_sentence(text, s, e, joins))
    return out


def _sentence(text: str, start: int, end: int, joins: tuple[Join, ...]) -> Sentence:
    body = text[start:end]
    if is_latin_only(body):
        return Sentence(start, end, "Latin" if any(c.isalpha() for c in body) else "Common", (), joins)
    script = dominant(body)
    runs = _foreign_runs(body, start) if script in ("Latin", "Common") else ()
    return Sentence(start, end, script, runs, joins)


def _is_boundary(chunk: str, sent_start: int, m: re.Match[str]) -> bool:
    mark = m.group()
    if any(c in _CJK_TERMINATORS for c in mark):
        return True
    after = chunk[m.end()]
    before = chunk[m.start() - 1] if m.start() > 0 else ""
    if group_of(after) == "CJK" or CJK_PUNCT.match(after):
        return not (mark.startswith(".") and before.isdigit())
    if not after.isspace():
        return False
    rest = chunk[m.end() :].lstrip()
    if not rest:
        return False
    nxt = rest[0]
    if mark[0] == ";":
        return group_of(before) == "CJK" if before.isalpha() else False
    if not (nxt.isupper() or nxt.isdigit() or nxt in _OPENERS or nxt in "—–-•" or group_of(nxt) == "CJK"):
        return False
    if mark[0] == ".":
        token = (
            chunk[sent_start : m.start()].rsplit(None, 1)[-1] if chunk[sent_start : m.start()].strip() else ""
        )
        token = token.lstrip(_OPENERS).lower()
        if token in ABBREVIATIONS or (len(token) == 1 and token.isalpha()):
            return False
        if re.fullmatch(r"(?:\w\.)+\w", token):
            return False
    return True


def _foreign_runs(body: str, offset: int) -> tuple[tuple[int, int], ...]:
    """Runs of non-Latin letters of one script, with whatever non-letters stand between them."""
    runs: list[tuple[int, int]] = []
    i = 0
    n = len(body)
    while i < n:
        ch = body[i]
        if not ch.isalpha() or group_of(ch) in ("Latin", "Other"):
            i += 1
            continue
        group = group_of(ch)
        j = i + 1
        last_letter = i
        while j < n:
            c = body[j]
            if c.isalpha():
                if group_of(c) != group:
                    break
                last_letter = j
            elif c == "\n":
                break
            j += 1
        s, e = i, last_letter + 1
        # Take in the CJK brackets and punctuation that hug the run: 《中国新闻周刊》, 科尔图诺夫。
        while s > 0 and CJK_PUNCT.match(body[s - 1]):
            s -= 1
        while e < n and CJK_PUNCT.match(body[e]):
            e += 1
        runs.append((offset + s, offset + e))
        i = e
    return tuple(runs)
