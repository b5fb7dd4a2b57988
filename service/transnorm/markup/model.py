"""The markup stage's data: what a page's reader text is made of (:class:`Page`, :class:`Block`, :class:`Tag`,
:class:`Run`, :class:`Chrome`) and what a rewrite of it is (:class:`Replacement`, :class:`Edit`,
:class:`Rewrite`); and the element categories the reader goes by."""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from typing import Literal

from ..document import Reason
from .tokens import WS as _WS
from .tokens import decode_text

#: Separates blocks in :attr:`Page.text`.
SEPARATOR = "\n\n"

# Elements that start a block of their own (everything else that holds text is inline).
BLOCK = frozenset(
    """address article aside blockquote body caption center col colgroup dd details dialog dir div dl dt
    fieldset figcaption figure footer form frameset h1 h2 h3 h4 h5 h6 head header hgroup hr html legend li
    listing main menu nav ol optgroup p plaintext pre search section summary table tbody td tfoot th thead
    title tr ul xmp""".split()
)
# Elements that never hold reader text: their content is kept as it is and never read.
OPAQUE = frozenset(
    """script style template noscript textarea select datalist object embed iframe canvas audio video
    svg math noembed noframes frameset frame applet base link meta param source track""".split()
)
# Inline elements whose text is read but never translated (kept verbatim inside a sentence).
VERBATIM = frozenset({"code", "kbd", "samp"})
# Whitespace is the author's in these; elsewhere a run of ASCII whitespace reads as one space.
PREFORMATTED = frozenset({"pre", "listing", "plaintext", "xmp"})
# Their content is raw text: no markup, no character references.
RAWTEXT = frozenset({"xmp", "plaintext"})
RAW_OPAQUE = frozenset({"script", "style", "iframe", "noembed", "noframes", "xmp", "plaintext"})
# Never text, never translated, but read (a reader sees code blocks).
CODE_BLOCKS = frozenset({"pre", "listing", "plaintext", "xmp"})
# Attributes a reader sees, by element ("*": any element).
READER_ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "img": ("alt", "title"),
    "area": ("alt", "title"),
    "input": ("alt", "placeholder", "title"),
    "textarea": ("placeholder", "title"),
    "*": ("title",),
}
# Whitespace that does not read as it is written: runs, and single tabs or newlines.
_COLLAPSE = re.compile(r"[ \t\n\f\r]{2,}|[\t\n\f\r]")

BlockKind = Literal["text", "code", "title", "alt", "title-attribute", "placeholder"]
_ATTRIBUTE_KIND: dict[str, BlockKind] = {
    "alt": "alt",
    "title": "title-attribute",
    "placeholder": "placeholder",
}
TagKind = Literal["start", "end", "void", "opaque", "other"]


@dataclass(frozen=True, slots=True)
class Chrome:
    """Why a block is page chrome: kept in the page, left out of the article's text, never translated."""

    #: ``chrome`` or ``comment-form`` (:class:`~transnorm.document.Reason`).
    reason: Reason
    #: What it is: navigation, page header, page footer, aside, menu, language menu, search form,
    #: comment form, cookie banner.
    what: str
    #: The element that says so, e.g. ``<nav class="top">``, or the languages a language menu names.
    evidence: str


@dataclass(frozen=True, slots=True)
class Tag:
    """Markup inside a block, at a place in its text: an inline element's start or end tag, a void element
    (``<br>``, ``<img>``), an opaque element whole (``<script>…</script>``), or ``other`` (a comment, a tag
    the parser ignored)."""

    #: Source offsets of the markup.
    start: int
    end: int
    #: Offset in :attr:`Page.text` where it sits.
    offset: int
    kind: TagKind
    #: Element name, ``#comment`` or ``#markup``.
    name: str
    #: Index (in the block's ``tags``) of the other tag of an element whose start and end tags are both
    #: in the block; -1 otherwise.
    pair: int = -1


@dataclass(frozen=True, slots=True)
class Run:
    """A range of a block's text that an inline element says something about."""

    start: int
    end: int
    #: The element's ``lang`` when it differs from the block's, else None.
    lang: str | None = None
    #: Never translated: ``translate="no"``, an ITS rule, or code (``<code>``, ``<kbd>``, ``<samp>``).
    verbatim: bool = False
    #: Verbatim because it is code (else the page says not to translate it).
    code: bool = False


@dataclass(frozen=True, slots=True)
class Block:
    """A block of reader text: ``Page.text[start:end]``."""

    start: int
    end: int
    kind: BlockKind
    #: The element that holds the block (``p``, ``h1``, ``li``, ``img`` for an ``alt`` ...).
    element: str
    #: The nearest ``lang`` (or ``xml:lang``) around it, as written; ``""`` when the page says none.
    lang: str
    #: False under ``translate="no"`` or an ITS 2.0 rule saying so (and for code blocks).
    translate: bool
    chrome: Chrome | None
    #: Inline markup inside the block, in source order.
    tags: tuple[Tag, ...] = ()
    #: Inline runs with a language of their own, or never to be translated.
    runs: tuple[Run, ...] = ()
    #: The source range the block's text came from (markup inside included).
    src_start: int = 0
    src_end: int = 0

    @property
    def translatable(self) -> bool:
        """Whether any of it may be translated: the page allows it and it is not chrome."""
        return self.translate and self.chrome is None and self.kind != "code"


@dataclass(frozen=True)
class Page:
    """The text a reader sees in ``source``, block by block, each character mapped to the source."""

    source: str
    text: str
    blocks: tuple[Block, ...]
    #: ``lang`` of the root element (or the Content-Language pragma), ``""`` if none.
    lang: str = ""
    #: Text nodes that could not be placed on the source (left out of ``text``, never translated).
    unaligned: int = 0
    warnings: tuple[str, ...] = ()
    # (text_start, text_end, src_start, src_end), sorted by text_start; literal when both lengths are equal
    # and the source is the text, otherwise atomic (a character reference, a CRLF, collapsed whitespace).
    pieces: tuple[tuple[int, int, int, int], ...] = field(default=(), repr=False)
    _piece_starts: tuple[int, ...] = field(default=(), repr=False)
    _block_starts: tuple[int, ...] = field(default=(), repr=False)

    def block_at(self, offset: int) -> Block | None:
        """The block holding text offset ``offset`` (None on a separator)."""
        i = bisect.bisect_right(self._block_starts, offset) - 1
        if i >= 0 and offset < self.blocks[i].end:
            return self.blocks[i]
        return None

    def to_source(self, offset: int) -> int:
        """The source offset of text offset ``offset`` (inside an entity or a collapsed run: where it starts;
        on a separator or at the end: where the previous block's text ends)."""
        i = bisect.bisect_right(self._piece_starts, offset) - 1
        if i < 0:
            return self.pieces[0][2] if self.pieces else 0
        t0, t1, s0, s1 = self.pieces[i]
        if offset >= t1:
            return s1
        if t1 - t0 == s1 - s0:
            return s0 + offset - t0
        return s0

    def source_range(self, start: int, end: int) -> tuple[int, int]:
        """The source range that text ``[start, end)`` came from, widened to whole entities."""
        if end <= start:
            s = self.to_source(start)
            return s, s
        i = bisect.bisect_right(self._piece_starts, end - 1) - 1
        t0, t1, s0, s1 = self.pieces[i]
        last = s0 + end - t0 if t1 - t0 == s1 - s0 and end - 1 < t1 else s1
        return self.to_source(start), last

    def check(self) -> None:
        """Assert that blocks are ordered and every piece of text is what its source says (used by tests)."""
        previous = -1
        for block in self.blocks:
            if (
                block.start <= previous
                or self.text[block.start : block.end] != self.text[block.start : block.end]
            ):
                raise AssertionError(f"blocks overlap at {block.start}")
            previous = block.end
        for t0, t1, s0, s1 in self.pieces:
            text, src = self.text[t0:t1], self.source[s0:s1]
            if text == src:
                continue
            if text == "\n" and s0 == s1:  # a <br>
                continue
            decoded = decode_text(src).replace("\0", "\ufffd")
            if text == " " and decoded and not decoded.strip(_WS):
                continue
            if decoded != text and decode_text(src, attribute=True) != text:
                raise AssertionError(f"text {text!r} at {t0} does not come from {src!r} at {s0}")


@dataclass(frozen=True, slots=True)
class Replacement:
    """Text ``[start, end)`` of a page (inside one block) becomes ``text`` (plain text: escaped when written).

    ``attributes`` are those of the ``<span>`` wrapped around it (see :func:`its_attributes`), whitespace at
    the edges of ``text`` staying outside it; none: the text goes in bare. Inside ``<title>`` and attribute
    values there is never a span.
    """

    start: int
    end: int
    text: str
    attributes: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Edit:
    """Source ``[start, end)`` became ``html``; ``kept`` names the inline markup of the replaced text that
    could not be placed inside the translation and stands after it (empty elements, comments, images)."""

    start: int
    end: int
    html: str
    kept: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Rewrite:
    """A page after :func:`replace`: the new source and the edits that made it (source offsets)."""

    html: str
    edits: tuple[Edit, ...]
