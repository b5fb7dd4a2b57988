"""Context: the planner's second pass. A piece whose language the text alone could not settle (a
tentative verdict: Han that may be Japanese, a short Cyrillic line, a Latin sentence too short to
tell) takes the language of its neighbours (:func:`settle_by_neighbours`) or of the paragraph and
the document around it (:func:`settle_by_document`). The pieces are :class:`Piece`, the planner's
pieces of text before they become units.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass

from . import segment
from .detect import ZXX, Detection, Detector
from .document import Reason
from .languages import FAMILIES

#: How many lines away a neighbour may be and still settle a tentative verdict.
CONTEXT_LINES = 2


@dataclass(slots=True)
class Piece:
    """A piece of a line (a sentence, an inline run, an address, the whitespace between) and the
    language it is taken to be in."""

    start: int
    end: int
    detection: Detection
    line: int
    joins: tuple[segment.Join, ...] = ()
    reason: Reason | None = None  # address or code: kept verbatim
    gap: bool = False
    run: bool = False  # an inline run of another script inside a sentence


def settle_by_neighbours(pieces: Sequence[object]) -> None:
    """A tentative verdict takes the language of the nearest settled piece of the same family
    (Han among Japanese is Japanese, a short Cyrillic line among Ukrainian is Ukrainian), if one
    stands within :data:`CONTEXT_LINES` lines; the nearer one wins, the earlier one on a tie.
    Only foreign sentences settle each other: an inline run in an English sentence neither takes
    nor gives context."""
    settled: dict[str, list[tuple[int, int, str]]] = {}
    for index, piece in enumerate(pieces):
        if isinstance(piece, Piece) and not piece.detection.tentative and not piece.run:
            family = FAMILIES.get(piece.detection.lang)
            if family:
                settled.setdefault(family, []).append((index, piece.line, piece.detection.lang))
    if not settled:
        return
    for index, piece in enumerate(pieces):
        if not isinstance(piece, Piece) or not piece.detection.tentative or piece.run:
            continue
        candidates = settled.get(FAMILIES.get(piece.detection.lang, ""), [])
        k = bisect.bisect_left(candidates, (index,))
        near = [c for c in candidates[max(0, k - 1) : k + 1] if abs(c[1] - piece.line) <= CONTEXT_LINES]
        if near:
            _, _, lang = min(near, key=lambda c: (abs(c[0] - index), c[0] > index))
            piece.detection = Detection(lang, piece.detection.confidence)


#: Letters of one foreign language that make it the document's (or a paragraph's) language.
DOCUMENT_LETTERS = 40


def settle_by_document(pieces: Sequence[object], text: str, detector: Detector) -> None:
    """What the document already says settles what a sentence alone cannot: in a paragraph
    (a logical line) where one foreign language holds most of the letters, a sentence named as
    another language of its script, or as English without English evidence, takes that language
    when nothing in it rules the language out (:meth:`Detector.plausible`); elsewhere in the
    document, a short foreign sentence takes the language the document's longer foreign text
    is in, on the same condition. Inline runs in English sentences take no part."""
    sentences = [p for p in pieces if isinstance(p, Piece) and not p.gap and not p.run and p.reason is None]
    foreign_lines = {p.line for p in sentences if p.detection.lang not in ("en", ZXX, "und")}
    if not foreign_lines:
        return  # an English document: nothing to settle
    # Lengths stand for letters (counting letters would walk every English line in Python).
    letters = {id(p): p.end - p.start for p in sentences}
    by_line: dict[int, list[Piece]] = {}
    for p in sentences:
        if p.line in foreign_lines:
            by_line.setdefault(p.line, []).append(p)
    document: dict[str, float] = {}
    for line in by_line.values():
        weights = _foreign_letters(line, letters)
        for lang, n in weights.items():
            document[lang] = document.get(lang, 0) + n
        # The paragraph's language: a foreign one with most of its letters, English sentences
        # that show English words counted too ("Yes." does not; a dateline does not).
        english = sum(
            letters[id(p)]
            for p in line
            if p.detection.lang == "en" and detector.english_evidence(text[p.start : p.end])
        )
        lang = _dominant(weights, sum(weights.values()) + english)
        if lang is None or len(line) < 2:
            continue
        for p in line:
            if p.detection.lang in (lang, ZXX) or not any(c.isalpha() for c in text[p.start : p.end]):
                continue
            body = text[p.start : p.end]
            if p.detection.lang == "en" and detector.english_evidence(body):
                continue  # English by its own words
            # A paragraph seldom changes language: only the text's letters or script rule its
            # language out of another sentence of the paragraph.
            alternative = detector.plausible(body, lang, p.detection.lang, lenient=True)
            if alternative is not None:
                p.detection = alternative
    lang = _dominant(document)
    if lang is None:
        return
    for p in sentences:
        d = p.detection
        if d.lang in (lang, "en", ZXX, "und") or letters[id(p)] >= 60:
            continue
        alternative = detector.plausible(text[p.start : p.end], lang, d.lang)
        if alternative is not None:
            p.detection = alternative


def _foreign_letters(pieces: list[Piece], letters: dict[int, int]) -> dict[str, float]:
    """Letters per foreign language, each piece's weighed by its confidence."""
    weights: dict[str, float] = {}
    for p in pieces:
        d = p.detection
        if d.lang not in ("en", ZXX, "und"):
            weights[d.lang] = weights.get(d.lang, 0.0) + letters[id(p)] * d.confidence
    return weights


def _dominant(weights: dict[str, float], total: float | None = None) -> str | None:
    """The language with most of the (weighed) letters -- more than half of ``total`` (default:
    of the weighed letters), and enough."""
    if not weights:
        return None
    lang, n = max(weights.items(), key=lambda x: x[1])
    total = sum(weights.values()) if total is None else total
    return lang if n >= DOCUMENT_LETTERS and n * 2 > total else None
