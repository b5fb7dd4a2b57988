"""Reading a parsed page in document order: each text node aligned on the source, blocks built, and what the
page says about each block (language, translate, chrome) carried down the tree."""

from __future__ import annotations

import bisect
import re

import turbohtml

from .builder import _Builder, _Ctx, _Exit, _replace_ctx
from .model import (
    _ATTRIBUTE_KIND,
    BLOCK,
    CODE_BLOCKS,
    OPAQUE,
    RAW_OPAQUE,
    RAWTEXT,
    READER_ATTRIBUTES,
    SEPARATOR,
    VERBATIM,
    Block,
    BlockKind,
    Page,
)
from .rules import _ARTICLE, CHROME_TAGS, _attr, _chrome_of, _its_rules, _language_menus
from .tokens import WS as _WS
from .tokens import _align, _attribute_atoms, _attribute_value


class _Reader:
    """Walks the parsed page in document order, aligning its text on the source and building blocks."""

    def __init__(self, source: str, doc: turbohtml.Document) -> None:
        self.src = source
        self.doc = doc
        self.warnings: list[str] = []
        self.unaligned = 0
        self.cursor = 0
        self.text_parts: list[str] = []
        self.length = 0
        self.blocks: list[Block] = []
        self.pieces: list[tuple[int, int, int, int]] = []
        self.builder: _Builder | None = None
        self.deferred: list[_Builder] = []  # attribute blocks, written after the block they sit in
        # turbohtml counts offsets in the newline-normalized input (a CRLF is one character).
        self.crlf = (
            [m.start() - i for i, m in enumerate(re.finditer("\r\n", source))] if "\r\n" in source else []
        )
        self.known: set[int] = set()
        self.locations: dict[turbohtml.Element, object] = {}
        self.menus = _language_menus(doc)
        self.its = _its_rules(doc, self.warnings)

    def raw(self, offset: int) -> int:
        """A turbohtml offset → an offset into the source."""
        if not self.crlf:
            return offset
        return offset + bisect.bisect_left(self.crlf, offset)

    # -- blocks

    def open(self, kind: BlockKind, element: str, ctx: _Ctx) -> _Builder:
        self.close()
        self.builder = _Builder(kind, element, ctx)
        return self.builder

    def close(self) -> None:
        if self.builder is not None:
            self._emit(self.builder)
            self.builder = None
        for b in self.deferred:
            self._emit(b)
        self.deferred.clear()

    def _emit(self, builder: _Builder) -> None:
        base = self.length + (len(SEPARATOR) if self.blocks else 0)
        block = builder.finish(base, self.pieces)
        if block is None:
            return
        if self.blocks:
            self.text_parts.append(SEPARATOR)
        self.text_parts.append("".join(builder.parts))
        self.length = block.end
        self.blocks.append(block)

    def current(self, element: str, ctx: _Ctx) -> _Builder:
        """The block inline content goes to (an anonymous one for text straight inside a container)."""
        if self.builder is None:
            kind: BlockKind = "code" if ctx.preformatted else "text"
            self.builder = _Builder(kind, element, ctx)
        return self.builder

    # -- the walk

    def read(self, root_ctx: _Ctx) -> None:
        known = self.known
        locations = self.locations
        for el in self.doc.iter_elements():
            loc = el.source_location  # (built anew at each call: once per element)
            locations[el] = loc
            if loc is not None:
                known.add(self.raw(loc.start_tag.start_offset))
        self.known_frozen = frozenset(known)
        # An explicit stack: real pages nest deeper than Python's recursion limit allows.
        stack: list[tuple[object, _Ctx, str, bool]] = [
            (c, root_ctx, "html", False) for c in reversed(self.doc.children)
        ]
        while stack:
            node, ctx, block_element, first = stack.pop()
            if isinstance(node, _Exit):
                node.run(self)
                continue
            if isinstance(node, turbohtml.Text):
                self.read_text(node.data, ctx, block_element, first)
                continue
            if isinstance(node, turbohtml.Element):
                self.enter(node, ctx, block_element, stack)
            elif isinstance(node, turbohtml.DocumentFragment):  # a template's content or a shadow root
                for child in reversed(node.children):
                    stack.append((child, ctx, block_element, False))
        self.close()

    def read_text(self, data: str, ctx: _Ctx, block_element: str, first: bool) -> None:
        if not data:
            return
        consume = ctx.opaque or (self.builder is None and not ctx.preformatted and not data.strip(_WS))
        if consume and self.src.startswith(data, self.cursor):  # (most whitespace between blocks)
            self.cursor += len(data)
            return
        drop = first and block_element in ("pre", "listing")
        found = _align(self.src, self.cursor, data, self.known_frozen, ctx.state, drop, False)
        if found is None:
            found = _align(self.src, self.cursor, data, self.known_frozen, ctx.state, drop, True)
        if found is None:
            if data.strip(_WS) and not ctx.opaque:  # (whitespace the parser moved reads as nothing)
                self.unaligned += 1
            return
        atoms, skipped, end = found
        if consume:  # never read (or whitespace between blocks): aligned only to keep the cursor right
            self.cursor = max(self.cursor, end)
            return
        builder = self.current(block_element, ctx)
        if skipped:
            # Interleave the skipped markup with the text, in source order.
            k = 0
            for a, b in skipped:
                head = [t for t in atoms[k:] if t[3] <= a]
                builder.text(head, data, ctx.preformatted)
                k += len(head)
                name = "#comment" if self.src.startswith("<!--", a) else "#markup"
                builder.tag(a, b, "other", name)
            builder.text(atoms[k:], data, ctx.preformatted)
        else:
            builder.text(atoms, data, ctx.preformatted)
        self.cursor = max(self.cursor, end)

    def enter(self, el: turbohtml.Element, ctx: _Ctx, block_element: str, stack: list) -> None:
        tag = el.tag
        try:
            loc = self.locations[el]
        except KeyError:  # (in a shadow root)
            loc = el.source_location
        start = end = None
        if loc is not None:
            start, end = self.raw(loc.start_tag.start_offset), self.raw(loc.start_tag.end_offset)
        attrs = el.attrs
        html_ns = el.namespace == turbohtml.Namespace.HTML
        inner = self.inherit(el, tag, attrs, ctx, html_ns)
        if not html_ns or tag in OPAQUE or (ctx.opaque and not (tag == "title" and self.in_head(el))):
            self.opaque(el, tag, html_ns, loc, start, end, ctx, block_element, stack)
            return
        if start is not None:
            self.skip_to(start, ctx.opaque)
            self.cursor = max(self.cursor, end)
        close_end = None
        if loc is not None and loc.end_tag is not None:
            close_end = (self.raw(loc.end_tag.start_offset), self.raw(loc.end_tag.end_offset))
        if tag == "head":
            inner = _replace_ctx(inner, opaque=True)
        if tag == "title":
            inner = _replace_ctx(inner, opaque=False, state="rcdata")
        attribute_blocks = self.attribute_blocks(el, tag, attrs, loc, inner) if not inner.opaque else []
        if tag in BLOCK or tag == "title" or (inner.chrome is not None and inner.chrome is not ctx.chrome):
            kind: BlockKind = "title" if tag == "title" else "code" if tag in CODE_BLOCKS else "text"
            if tag in CODE_BLOCKS:
                inner = _replace_ctx(inner, preformatted=True, state="rawtext" if tag in RAWTEXT else "data")
            self.open(kind, tag, inner)
            self.deferred.extend(attribute_blocks)
            stack.append((_Exit(True, close_end), inner, tag, False))
            children = el.children
            for i in range(len(children) - 1, -1, -1):
                stack.append((children[i], inner, tag, i == 0))
            root = el.shadow_root
            if root is not None:
                stack.append((root, inner, tag, False))
            return
        if tag == "br":
            builder = self.current(block_element, ctx)
            builder.line_break(start if start is not None else self.cursor)
            if start is not None:
                builder.tag(start, end, "void", tag)
            self.deferred.extend(attribute_blocks)
            return
        # Inline.
        builder = self.current(block_element, ctx)
        index = -1
        if start is not None:
            void = loc.end_tag is None and not el.children
            index = builder.tag(start, end, "void" if void else "start", tag)
        self.deferred.extend(attribute_blocks)
        run = None
        if inner.verbatim and not ctx.verbatim:
            run = ("code" if tag in VERBATIM else "translate-no", builder.where())
        elif inner.lang != ctx.lang:
            run = ("lang", builder.where())
        stack.append((_Exit(False, close_end, builder, index, run, inner.lang), inner, block_element, False))
        children = el.children
        for i in range(len(children) - 1, -1, -1):
            stack.append((children[i], inner, block_element, False))

    def in_head(self, el: turbohtml.Element) -> bool:
        parent = el.parent
        return isinstance(parent, turbohtml.Element) and parent.tag == "head"

    def inherit(self, el: turbohtml.Element, tag: str, attrs, ctx: _Ctx, html_ns: bool) -> _Ctx:
        lang = attrs.get("lang")
        if lang is None:
            lang = attrs.get("xml:lang")
        translate = ctx.translate
        ruled = self.its.get(el) if self.its else None
        if ruled is not None:
            translate = ruled
        local = attrs.get("translate")
        if isinstance(local, str) and local.strip().lower() in ("yes", "", "no"):
            translate = local.strip().lower() != "no"
        chrome = None
        if html_ns:
            chrome = self.menus.get(el) if self.menus else None
            if chrome is None and (tag in CHROME_TAGS or "role" in attrs):
                chrome = _chrome_of(el, tag, ctx.in_article)
        in_article = (
            ctx.in_article
            or tag in _ARTICLE
            or ("role" in attrs and _attr(attrs, "role").strip().lower() in ("main", "article"))
        )
        verbatim = ctx.verbatim or tag in VERBATIM or not translate
        changed = (
            (lang is not None and str(lang).strip() != ctx.lang)
            or translate != ctx.translate
            or chrome is not None
            or in_article != ctx.in_article
            or verbatim != ctx.verbatim
        )
        if not changed:
            return ctx
        return _Ctx(
            str(lang).strip() if lang is not None else ctx.lang,
            translate,
            chrome or ctx.chrome,
            in_article,
            ctx.opaque,
            verbatim,
            ctx.preformatted,
            ctx.state,
        )

    def skip_to(self, position: int, opaque: bool) -> None:
        """Move the cursor up to a tag the parser located; markup passed on the way (a comment, a tag the
        parser ignored) goes into the current block as it stands, so that a replacement keeps it."""
        if position <= self.cursor:
            return
        gap = self.src[self.cursor : position]
        body = gap.strip(_WS)
        if body and self.builder is not None and not opaque:
            start = self.cursor + gap.index(body[0])
            name = "#comment" if body.startswith("<!--") else "#markup"
            self.builder.tag(start, start + len(body), "other", name)
        self.cursor = position

    def opaque(
        self,
        el: turbohtml.Element,
        tag: str,
        html_ns: bool,
        loc,
        start: int | None,
        end: int | None,
        ctx: _Ctx,
        block_element: str,
        stack: list,
    ) -> None:
        """An element whose content is never read (a script, an SVG, a form control ...): it stands whole
        in the block as one tag; its text is aligned only to keep the cursor on the source."""
        if start is not None:
            self.skip_to(start, ctx.opaque)
            self.cursor = max(self.cursor, end)
        if not html_ns:
            state = "foreign"
        elif tag in RAW_OPAQUE:
            state = "rawtext"
        elif tag in ("textarea", "title"):
            state = "rcdata"
        else:
            state = "data"
        close_end = None
        if loc is not None and loc.end_tag is not None:
            close_end = (self.raw(loc.end_tag.start_offset), self.raw(loc.end_tag.end_offset))
        builder = self.builder if start is not None and not ctx.opaque else None
        inner = ctx if ctx.opaque and ctx.state == state else _replace_ctx(ctx, opaque=True, state=state)
        stack.append(
            (_Exit(False, close_end, builder, -1, None, "", opaque=(start, tag)), inner, block_element, False)
        )
        if close_end is not None and tag != "template":
            return  # never read: the end tag, where the parser located it, is where the cursor goes
        children = el.children
        for i in range(len(children) - 1, -1, -1):
            stack.append((children[i], inner, block_element, False))

    def attribute_blocks(self, el: turbohtml.Element, tag: str, attrs, loc, ctx: _Ctx) -> list[_Builder]:
        if loc is None or not attrs:
            return []
        names = READER_ATTRIBUTES.get(tag, READER_ATTRIBUTES["*"])
        out = []
        for name in names:
            value = attrs.get(name)
            if not isinstance(value, str) or not value.strip(_WS):
                continue
            span = loc.attrs.get(name)  # building the spans costs; only when needed
            if span is None:
                continue
            if name == "placeholder" and tag == "input" and _attr(attrs, "type").strip().lower() == "hidden":
                continue
            vs, ve = _attribute_value(self.src, self.raw(span.start_offset), self.raw(span.end_offset))
            raw_value = self.src[vs:ve]
            atoms = _attribute_atoms(raw_value, vs, value)
            if atoms is None:
                self.unaligned += 1
                continue
            builder = _Builder(_ATTRIBUTE_KIND[name], tag, _replace_ctx(ctx, verbatim=False))
            builder.text(atoms, value, False)
            builder.value = (vs, ve)
            out.append(builder)
        return out


def extract(source: str) -> Page:
    """Read the page ``source`` (as decoded): the text a reader sees, block by block, mapped to the source."""
    doc = turbohtml.parse(source, source_locations=True)
    root = doc.root
    lang = ""
    if root is not None:
        given = root.attrs.get("lang")
        if given is None:
            given = root.attrs.get("xml:lang")
        if isinstance(given, str):
            lang = given.strip()
    if not lang:
        for meta in doc.iter_elements("meta"):
            if _attr(meta.attrs, "http-equiv").strip().lower() == "content-language":
                content = _attr(meta.attrs, "content").strip()
                if content and "," not in content:
                    lang = content
                break
    reader = _Reader(source, doc)
    reader.read(_Ctx(lang, True, None, False))
    pieces = tuple(reader.pieces)
    blocks = tuple(reader.blocks)
    return Page(
        source=source,
        text="".join(reader.text_parts),
        blocks=blocks,
        lang=lang,
        unaligned=reader.unaligned,
        warnings=tuple(reader.warnings),
        pieces=pieces,
        _piece_starts=tuple(p[0] for p in pieces),
        _block_starts=tuple(b.start for b in blocks),
    )
