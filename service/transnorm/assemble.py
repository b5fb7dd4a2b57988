"""Assemble stage: a plan and its translations become a :class:`~transnorm.document.Document`.

:func:`settle` gives each pending unit its result: translated, or untranslated with the reason
(the engine failed, it gave nothing, or the quality gate rejected what it gave). After
post-normalization (:mod:`~transnorm.postnorm`), :func:`assemble` makes the spans -- consecutive
kept units become one, mapped back to the input as decoded -- and the document's provenance:
models used, warnings, what decoding changed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from . import quality
from .decode import Decoded
from .detect import ZXX
from .document import Action, Document, EngineRef, Reason, Span
from .packages import PackageInfo
from .plan import Pending, Plan, Unit
from .postnorm import english_punctuation
from .translate import Failure, Result, Translation


@dataclass(frozen=True)
class Settled:
    """A plan's units with every pending one settled, and the problems met on the way
    (``problem → count``, for the document's warnings)."""

    units: list[Unit]
    problems: Counter[str]


def settle(plan: Plan, results: Sequence[Result | None]) -> Settled:
    """The units of ``plan`` with each pending unit settled by its result (``results`` are in
    the order of ``plan.pending``; None: no result came)."""
    text = plan.text
    into_english = plan.options.target == "en"
    tidy = english_punctuation if into_english else str.strip
    problems: Counter[str] = Counter()
    given = iter(results)
    units = [
        _settle(u, next(given), text, tidy, into_english, problems) if isinstance(u, Pending) else u
        for u in plan.units
    ]
    return Settled(units, problems)


def assemble(
    plan: Plan, units: Sequence[Unit], problems: Counter[str], packages: Sequence[PackageInfo]
) -> Document:
    """Build the document of ``plan`` from its settled (and post-normalized) ``units`` and the
    ``problems`` met settling them; ``packages`` are the installed packages the document lists
    (with ``used`` flags). A page's spans tile its source, markup included (:mod:`~transnorm.htmlspans`)."""
    text = plan.text
    used = {u.package.package for u in units if u.action == Action.TRANSLATED and u.package}
    models = [{**p.to_dict(), "used": p.package in used} for p in packages if p.to_code == "en"]
    missing = sorted({u.detection.lang for u in units if u.reason == Reason.NO_MODEL})
    warnings = [f"no installed package translates {lang} into English" for lang in missing]
    warnings.extend(f"{n} sentence(s) {problem}" for problem, n in sorted(problems.items()))
    d = plan.decoded
    if d.replacements:
        warnings.append(f"{len(d.replacements)} invalid byte(s) replaced by U+FFFD")
    source_info: dict[str, object] = {
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
    page = None
    if plan.page is None:
        spans = _in_source(_spans(units, text), d)
    else:
        from . import htmlspans  # the HTML stack only for pages (start-up of text-only processes)

        spans, page = htmlspans.page_spans(plan.page, _in_source(_spans(units, text), plan.page.reader))
        source_info.update(htmlspans.source_info(plan.page))
        warnings.extend(htmlspans.warnings(plan.page))
    return Document(
        source=d.raw,
        spans=spans,
        id=plan.id,
        upstream_translation=plan.notices,
        models=models,
        warnings=warnings,
        source_info=source_info,
        page=page,
    )


def _settle(
    pending: Pending,
    result: Result | None,
    text: str,
    tidy: Callable[[str], str],
    into_english: bool,
    problems: Counter[str],
) -> Unit:
    """A pending unit with its result: translated, or untranslated and why (counted in ``problems``)."""
    source = text[pending.start : pending.end]
    package = pending.package
    name = f"{package.package} {package.version} ({package.from_code}→{package.to_code})"

    def untranslated(reason: Reason, rejected: str | None = None) -> Unit:
        return Unit(
            pending.start,
            pending.end,
            Action.UNTRANSLATED,
            pending.detection,
            source,
            reason,
            conversion=pending.conversion,
            rejected_text=rejected,
        )

    if isinstance(result, Failure) and result.model:
        problems[f"could not be translated: {name} cannot be loaded ({result.error})"] += 1
        return untranslated(Reason.MODEL_ERROR)
    if isinstance(result, Failure) and result.deadline:
        problems["left untranslated: the document's time budget (TRANSNORM_DOCUMENT_TIMEOUT) ran out"] += 1
        return untranslated(Reason.DEADLINE)
    if not isinstance(result, Translation):
        error = result.error if isinstance(result, Failure) else "no result"
        problems[f"could not be translated by {name}: {error}"] += 1
        return untranslated(Reason.ENGINE_ERROR)
    english = tidy(result.text)
    if not english:
        return untranslated(Reason.EMPTY_TRANSLATION)
    why = quality.rejection(pending.request.text, english) if into_english else None
    if why is not None:
        problems[
            f"rejected from {name}: the translation {why} (the model may be untrained, broken or for "
            "another language)"
        ] += 1
        return untranslated(Reason.BAD_TRANSLATION, result.text.strip())
    others = (tidy(alt) for alt in result.alternatives)
    return Unit(
        pending.start,
        pending.end,
        Action.TRANSLATED,
        pending.detection,
        english,
        package=package,
        score=result.score,
        alternatives=tuple(dict.fromkeys(a for a in others if a and a != english)),
        conversion=pending.conversion,
    )


def _in_source(spans: list[Span], decoded: Decoded) -> list[Span]:
    """Spans over the normalized text → spans over the input as decoded.

    Offsets are mapped through the decoder's edits; a newline or NFC edit inside kept text becomes a
    ``normalized`` span of its own, so kept spans output their source unchanged.
    """
    if not decoded.edits:
        return spans
    text, raw, edits = decoded.text, decoded.raw, decoded.edits
    out: list[Span] = []
    k = 0  # the first edit that may fall in the current span
    for span in spans:
        start, end = span.source_start, span.source_end
        while k < len(edits) and edits[k].end <= start:
            k += 1
        inside = []
        j = k
        while j < len(edits) and edits[j].start < end:
            if start <= edits[j].start and edits[j].end <= end:
                inside.append(edits[j])
            j += 1
        if span.action != Action.KEPT or not inside:
            rs, re_ = decoded.to_raw(start), decoded.to_raw(end)
            span.source_start, span.source_end, span.source_text = rs, re_, raw[rs:re_]
            out.append(span)
            continue
        pos = start
        for edit in inside:
            if pos < edit.start:
                out.append(_kept_piece(span, decoded, pos, edit.start))
            lang = ZXX if edit.reason == Reason.NEWLINE else span.lang
            reason = Reason(edit.reason)
            out.append(
                Span(
                    edit.raw_start,
                    edit.raw_end,
                    Action.NORMALIZED,
                    lang,
                    span.lang_confidence,
                    raw[edit.raw_start : edit.raw_end],
                    text[edit.start : edit.end],
                    reason,
                )
            )
            pos = edit.end
        if pos < end:
            out.append(_kept_piece(span, decoded, pos, end))
    return [s for s in out if s.source_end > s.source_start]


def _kept_piece(span: Span, decoded: Decoded, start: int, end: int) -> Span:
    rs, re_ = decoded.to_raw(start), decoded.to_raw(end)
    return Span(
        rs,
        re_,
        Action.KEPT,
        span.lang,
        span.lang_confidence,
        decoded.raw[rs:re_],
        decoded.text[start:end],
        span.reason,
    )


def _spans(units: Sequence[Unit], text: str) -> list[Span]:
    """Spans from units; consecutive kept units become one span (English prose and its spacing)."""
    spans: list[Span] = []
    kept: list[Unit] = []

    def flush() -> None:
        if not kept:
            return
        langs = [u.detection for u in kept if u.detection.lang != ZXX]
        lang = langs[0].lang if langs else ZXX
        confidence = min((d.confidence for d in langs), default=1.0)
        start, end = kept[0].start, kept[-1].end
        out = "".join(u.text for u in kept)
        spans.append(Span(start, end, Action.KEPT, lang, confidence, text[start:end], out))
        kept.clear()

    for unit in units:
        if unit.start == unit.end:
            continue
        if unit.action == Action.KEPT and unit.reason is None:
            kept.append(unit)
            continue
        flush()
        translated = unit.action == Action.TRANSLATED and unit.package is not None
        engine = EngineRef(unit.package.package, unit.package.version) if translated else None
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
                mt_score=unit.score,
                alternatives=list(unit.alternatives),
                rejected_text=unit.rejected_text,
                conversion=unit.conversion,
            )
        )
    flush()
    return spans
