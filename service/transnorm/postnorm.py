"""Post-normalize stage: the output text — CJK punctuation to English, no doubled sentence
punctuation, spacing where translations meet the text around them, and whitespace left by removed
lines. Pure functions over strings and over the settled units of a plan: :func:`postnormalize`
takes units and returns new ones, the inputs left as they were."""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from collections.abc import Sequence
from typing import Protocol, TypeVar

from .document import Action, Reason

_PUNCT = str.maketrans(
    {
        "，": ", ",
        "、": ", ",
        "。": ". ",
        "．": ".",
        "：": ": ",
        "；": "; ",
        "！": "! ",
        "？": "? ",
        "（": "(",
        "）": ")",
        "【": "[",
        "】": "]",
        "〔": "[",
        "〕": "]",
        "《": "“",
        "》": "”",
        "〈": "“",
        "〉": "”",
        "「": "“",
        "」": "”",
        "『": "‘",
        "』": "’",
        "　": " ",
        "～": "~",
    }
)
_SPACE_BEFORE = re.compile(r"\s+([,;:!?.)\]”’])")
_COMMA_SPACE = re.compile(r"([,;])(?=[^\W\d_])")
_DOUBLED = re.compile(r"([.!?])(?:\s*[.!?])+")
_DASHES = re.compile(r"——|－－")
_SPACES = re.compile(r"[ \t]{2,}")


def english_punctuation(text: str) -> str:
    """Map CJK punctuation and fullwidth forms to their English equivalents, with English spacing."""
    if text.isascii():
        out = text
    else:
        out = _DASHES.sub("—", text).translate(_PUNCT)
        # Fullwidth ASCII variants (ＡＢＣ１２３) → ASCII.
        out = "".join(unicodedata.normalize("NFKC", c) if "\uff01" <= c <= "\uff5e" else c for c in out)
    out = _SPACE_BEFORE.sub(r"\1", out)
    out = _COMMA_SPACE.sub(r"\1 ", out)
    out = _collapse_doubled(out)
    return _SPACES.sub(" ", out).strip()


def _collapse_doubled(text: str) -> str:
    """ "Done.." → "Done.", "Why?." → "Why?"; an ellipsis "..." is left alone."""

    def repl(m: re.Match[str]) -> str:
        marks = "".join(m.group(0).split())
        if len(marks) >= 3 and set(marks) == {"."}:
            return "..."
        return m.group(1)

    return _DOUBLED.sub(repl, text)


def join_space(before: str, text: str) -> str:
    """The text to insert between output ``before`` and a translated ``text`` ("" or " ")."""
    if not before or not text:
        return ""
    last, first = before[-1], text[0]
    if last.isspace() or first.isspace():
        return ""
    if first in ",.;:!?)]}”’%":
        return ""
    if last in "([{“‘/-–—":
        return ""
    return " "


def trailing_space(text: str, after: str) -> str:
    """The text to insert between a translated ``text`` and the output that follows it."""
    if not text or not after:
        return ""
    last, first = text[-1], after[0]
    if last.isspace() or first.isspace() or first in ",.;:!?)]}”’%":
        return ""
    if first.isalnum() or first in "“‘([":
        return " "
    return ""


class Piece(Protocol):
    """What the passes below need of a settled unit of the plan."""

    action: Action
    text: str
    reason: Reason | None
    gap: bool
    alternatives: tuple[str, ...]


P = TypeVar("P", bound=Piece)


def postnormalize(pieces: Sequence[P], source_ends_with_newline: bool) -> list[P]:
    """The settled units of a document as they go into its output: translations spaced from
    their neighbours, whitespace left by removals tidied. Returns new units."""
    return tidy_whitespace(space_translations(pieces), source_ends_with_newline)


def space_translations(pieces: Sequence[P]) -> list[P]:
    """Put a space between a translation and neighbouring output where English needs one
    (alternatives get the same spacing as the translation they stand in for)."""
    out: list[P] = list(pieces)
    following = _following(pieces)
    out_tail = ""
    for i, piece in enumerate(out):
        if piece.action == Action.REMOVED:
            continue
        if piece.action == Action.TRANSLATED:
            lead = join_space(out_tail, piece.text)
            text = lead + piece.text
            nxt = following[i]
            # A following translation adds its own leading space.
            trail = ""
            if nxt is not None and nxt.action != Action.TRANSLATED:
                trail = trailing_space(text, nxt.text)
            piece = out[i] = dataclasses.replace(  # type: ignore[type-var]
                piece,
                text=text + trail,
                alternatives=tuple(lead + alt + trail for alt in piece.alternatives),
            )
        if piece.text:
            out_tail = piece.text
    return out


def _following(pieces: Sequence[P]) -> list[P | None]:
    """For each piece, the next one that is output and not empty (one pass from the end: looking
    ahead from every translation was quadratic in a document of many)."""
    following: list[P | None] = [None] * len(pieces)
    nxt: P | None = None
    for i in range(len(pieces) - 1, -1, -1):
        following[i] = nxt
        if pieces[i].action != Action.REMOVED and pieces[i].text:
            nxt = pieces[i]
    return following


def tidy_whitespace(pieces: Sequence[P], source_ends_with_newline: bool) -> list[P]:
    """After removed lines, keep at most one blank line, none at the start or the end."""

    def is_gap(piece: Piece) -> bool:
        return piece.gap and piece.action == Action.KEPT

    seen_content = False
    after_removal = False
    newlines = 0  # trailing newlines of the output so far
    last_content = max(
        (i for i, p in enumerate(pieces) if p.action != Action.REMOVED and not is_gap(p)), default=-1
    )
    removal_after_last = any(p.action == Action.REMOVED for p in pieces[last_content + 1 :])
    out: list[P] = []
    for i, piece in enumerate(pieces):
        out.append(piece)
        if piece.action == Action.REMOVED:
            after_removal = True
            continue
        if is_gap(piece):
            new = piece.text
            if after_removal and not seen_content:
                new = ""
            elif i > last_content and removal_after_last:
                new = "\n" if source_ends_with_newline and newlines == 0 else ""
            elif after_removal:
                allowed = max(0, 2 - newlines)
                extra = new.count("\n") - allowed
                if extra > 0:
                    new = new.replace("\n", "", extra)
            if new != piece.text:
                piece = out[-1] = dataclasses.replace(  # type: ignore[type-var]
                    piece, action=Action.NORMALIZED, text=new, reason=Reason.WHITESPACE
                )
        else:
            seen_content = True
            after_removal = False
        if piece.text:
            stripped = piece.text.rstrip("\n")
            if stripped.strip(" \t"):
                newlines = len(piece.text) - len(stripped)
            else:
                newlines += piece.text.count("\n")
    return out
