"""The inverse of reading: the page with chosen ranges of its reader text replaced, every other character
(and, :func:`splice`, every other byte) as it was."""

from __future__ import annotations

import codecs
import html
import re
from collections.abc import Iterable

from ..decode import Decoded
from .model import Block, Edit, Page, Replacement, Rewrite, Tag
from .tokens import WS as _WS

# -- the inverse: the page with text replaced --------------------------------------------------------------

ATTRIBUTE_KINDS = frozenset({"alt", "title-attribute", "placeholder"})
_UNQUOTED_UNSAFE = re.compile(r"[\t\n\f\r \"'=<>`&]")


def its_attributes(
    source_lang: str,
    source_text: str,
    *,
    confidence: float | None = None,
    tool: str | None = None,
    markers: bool = True,
) -> tuple[tuple[str, str], ...]:
    """The attributes of the ``<span>`` around a translation: ``lang="en"`` and, with ``markers``, the source
    language and text (``data-source-*``) and ITS 2.0 provenance (``its-tool-ref``) and MT confidence
    (``its-mt-confidence`` with its ``its-annotators-ref``). ``tool`` is a URI naming the model."""
    if not markers:
        return (("lang", "en"),)
    attrs = [
        ("lang", "en"),
        ("data-transnorm", "translated"),
        ("data-source-lang", source_lang),
        ("data-source-text", source_text),
    ]
    if tool:
        attrs.append(("its-tool-ref", tool))
        if confidence is not None:
            attrs.append(("its-annotators-ref", f"mt-confidence|{tool}"))
            attrs.append(("its-mt-confidence", f"{max(0.0, min(1.0, confidence)):.3f}"))
    return tuple(attrs)


def replace(page: Page, replacements: Iterable[Replacement]) -> Rewrite:
    """The page with each replacement's range of :attr:`Page.text` replaced by its text; every other character
    of the source as it was. Inline markup inside a replaced range is put back around the words it held when
    they occur in the new text, else after it (:attr:`Edit.kept`).

    Raises ValueError for a range that is empty, crosses a block's edge, or overlaps another.
    """
    edits: list[Edit] = []
    last = -1
    for r in sorted(replacements, key=lambda r: (r.start, r.end)):
        block = page.block_at(r.start)
        if block is None or r.end <= r.start or r.end > block.end:
            raise ValueError(f"replacement [{r.start}, {r.end}) is not a non-empty range inside one block")
        start, end = page.source_range(r.start, r.end)
        if start < last:
            raise ValueError(f"replacement [{r.start}, {r.end}) overlaps the one before it")
        edits.append(_edit(page, block, r, start, end))
        last = end
    parts: list[str] = []
    pos = 0
    for edit in edits:
        parts.append(page.source[pos : edit.start])
        parts.append(edit.html)
        pos = edit.end
    parts.append(page.source[pos:])
    return Rewrite("".join(parts), tuple(edits))


def _edit(page: Page, block: Block, r: Replacement, start: int, end: int) -> Edit:
    src = page.source
    if block.kind in ATTRIBUTE_KINDS:
        return Edit(start, end, _attribute_escape(r.text, _quote(src, block)))
    if block.kind == "title":
        return Edit(start, end, html.escape(r.text, quote=False))
    tags = block.tags
    inside = [i for i, t in enumerate(tags) if start <= t.start and t.end <= end]
    core = r.text.strip(_WS)
    lead_space = r.text[: len(r.text) - len(r.text.lstrip(_WS))]
    trail_space = r.text[len(r.text.rstrip(_WS)) :] if core else ""
    placed, consumed = _place(page, tags, inside, core)
    lead = [i for i in inside if tags[i].kind == "end" and tags[i].pair not in set(inside)]
    kept = [i for i in inside if i not in consumed and i not in lead]
    body: list[str] = []
    pos = 0
    for a, b, element in sorted(placed):
        body.append(html.escape(core[pos:a], quote=False))
        body.append(element)
        pos = b
    body.append(html.escape(core[pos:], quote=False))
    text = "".join(body)
    if r.attributes and text:
        attrs = "".join(f' {name}="{html.escape(value)}"' for name, value in r.attributes)
        text = f"<span{attrs}>{text}</span>"
    out = "".join(src[tags[i].start : tags[i].end] for i in lead) + lead_space + text + trail_space
    out += "".join(src[tags[i].start : tags[i].end] for i in kept)
    return Edit(start, end, out, tuple(_tag_name(src, tags[i]) for i in kept))


def _place(page: Page, tags: tuple[Tag, ...], inside: list[int], text: str) -> tuple[list, set[int]]:
    """Elements of the replaced range whose words occur in ``text``: (start, end in ``text``, the element's
    source) each, and the tags they take with them."""
    members = set(inside)
    consumed: set[int] = set()
    placed: list[tuple[int, int, str]] = []
    for i in inside:
        t = tags[i]
        if i in consumed or t.kind != "start" or t.pair not in members:
            continue
        close = tags[t.pair]
        words = page.text[t.offset : close.offset].strip(_WS)
        at = _free_occurrence(text, words, placed) if words else -1
        if at < 0:
            continue
        placed.append((at, at + len(words), page.source[t.start : close.end]))
        consumed.update(j for j in inside if t.start <= tags[j].start and tags[j].end <= close.end)
    return placed, consumed


def _free_occurrence(text: str, words: str, placed: list[tuple[int, int, str]]) -> int:
    """The first occurrence of ``words`` in ``text`` that overlaps no placed element, or -1."""
    at = text.find(words)
    while at >= 0:
        if all(at >= b or at + len(words) <= a for a, b, _ in placed):
            return at
        at = text.find(words, at + 1)
    return -1


def _tag_name(src: str, tag: Tag) -> str:
    if tag.kind == "other":
        return tag.name
    if tag.kind == "end":
        return f"</{tag.name}>"
    return f"<{tag.name}>"


def _quote(src: str, block: Block) -> str:
    """The quote around an attribute block's value ("" when unquoted)."""
    before = src[block.src_start - 1 : block.src_start]
    if before in ("'", '"') and src[block.src_end : block.src_end + 1] == before:
        return before
    return ""


def _attribute_escape(text: str, quote: str) -> str:
    if quote == '"':
        return text.replace("&", "&amp;").replace('"', "&quot;")
    if quote == "'":
        return text.replace("&", "&amp;").replace("'", "&#39;")
    return _UNQUOTED_UNSAFE.sub(lambda m: f"&#{ord(m.group())};", text) or '""'


# Python's codecs for the WHATWG charsets whose names it does not know, or knows as a narrower charset.
_ENCODERS = {
    "GBK": "gbk",
    "Big5": "big5hkscs",
    "Shift_JIS": "cp932",
    "EUC-KR": "cp949",
    "UTF-16LE": "utf-16-le",
    "UTF-16BE": "utf-16-be",
    "x-mac-cyrillic": "mac_cyrillic",
    "ISO-8859-8-I": "iso8859_8",
    "windows-874": "cp874",
    "KOI8-U": "koi8_u",
}


def splice(data: bytes, decoded: Decoded, rewrite: Rewrite) -> bytes:
    """The page's bytes with ``rewrite``'s edits (made on ``decoded.raw``): each edit's bytes replaced by its
    HTML in the page's charset (a character the charset lacks as a numeric reference), every other byte
    of ``data`` as it was."""
    codec = _ENCODERS.get(decoded.encoding, decoded.encoding)
    try:
        codecs.lookup(codec)
    except LookupError:
        codec = "ascii"  # a subset of every ASCII-compatible charset: references for the rest
    parts: list[bytes] = []
    pos = 0
    for edit in rewrite.edits:
        start, end = decoded.byte_offset(edit.start), decoded.byte_offset(edit.end)
        parts.append(data[pos:start])
        parts.append(edit.html.encode(codec, "xmlcharrefreplace"))
        pos = end
    parts.append(data[pos:])
    return b"".join(parts)
