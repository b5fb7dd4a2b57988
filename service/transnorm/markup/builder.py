"""One block being read: its text, the pieces mapping it to the source, its inline tags and runs; and what
leaving an element does to it."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .model import Block, BlockKind, Chrome, Run, Tag, TagKind
from .tokens import WS as _WS
from .tokens import Atom as _Atom

# Whitespace that does not read as it is written: runs, and single tabs or newlines.
_COLLAPSE = re.compile(r"[ \t\n\f\r]{2,}|[\t\n\f\r]")

# -- building blocks --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Ctx:
    """What an element's content inherits."""

    lang: str
    translate: bool
    chrome: Chrome | None
    in_article: bool
    opaque: bool = False
    verbatim: bool = False
    preformatted: bool = False
    #: The tokenizer's state in the element: data, rcdata (``<title>``) or rawtext (``<xmp>``).
    state: str = "data"


class _Builder:
    """One block being read: its text, the pieces mapping it to the source, its tags and runs."""

    __slots__ = ("ctx", "element", "kind", "length", "parts", "pending", "pieces", "runs", "tags", "value")

    def __init__(self, kind: BlockKind, element: str, ctx: _Ctx) -> None:
        self.kind = kind
        self.element = element
        self.ctx = ctx
        self.parts: list[str] = []
        self.pieces: list[tuple[int, int, int, int]] = []
        self.tags: list[list] = []  # [start, end, offset, kind, name, pair]
        self.runs: list[Run] = []
        self.length = 0
        self.pending: tuple[int, int] | None = None  # collapsed whitespace not yet written
        self.value: tuple[int, int] | None = None  # an attribute block's value, in the source

    def where(self) -> int:
        """The text offset of what comes next (after pending whitespace, if text follows)."""
        return self.length + (1 if self.pending is not None and self.length else 0)

    def _put(self, text: str, s0: int, s1: int) -> None:
        self.parts.append(text)
        self.pieces.append((self.length, self.length + len(text), s0, s1))
        self.length += len(text)

    def _flush_space(self) -> None:
        if self.pending is not None:
            # (none at the start of a line: whitespace after a <br> reads as nothing)
            if self.length and not (self.parts[-1].endswith("\n") and not self.ctx.preformatted):
                self._put(" ", *self.pending)
            self.pending = None

    def _space(self, s0: int, s1: int) -> None:
        """Whitespace at ``src[s0:s1]``: one space in the text if text follows (none at a block's edges)."""
        if self.pending is None:
            self.pending = (s0, s1)
        elif self.pending[1] == s0:
            self.pending = (self.pending[0], s1)

    def text(self, atoms: Sequence[_Atom], data: str, preformatted: bool) -> None:
        """Append a text node's atoms; outside preformatted text, each run of ASCII whitespace reads as one
        space (a lone space stays a literal piece, so prose is a few pieces, not one per word)."""
        for t0, t1, s0, s1 in atoms:
            chunk = data[t0:t1]
            if preformatted:
                self._flush_space()
                self._put(chunk, s0, s1)
                continue
            if t1 - t0 != s1 - s0:  # an entity, a CRLF
                if chunk.strip(_WS):
                    self._flush_space()
                    self._put(chunk, s0, s1)
                else:
                    self._space(s0, s1)
                continue
            body = chunk.strip(_WS)
            if not body:
                self._space(s0, s1)
                continue
            lead = chunk.index(body[0])
            tail = lead + len(body)
            if lead:
                self._space(s0, s0 + lead)
            self._flush_space()
            pos = lead
            for m in _COLLAPSE.finditer(chunk, lead, tail):
                self._put(chunk[pos : m.start()], s0 + pos, s0 + m.start())
                self._put(" ", s0 + m.start(), s0 + m.end())
                pos = m.end()
            self._put(chunk[pos:tail], s0 + pos, s0 + tail)
            if tail < len(chunk):
                self._space(s0 + tail, s1)

    def line_break(self, at: int) -> None:
        """A ``<br>``: a newline in the text (it eats the whitespace around it)."""
        self.pending = None
        self._put("\n", at, at)

    def tag(self, start: int, end: int, kind: TagKind, name: str) -> int:
        self.tags.append([start, end, self.where(), kind, name, -1])
        return len(self.tags) - 1

    def _trim(self) -> None:
        """The block without the line breaks at its edges (of ``<br>`` or, in preformatted text, blank
        first and last lines; the indentation of preformatted lines stays)."""
        code = self.kind == "code"
        while self.pieces:
            t0, t1, s0, s1 = self.pieces[-1]
            chunk = self.parts[-1]
            kept = chunk.rstrip(_WS) if code else chunk.rstrip("\n")
            cut = len(chunk) - len(kept)
            if not cut or (kept and t1 - t0 != s1 - s0):
                break
            self.length -= cut
            if kept:
                self.pieces[-1] = (t0, t1 - cut, s0, s1 - cut)
                self.parts[-1] = kept
                break
            self.pieces.pop()
            self.parts.pop()
        text = "".join(self.parts)
        body = text.lstrip(_WS)
        cut = text.rfind("\n", 0, len(text) - len(body)) + 1
        if not cut:
            return
        pieces, parts = [], []
        for (t0, t1, s0, s1), chunk in zip(self.pieces, self.parts, strict=True):
            if t1 <= cut:
                continue
            if t0 < cut:  # a literal piece (an atomic one is one newline, wholly before the cut)
                chunk = chunk[cut - t0 :]
                s0 += cut - t0
                t0 = cut
            pieces.append((t0 - cut, t1 - cut, s0, s1))
            parts.append(chunk)
        self.pieces, self.parts = pieces, parts
        self.length -= cut
        for tag in self.tags:
            tag[2] = max(0, tag[2] - cut)
        self.runs = [Run(max(0, r.start - cut), r.end - cut, r.lang, r.verbatim, r.code) for r in self.runs]

    def finish(self, base: int, page_pieces: list) -> Block | None:
        """The block at text offset ``base`` (its pieces appended to ``page_pieces``), or None if empty."""
        text = "".join(self.parts)
        if not text.strip(_WS):
            return None
        self._trim()
        for t0, t1, s0, s1 in self.pieces:
            page_pieces.append((base + t0, base + t1, s0, s1))
        n = self.length
        tags = tuple(
            Tag(s, e, base + min(off, n), kind, name, pair) for s, e, off, kind, name, pair in self.tags
        )
        runs = tuple(
            Run(base + r.start, base + min(r.end, n), r.lang, r.verbatim, r.code)
            for r in self.runs
            if r.start < min(r.end, n)
        )
        src_start = min([self.pieces[0][2], *(t.start for t in tags)]) if tags else self.pieces[0][2]
        src_end = max([self.pieces[-1][3], *(t.end for t in tags)]) if tags else self.pieces[-1][3]
        if self.value is not None:
            src_start, src_end = self.value
        ctx = self.ctx
        translate = ctx.translate and self.kind != "code"
        return Block(
            base,
            base + n,
            self.kind,
            self.element,
            ctx.lang,
            translate,
            ctx.chrome,
            tags,
            runs,
            src_start,
            src_end,
        )


class _Exit:
    """Leaving an element: close its block, or record its end tag and its run."""

    __slots__ = ("block", "builder", "close_end", "index", "lang", "opaque", "run_info")

    def __init__(
        self,
        block: bool,
        close_end: tuple[int, int] | None,
        builder: _Builder | None = None,
        index: int = -1,
        run_info: tuple[str, int] | None = None,
        lang: str = "",
        opaque: tuple[int | None, str] | None = None,
    ) -> None:
        self.opaque = opaque
        self.block = block
        self.close_end = close_end
        self.builder = builder
        self.index = index
        self.run_info = run_info
        self.lang = lang

    def run(self, reader: Any) -> None:  # (a reader._Reader)
        if self.opaque is not None:
            if self.close_end is not None:
                reader.skip_to(self.close_end[0], True)
                reader.cursor = max(reader.cursor, self.close_end[1])
            start, tag = self.opaque
            if start is not None and self.builder is not None and reader.builder is self.builder:
                self.builder.tag(start, max(reader.cursor, start), "opaque", tag)
            return
        if self.close_end is not None:
            reader.skip_to(self.close_end[0], False)
            reader.cursor = max(reader.cursor, self.close_end[1])
        if self.block:
            reader.close()
            return
        builder = reader.builder
        if builder is None:
            return
        same = builder is self.builder
        if self.close_end is not None:
            j = builder.tag(self.close_end[0], self.close_end[1], "end", "")
            if same and self.index >= 0 and builder.tags[self.index][3] == "start":
                builder.tags[j][4] = builder.tags[self.index][4]
                builder.tags[j][5] = self.index
                builder.tags[self.index][5] = j
            else:
                builder.tags[j][4] = reader.src[self.close_end[0] + 2 : self.close_end[1] - 1].strip().lower()
        if same and self.run_info is not None:
            kind, start = self.run_info
            if start < builder.length:
                builder.runs.append(
                    Run(
                        start,
                        builder.length,
                        self.lang if kind == "lang" else None,
                        kind != "lang",
                        kind == "code",
                    )
                )


def _replace_ctx(ctx: _Ctx, **changes: object) -> _Ctx:
    values = {name: getattr(ctx, name) for name in _Ctx.__dataclass_fields__}
    values.update(changes)
    return _Ctx(**values)  # type: ignore[arg-type]
