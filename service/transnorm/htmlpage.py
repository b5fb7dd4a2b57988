"""HTML pages read for planning.

:func:`read_page` decodes a page (:func:`~transnorm.charsets.decode_html`) and reads it
(:func:`~transnorm.markup.extract`); planning works on its reader text normalized as text is
(:attr:`PageSource.reader`), a line per block (and per ``<br>``), never one across blocks, with what the
page says about each line (:func:`page_lines`): its language as the detection prior (:func:`prior`),
whether it may be translated, whether it is chrome or code, its inline runs. :mod:`transnorm.htmlspans`
maps the planned spans back onto the page source and writes the page back.
"""

from __future__ import annotations

import bisect
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import segment
from .charsets import decode_html
from .decode import Decoded, normalize
from .detect import ZXX, Detection, Detector
from .document import Reason
from .options import Options
from .scripts import is_latin_only

if TYPE_CHECKING:
    from .markup import Block, Page

# A page: <!doctype html> or <html> first, after a BOM, whitespace, comments and an XML declaration.
_SNIFF = re.compile(
    rb"\A(?:\xef\xbb\xbf)?(?:[\t\n\f\r ]|<!--.*?-->|<\?[^>]*>)*+"
    rb"<(?:!doctype[\t\n\f\r ]+html|html[\t\n\f\r >])",
    re.I | re.S,
)
#: File names that are HTML pages (``input_format: auto``).
PAGE_SUFFIXES = (".html", ".htm")
#: ``Block.kind`` of attribute blocks → the attribute's name.
ATTRIBUTES = {"alt": "alt", "title-attribute": "title", "placeholder": "placeholder"}
_CHROME_REASONS = {"language menu": Reason.LANGUAGE_MENU}
#: BCP 47 language tags whose Argos code is not their first subtag.
_TAGS = {"zh-hant": "zt", "zh-tw": "zt", "zh-hk": "zt", "zh-mo": "zt", "pt-br": "pb", "no": "nb"}
_OLD_CODES = {"iw": "he", "in": "id", "ji": "yi"}


def is_page(data: bytes | str, input_format: str) -> bool:
    """Whether to read ``data`` as an HTML page: ``input_format`` html, or auto and it starts with
    ``<!doctype html`` or ``<html`` (after a BOM, whitespace, comments and an XML declaration)."""
    if input_format != "auto":
        return input_format == "html"
    head = data[:1024]
    if isinstance(head, str):
        head = head.encode("utf-8", "surrogatepass")
    return _SNIFF.match(head) is not None


def options_for_file(options: Options, name: str | os.PathLike[str]) -> Options:
    """A file named ``.html`` or ``.htm`` is an HTML page unless ``input_format`` says otherwise."""
    if options.input_format == "auto" and os.path.splitext(name)[1].lower() in PAGE_SUFFIXES:
        return options.model_copy(update={"input_format": "html"})
    return options


@dataclass(frozen=True)
class PageSource:
    """An HTML page as read: its bytes, as decoded, its reader text (:class:`~transnorm.markup.Page`) and that
    text normalized for planning (``reader.raw`` is ``page.text``)."""

    data: bytes
    decoded: Decoded
    page: Page
    reader: Decoded

    def to_reader(self, offset: int) -> int:
        """An offset into ``page.text`` → the offset into the reader text."""
        edits = self.reader.edits
        if not edits:
            return offset
        i = bisect.bisect_right([e.raw_start for e in edits], offset) - 1
        if i < 0:
            return offset
        edit = edits[i]
        if offset >= edit.raw_end:
            return edit.end + (offset - edit.raw_end)
        return edit.start

    def source_range(self, start: int, end: int) -> tuple[int, int]:
        """A range of the reader text → the range of the page source it came from."""
        return self.page.source_range(self.reader.to_raw(start), self.reader.to_raw(end))


def read_page(data: bytes | str, charset: str | None = None, errors: str = "strict") -> PageSource:
    """Decode and read a page; ``charset`` stands for an HTTP Content-Type's (the BOM wins over it, it wins
    over the page's ``<meta charset>``). Raises :class:`~transnorm.errors.CharsetError`."""
    decoded = decode_html(data, f"text/html; charset={charset}" if charset else None, errors)
    # The parser (turbohtml) is imported by the first page, not by every process that reads text.
    from . import markup

    page = markup.extract(decoded.raw)
    text, edits = normalize(page.text)
    reader = Decoded(text, decoded.bytes, decoded.bytes_sha256, raw=page.text, edits=edits)
    raw = data if isinstance(data, bytes) else data.encode("utf-8")  # (a BOM included, as decoded counts it)
    return PageSource(raw, decoded, page, reader)


# -- planning: a line per block, and what the page says about it -----------------------------------------


@dataclass(frozen=True, slots=True)
class LineHint:
    """What the page says about one line of its reader text (offsets into the reader text)."""

    #: The block's language as an Argos code (the detection prior); None when the page says none.
    lang: str | None
    #: Kept whole and never translated: ``chrome``, ``comment-form``, ``language-menu``, ``translate-no``.
    keep: Reason | None = None
    #: Page chrome (removed from the text with ``chrome: remove``), not only kept.
    chrome: bool = False
    #: The value of an alt, title or placeholder attribute.
    attribute: bool = False
    #: Inline runs never translated (code, ``translate="no"``).
    verbatim: tuple[tuple[int, int, Reason], ...] = ()
    #: Inline runs with a language of their own (an Argos code, or None when unknown).
    runs: tuple[tuple[int, int, str | None], ...] = ()


def kept_whole(hint: LineHint, chrome: str) -> bool:
    """Whether a line is kept (or, chrome, removed) whole, never translated: ``translate="no"``, a language
    menu, and page chrome -- unless ``chrome`` is keep, which reads chrome as part of the article."""
    if hint.keep is None:
        return False
    return not hint.chrome or chrome == "remove" or hint.keep == Reason.LANGUAGE_MENU


def argos_lang(tag: str) -> str | None:
    """A BCP 47 tag (``zh-Hant-TW``, ``pt-BR``, ``en-GB``) as the Argos code detection uses; None if empty."""
    tag = tag.strip().lower().replace("_", "-")
    if not tag or not tag[0].isalpha():
        return None
    parts = tag.split("-")
    for k in (3, 2):
        if "-".join(parts[:k]) in _TAGS:
            return _TAGS["-".join(parts[:k])]
    if parts[0] == "zh" and any(p in ("hant", "tw", "hk", "mo") for p in parts[1:]):
        return "zt"
    return _OLD_CODES.get(parts[0], parts[0]) if 2 <= len(parts[0]) <= 3 else None


def page_lines(src: PageSource) -> tuple[list[segment.Line], list[LineHint]]:
    """The lines of the reader text to plan, and a hint for each: a block is one line, or several where
    ``<br>`` breaks it (never one across blocks); code blocks and chrome are one line each."""
    page, text = src.page, src.reader.text
    lines: list[segment.Line] = []
    hints: list[LineHint] = []
    for block in page.blocks:
        start, end = src.to_reader(block.start), src.to_reader(block.end)
        hint = _hint(src, block)
        if block.kind == "code" or hint.keep is not None:
            lines.append(segment.Line(start, end, (), block.kind == "code"))
            hints.append(hint)
            continue
        pos = start
        while pos <= end:
            nl = text.find("\n", pos, end)
            stop = end if nl < 0 else nl
            s, e = segment.trim(text, pos, stop)
            if s < e:
                lines.append(segment.Line(s, e))
                hints.append(hint)
            pos = stop + 1
    return lines, hints


def _hint(src: PageSource, block: Block) -> LineHint:
    from .markup import ATTRIBUTE_KINDS

    keep = None
    if block.chrome is not None:
        keep = _CHROME_REASONS.get(block.chrome.what, block.chrome.reason)
    elif not block.translate and block.kind != "code":
        keep = Reason.TRANSLATE_NO
    verbatim, runs = [], []
    for run in block.runs:
        s, e = src.to_reader(run.start), src.to_reader(run.end)
        if run.verbatim:
            verbatim.append((s, e, Reason.CODE if run.code else Reason.TRANSLATE_NO))
        elif run.lang is not None:
            runs.append((s, e, argos_lang(run.lang)))
    return LineHint(
        argos_lang(block.lang),
        keep,
        block.chrome is not None,
        block.kind in ATTRIBUTE_KINDS,
        tuple(verbatim),
        tuple(runs),
    )


def with_hint(sentence: segment.Sentence, hint: LineHint) -> segment.Sentence:
    """``sentence`` with the page's inline runs inside it: its verbatim runs kept, its ``lang`` runs
    detected on their own (in place of the script runs and verbatim regions they overlap)."""
    s, e = sentence.start, sentence.end
    verbatim = [(max(a, s), min(b, e), r) for a, b, r in hint.verbatim if a < e and b > s]
    langs = [(max(a, s), min(b, e)) for a, b, _ in hint.runs if a < e and b > s]
    if not verbatim and not langs:
        return sentence
    langs = [r for r in langs if _apart(r, verbatim)]
    marks = [*verbatim, *((a, b, None) for a, b in langs)]
    keep = sorted([*(v for v in sentence.verbatim if _apart(v, marks)), *verbatim])
    runs = sorted([*(r for r in sentence.runs if _apart(r, marks)), *langs])
    return segment.Sentence(s, e, sentence.script, tuple(runs), sentence.joins, tuple(keep))


def _apart(span: tuple, others: Sequence[tuple]) -> bool:
    """Whether ``span`` (start, end, ...) overlaps none of ``others``."""
    return all(span[1] <= o[0] or span[0] >= o[1] for o in others)


def run_lang(hint: LineHint, start: int, end: int) -> str | None:
    """The language the page gives the text ``[start, end)`` of a line: its inline run's, else its block's."""
    for a, b, lang in hint.runs:
        if a <= start and end <= b:
            return lang
    return hint.lang


def apply_priors(pieces: Sequence[Any], text: str, hint: LineHint, detector: Detector) -> None:
    """The page's ``lang`` as evidence for the pieces of a sentence (the planner's: ``start``, ``end``,
    ``gap``, ``reason`` and a ``detection`` set here)."""
    for piece in pieces:
        if getattr(piece, "gap", True) or piece.reason is not None:
            continue
        lang = run_lang(hint, piece.start, piece.end)
        if lang is not None:
            piece.detection = prior(detector, text[piece.start : piece.end], piece.detection, lang)


def prior(detector: Detector, body: str, detection: Detection, lang: str) -> Detection:
    """What the page's ``lang`` makes of a detection: text in a block the page says is in a language is in
    it unless the text says otherwise (its script, its letters, English words); text the page says is
    English is English unless clearly not (a tentative Latin-script verdict is not clear)."""
    if detection.lang in (ZXX, lang):
        return detection
    if lang == "en":
        tentative = detection.tentative and is_latin_only(body)
        return Detection("en", 0.9) if tentative else detection
    if detection.lang == "en" and detector.english_evidence(body):
        return detection
    found = detector.plausible(body, lang, detection.lang)
    if found is None and (detection.tentative or detection.lang == "und"):
        found = detector.plausible(body, lang, detection.lang, lenient=True)
    return found or detection


def nested_attributes(
    src: PageSource,
    lines: Sequence[segment.Line],
    hints: Sequence[LineHint],
    pending: Sequence[tuple[int, int] | None],
) -> list[int]:
    """Which of the ``pending`` reader ranges (None: not pending) are attribute values lying inside the
    source of another pending range that is not (an image inside a foreign sentence)."""
    starts = [line.start for line in lines]

    def attribute(start: int) -> bool:
        i = bisect.bisect_right(starts, start) - 1
        return i >= 0 and hints[i].attribute

    outer = sorted(src.source_range(*r) for r in pending if r is not None and not attribute(r[0]))
    firsts = [o[0] for o in outer]
    found = []
    for k, r in enumerate(pending):
        if r is None or not outer or not attribute(r[0]):
            continue
        s, e = src.source_range(*r)
        j = bisect.bisect_right(firsts, s) - 1
        if j >= 0 and outer[j][0] <= s and e <= outer[j][1]:
            found.append(k)
    return found
