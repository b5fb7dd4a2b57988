"""Markup stage: an HTML page → the text a reader sees, with where every character came from; and back.

:func:`extract` reads a page (the ``str`` as decoded) into a :class:`Page`: the reader's text, block by
block (paragraphs, headings, list items, cells, captions, the page title, the ``alt``, ``title`` and
``placeholder`` a reader sees), each character mapped to the source characters it came from, the inline
tags inside each block, and what the page says about each block: its language (``lang``/``xml:lang``),
whether it may be translated (``translate``, ITS 2.0 global rules) and whether it is page chrome, and why.
:func:`replace` is the inverse: the page with chosen ranges of that text replaced, every other character of
the source as it was.

Parser: turbohtml, a WHATWG HTML5 tree builder in C that records where each tag and attribute sat: on the
130 Readability test pages its text equals html5lib's, in ~1/100 of the time (devtools/markup_bench.py).
Text nodes carry no positions there, so each is aligned on the source here (between the tags the parser
located) and checked character by character: a text node that cannot be placed is left out, never guessed.
"""

from __future__ import annotations

import bisect
import codecs
import html
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from html.entities import html5 as _ENTITIES
from typing import Literal

import turbohtml

from .decode import Decoded
from .document import Reason

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
_WS = " \t\n\f\r"
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
            decoded = _decode_text(src).replace("\0", "\ufffd")
            if text == " " and decoded and not decoded.strip(_WS):
                continue
            if decoded != text and _decode_text(src, attribute=True) != text:
                raise AssertionError(f"text {text!r} at {t0} does not come from {src!r} at {s0}")


@dataclass(frozen=True, slots=True)
class Replacement:
    """Text ``[start, end)`` of a page (inside one block) becomes ``text`` (plain text: escaped when written).

    ``attributes`` are those of the ``<span>`` wrapped around it (see :func:`its_attributes`); none: the text
    goes in bare. Inside ``<title>`` and attribute values there is never a span.
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


# -- character references and markup, as the WHATWG tokenizer reads them ---------------------------------

_NUMERIC = re.compile(r"&#(?:[xX]([0-9a-fA-F]+)|([0-9]+));?")
_NAMED = re.compile(r"&([A-Za-z0-9]+;?)")
_LONGEST_ENTITY = max(len(k) for k in _ENTITIES)
_C1 = {n: bytes([n]).decode("cp1252") for n in range(0x80, 0xA0) if n not in (0x81, 0x8D, 0x8F, 0x90, 0x9D)}


def charref(src: str, p: int, attribute: bool = False) -> tuple[str, int] | None:
    """The character reference at ``src[p]`` (an ``&``): what it stands for and where it ends; None when the
    ``&`` is text. ``attribute``: in an attribute value, where ``&amp=`` and ``&ampx`` are text."""
    if src.startswith("&#", p):
        m = _NUMERIC.match(src, p)
        if m is None:
            return None
        digits = m.group(1) or m.group(2)
        num = 0x110000 if len(digits) > 8 else int(digits, 16 if m.group(1) else 10)
        if num == 0 or num > 0x10FFFF or 0xD800 <= num <= 0xDFFF:
            return "\ufffd", m.end()
        return _C1.get(num, chr(num)), m.end()
    m = _NAMED.match(src, p)
    if m is None:
        return None
    name = m.group(1)
    for k in range(min(len(name), _LONGEST_ENTITY), 0, -1):
        value = _ENTITIES.get(name[:k])
        if value is None:
            continue
        if attribute and not name[:k].endswith(";"):
            after = src[p + 1 + k : p + 2 + k]
            if after == "=" or (after.isascii() and after.isalnum()):
                return None
        return value, p + 1 + k
    return None


def _decode_text(src: str, attribute: bool = False) -> str:
    """Text as the tokenizer reads it (references resolved, CRLF/CR → LF); markup is not expected."""
    out: list[str] = []
    p = 0
    n = len(src)
    while p < n:
        amp = src.find("&", p)
        if amp < 0:
            out.append(src[p:])
            break
        out.append(src[p:amp])
        ref = charref(src, amp, attribute)
        if ref is None:
            out.append("&")
            p = amp + 1
        else:
            out.append(ref[0])
            p = ref[1]
    return "".join(out).replace("\r\n", "\n").replace("\r", "\n")


_TAG_NAME_END = re.compile(r"[\t\n\f\r />]")
_ATTR_NAME_END = re.compile(r"[\t\n\f\r />=]")
_UNQUOTED_END = re.compile(r"[\t\n\f\r >]")
_SPACE_SLASH = re.compile(r"[\t\n\f\r /]*")
_SPACES = re.compile(r"[\t\n\f\r ]*")
_COMMENT_END = re.compile(r"--!?>")


def markup_end(src: str, p: int) -> int | None:
    """Where the markup starting at ``src[p]`` (a ``<``) ends; None when the ``<`` is text (in data state)."""
    n = len(src)
    nxt = src[p + 1 : p + 2]
    if nxt.isascii() and nxt.isalpha():
        return _tag_end(src, p + 1)
    if nxt == "/":
        after = src[p + 2 : p + 3]
        if after.isascii() and after.isalpha():
            return _tag_end(src, p + 2)
        if after == ">":
            return p + 3  # "</>": ignored
        if after == "":
            return None  # "</" at the end of the input is text
        gt = src.find(">", p + 2)
        return n if gt < 0 else gt + 1
    if nxt == "!":
        if src.startswith("<!--", p):
            if src.startswith(">", p + 4):
                return p + 5
            if src.startswith("->", p + 4):
                return p + 6
            m = _COMMENT_END.search(src, p + 4)
            return n if m is None else m.end()
        gt = src.find(">", p + 2)
        return n if gt < 0 else gt + 1
    if nxt == "?":
        gt = src.find(">", p + 2)
        return n if gt < 0 else gt + 1
    return None


def _tag_end(src: str, i: int) -> int:
    """The end of a start or end tag whose name starts at ``src[i]`` (the input's end if it never closes)."""
    n = len(src)
    m = _TAG_NAME_END.search(src, i)
    k = n if m is None else m.start()
    while True:
        k = _SPACE_SLASH.match(src, k).end()
        if k >= n:
            return n
        if src[k] == ">":
            return k + 1
        # An attribute name; its first character may be "=".
        m = _ATTR_NAME_END.search(src, k + 1)
        k = n if m is None else m.start()
        k = _SPACES.match(src, k).end()
        if k < n and src[k] == "=":
            k = _SPACES.match(src, k + 1).end()
            if k >= n:
                return n
            quote = src[k]
            if quote in "\"'":
                close = src.find(quote, k + 1)
                if close < 0:
                    return n
                k = close + 1
            elif quote != ">":
                m = _UNQUOTED_END.search(src, k)
                k = n if m is None else m.start()


# -- aligning a text node on the source -----------------------------------------------------------------

# What interrupts literal text, by tokenizer state.
_SPECIAL = {
    "data": re.compile(r"[&<\r\0]"),
    "foreign": re.compile(r"[&<\r\0]"),
    "rcdata": re.compile(r"[&\r\0]"),
    "rawtext": re.compile(r"[\r\0]"),
}
# (text_start, text_end, src_start, src_end) relative to the node's data / absolute in the source
_Atom = tuple[int, int, int, int]


def _dropped_space(src: str, p: int) -> int:
    """Past the whitespace at ``src[p]``, written or as a reference (``&#9;``); ``p`` if there is none."""
    while p < len(src):
        if src[p] in _WS:
            p += 1
        elif src[p] == "&":
            ref = charref(src, p)
            if ref is None or ref[0].strip(_WS):
                break
            p = ref[1]
        else:
            break
    return p


def _align(
    src: str,
    p: int,
    data: str,
    known: frozenset[int],
    state: str,
    drop_newline: bool,
    permissive: bool,
) -> tuple[list[_Atom], list[tuple[int, int]], int] | None:
    """Match a text node's ``data`` against ``src`` from ``p``: the atoms, the markup skipped inside it (a
    comment, a tag the parser ignored) and where it ends; None when it is not there.

    ``known``: where the tags of elements start (text never runs through one unless ``permissive``);
    ``state``: the tokenizer's: ``data``, ``foreign`` (SVG, MathML: CDATA sections are text), ``rcdata``
    (``<title>``: ``<`` is text) or ``rawtext`` (``<xmp>``: ``&`` too); ``drop_newline``: the first
    child of ``<pre>`` or ``<listing>``, whose leading newline the parser drops.
    """
    atoms: list[_Atom] = []
    skipped: list[tuple[int, int]] = []
    n, m, i = len(src), len(data), 0
    special = _SPECIAL[state]
    if drop_newline:
        if src.startswith("\r\n", p):
            p += 2
        elif src.startswith(("\n", "\r"), p):
            p += 1
        elif src.startswith("&", p):
            ref = charref(src, p)
            if ref is not None and ref[0] == "\n":
                p = ref[1]
    while i < m:
        if p >= n:
            return None
        s = special.search(src, p, p + m - i)  # (no literal run is longer than what is left)
        stop = min(n, p + m - i) if s is None else s.start()
        if i == 0 and state == "data" and data[0] not in _WS:
            dropped = _dropped_space(src, p)  # whitespace the parser ignored (before <head>, say)
            if dropped > p:
                p = dropped
                continue
        if stop > p:
            take = min(stop - p, m - i)
            if src[p : p + take] != data[i : i + take]:
                return None
            atoms.append((i, i + take, p, p + take))
            i += take
            p += take
            continue
        ch = src[p]
        if ch == "\r":
            if data[i] != "\n":
                return None
            q = p + 2 if src.startswith("\n", p + 1) else p + 1
            atoms.append((i, i + 1, p, q))
            i += 1
            p = q
        elif ch == "\0":
            if data[i] == "\ufffd":
                atoms.append((i, i + 1, p, p + 1))
                i += 1
            p += 1  # otherwise the parser dropped it
        elif ch == "&":
            ref = charref(src, p) if state != "rawtext" else None
            if ref is not None and data.startswith(ref[0], i):
                atoms.append((i, i + len(ref[0]), p, ref[1]))
                i += len(ref[0])
                p = ref[1]
            elif data[i] == "&":
                atoms.append((i, i + 1, p, p + 1))
                i += 1
                p += 1
            else:
                return None
        else:  # "<"
            if state == "foreign" and src.startswith("<![CDATA[", p):  # text, in SVG and MathML
                close = src.find("]]>", p + 9)
                close = n if close < 0 else close
                cdata = src[p + 9 : close].replace("\r\n", "\n").replace("\r", "\n")
                if not data.startswith(cdata, i):
                    return None
                if cdata:
                    atoms.append((i, i + len(cdata), p + 9, close))
                skipped.append((p, p + 9))
                i += len(cdata)
                p = min(close + 3, n)
                continue
            end = markup_end(src, p)
            if end is None:
                if data[i] != "<":
                    return None
                atoms.append((i, i + 1, p, p + 1))
                i += 1
                p += 1
            elif p in known and not permissive:
                return None
            else:
                skipped.append((p, end))
                p = end
    return atoms, skipped, p


# -- what the page says: language menus, chrome, ITS rules ------------------------------------------------

# Names of languages in themselves (and a few common English ones), case-folded: a list of links whose
# texts are these names is a language menu.
_AUTONYMS = frozenset(
    unicodedata.normalize("NFKC", name).casefold()
    for name in """
    English|Español|Espanol|Français|Francais|Deutsch|Italiano|Português|Portugues|Русский|Українська|Беларуская|
    Български|Српски|Srpski|Hrvatski|Bosanski|Slovenščina|Slovenčina|Čeština|Polski|Magyar|Română|Ελληνικά|
    Türkçe|Azərbaycanca|Қазақша|Кыргызча|Монгол|Тоҷикӣ|O‘zbekcha|Oʻzbekcha|Türkmençe|Հայերեն|ქართული|
    עברית|العربية|عربي|فارسی|اردو|پښتو|کوردی|Kurdî|ئۇيغۇرچە|हिन्दी|हिंदी|मराठी|नेपाली|বাংলা|ਪੰਜਾਬੀ|ગુજરાતી|ଓଡ଼ିଆ|
    தமிழ்|తెలుగు|ಕನ್ನಡ|മലയാളം|සිංහල|ไทย|ລາວ|ខ្មែរ|မြန်မာ|中文|简体中文|繁體中文|繁体中文|简体|繁體|汉语|漢語|
    普通话|國語|粵語|日本語|한국어|조선말|Tiếng Việt|Bahasa Indonesia|Bahasa Melayu|Melayu|Filipino|Tagalog|
    Kiswahili|Swahili|አማርኛ|Hausa|Yorùbá|Igbo|Soomaali|Afrikaans|isiZulu|isiXhosa|Nederlands|Vlaams|Svenska|
    Dansk|Norsk|Norsk bokmål|Nynorsk|Suomi|Íslenska|Eesti|Latviešu|Lietuvių|Gaeilge|Cymraeg|Català|Galego|
    Euskara|Esperanto|Lëtzebuergesch|Malti|Shqip|Македонски|Ўзбекча|Татарча|Башҡортса|Sardu|Corsu|Occitan|
    Chinese|Spanish|French|German|Italian|Portuguese|Russian|Ukrainian|Arabic|Japanese|Korean|Hindi|Turkish|
    Persian|Polish|Dutch|Vietnamese|Indonesian|Thai|Hebrew|Greek|Swedish|Czech|Romanian|Hungarian
    """.replace("\n", "").split("|")
)
# ISO 639-1 codes, as links ("EN | FR | DE") name editions too.
_CODES = frozenset(
    """aa ab af ak am ar as az ba be bg bn bo br bs ca cs cy da de dv dz el en eo es et eu fa ff fi fj fo
    fr fy ga gd gl gn gu ha he hi hr ht hu hy id ig is it ja jv ka kk km kn ko ks ku ky la lb lo lt lv mg mi
    mk ml mn mr ms mt my nb ne nl nn no ny oc om or pa pl ps pt qu rm ro ru rw sa sd si sk sl sm sn so sq sr
    st su sv sw ta te tg th ti tk tl tn tr ts tt ug uk ur uz vi wo xh yi yo zh zu""".split()
)
_CODE_LINK = re.compile(r"(?i)([a-z]{2})(?:[-_][a-z]{2,4})?")
_MENU_CONTAINERS = frozenset(
    {"ul", "ol", "div", "nav", "p", "section", "menu", "details", "span", "li", "dl"}
)
_COOKIE = re.compile(r"(?i)cookie|consent|gdpr|onetrust|cookiebot|didomi|\bcmp\b|cc-(?:window|banner)")
_COMMENTS = re.compile(r"(?i)comment|respond|reply|disqus")
_SEARCH = re.compile(r"(?i)search")
_ROLES = {
    "navigation": "navigation",
    "menu": "menu",
    "menubar": "menu",
    "search": "search form",
    "complementary": "aside",
    "banner": "page header",
    "contentinfo": "page footer",
}
_ARTICLE = frozenset({"article", "main"})
_ITS_NS = "http://www.w3.org/2005/11/its"
_XHTML_NS = "http://www.w3.org/1999/xhtml"
_RULE_TAG = re.compile(r"<(?:[\w.-]+:)?translateRule\b([^>]*)>", re.S)
_RULES_TAG = re.compile(r"<(?:[\w.-]+:)?rules\b([^>]*)>", re.S)
_XML_ATTR = re.compile(r"([\w:.-]+)\s*=\s*(?:\"([^\"]*)\"|'([^']*)')")


def _attr(attrs, name: str) -> str:
    """An attribute's value as written (turbohtml gives token lists, ``class`` and ``rel``, as lists)."""
    value = attrs.get(name)
    if value is None:
        return ""
    return " ".join(value) if isinstance(value, list) else value


def _edition(a: turbohtml.Element) -> tuple[str, str] | None:
    """The edition a link names (an entry of a language menu): its language key and its text; or None."""
    attrs = a.attrs
    text = " ".join(a.text.split())
    declared = _attr(attrs, "hreflang") or _attr(attrs, "lang")
    if declared.strip():
        return declared.strip().casefold(), text or declared
    if not text or len(text) > 40:
        return None
    key = unicodedata.normalize("NFKC", text).casefold()
    if key in _AUTONYMS:
        return key, text
    m = _CODE_LINK.fullmatch(key)
    if m is not None and m.group(1) in _CODES:
        return key, text
    return None


def _language_menus(doc: turbohtml.Document) -> dict[turbohtml.Element, Chrome]:
    """Containers of links most of which name editions of the site in at least three languages."""
    counts: dict[turbohtml.Element, tuple[list[int], dict[str, str]]] = {}
    for a in doc.iter_elements("a"):
        edition = _edition(a)
        node = a.parent
        for _ in range(4):
            if not isinstance(node, turbohtml.Element):
                break
            if node.tag in _MENU_CONTAINERS:
                links, editions = counts.setdefault(node, ([0, 0], {}))
                links[0] += 1
                if edition is not None:
                    links[1] += 1
                    editions.setdefault(*edition)
            node = node.parent
    menus: dict[turbohtml.Element, Chrome] = {}
    for node, ((links, named), editions) in counts.items():
        if len(editions) >= 3 and named >= 0.6 * links:
            names = ", ".join(editions.values())
            evidence = f"{named} links naming editions in {len(editions)} languages: {names[:200]}"
            menus[node] = Chrome(Reason.CHROME, "language menu", evidence)
    # The menu is the smallest container: an ancestor holding no edition link beyond it is not.
    for node in list(menus):
        up = node.parent
        for _ in range(4):
            if not isinstance(up, turbohtml.Element):
                break
            if up in menus and counts[up][0][1] == counts[node][0][1]:
                del menus[up]
            up = up.parent
    return menus


def _describe(el: turbohtml.Element) -> str:
    attrs = el.attrs
    shown = []
    for name in ("id", "class", "role", "aria-label"):
        value = attrs.get(name)
        if value:
            value = " ".join(value) if isinstance(value, list) else value
            shown.append(f'{name}="{value[:60]}"')
    return "<" + " ".join([el.tag, *shown]) + ">"


def _chrome_of(el: turbohtml.Element, tag: str, in_article: bool) -> Chrome | None:
    """The chrome verdict the element itself carries (its ancestors' are the caller's)."""
    attrs = el.attrs
    role = _attr(attrs, "role").strip().lower()
    what = None
    if tag == "nav":
        what = "navigation"
    elif tag == "aside":
        what = "aside"
    elif tag == "menu":
        what = "menu"
    elif tag in ("header", "footer"):
        if not in_article:
            what = "page header" if tag == "header" else "page footer"
    elif role in _ROLES and tag not in ("html", "body", "main", "article"):
        what = _ROLES[role]
        if what in ("page header", "page footer") and in_article:
            what = None
    if what is not None:
        return Chrome(Reason.CHROME, what, _describe(el))
    if tag in ("html", "body", "main", "article"):
        return None
    names = " ".join(
        " ".join(v) if isinstance(v, list) else str(v)
        for k, v in attrs.items()
        if k in ("id", "class", "aria-label") and v
    )
    if tag == "form":
        action = _attr(attrs, "action")
        if _COMMENTS.search(names) or "comment" in action or el.find("textarea", attrs={"name": "comment"}):
            return Chrome(Reason.COMMENT_FORM, "comment form", _describe(el))
        if _SEARCH.search(names) or "search" in action or el.find("input", attrs={"type": "search"}):
            return Chrome(Reason.CHROME, "search form", _describe(el))
    if (
        names
        and tag in ("div", "section", "aside", "dialog", "form", "footer", "p")
        and _COOKIE.search(names)
    ):
        return Chrome(Reason.CHROME, "cookie banner", _describe(el))
    if tag in ("div", "section") and re.fullmatch(r"(?i)respond|comment-respond|comment-form", names.strip()):
        return Chrome(Reason.COMMENT_FORM, "comment form", _describe(el))
    return None


def _its_rules(doc: turbohtml.Document, warnings: list[str]) -> dict[turbohtml.Element, bool]:
    """Elements an ITS 2.0 global ``translateRule`` (inside ``<script type="application/its+xml">``) selects,
    and whether they are translated; later rules win."""
    decided: dict[turbohtml.Element, bool] = {}
    for script in doc.iter_elements("script"):
        if _attr(script.attrs, "type").strip().lower() != "application/its+xml":
            continue
        body = script.text
        rules = _RULES_TAG.search(body)
        rules_attrs = _xml_attrs(rules.group(1)) if rules else {}
        css = rules_attrs.get("queryLanguage", "xpath").lower() == "css"
        prefixes = [
            k.split(":", 1)[1] for k, v in rules_attrs.items() if k.startswith("xmlns:") and v == _XHTML_NS
        ]
        for m in _RULE_TAG.finditer(body):
            rule = _xml_attrs(m.group(1))
            selector, value = rule.get("selector"), rule.get("translate", "").strip().lower()
            if not selector or value not in ("yes", "no"):
                continue
            try:
                if css:
                    found: Iterable[object] = doc.select(selector)
                else:
                    for prefix in prefixes:  # turbohtml's XPath sees HTML elements without a namespace
                        selector = re.sub(rf"\b{re.escape(prefix)}:(?=[\w*])", "", selector)
                    result = doc.xpath(selector)
                    found = result if isinstance(result, list) else ()
            except ValueError as exc:
                warnings.append(f"ITS translateRule {selector!r} not applied: {exc}")
                continue
            for el in found:
                if isinstance(el, turbohtml.Element):
                    decided[el] = value == "yes"
    for link in doc.iter_elements("link"):
        if "its-rules" in _attr(link.attrs, "rel").lower().split():
            warnings.append(f"external ITS rules not loaded: {_attr(link.attrs, 'href')}")
    return decided


def _xml_attrs(text: str) -> dict[str, str]:
    return {
        m.group(1): html.unescape(m.group(2) if m.group(2) is not None else m.group(3))
        for m in _XML_ATTR.finditer(text)
    }


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
            if self.length:
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
        self.runs = [Run(max(0, r.start - cut), r.end - cut, r.lang, r.verbatim) for r in self.runs]

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
            Run(base + r.start, base + min(r.end, n), r.lang, r.verbatim)
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
            run = ("verbatim", builder.where())
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
        ruled = self.its.get(el)
        if ruled is not None:
            translate = ruled
        local = attrs.get("translate")
        if isinstance(local, str) and local.strip().lower() in ("yes", "", "no"):
            translate = local.strip().lower() != "no"
        chrome = self.menus.get(el) or _chrome_of(el, tag, ctx.in_article) if html_ns else None
        in_article = (
            ctx.in_article or tag in _ARTICLE or _attr(attrs, "role").strip().lower() in ("main", "article")
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

    def run(self, reader: _Reader) -> None:
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
                    Run(start, builder.length, self.lang if kind == "lang" else None, kind == "verbatim")
                )


def _replace_ctx(ctx: _Ctx, **changes: object) -> _Ctx:
    values = {name: getattr(ctx, name) for name in _Ctx.__dataclass_fields__}
    values.update(changes)
    return _Ctx(**values)  # type: ignore[arg-type]


def _attribute_value(src: str, start: int, end: int) -> tuple[int, int]:
    """The value's range inside an attribute's ``name="value"`` source."""
    eq = src.find("=", start + 1, end)
    if eq < 0:
        return end, end
    k = _SPACES.match(src, eq + 1).end()
    if k < end and src[k] in "\"'":
        return k + 1, max(k + 1, end - 1 if src[end - 1] == src[k] else end)
    return k, end


def _attribute_atoms(raw_value: str, base: int, value: str) -> list[_Atom] | None:
    """Atoms of an attribute value (references resolved by the attribute rules), checked against ``value``."""
    atoms: list[_Atom] = []
    i = p = 0
    n = len(raw_value)
    while p < n:
        amp = raw_value.find("&", p)
        cr = raw_value.find("\r", p)
        nul = raw_value.find("\0", p)
        stop = min(x for x in (amp, cr, nul, n) if x >= 0)
        if stop > p:
            atoms.append((i, i + stop - p, base + p, base + stop))
            i += stop - p
            p = stop
            continue
        ch = raw_value[p]
        if ch == "&":
            ref = charref(raw_value, p, attribute=True)
            if ref is None:
                atoms.append((i, i + 1, base + p, base + p + 1))
                i += 1
                p += 1
            else:
                atoms.append((i, i + len(ref[0]), base + p, base + ref[1]))
                i += len(ref[0])
                p = ref[1]
        elif ch == "\r":
            q = p + 2 if raw_value.startswith("\n", p + 1) else p + 1
            atoms.append((i, i + 1, base + p, base + q))
            i += 1
            p = q
        else:
            atoms.append((i, i + 1, base + p, base + p + 1))
            i += 1
            p += 1
    text = "".join(value[t0:t1] for t0, t1, _, _ in atoms)
    if i != len(value) or text != value:
        return None
    return atoms


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


# -- the inverse: the page with text replaced --------------------------------------------------------------

_ATTRIBUTE_KINDS = frozenset({"alt", "title-attribute", "placeholder"})
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
    if block.kind in _ATTRIBUTE_KINDS:
        return Edit(start, end, _attribute_escape(r.text, _quote(src, block)))
    if block.kind == "title":
        return Edit(start, end, html.escape(r.text, quote=False))
    inside = [i for i, t in enumerate(block.tags) if start <= t.start and t.end <= end]
    members = set(inside)
    tags = block.tags
    consumed: set[int] = set()
    placed: list[tuple[int, int, str]] = []  # (start, end) in r.text, the element's source
    for i in inside:
        t = tags[i]
        if i in consumed or t.kind != "start" or t.pair not in members:
            continue
        close = tags[t.pair]
        words = page.text[t.offset : close.offset].strip(_WS)
        at = _free_occurrence(r.text, words, placed) if words else -1
        if at < 0:
            continue
        placed.append((at, at + len(words), src[t.start : close.end]))
        consumed.update(j for j in inside if t.start <= tags[j].start and tags[j].end <= close.end)
    lead = [i for i in inside if tags[i].kind == "end" and tags[i].pair not in members]
    kept = [i for i in inside if i not in consumed and i not in lead]
    body: list[str] = []
    pos = 0
    for a, b, element in sorted(placed):
        body.append(html.escape(r.text[pos:a], quote=False))
        body.append(element)
        pos = b
    body.append(html.escape(r.text[pos:], quote=False))
    text = "".join(body)
    if r.attributes:
        attrs = "".join(f' {name}="{html.escape(value)}"' for name, value in r.attributes)
        text = f"<span{attrs}>{text}</span>"
    out = "".join(src[tags[i].start : tags[i].end] for i in lead) + text
    out += "".join(src[tags[i].start : tags[i].end] for i in kept)
    return Edit(start, end, out, tuple(_tag_name(src, tags[i]) for i in kept))


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
