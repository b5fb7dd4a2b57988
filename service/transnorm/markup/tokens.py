"""HTML as the WHATWG tokenizer reads it: character references, where markup ends, and a text node aligned on
the source characters it came from (the parser gives tags positions, not text)."""

from __future__ import annotations

import re
from html.entities import html5 as _ENTITIES

#: ASCII whitespace, as HTML defines it.
WS = " \t\n\f\r"
_WS = WS
# (text_start, text_end, src_start, src_end) relative to the node's data / absolute in the source
Atom = tuple[int, int, int, int]

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


def decode_text(src: str, attribute: bool = False) -> str:
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
) -> tuple[list[Atom], list[tuple[int, int]], int] | None:
    """Match a text node's ``data`` against ``src`` from ``p``: the atoms, the markup skipped inside it (a
    comment, a tag the parser ignored) and where it ends; None when it is not there.

    ``known``: where the tags of elements start (text never runs through one unless ``permissive``);
    ``state``: the tokenizer's: ``data``, ``foreign`` (SVG, MathML: CDATA sections are text), ``rcdata``
    (``<title>``: ``<`` is text) or ``rawtext`` (``<xmp>``: ``&`` too); ``drop_newline``: the first
    child of ``<pre>`` or ``<listing>``, whose leading newline the parser drops.
    """
    atoms: list[Atom] = []
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
        step = _special(src, p, data, i, state, atoms, skipped)
        if step is None:
            step = _markup(src, p, data, i, known, permissive, atoms, skipped)
        if step is None:
            return None
        p, i = step
    return atoms, skipped, p


def _special(
    src: str, p: int, data: str, i: int, state: str, atoms: list[Atom], skipped: list[tuple[int, int]]
) -> tuple[int, int] | None:
    """A CR, a NUL, a character reference or CDATA at ``src[p]`` matched against ``data[i:]``: the new
    ``(p, i)``, or None (not one of these, or it does not match; :func:`_markup` decides)."""
    ch = src[p]
    if ch == "\r":
        if data[i] != "\n":
            return None
        q = p + 2 if src.startswith("\n", p + 1) else p + 1
        atoms.append((i, i + 1, p, q))
        return q, i + 1
    if ch == "\0":
        if data[i] == "\ufffd":
            atoms.append((i, i + 1, p, p + 1))
            return p + 1, i + 1
        return p + 1, i  # the parser dropped it
    if ch == "&":
        ref = charref(src, p) if state != "rawtext" else None
        if ref is not None and data.startswith(ref[0], i):
            atoms.append((i, i + len(ref[0]), p, ref[1]))
            return ref[1], i + len(ref[0])
        if data[i] == "&":
            atoms.append((i, i + 1, p, p + 1))
            return p + 1, i + 1
        return None
    if state == "foreign" and src.startswith("<![CDATA[", p):  # text, in SVG and MathML
        n = len(src)
        close = src.find("]]>", p + 9)
        close = n if close < 0 else close
        cdata = src[p + 9 : close].replace("\r\n", "\n").replace("\r", "\n")
        if not data.startswith(cdata, i):
            return None
        if cdata:
            atoms.append((i, i + len(cdata), p + 9, close))
        skipped.append((p, p + 9))
        return min(close + 3, n), i + len(cdata)
    return None


def _markup(
    src: str,
    p: int,
    data: str,
    i: int,
    known: frozenset[int],
    permissive: bool,
    atoms: list[Atom],
    skipped: list[tuple[int, int]],
) -> tuple[int, int] | None:
    """A ``<`` at ``src[p]``: markup inside the text node (skipped), or a literal ``<``; None when it is the
    tag of an element the parser located (the text node cannot run through it) or does not match."""
    if src[p] != "<":
        return None
    end = markup_end(src, p)
    if end is None:
        if data[i] != "<":
            return None
        atoms.append((i, i + 1, p, p + 1))
        return p + 1, i + 1
    if p in known and not permissive:
        return None
    skipped.append((p, end))
    return end, i


def _attribute_value(src: str, start: int, end: int) -> tuple[int, int]:
    """The value's range inside an attribute's ``name="value"`` source."""
    eq = src.find("=", start + 1, end)
    if eq < 0:
        return end, end
    k = _SPACES.match(src, eq + 1).end()
    if k < end and src[k] in "\"'":
        return k + 1, max(k + 1, end - 1 if src[end - 1] == src[k] else end)
    return k, end


def _attribute_atoms(raw_value: str, base: int, value: str) -> list[Atom] | None:
    """Atoms of an attribute value (references resolved by the attribute rules), checked against ``value``."""
    atoms: list[Atom] = []
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
