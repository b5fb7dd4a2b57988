"""The library call at the heart: bytes in, a :class:`Document` with spans out.

``Pipeline`` holds what is loaded once (translation models, the langid model); calling it runs
decode → segment → detect → chrome → translate → post-normalize over one document, or over many
with every sentence of every document translated in shared batches (``normalize_many``).
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from . import chrome, scripts, segment
from .config import Settings
from .decode import Decoded, decode
from .detect import ZXX, Detection, Detector
from .document import (
    KEPT,
    NORMALIZED,
    REMOVED,
    TRANSLATED,
    UNTRANSLATED,
    Document,
    EngineRef,
    Span,
    UpstreamNotice,
)
from .errors import TooLargeError, TransnormError
from .options import Options
from .postnorm import english_punctuation, join_space, trailing_space
from .translate import Engine, ModelInfo, Translation

_TRANSLATE = "translate"  # planned; becomes "translated" or "untranslated"
HARD_WRAP = "hard-wrap"
NO_MODEL = "no-model"
EMPTY_TRANSLATION = "empty-translation"
WHITESPACE = "whitespace-after-removal"


@dataclass(slots=True)
class _Unit:
    start: int
    end: int
    action: str
    detection: Detection
    text: str = ""
    reason: str | None = None
    query: str = ""
    translation: Translation | None = None
    model: ModelInfo | None = None
    alternatives: list[str] = field(default_factory=list)


@dataclass
class Plan:
    """A document after detection, before translation: what :meth:`Pipeline.plan` returns.

    Plans are plain data (picklable), so planning, translation and assembly can run in
    different processes (the batch mode does).
    """

    decoded: Decoded
    options: Options
    id: str | None
    units: list[_Unit]
    notices: list[UpstreamNotice] = field(default_factory=list)

    @property
    def source(self) -> str:
        return self.decoded.text

    @property
    def needs_translation(self) -> bool:
        return any(unit.action == _TRANSLATE for unit in self.units)


class Pipeline:
    """Loaded models plus the stages; call it like a function.

    ``engine`` defaults to :class:`service.translate.ArgosEngine` over ``settings.models_dir``;
    tests pass their own.
    """

    def __init__(
        self,
        settings: Settings | None = None,
        engine: Engine | None = None,
        detector: Detector | None = None,
    ) -> None:
        self.settings = settings or Settings.from_env()
        if engine is None:
            from .translate import ArgosEngine

            engine = ArgosEngine(self.settings)
        self.engine = engine
        self.detector = detector or Detector(self.settings.latin_candidates)

    def __call__(self, data: bytes | str, options: Options | None = None, id: str | None = None) -> Document:
        """Normalize one document; raises :class:`TransnormError` for bad input."""
        result = self.normalize_many([(data, options, id)])[0]
        if isinstance(result, TransnormError):
            raise result
        return result

    def normalize_many(
        self, items: Sequence[tuple[bytes | str, Options | None, str | None]]
    ) -> list[Document | TransnormError]:
        """Normalize several documents, translating all their sentences in shared batches.

        A document with bad input yields its error in place; the others are unaffected.
        """
        plans: list[Plan | TransnormError] = []
        for data, options, doc_id in items:
            try:
                plans.append(self.plan(data, options, doc_id))
            except TransnormError as exc:
                plans.append(exc)
        self.translate([p for p in plans if isinstance(p, Plan)])
        return [p if isinstance(p, TransnormError) else self.assemble(p) for p in plans]

    # -- planning -------------------------------------------------------------------------

    def plan(self, data: bytes | str, options: Options | None = None, doc_id: str | None = None) -> Plan:
        """Decode, segment, detect and classify chrome; raises :class:`TransnormError` for bad input.

        With :meth:`translate` and :meth:`assemble`, the three phases a caller can spread over
        processes (the batch mode does).
        """
        options = options or Options()
        size = len(data.encode("utf-8", "surrogatepass")) if isinstance(data, str) else len(data)
        if size > self.settings.max_bytes:
            raise TooLargeError(
                f"document is {size} bytes; the limit is {self.settings.max_bytes} (TRANSNORM_MAX_BYTES)"
            )
        decoded = decode(data, options.errors)
        text = decoded.text
        lines = segment.lines(text)
        verdicts = chrome.classify(text, lines)
        models = self._models_for(options)
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
                units.append(
                    _Unit(line.start, end, REMOVED, self.detector.detect(body), body, verdict.reason)
                )
                pos = end
                continue
            pos = line.start
            for sentence in segment.sentences(text, line):
                _gap(units, text, pos, sentence.start)
                self._sentence_units(units, text, sentence, models, options)
                pos = sentence.end
            _apply_joins(units, text, line)
            pos = line.end
        _gap(units, text, pos, len(text))
        return plan

    def _models_for(self, options: Options) -> dict[str, ModelInfo]:
        """The models that translate into ``options.target``, by source language."""
        if options.target == "en":
            return dict(self.engine.models())
        model = self.engine.model_for(options.source, options.target)
        return {options.source: model} if model else {}

    def _sentence_units(
        self,
        units: list[_Unit],
        text: str,
        sentence: segment.Sentence,
        models: dict[str, ModelInfo],
        options: Options,
    ) -> None:
        if options.source != "auto":
            # The caller said what language the text is in: no detection, no inline runs.
            body = text[sentence.start : sentence.end]
            has_letters = any(c.isalpha() for c in body)
            detection = Detection(options.source, 1.0) if has_letters else Detection(ZXX, 1.0)
            units.append(self._unit(text, sentence.start, sentence.end, models, options.target, detection))
            return
        if not sentence.runs:
            units.append(self._unit(text, sentence.start, sentence.end, models))
            return
        # Detect the host sentence without its inline runs, and each run on its own.
        pieces: list[tuple[int, int, bool]] = []
        pos = sentence.start
        for rs, re_ in sentence.runs:
            if pos < rs:
                pieces.append((pos, rs, False))
            pieces.append((rs, re_, True))
            pos = re_
        if pos < sentence.end:
            pieces.append((pos, sentence.end, False))
        host = " ".join(text[s:e] for s, e, run in pieces if not run)
        host_detection = self.detector.detect(host)
        for s, e, run in pieces:
            if run:
                units.append(self._unit(text, s, e, models))
            else:
                units.append(self._unit(text, s, e, models, detection=host_detection))

    def _unit(
        self,
        text: str,
        start: int,
        end: int,
        models: dict[str, ModelInfo],
        target: str = "en",
        detection: Detection | None = None,
    ) -> _Unit:
        body = text[start:end]
        detection = detection or self.detector.detect(body)
        if detection.lang not in (target, ZXX):
            model = models.get(detection.lang)
            if model is None:
                return _Unit(start, end, UNTRANSLATED, detection, body, NO_MODEL)
            return _Unit(start, end, _TRANSLATE, detection, query=body, model=model)
        return _Unit(start, end, KEPT, detection, body)

    # -- translation ----------------------------------------------------------------------

    def translate(self, plans: list[Plan]) -> None:
        """Translate the foreign units of all ``plans`` in shared batches (fills them in place)."""
        groups: dict[tuple[str, str, int | None, int], list[_Unit]] = defaultdict(list)
        for plan in plans:
            o = plan.options
            for unit in plan.units:
                if unit.action == _TRANSLATE:
                    groups[(unit.detection.lang, o.target, o.beam_size, o.alternatives)].append(unit)
        for (lang, target, beam, alternatives), units in groups.items():
            queries = [u.query for u in units]
            extra: dict[str, object] = {} if target == "en" else {"target": target}
            if alternatives:  # engines without n-best support are never asked for it
                extra["alternatives"] = alternatives
            results = self.engine.translate(lang, queries, beam, **extra)
            for unit, result in zip(units, results, strict=True):
                unit.translation = result

    # -- assembly -------------------------------------------------------------------------

    def assemble(self, plan: Plan) -> Document:
        """Post-normalize a translated plan and build its :class:`Document`."""
        text = plan.source
        units = plan.units
        tidy = english_punctuation if plan.options.target == "en" else str.strip
        for unit in units:
            if unit.action != _TRANSLATE:
                continue
            translation = unit.translation
            english = tidy(translation.text) if translation else ""
            if translation and english:
                unit.action, unit.text = TRANSLATED, english
                others = (tidy(alt) for alt in translation.alternatives)
                unit.alternatives = list(dict.fromkeys(a for a in others if a and a != english))
            else:
                unit.action, unit.text, unit.reason = (
                    UNTRANSLATED,
                    text[unit.start : unit.end],
                    EMPTY_TRANSLATION,
                )
        _space_translations(units)
        _tidy_whitespace(units, text)
        spans = _spans(units, text)
        used = {u.model.package for u in units if u.action == TRANSLATED and u.model}
        models = [{**info.to_dict(), "used": info.package in used} for info in self.engine.models().values()]
        missing = sorted({u.detection.lang for u in units if u.reason == NO_MODEL})
        warnings = [f"no installed package translates {lang} into English" for lang in missing]
        if plan.options.target == "en":
            warnings.extend(_not_english_warnings(units))
        d = plan.decoded
        if d.replacements:
            warnings.append(f"{len(d.replacements)} invalid byte(s) replaced by U+FFFD")
        source_info = {
            "bytes": d.bytes,
            "bytes_sha256": d.bytes_sha256,
            "bom": d.bom,
            "newlines": {"crlf": d.crlf, "cr": d.cr},
            "nfc_changed": d.nfc_changed,
        }
        if d.replacements:
            source_info["replacements"] = [
                {"byte_offset": r.byte_offset, "byte": r.byte_hex} for r in d.replacements
            ]
        return Document(
            source=text,
            spans=spans,
            id=plan.id,
            upstream_translation=plan.notices,
            models=models,
            warnings=warnings,
            source_info=source_info,
        )


def _not_english_warnings(units: list[_Unit]) -> list[str]:
    """Translations into English whose letters are mostly not Latin: an untrained, broken or
    mislabelled model. They stay ``translated`` (the model did answer) but the document says so."""
    suspect: defaultdict[ModelInfo, int] = defaultdict(int)
    for unit in units:
        if unit.action != TRANSLATED or unit.model is None:
            continue
        if scripts.dominant(unit.text) not in ("Latin", "Common"):
            suspect[unit.model] += 1
    return [
        f"{n} translation(s) by {m.package} {m.version} ({m.from_code}→{m.to_code}) are not in the Latin "
        "script: the model may be untrained, broken or for another language"
        for m, n in suspect.items()
    ]


def _gap(units: list[_Unit], text: str, start: int, end: int) -> None:
    if start < end:
        units.append(_Unit(start, end, KEPT, Detection(ZXX, 1.0), text[start:end]))


def _apply_joins(units: list[_Unit], text: str, line: segment.Line) -> None:
    """Rejoin hard-wrapped lines: in English units the break becomes a normalized span; in
    units to translate, the model sees the joined text."""
    for join in line.joins:
        for k in range(len(units) - 1, -1, -1):
            unit = units[k]
            if unit.start <= join.start and join.end <= unit.end:
                break
        else:
            continue
        if unit.action == _TRANSLATE:
            rel_s, rel_e = join.start - unit.start, join.end - unit.start
            # Joins are applied left to right, so later offsets shift by what earlier ones removed.
            shift = len(unit.query) - (unit.end - unit.start)
            unit.query = unit.query[: rel_s + shift] + join.text + unit.query[rel_e + shift :]
        elif unit.action == KEPT:
            pieces = []
            if unit.start < join.start:
                pieces.append(
                    _Unit(unit.start, join.start, KEPT, unit.detection, text[unit.start : join.start])
                )
            pieces.append(_Unit(join.start, join.end, NORMALIZED, Detection(ZXX, 1.0), join.text, HARD_WRAP))
            if join.end < unit.end:
                pieces.append(_Unit(join.end, unit.end, KEPT, unit.detection, text[join.end : unit.end]))
            units[k : k + 1] = pieces


def _space_translations(units: list[_Unit]) -> None:
    """Put a space between a translation and neighbouring output where English needs one
    (alternatives get the same spacing as the translation they stand in for)."""
    out_tail = ""
    for i, unit in enumerate(units):
        if unit.action == REMOVED:
            continue
        if unit.action == TRANSLATED:
            lead = join_space(out_tail, unit.text)
            unit.text = lead + unit.text
            nxt = next((u for u in units[i + 1 :] if u.action != REMOVED and u.text), None)
            # A following translation adds its own leading space.
            trail = ""
            if nxt is not None and nxt.action != TRANSLATED:
                trail = trailing_space(unit.text, nxt.text)
            unit.text += trail
            unit.alternatives = [lead + alt + trail for alt in unit.alternatives]
        if unit.text:
            out_tail = unit.text


def _is_gap(unit: _Unit, text: str) -> bool:
    return unit.action == KEPT and unit.detection.lang == ZXX and text[unit.start : unit.end].isspace()


def _tidy_whitespace(units: list[_Unit], text: str) -> None:
    """After removed lines, keep at most one blank line, none at the start or the end."""
    seen_content = False
    after_removal = False
    newlines = 0  # trailing newlines of the output so far
    last_content = max(
        (i for i, u in enumerate(units) if u.action != REMOVED and not _is_gap(u, text)), default=-1
    )
    removal_after_last = any(u.action == REMOVED for u in units[last_content + 1 :])
    for i, unit in enumerate(units):
        if unit.action == REMOVED:
            after_removal = True
            continue
        if _is_gap(unit, text):
            new = unit.text
            if after_removal and not seen_content:
                new = ""
            elif i > last_content and removal_after_last:
                new = "\n" if text.endswith("\n") and newlines == 0 else ""
            elif after_removal:
                allowed = max(0, 2 - newlines)
                extra = new.count("\n") - allowed
                if extra > 0:
                    new = new.replace("\n", "", extra)
            if new != unit.text:
                unit.action, unit.text, unit.reason = NORMALIZED, new, WHITESPACE
        else:
            seen_content = True
            after_removal = False
        if unit.text:
            stripped = unit.text.rstrip("\n")
            if stripped.strip(" \t"):
                newlines = len(unit.text) - len(stripped)
            else:
                newlines += unit.text.count("\n")


def _spans(units: list[_Unit], text: str) -> list[Span]:
    """Spans from units; consecutive kept units become one span (English prose and its spacing)."""
    spans: list[Span] = []
    kept: list[_Unit] = []

    def flush() -> None:
        if not kept:
            return
        langs = [u.detection for u in kept if u.detection.lang != ZXX]
        lang = langs[0].lang if langs else ZXX
        confidence = min((d.confidence for d in langs), default=1.0)
        start, end = kept[0].start, kept[-1].end
        out = "".join(u.text for u in kept)
        spans.append(Span(start, end, KEPT, lang, confidence, text[start:end], out))
        kept.clear()

    for unit in units:
        if unit.start == unit.end:
            continue
        if unit.action == KEPT:
            kept.append(unit)
            continue
        flush()
        translation = unit.translation if unit.action == TRANSLATED else None
        engine = EngineRef(unit.model.package, unit.model.version) if translation and unit.model else None
        spans.append(
            Span(
                source_start=unit.start,
                source_end=unit.end,
                action=unit.action,
                lang=unit.detection.lang,
                lang_confidence=unit.detection.confidence,
                source_text=text[unit.start : unit.end],
                text=unit.text,
                reason=unit.reason,
                engine=engine,
                mt_score=translation.score if translation else None,
                alternatives=unit.alternatives,
            )
        )
    flush()
    return spans


@functools.lru_cache(maxsize=1)
def default_pipeline() -> Pipeline:
    """The pipeline built from the environment's settings, loaded on first use."""
    return Pipeline(Settings.from_env())


def normalize(
    data: bytes | str, options: Options | dict[str, object] | None = None, id: str | None = None
) -> Document:
    """Normalize one document with the default pipeline (settings from ``TRANSNORM_*``)."""
    if not isinstance(options, Options):
        options = Options.from_mapping(options)
    return default_pipeline()(data, options, id)
