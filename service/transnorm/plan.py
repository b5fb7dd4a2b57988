"""Plan stage: decide what happens to every piece of a document's text.

:func:`plan_document` takes the decoded text through three passes: it cuts the text into pieces
(lines, sentences, inline runs of another script, addresses and code, the whitespace between) and
detects the language of each; it lets a piece whose language the text alone could not settle
take the language of its neighbours (:mod:`transnorm.context`); and it turns each piece into
units, settled (kept, normalized, removed, untranslated) or :class:`Pending` translation with the
:class:`~transnorm.translate.Request` to send, a passage of at most :data:`transnorm.route.PASSAGE`
characters each (:mod:`transnorm.route`). Units tile the text. Plans are plain picklable data,
so the translation can happen elsewhere (another thread or process).
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping
from dataclasses import dataclass, field

from . import chrome, context, htmlpage, route, segment
from .context import Piece
from .decode import Decoded
from .detect import NO_LANGUAGE, ZXX, Detection, Detector
from .document import Action, Reason, UpstreamNotice
from .evidence import to_simplified
from .htmlpage import LineHint, PageSource
from .options import Options
from .packages import PackageInfo
from .scripts import is_latin_only
from .translate import Request


@dataclass(frozen=True, slots=True)
class Unit:
    """A settled piece of the text: its action and output are known."""

    start: int
    end: int
    action: Action
    detection: Detection
    text: str
    reason: Reason | None = None
    #: Whitespace between lines or sentences (post-normalization may tidy it).
    gap: bool = False
    #: For translated units: the package, its score and the next-best translations.
    package: PackageInfo | None = None
    score: float | None = None
    alternatives: tuple[str, ...] = ()
    conversion: str | None = None
    rejected_text: str | None = None


@dataclass(frozen=True, slots=True)
class Pending:
    """A piece of foreign text waiting for its translation (:func:`transnorm.assemble.settle`
    gives it its result)."""

    start: int
    end: int
    detection: Detection
    request: Request
    package: PackageInfo
    conversion: str | None = None


@dataclass
class Plan:
    """A document after planning, before translation."""

    decoded: Decoded
    options: Options
    id: str | None
    units: list[Unit | Pending]
    notices: list[UpstreamNotice] = field(default_factory=list)
    #: An HTML page: the units tile its reader text (``page.reader.text``), not ``decoded.text``.
    page: PageSource | None = None

    @property
    def pending(self) -> list[Pending]:
        return [u for u in self.units if isinstance(u, Pending)]

    @property
    def text(self) -> str:
        """The text the units tile: the document's, or a page's reader text."""
        return self.page.reader.text if self.page is not None else self.decoded.text


def plan_document(
    decoded: Decoded,
    options: Options,
    detector: Detector,
    packages: Mapping[str, PackageInfo],
    doc_id: str | None = None,
    page: PageSource | None = None,
) -> Plan:
    """Plan ``decoded``: ``packages`` are those translating into ``options.target``, by source. For an
    HTML ``page`` (read from ``decoded``) the plan is over its reader text: a line per block, never one
    across blocks, with what the page says about each (:func:`transnorm.htmlpage.page_lines`)."""
    plan = Plan(decoded, options, doc_id, [], page=page)
    text = plan.text
    hints: list[LineHint] | None = None
    if page is None:
        lines = segment.lines(text)
    else:
        lines, hints = htmlpage.page_lines(page)
    verdicts = chrome.classify(text, lines)
    pieces: list[Piece | Unit] = []
    pos = 0
    for i, line in enumerate(lines):
        _gap(pieces, pos, line.start, i)
        body = text[line.start : line.end]
        hint = hints[i] if hints is not None else None
        if hint is not None and htmlpage.kept_whole(hint, options.chrome):
            action = Action.REMOVED if hint.chrome and options.chrome == "remove" else Action.KEPT
            pieces.append(Unit(line.start, line.end, action, detector.detect(body), body, hint.keep))
            pos = line.end
            continue
        if line.code:
            pieces.append(Piece(line.start, line.end, NO_LANGUAGE, i, reason=Reason.CODE))
            pos = line.end
            continue
        verdict = verdicts.get(i)
        if verdict is not None and verdict.service:
            plan.notices.append(UpstreamNotice(verdict.service, body))
        if verdict is not None and options.chrome == "remove":
            end = line.end + 1 if page is None and text.startswith("\n", line.end) else line.end
            pieces.append(Unit(line.start, end, Action.REMOVED, detector.detect(body), body, verdict.reason))
            pos = end
            continue
        pos = line.start
        first = len(pieces)
        for sentence in segment.sentences(text, line):
            _gap(pieces, pos, sentence.start, i, line.joins)
            start = len(pieces)
            if hint is not None:
                sentence = htmlpage.with_hint(sentence, hint)
            _sentence_pieces(pieces, text, sentence, detector, options, i)
            if hint is not None and options.source == "auto":
                htmlpage.apply_priors(pieces[start:], text, hint, detector)
            pos = sentence.end
        _gap(pieces, pos, line.end, i, line.joins)
        _merge_english(pieces, first)
        pos = line.end
    _gap(pieces, pos, len(text), len(lines))
    context.settle_by_neighbours(pieces)
    context.settle_by_document(pieces, text, detector)
    for piece in pieces:
        if isinstance(piece, Unit):
            plan.units.append(piece)
        else:
            _units(plan.units, text, piece, packages, options)
    if page is not None and hints is not None:
        # An attribute value inside a passage to translate (an image in a foreign sentence) stays in
        # that passage's markup, as it is.
        pending = [(u.start, u.end) if isinstance(u, Pending) else None for u in plan.units]
        for k in htmlpage.nested_attributes(page, lines, hints, pending):
            u = plan.units[k]
            body = text[u.start : u.end]
            plan.units[k] = Unit(u.start, u.end, Action.KEPT, u.detection, body, Reason.MARKUP)
    return plan


def _merge_english(pieces: list[Piece | Unit], first: int) -> None:
    """A line that is all English sentences and the spaces between them is one piece (most
    lines of most documents: fewer objects on the fast path)."""
    if len(pieces) - first < 2:
        return
    detection = None
    for piece in pieces[first:]:
        if not isinstance(piece, Piece) or piece.joins or piece.reason is not None or piece.run:
            return
        if piece.gap:
            continue
        if piece.detection.lang != "en":
            return
        if detection is None or piece.detection.confidence < detection.confidence:
            detection = piece.detection
    if detection is not None:
        line = pieces[first]
        pieces[first:] = [Piece(line.start, pieces[-1].end, detection, line.line)]


def joins_in(joins: tuple[segment.Join, ...], start: int, end: int) -> tuple[segment.Join, ...]:
    """The ``joins`` (in order) wholly inside ``[start, end)``, found by bisection: a line's
    sentences and pieces each take theirs without going through all of the line's."""
    if not joins:
        return ()
    i = bisect.bisect_left(joins, start, key=lambda j: j.start)
    k = bisect.bisect_left(joins, end, lo=i, key=lambda j: j.start)
    return tuple(j for j in joins[i:k] if j.end <= end)


def _gap(
    pieces: list[Piece | Unit], start: int, end: int, line: int, joins: tuple[segment.Join, ...] = ()
) -> None:
    """Whitespace between lines or sentences (with the joins of the line that fall in it)."""
    if start < end:
        pieces.append(Piece(start, end, NO_LANGUAGE, line, joins_in(joins, start, end), gap=True))


def _sentence_pieces(
    pieces: list[Piece | Unit],
    text: str,
    sentence: segment.Sentence,
    detector: Detector,
    options: Options,
    line: int,
) -> None:
    """A sentence as pieces: the host text, its inline runs (detected on their own) and its
    addresses and code (kept verbatim); the joins inside go to the piece that holds them."""
    start, end, joins = sentence.start, sentence.end, sentence.joins
    auto = options.source == "auto"
    marks: list[tuple[int, int, Reason | None]] = []
    for s, e, reason in sentence.verbatim:
        if reason != Reason.GLOSS or options.glosses == "keep":
            marks.append((s, e, reason))
        elif auto and not is_latin_only(text[s:e]):
            marks.append((s, e, None))  # glosses: translate, as a run of another script
    if auto:
        marks.extend((s, e, None) for s, e in sentence.runs)
    marks.sort()
    if not marks:
        body = text[start:end]
        if auto and sentence.script == "Latin":
            detection = detector.detect_latin(body)
        else:
            detection = _detect(detector, body, options)
        pieces.append(Piece(start, end, detection, line, joins))
        return
    cut: list[tuple[int, int, str, Reason | None]] = []  # (start, end, kind, reason)
    pos = start
    for s, e, reason in marks:
        if pos < s:
            cut.append((pos, s, "host", None))
        cut.append((s, e, "run" if reason is None else "verbatim", reason))
        pos = e
    if pos < end:
        cut.append((pos, end, "host", None))
    host = _detect(detector, " ".join(text[s:e] for s, e, kind, _ in cut if kind == "host"), options)
    for s, e, kind, reason in cut:
        inside = joins_in(joins, s, e)
        if kind == "verbatim":
            # A gloss in another script says which language it is in; its action stays "kept".
            glossed = reason == Reason.GLOSS and not is_latin_only(text[s:e])
            detection = detector.detect(text[s:e]) if glossed else NO_LANGUAGE
            pieces.append(Piece(s, e, detection, line, inside, reason))
        elif not any(c.isalpha() for c in text[s:e]):
            pieces.append(Piece(s, e, NO_LANGUAGE, line, inside))
        else:
            detection = detector.detect(text[s:e]) if kind == "run" else host
            pieces.append(Piece(s, e, detection, line, inside, run=kind == "run"))


def _detect(detector: Detector, body: str, options: Options) -> Detection:
    if options.source == "auto":
        return detector.detect(body)
    # The caller said what language the text is in: no detection.
    return Detection(options.source, 1.0) if any(c.isalpha() for c in body) else NO_LANGUAGE


def _units(
    units: list[Unit | Pending],
    text: str,
    piece: Piece,
    packages: Mapping[str, PackageInfo],
    options: Options,
) -> None:
    start, end, detection, joins = piece.start, piece.end, piece.detection, piece.joins
    if piece.reason is not None:
        units.append(Unit(start, end, Action.KEPT, piece.detection, text[start:end], piece.reason))
        return
    if piece.gap or detection.lang in (options.target, ZXX):
        _kept(units, text, start, end, detection, joins, piece.gap)
        return
    package, conversion = route.package_for(detection.lang, packages)
    if package is None:
        units.append(Unit(start, end, Action.UNTRANSLATED, detection, text[start:end], Reason.NO_MODEL))
        return
    pos = start
    for s, e in route.passages(text, start, end):
        if pos < s:  # the whitespace where an overlong sentence was cut
            _kept(units, text, pos, s, NO_LANGUAGE, joins_in(joins, pos, s), gap=True)
        inside = joins if (s, e) == (start, end) else joins_in(joins, s, e)
        # The model sees hard-wrapped lines joined.
        parts, at = [], s
        for join in inside:
            parts += (text[at : join.start], join.text)
            at = join.end
        query = "".join(parts) + text[at:e]
        if conversion == "t2s":
            query = to_simplified(query)
        request = Request(package.from_code, query, options.target, options.beam_size, options.alternatives)
        units.append(Pending(s, e, detection, request, package, conversion))
        pos = e
    if pos < end:
        _kept(units, text, pos, end, NO_LANGUAGE, joins_in(joins, pos, end), gap=True)


def _kept(
    units: list[Unit | Pending],
    text: str,
    start: int,
    end: int,
    detection: Detection,
    joins: tuple[segment.Join, ...] = (),
    gap: bool = False,
) -> None:
    """Kept text; each hard-wrap join inside it becomes a normalized unit of its own."""
    if not joins:
        units.append(Unit(start, end, Action.KEPT, detection, text[start:end], gap=gap))
        return
    pos = start
    for join in joins:
        if pos < join.start:
            units.append(Unit(pos, join.start, Action.KEPT, detection, text[pos : join.start], gap=gap))
        units.append(Unit(join.start, join.end, Action.NORMALIZED, NO_LANGUAGE, join.text, Reason.HARD_WRAP))
        pos = join.end
    if pos < end:
        units.append(Unit(pos, end, Action.KEPT, detection, text[pos:end], gap=gap))
