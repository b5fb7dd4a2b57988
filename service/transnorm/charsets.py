"""Decode stage for HTML pages: the charset (WHATWG encoding sniffing: the BOM, the HTTP
``Content-Type``, the page's ``<meta charset>``), and decoding in it so that every character's bytes
are known (:attr:`~transnorm.decode.Decoded.widths`): the same :class:`~transnorm.decode.Decoded` as
text gets, with offsets that map back to the page's bytes in its own charset.
"""

from __future__ import annotations

import codecs
import email.message
import hashlib
import re

from .decode import NEWLINE, NFC, Decoded, Replacement, decode, normalize
from .errors import CharsetError

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
    encoding, source = _sniff(data, content_type, errors)
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


def _sniff(data: bytes, content_type: str | None, errors: str) -> tuple[str, str]:
    """The page's charset and where it came from: ``bom``, ``http``, ``meta`` or ``default`` (UTF-8,
    when nothing is declared: a page that is not UTF-8 is then a :class:`CharsetError` with ``strict``)."""
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
    return encoding, source


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
