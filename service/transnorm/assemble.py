"""Assemble stage: a translated plan becomes a :class:`~transnorm.document.Document`.

Each pending unit is settled from its result (translated, or untranslated with the reason),
post-normalization spaces translations and tidies whitespace, consecutive kept units become one
span, and the document gets its provenance: models used, warnings, what decoding changed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence

from . import scripts
from .detect import ZXX
from .document import Action, Document, EngineRef, Reason, Span
from .packages import PackageInfo
from .plan import Pending, Plan, Unit
from .postnorm import english_punctuation, space_translations, tidy_whitespace
from .translate import Translation


def assemble(plan: Plan, packages: Sequence[PackageInfo]) -> Document:
    """Build the document of a plan whose pending units have their results.

    ``packages`` are the installed packages the document lists (with ``used`` flags).
    """
    text = plan.decoded.text
    into_english = plan.options.target == "en"
    tidy = english_punctuation if into_english else str.strip
    units = [_settle(u, text, tidy) if isinstance(u, Pending) else u for u in plan.units]
    space_translations(units)
    tidy_whitespace(units, text.endswith("\n"))
    used = {u.package.package for u in units if u.action == Action.TRANSLATED and u.package}
    models = [{**p.to_dict(), "used": p.package in used} for p in packages if p.to_code == "en"]
    missing = sorted({u.detection.lang for u in units if u.reason == Reason.NO_MODEL})
    warnings = [f"no installed package translates {lang} into English" for lang in missing]
    if into_english:
        warnings.extend(_not_english_warnings(units))
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
    return Document(
        source=text,
        spans=_spans(units, text),
        id=plan.id,
        upstream_translation=plan.notices,
        models=models,
        warnings=warnings,
        source_info=source_info,
    )


def _settle(pending: Pending, text: str, tidy: Callable[[str], str]) -> Unit:
    result = pending.result
    english = tidy(result.text) if isinstance(result, Translation) else ""
    if isinstance(result, Translation) and english:
        others = (tidy(alt) for alt in result.alternatives)
        return Unit(
            pending.start,
            pending.end,
            Action.TRANSLATED,
            pending.detection,
            english,
            package=pending.package,
            score=result.score,
            alternatives=tuple(dict.fromkeys(a for a in others if a and a != english)),
        )
    return Unit(
        pending.start,
        pending.end,
        Action.UNTRANSLATED,
        pending.detection,
        text[pending.start : pending.end],
        Reason.EMPTY_TRANSLATION,
    )


def _not_english_warnings(units: list[Unit]) -> list[str]:
    """Translations into English whose letters are mostly not Latin: an untrained, broken or
    mislabelled model. They stay ``translated`` (the model did answer) but the document says so."""
    suspect: Counter[PackageInfo] = Counter()
    for unit in units:
        translated = unit.action == Action.TRANSLATED and unit.package is not None
        if translated and scripts.dominant(unit.text) not in ("Latin", "Common"):
            suspect[unit.package] += 1
    return [
        f"{n} translation(s) by {p.package} {p.version} ({p.from_code}→{p.to_code}) are not in the Latin "
        "script: the model may be untrained, broken or for another language"
        for p, n in suspect.items()
    ]


def _spans(units: list[Unit], text: str) -> list[Span]:
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
        if unit.action == Action.KEPT:
            kept.append(unit)
            continue
        flush()
        engine = EngineRef(unit.package.package, unit.package.version) if unit.package else None
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
            )
        )
    flush()
    return spans
