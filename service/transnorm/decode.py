"""Decode stage: bytes → text. UTF-8 with or without BOM, CRLF/CR → LF, NFC.

All offsets elsewhere are code points into the text this stage returns ("the decoded source").
What this stage changes about the bytes (BOM, line endings, NFC, replaced bytes) is recorded in
:class:`Decoded`, so the original bytes stay accountable.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field

from .errors import DecodeError

_BOM = b"\xef\xbb\xbf"
_SURROGATE_RUN = re.compile("[\udc80-\udcff]+")


@dataclass(frozen=True)
class Replacement:
    """One invalid byte replaced by U+FFFD (only with ``errors="replace"``)."""

    byte_offset: int
    byte_hex: str


@dataclass(frozen=True)
class Decoded:
    text: str
    bytes: int
    bytes_sha256: str
    bom: bool = False
    crlf: int = 0
    cr: int = 0
    nfc_changed: bool = False
    replacements: tuple[Replacement, ...] = field(default=())


def decode(data: bytes | str, errors: str = "strict") -> Decoded:
    """Decode ``data`` to normalized text; ``errors`` is ``strict`` or ``replace``.

    Raises :class:`DecodeError` naming the byte offset of the first invalid byte.
    A ``str`` is taken as already decoded (still newline- and NFC-normalized).
    """
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else bytes(data)
    digest = hashlib.sha256(raw).hexdigest()
    if errors == "strict" and raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise DecodeError("input looks like UTF-16 (byte order mark at offset 0); send UTF-8", 0)
    bom = raw.startswith(_BOM)
    body = raw[len(_BOM) :] if bom else raw
    replacements: tuple[Replacement, ...] = ()
    if isinstance(data, str):
        text = data[1:] if data.startswith("\ufeff") else data
        bom = data.startswith("\ufeff")
        if _has_surrogates(text):
            raise DecodeError("text contains lone surrogate code points, which UTF-8 cannot hold", 0)
    elif errors == "strict":
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            offset = exc.start + (len(_BOM) if bom else 0)
            bad = body[exc.start : exc.start + 1].hex()
            raise DecodeError(
                f"invalid UTF-8 at byte offset {offset} (byte 0x{bad}: {exc.reason}); "
                "the input must be UTF-8 text (or ask for errors=replace)",
                offset,
            ) from None
    elif errors == "replace":
        text, replacements = _decode_replacing(body, len(_BOM) if bom else 0)
    else:
        raise ValueError(f"errors must be 'strict' or 'replace', not {errors!r}")

    crlf = text.count("\r\n")
    cr = text.count("\r") - crlf
    if crlf or cr:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    nfc_changed = False
    if not text.isascii() and not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
        nfc_changed = True
    return Decoded(
        text=text,
        bytes=len(raw),
        bytes_sha256=digest,
        bom=bom,
        crlf=crlf,
        cr=cr,
        nfc_changed=nfc_changed,
        replacements=replacements,
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
