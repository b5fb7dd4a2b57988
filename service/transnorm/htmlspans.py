"""HTML pages assembled and written back.

:func:`page_spans` turns the spans planned over a page's reader text into spans tiling the page source:
the markup between and inside blocks as ``markup`` spans of their own, text written the HTML way (a
character reference, collapsed whitespace) as ``normalized`` ones, so that joining ``source_text`` gives
the page back and joining ``text`` the article's readable English, blocks as blank-line-separated
paragraphs. :func:`write_page` is the page itself with each translated passage replaced in place.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass

from . import markup
from .detect import ZXX
from .document import Action, Reason, Span
from .htmlpage import ATTRIBUTES, PageSource
from .markup import ATTRIBUTE_KINDS, SEPARATOR, Page, Replacement

# -- assembly: spans over the page source ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Passage:
    """A translated passage: ``[start, end)`` of the page's reader text (``Page.text``) and its span."""

    start: int
    end: int
    span: Span


@dataclass(frozen=True)
class PageDocument:
    """What a :class:`~transnorm.document.Document` of a page keeps to write the page back."""

    source: PageSource
    passages: tuple[Passage, ...]


class _Spans:
    """Spans over the page source being collected: emitted in any order, then tiled."""

    def __init__(self, src: PageSource) -> None:
        self.src = src
        self.page = src.page
        self.emitted: list[tuple[Span, int]] = []  # (span, block index)
        self.breaks: list[tuple[int, str]] = []  # text with no source of its own (a <br>'s newline)
        self.passages: list[tuple[int, int, Span]] = []

    def span(
        self,
        start: int,
        end: int,
        like: Span,
        text: str,
        block: int,
        action: Action | None = None,
        reason: Reason | None = None,
        lang: str | None = None,
        attribute: str | None = None,
    ) -> Span:
        """A span over ``source[start:end]`` like ``like`` (its action, language, reason, engine ...)."""
        new = Span(
            start,
            end,
            action or like.action,
            lang or like.lang,
            like.lang_confidence,
            "",  # (its source text is cut when the spans are tiled: a run may grow)
            text,
            reason or like.reason,
            like.engine,
            like.mt_score,
            alternatives=like.alternatives,
            rejected_text=like.rejected_text,
            conversion=like.conversion,
            attribute=attribute,
        )
        self.emitted.append((new, block))
        return new

    def add(self, span: Span) -> None:
        """A span over ``Page.text`` (reader offsets mapped back already)."""
        a, b = span.source_start, span.source_end
        page = self.page
        index = _block_index(page, a)
        block = page.blocks[index] if index is not None else None
        attribute = block is not None and block.kind in ATTRIBUTE_KINDS
        if span.action in (Action.KEPT, Action.NORMALIZED):
            if not attribute:  # (kept attribute values are part of their tag's markup)
                self._pieces(span, a, b, normalized=span.action == Action.NORMALIZED)
            return
        if index is None or block is None:
            return  # between blocks: separators are made at the end
        if attribute and span.action not in (Action.TRANSLATED, Action.UNTRANSLATED):
            return
        start, end = page.source_range(a, b)
        if start >= end:
            return
        new = self.span(start, end, span, span.text, index, attribute=ATTRIBUTES.get(block.kind))
        if span.action == Action.TRANSLATED:
            self.passages.append((a, b, new))

    def _pieces(self, span: Span, a: int, b: int, normalized: bool = False) -> None:
        """Kept text, piece by piece: literal pieces kept (their source is their text; a run of them in
        one span), the others (a reference, collapsed whitespace) normalized, a ``<br>``'s newline given
        to its markup. A normalized span (NFC) is one span, where its first piece is."""
        page = self.page
        pieces, source, text = page.pieces, page.source, page.text
        i = max(0, bisect.bisect_right(page._piece_starts, a) - 1)
        run: Span | None = None  # the literal run being extended
        run_block = -1
        while i < len(pieces) and pieces[i][0] < b:
            t0, t1, s0, s1 = pieces[i]
            i += 1
            if t1 <= a:
                continue
            block = _block_index(page, t0)
            if block is None or page.blocks[block].kind in ATTRIBUTE_KINDS:
                continue
            lo, hi = max(a, t0), min(b, t1)
            if s0 == s1:
                self.breaks.append((s0, text[lo:hi]))
                continue
            if normalized:
                start, end = page.source_range(a, b)
                self.span(start, end, span, span.text, block)
                return
            if t1 - t0 == s1 - s0 and source[s0:s1] == text[t0:t1]:  # literal
                start, end = s0 + lo - t0, s0 + hi - t0
                if run is not None and run_block == block and run.source_end == start:
                    run.source_end = end
                    run.text += text[lo:hi]
                    continue
                run, run_block = self.span(start, end, span, text[lo:hi], block), block
            elif lo == t0 and hi == t1:
                chunk = text[t0:t1]
                lang = ZXX if not chunk.strip() else span.lang
                self.span(s0, s1, span, chunk, block, Action.NORMALIZED, Reason.MARKUP, lang)
                run = None

    def tile(self) -> tuple[list[Span], tuple[Passage, ...]]:
        """The spans tiling the source: sorted, markup between them, separators between blocks."""
        source = self.page.source
        self.emitted.sort(key=lambda e: (e[0].source_start, -e[0].source_end))  # the outer one first
        out: list[Span] = []
        blocks: dict[int, int] = {}  # id(span) → block
        whole: set[int] = set()
        pos = 0
        for span, block in self.emitted:
            if span.source_end <= pos:
                continue  # inside another (an attribute inside a translated passage)
            if span.source_start < pos:
                span.source_start = pos
            else:
                whole.add(id(span))
            span.source_text = source[span.source_start : span.source_end]
            if span.source_start > pos:
                out.append(_markup(source, pos, span.source_start))
            if not _merge(out, span, blocks.get(id(out[-1])) if out else None, block):
                out.append(span)
                blocks[id(span)] = block
            pos = span.source_end
        if pos < len(source):
            out.append(_markup(source, pos, len(source)))
        self._place_breaks(out)
        _separate(out, blocks)
        passages = tuple(Passage(a, b, s) for a, b, s in self.passages if id(s) in whole)
        return out, passages

    def _place_breaks(self, out: list[Span]) -> None:
        if not self.breaks:
            return
        starts = [s.source_start for s in out]
        for at, text in self.breaks:
            i = max(0, bisect.bisect_right(starts, at) - 1)
            # The markup the break stands in (a <br> tag), else the markup just before.
            for j in (i, i - 1, i + 1):
                if 0 <= j < len(out) and out[j].reason == Reason.MARKUP and out[j].action == Action.KEPT:
                    out[j].text += text
                    break


def _block_index(page: Page, offset: int) -> int | None:
    i = bisect.bisect_right(page._block_starts, offset) - 1
    if i >= 0 and offset < page.blocks[i].end:
        return i
    return None


def _markup(source: str, start: int, end: int) -> Span:
    return Span(start, end, Action.KEPT, ZXX, 1.0, source[start:end], "", Reason.MARKUP)


def _merge(out: list[Span], span: Span, last_block: int | None, block: int) -> bool:
    """Join a kept piece onto the kept piece before it (same block, language and reason)."""
    if not out or span.action != Action.KEPT or span.reason == Reason.MARKUP:
        return False
    last = out[-1]
    if (
        last.action != Action.KEPT
        or last.reason != span.reason
        or last.lang != span.lang
        or last_block != block
        or last.source_end != span.source_start
    ):
        return False
    last.source_end = span.source_end
    last.source_text += span.source_text
    last.text += span.text
    last.lang_confidence = min(last.lang_confidence, span.lang_confidence)
    return True


def _separate(out: list[Span], blocks: dict[int, int]) -> None:
    """A blank line between blocks that give text (in the markup before the next one), a newline at the
    end (in the markup after the last one)."""
    last_block: int | None = None
    last_markup = last_content = -1
    for i, span in enumerate(out):
        if span.reason == Reason.MARKUP and span.action == Action.KEPT:
            last_markup = i
            continue
        if not span.in_text or not span.text:
            continue
        block = blocks.get(id(span))
        if block is not None and last_block is not None and block != last_block:
            if last_markup > last_content:
                out[last_markup].text = SEPARATOR + out[last_markup].text
            else:
                span.text = SEPARATOR + span.text
        if block is not None:
            last_block = block
        last_content = i
    if 0 <= last_content < last_markup:
        after = (s for s in out[last_content + 1 :] if s.reason == Reason.MARKUP and s.action == Action.KEPT)
        next(after).text += "\n"


def page_spans(src: PageSource, spans: Sequence[Span]) -> tuple[list[Span], PageDocument]:
    """Spans over the page's reader text (``Page.text`` offsets) → spans tiling the page source, with
    byte offsets; and what writing the page back needs."""
    collected = _Spans(src)
    for span in spans:
        collected.add(span)
    out, passages = collected.tile()
    decoded = src.decoded
    for span in out:
        span.byte_start = decoded.byte_offset(span.source_start)
        span.byte_end = decoded.byte_offset(span.source_end)
    return out, PageDocument(src, passages)


def source_info(src: PageSource) -> dict[str, object]:
    """What the JSON ``source`` says of a page beyond what it says of text."""
    return {"format": "html", "charset": src.decoded.encoding, "charset_from": src.decoded.charset_from}


def warnings(src: PageSource) -> list[str]:
    out = list(src.page.warnings)
    if src.page.unaligned:
        out.append(
            f"{src.page.unaligned} text node(s) the parser moved away from where they were written "
            "(stray text in a table) were left as they are, untranslated"
        )
    return out


# -- rendering: the page back ----------------------------------------------------------------------------


def write_page(
    doc: PageDocument, markers: bool = True, bare: bool = False, alternative: int | None = None
) -> tuple[str, bytes]:
    """The page with each translated passage replaced in place: as text, and as bytes in the page's charset
    (every byte outside the passages the input's). Each passage is wrapped in a ``<span lang="en">`` with,
    given ``markers``, ITS 2.0 provenance and the source text; ``bare``: no span at all (LibreTranslate).
    ``alternative``: the k-th alternative translation of each passage, where it has one."""
    page = doc.source.page
    replacements = []
    for passage in doc.passages:
        span = passage.span
        text = span.text
        if alternative is not None and alternative < len(span.alternatives):
            text = span.alternatives[alternative]
        attributes: tuple[tuple[str, str], ...] = ()
        if not bare and span.attribute is None:
            engine = span.engine
            tool = f"urn:transnorm:{engine.name}:{engine.package}:{engine.version}" if engine else None
            source_text = page.text[passage.start : passage.end]
            attributes = markup.its_attributes(
                span.lang, source_text, confidence=span.mt_score, tool=tool, markers=markers
            )
        if span.attribute is not None:
            text = text.strip()
        replacements.append(Replacement(passage.start, passage.end, text, attributes))
    rewrite = markup.replace(page, replacements)
    return rewrite.html, markup.splice(doc.source.data, doc.source.decoded, rewrite)
