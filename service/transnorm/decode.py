"""Decode stage: bytes → text. Text is UTF-8 with or without BOM; an HTML page is in the charset its
BOM, its HTTP ``Content-Type`` or its ``<meta charset>`` names (:func:`decode_html`). The stages after
this one see the text with CRLF/CR → LF and in NFC.

The input is kept exactly as decoded (``Decoded.raw``, without the BOM): every change made to get
the normalized text (``Decoded.text``) is an :class:`Edit`, so offsets into the normalized text map
back to the input (:meth:`Decoded.to_raw`), offsets into the input map to its bytes
(:meth:`Decoded.byte_offset`, in any charset), and the provenance can hand back the input byte for byte.
"""

from __future__ import annotations

import bisect
import codecs
import email.message
import functools
import hashlib
import re
import sys
import unicodedata
from dataclasses import dataclass, field

from .errors import CharsetError, DecodeError

_BOM = b"\xef\xbb\xbf"
_SURROGATE_RUN = re.compile("[\udc80-\udcff]+")

NEWLINE = "newline"
NFC = "unicode-nfc"


@dataclass(frozen=True)
class Replacement:
    """One invalid byte replaced by U+FFFD (only with ``errors="replace"``)."""

    byte_offset: int
    byte_hex: str


@dataclass(frozen=True, slots=True)
class Edit:
    """``raw[raw_start:raw_end]`` became ``text[start:end]``; ``reason`` is newline or unicode-nfc."""

    raw_start: int
    raw_end: int
    start: int
    end: int
    reason: str


@dataclass(frozen=True)
class Decoded:
    """The input as decoded (``raw``) and normalized (``text``), and what it took to get there."""

    text: str
    bytes: int
    bytes_sha256: str
    raw: str = ""
    edits: tuple[Edit, ...] = ()
    bom: bool = False
    crlf: int = 0
    cr: int = 0
    nfc_changed: bool = False
    replacements: tuple[Replacement, ...] = field(default=())
    #: The charset of the bytes (a WHATWG name: ``UTF-8``, ``windows-1251``, ``GBK`` ...).
    encoding: str = "UTF-8"
    #: Where the charset came from: ``bom``, ``http`` (Content-Type), ``meta`` (the page), ``default``.
    charset_from: str = "default"
    # (raw offset, byte offset, bytes per character) where the width changes; for charsets other than
    # UTF-8, made while decoding (UTF-8's are worked out from ``raw`` when first needed).
    widths: tuple[tuple[int, int, int], ...] = field(default=(), repr=False)

    def byte_offset(self, offset: int) -> int:
        """The offset in the input bytes (the BOM counted) of code-point offset ``offset`` into ``raw``."""
        runs = self._runs
        if not runs:
            return offset
        i = bisect.bisect_right(self._run_starts, offset) - 1
        start, byte, width = runs[max(i, 0)]
        return byte + (offset - start) * width

    @functools.cached_property
    def _runs(self) -> tuple[tuple[int, int, int], ...]:
        if self.widths:
            return self.widths
        return _utf8_widths(self.raw, 3 if self.bom else 0, {r.byte_offset for r in self.replacements})

    @functools.cached_property
    def _run_starts(self) -> list[int]:
        return [r[0] for r in self._runs]

    def to_raw(self, offset: int) -> int:
        """The offset in ``raw`` of an offset in ``text`` (inside an edit: where the edit starts)."""
        if not self.edits:
            return offset
        i = bisect.bisect_right(self._starts, offset) - 1
        if i < 0:
            return offset
        edit = self.edits[i]
        if offset >= edit.end:
            return edit.raw_end + (offset - edit.end)
        return edit.raw_start

    @functools.cached_property
    def _starts(self) -> list[int]:
        return [e.start for e in self.edits]


def decode(data: bytes | str, errors: str = "strict") -> Decoded:
    """Decode ``data``; ``errors`` is ``strict`` or ``replace``.

    Raises :class:`DecodeError` naming the byte offset of the first invalid byte.
    A ``str`` is taken as already decoded (it is still newline- and NFC-normalized).
    """
    raw_bytes = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else bytes(data)
    digest = hashlib.sha256(raw_bytes).hexdigest()
    if errors == "strict" and raw_bytes.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise DecodeError("input looks like UTF-16 (byte order mark at offset 0); send UTF-8", 0)
    bom = raw_bytes.startswith(_BOM)
    body = raw_bytes[len(_BOM) :] if bom else raw_bytes
    replacements: tuple[Replacement, ...] = ()
    if isinstance(data, str):
        bom = data.startswith("\ufeff")
        raw = data[1:] if bom else data
        if _has_surrogates(raw):
            raise DecodeError("text contains lone surrogate code points, which UTF-8 cannot hold", 0)
    elif errors == "strict":
        try:
            raw = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            offset = exc.start + (len(_BOM) if bom else 0)
            bad = body[exc.start : exc.start + 1].hex()
            raise DecodeError(
                f"invalid UTF-8 at byte offset {offset} (byte 0x{bad}: {exc.reason}); "
                "the input must be UTF-8 text (or ask for --errors replace, or the option errors: replace)",
                offset,
            ) from None
    elif errors == "replace":
        raw, replacements = _decode_replacing(body, len(_BOM) if bom else 0)
    else:
        raise ValueError(f"errors must be 'strict' or 'replace', not {errors!r}")
    text, edits = normalize(raw)
    crlf = sum(1 for e in edits if e.reason == NEWLINE and e.raw_end - e.raw_start == 2)
    cr = sum(1 for e in edits if e.reason == NEWLINE) - crlf
    return Decoded(
        text=text,
        bytes=len(raw_bytes),
        bytes_sha256=digest,
        raw=raw,
        edits=edits,
        bom=bom,
        crlf=crlf,
        cr=cr,
        nfc_changed=any(e.reason == NFC for e in edits),
        replacements=replacements,
    )


def normalize(raw: str) -> tuple[str, tuple[Edit, ...]]:
    """``raw`` with CRLF/CR → LF and in NFC, and the edits that took, each as small as it can be.

    Only clusters that can change are looked at: a CR (with its LF), a character NFC replaces by
    itself, and a character followed by combining or composing characters. The result is checked
    against NFC of the whole text, so an exotic case costs one larger edit, never a wrong one.
    """
    has_cr = "\r" in raw
    nfc = raw.isascii() or unicodedata.is_normalized("NFC", raw)
    if not has_cr and nfc:
        return raw, ()
    pattern = re.compile(r"\r\n?") if nfc else _clusters()
    parts: list[str] = []
    edits: list[Edit] = []
    raw_pos = out_pos = 0
    for m in pattern.finditer(raw):
        piece = m.group()
        new = piece.replace("\r\n", "\n").replace("\r", "\n") if "\r" in piece else piece
        new = unicodedata.normalize("NFC", new)
        if new == piece:
            continue
        kept = raw[raw_pos : m.start()]
        parts.append(kept)
        out_pos += len(kept)
        reason = NEWLINE if "\r" in piece else NFC
        edits.append(Edit(m.start(), m.end(), out_pos, out_pos + len(new), reason))
        parts.append(new)
        out_pos += len(new)
        raw_pos = m.end()
    parts.append(raw[raw_pos:])
    text = "".join(parts)
    expected = unicodedata.normalize("NFC", raw.replace("\r\n", "\n").replace("\r", "\n"))
    if text != expected:  # not seen in practice; one coarse edit keeps the mapping right
        return expected, (_coarse(raw, expected),)
    return text, tuple(edits)


def _coarse(raw: str, text: str) -> Edit:
    head = 0
    while head < min(len(raw), len(text)) and raw[head] == text[head]:
        head += 1
    tail = 0
    while tail < min(len(raw), len(text)) - head and raw[-1 - tail] == text[-1 - tail]:
        tail += 1
    return Edit(head, len(raw) - tail, head, len(text) - tail, NEWLINE if "\r" in raw else NFC)


@functools.lru_cache(maxsize=1)
def _clusters() -> re.Pattern[str]:
    """A pattern for the pieces NFC or newline normalization can change (built once, when needed)."""
    changes_alone = []  # NFC replaces the character on its own (singletons, compatibility ideographs)
    follows = []  # combines with what comes before it (combining marks, composing vowels, jamo)
    for cp in range(sys.maxunicode + 1):
        ch = chr(cp)
        if 0xD800 <= cp <= 0xDFFF:
            continue
        if unicodedata.combining(ch):
            follows.append(cp)
        elif unicodedata.normalize("NFC", ch) != ch:
            changes_alone.append(cp)
        decomposition = unicodedata.decomposition(ch)
        if decomposition and not decomposition.startswith("<"):
            parts = decomposition.split()
            if len(parts) == 2:
                follows.append(int(parts[1], 16))
    follows.extend(range(0x1161, 0x1176))  # Hangul vowels and trailing consonants compose
    follows.extend(range(0x11A8, 0x11C3))
    follow = _char_class(follows)
    alone = _char_class(changes_alone)
    return re.compile(rf"\r\n?|[^\r]{follow}+|{alone}{follow}*")


def _char_class(codepoints: list[int]) -> str:
    ranges: list[list[int]] = []
    for cp in sorted(set(codepoints)):
        if ranges and cp == ranges[-1][1] + 1:
            ranges[-1][1] = cp
        else:
            ranges.append([cp, cp])
    return (
        "[" + "".join(re.escape(chr(a)) + ("-" + re.escape(chr(b)) if b > a else "") for a, b in ranges) + "]"
    )


def _has_surrogates(text: str) -> bool:
    return not text.isascii() and re.search("[\ud800-\udfff]", text) is not None


def _decode_replacing(body: bytes, base: int) -> tuple[str, tuple[Replacement, ...]]:
    """Decode with each invalid byte → U+FFFD, recording the byte offsets."""
    escaped = body.decode("utf-8", "surrogateescape")
    if not _SURROGATE_RUN.search(escaped):
        return escaped, ()
    parts: list[str] = []
    found: list[Replacement] = []
    byte_pos = base
    last = 0
    for match in _SURROGATE_RUN.finditer(escaped):
        good = escaped[last : match.start()]
        parts.append(good)
        byte_pos += len(good.encode("utf-8"))
        for ch in match.group():
            value = ord(ch) - 0xDC00
            found.append(Replacement(byte_pos, f"{value:02x}"))
            parts.append("\ufffd")
            byte_pos += 1
        last = match.end()
    parts.append(escaped[last:])
    return "".join(parts), tuple(found)


_UTF8_WIDTH = re.compile("[\x00-\x7f]+|[\x80-\u07ff]+|[\u0800-\uffff]+|[\U00010000-\U0010ffff]+")


def _utf8_widths(raw: str, base: int, replaced: set[int]) -> tuple[tuple[int, int, int], ...]:
    """Runs of characters of one UTF-8 width; a U+FFFD that replaced an invalid byte is one byte."""
    runs: list[tuple[int, int, int]] = []
    byte = base
    for m in _UTF8_WIDTH.finditer(raw):
        chunk = m.group()
        first = chunk[0]
        width = 1 if first < "\x80" else 2 if first < "\u0800" else 3 if first < "\U00010000" else 4
        if width == 3 and replaced and "\ufffd" in chunk:  # rare: around the replacement characters
            for k, ch in enumerate(chunk):
                w = 1 if ch == "\ufffd" and byte in replaced else 3
                if not runs or runs[-1][2] != w:
                    runs.append((m.start() + k, byte, w))
                byte += w
            continue
        if not runs or runs[-1][2] != width:
            runs.append((m.start(), byte, width))
        byte += width * len(chunk)
    return tuple(runs)


# -- HTML pages: the charset (WHATWG encoding sniffing) ---------------------------------------------------

# The charsets whose WHATWG decoder reads more than one byte per character, and the Python codec that
# decodes as it does (with an incremental decoder, so each character's bytes are known).
_MULTIBYTE = {
    "GBK": "gb18030",  # the WHATWG gbk decoder is the gb18030 one
    "gb18030": "gb18030",
    "Big5": "big5hkscs",
    "EUC-JP": "euc_jp",
    "ISO-2022-JP": "iso2022_jp",
    "Shift_JIS": "cp932",
    "EUC-KR": "cp949",
    "UTF-16LE": "utf-16-le",
    "UTF-16BE": "utf-16-be",
}
_BOMS = ((b"\xef\xbb\xbf", "UTF-8"), (b"\xff\xfe", "UTF-16LE"), (b"\xfe\xff", "UTF-16BE"))
_HIGH = re.compile(rb"[\x80-\xff]")


def charset_parameter(content_type: str | None) -> str | None:
    """The ``charset`` of an HTTP ``Content-Type`` value, or None."""
    if not content_type:
        return None
    message = email.message.Message()
    message["content-type"] = content_type
    value = message.get_param("charset")
    return value.strip() if isinstance(value, str) and value.strip() else None


def decode_html(data: bytes | str, content_type: str | None = None, errors: str = "strict") -> Decoded:
    """Decode an HTML page. The charset is the BOM's, else the ``charset`` of ``content_type`` (the HTTP
    header), else the page's own ``<meta charset>`` or ``http-equiv`` declaration (the WHATWG prescan of
    its first 1024 bytes, comments and all), else UTF-8. ``errors`` is ``strict`` or ``replace``.

    Raises :class:`~transnorm.errors.CharsetError` (a :class:`DecodeError`) naming the byte offset of the
    first byte the charset cannot decode, or when no charset is declared and the page is not UTF-8 (with
    the charset it looks like). A ``str`` is taken as already decoded.
    """
    if isinstance(data, str):
        decoded = decode(data, errors)
        return _with_charset(decoded, "UTF-8", "caller", ())
    if errors not in ("strict", "replace"):
        raise ValueError(f"errors must be 'strict' or 'replace', not {errors!r}")
    import turbohtml  # the WHATWG sniffing algorithm and decoders (imported only for pages)
    import turbohtml.detect  # registers the whatwg-* codecs

    label = charset_parameter(content_type)
    source = "http" if label else "meta"
    try:
        doc = turbohtml.parse(data, encoding=label) if label else turbohtml.parse(data)
    except LookupError:  # an HTTP charset no browser knows is ignored, as browsers do
        label, source = None, "meta"
        doc = turbohtml.parse(data)
    encoding = doc.encoding or "UTF-8"
    for bom, name in _BOMS:
        if data.startswith(bom):
            encoding, source = name, "bom"
            break
    else:
        if doc.encoding_confidence != "certain":  # nothing declared: UTF-8, or a clear error
            encoding, source = "UTF-8", "default"
            if errors == "strict":
                try:
                    data.decode("utf-8")
                except UnicodeDecodeError as exc:
                    guess = doc.encoding or "another charset"
                    raise CharsetError(
                        f"the page is not UTF-8 (byte 0x{data[exc.start]:02x} at byte offset {exc.start}) "
                        f"and declares no charset; it looks like {guess}: send it with Content-Type: "
                        f'text/html; charset={guess}, or add <meta charset="{guess}">',
                        exc.start,
                    ) from None
    if encoding == "UTF-8":
        return _with_charset(decode(data, errors), encoding, source, ())
    bom = next((b for b, name in _BOMS if name == encoding and data.startswith(b)), b"")
    body = data[len(bom) :]
    if encoding in _MULTIBYTE:
        raw, widths, replacements = _decode_multibyte(body, encoding, _MULTIBYTE[encoding], len(bom), errors)
    else:
        raw, widths, replacements = _decode_single_byte(body, encoding, len(bom), errors)
    text, edits = normalize(raw)
    crlf = sum(1 for e in edits if e.reason == NEWLINE and e.raw_end - e.raw_start == 2)
    return Decoded(
        text=text,
        bytes=len(data),
        bytes_sha256=hashlib.sha256(data).hexdigest(),
        raw=raw,
        edits=edits,
        bom=bool(bom),
        crlf=crlf,
        cr=sum(1 for e in edits if e.reason == NEWLINE) - crlf,
        nfc_changed=any(e.reason == NFC for e in edits),
        replacements=replacements,
        encoding=encoding,
        charset_from=source,
        widths=widths,
    )


def _with_charset(decoded: Decoded, encoding: str, source: str, widths: tuple) -> Decoded:
    return Decoded(
        **{
            name: getattr(decoded, name)
            for name in Decoded.__dataclass_fields__
            if name not in ("encoding", "charset_from", "widths")
        },
        encoding=encoding,
        charset_from=source,
        widths=widths,
    )


def _undecodable(encoding: str, offset: int, byte: int) -> CharsetError:
    return CharsetError(
        f"byte 0x{byte:02x} at byte offset {offset} is not {encoding}, the page's charset "
        "(or ask for --errors replace, or the option errors: replace)",
        offset,
    )


def _decode_single_byte(
    body: bytes, encoding: str, base: int, errors: str
) -> tuple[str, tuple[tuple[int, int, int], ...], tuple[Replacement, ...]]:
    """A single-byte charset with its WHATWG decoder: one character per byte, U+FFFD for a byte its index
    leaves out."""
    raw = body.decode(f"whatwg-{encoding.lower()}")
    replacements: tuple[Replacement, ...] = ()
    if "\ufffd" in raw:
        bad = [i for i, ch in enumerate(raw) if ch == "\ufffd"]
        if errors == "strict":
            raise _undecodable(encoding, base + bad[0], body[bad[0]])
        replacements = tuple(Replacement(base + i, f"{body[i]:02x}") for i in bad)
    return raw, ((0, base, 1),), replacements


def _decode_multibyte(
    body: bytes, encoding: str, codec: str, base: int, errors: str
) -> tuple[str, tuple[tuple[int, int, int], ...], tuple[Replacement, ...]]:
    """A multi-byte charset, decoded so that each character's bytes are known: ASCII runs at once (a byte
    below 0x80 at a character's start is one character in all of them but UTF-16 and ISO-2022-JP), the
    rest a byte at a time through the codec's incremental decoder."""
    decoder = codecs.getincrementaldecoder(codec)("strict")
    ascii_runs = encoding not in ("UTF-16LE", "UTF-16BE", "ISO-2022-JP")
    parts: list[str] = []
    runs: list[tuple[int, int, int]] = []
    replacements: list[Replacement] = []
    chars = 0
    i = 0
    n = len(body)

    def add(text: str, byte: int, width: int) -> None:
        nonlocal chars
        if not runs or runs[-1][2] != width or width == 0:
            runs.append((chars, byte, width))
        parts.append(text)
        chars += len(text)

    while i < n:
        if ascii_runs and body[i] < 0x80:
            m = _HIGH.search(body, i)
            end = n if m is None else m.start()
            add(body[i:end].decode("ascii"), base + i, 1)
            i = end
            continue
        start = i
        out = ""
        while i < n and not out:
            try:
                out = decoder.decode(body[i : i + 1], final=i + 1 == n)
            except UnicodeDecodeError:
                if errors == "strict":
                    raise _undecodable(encoding, base + start, body[start]) from None
                decoder.reset()
                replacements.append(Replacement(base + start, f"{body[start]:02x}"))
                out = "\ufffd"
                i = start
            i += 1
        if not out:  # the input ends inside a character
            if errors == "strict":
                raise _undecodable(encoding, base + start, body[start])
            replacements.append(Replacement(base + start, f"{body[start]:02x}"))
            out, i = "\ufffd", n
        width = i - start
        if len(out) == 1:
            add(out, base + start, width)
        else:  # one step gave several characters (a surrogate pair, a stateful charset)
            for k, ch in enumerate(out):
                add(ch, base + start + (width if k else 0), width if k == 0 else 0)
    return "".join(parts), tuple(runs), tuple(replacements)
