"""Plan stage: decide what happens to every piece of a document's text.

:func:`plan_document` takes the decoded text, splits it into lines and sentences, detects the
language of each sentence and inline run, classifies page chrome, and returns a :class:`Plan`:
units that tile the text, each either settled (kept, normalized, removed, untranslated) or
:class:`Pending` translation with the :class:`~transnorm.translate.Request` to send. Plans are
plain picklable data, so the translation can happen elsewhere (another thread or process).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from . import chrome, segment
from .decode import Decoded
from .detect import ZXX, Detection, Detector
from .document import Action, Reason, UpstreamNotice
from .options import Options
from .packages import PackageInfo
from .translate import Request, Result

NO_LANGUAGE = Detection(ZXX, 1.0)


@dataclass(slots=True)
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


@dataclass(slots=True)
class Pending:
    """A piece of foreign text waiting for its translation (``result``, filled by the translate step)."""

    start: int
    end: int
    detection: Detection
    request: Request
    package: PackageInfo
    result: Result | None = None


@dataclass
class Plan:
    """A document after planning, before translation."""

    decoded: Decoded
    options: Options
    id: str | None
    units: list[Unit | Pending]
    notices: list[UpstreamNotice] = field(default_factory=list)

    @property
    def pending(self) -> list[Pending]:
        return [u for u in self.units if isinstance(u, Pending)]


def plan_document(
    decoded: Decoded,
    options: Options,
    detector: Detector,
    packages: Mapping[str, PackageInfo],
    doc_id: str | None = None,
) -> Plan:
    """Plan ``decoded``: ``packages`` are those translating into ``options.target``, by source."""
    text = decoded.text
    lines = segment.lines(text)
    verdicts = chrome.classify(text, lines)
    plan = Plan(decoded, options, doc_id, [])
    units = plan.units
    pos = 0
    for i, line in enumerate(lines):
        _gap(units, text, pos, line.start)
        verdict = verdicts.get(i)
        body = text[line.start : line.end]
        if verdict is not None and verdict.service:
            plan.notices.append(UpstreamNotice(verdict.service, body))
        if verdict is not None and options.chrome == "remove":
            end = line.end + 1 if text.startswith("\n", line.end) else line.end
            units.append(Unit(line.start, end, Action.REMOVED, detector.detect(body), body, verdict.reason))
            pos = end
            continue
        pos = line.start
        for sentence in segment.sentences(text, line):
            _gap(units, text, pos, sentence.start, line.joins)
            _sentence_units(units, text, sentence, detector, packages, options)
            pos = sentence.end
        _gap(units, text, pos, line.end, line.joins)
        pos = line.end
    _gap(units, text, pos, len(text))
    return plan


def _sentence_units(
    units: list[Unit | Pending],
    text: str,
    sentence: segment.Sentence,
    detector: Detector,
    packages: Mapping[str, PackageInfo],
    options: Options,
) -> None:
    start, end, joins = sentence.start, sentence.end, sentence.joins
    if options.source != "auto":
        # The caller said what language the text is in: no detection, no inline runs.
        has_letters = any(c.isalpha() for c in text[start:end])
        detection = Detection(options.source, 1.0) if has_letters else NO_LANGUAGE
        _unit(units, text, start, end, detection, joins, packages, options)
        return
    if not sentence.runs:
        _unit(units, text, start, end, detector.detect(text[start:end]), joins, packages, options)
        return
    # Detect the host sentence without its inline runs, and each run on its own.
    pieces: list[tuple[int, int, bool]] = []
    pos = start
    for run_start, run_end in sentence.runs:
        if pos < run_start:
            pieces.append((pos, run_start, False))
        pieces.append((run_start, run_end, True))
        pos = run_end
    if pos < end:
        pieces.append((pos, end, False))
    host = detector.detect(" ".join(text[s:e] for s, e, run in pieces if not run))
    for s, e, run in pieces:
        inside = tuple(j for j in joins if s <= j.start and j.end <= e)
        detection = detector.detect(text[s:e]) if run else host
        _unit(units, text, s, e, detection, inside, packages, options)


def _unit(
    units: list[Unit | Pending],
    text: str,
    start: int,
    end: int,
    detection: Detection,
    joins: tuple[segment.Join, ...],
    packages: Mapping[str, PackageInfo],
    options: Options,
) -> None:
    body = text[start:end]
    if detection.lang in (options.target, ZXX):
        _kept(units, text, start, end, detection, joins)
        return
    package = packages.get(detection.lang)
    if package is None:
        units.append(Unit(start, end, Action.UNTRANSLATED, detection, body, Reason.NO_MODEL))
        return
    # The model sees hard-wrapped lines joined.
    query = body
    for join in reversed(joins):
        query = query[: join.start - start] + join.text + query[join.end - start :]
    request = Request(detection.lang, query, options.target, options.beam_size, options.alternatives)
    units.append(Pending(start, end, detection, request, package))


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


def _gap(
    units: list[Unit | Pending], text: str, start: int, end: int, joins: tuple[segment.Join, ...] = ()
) -> None:
    """Whitespace between lines or sentences (with the joins of the line that fall in it)."""
    if start < end:
        inside = tuple(j for j in joins if start <= j.start and j.end <= end) if joins else ()
        _kept(units, text, start, end, NO_LANGUAGE, inside, True)
