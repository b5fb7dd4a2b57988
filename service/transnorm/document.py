"""The ``Document`` and ``Span`` objects every stage produces and every shell renders.

``Document.source`` is the input exactly as decoded from UTF-8 (an HTML page: from its charset),
without a BOM, line endings and Unicode forms as they came. Spans tile it: sorted, contiguous,
covering ``[0, len(source))``. Joining their ``source_text`` gives the source back (and, encoded
as UTF-8 -- a page: in its ``source.charset`` -- after a BOM if ``source.bom``, the input bytes);
joining the ``text`` of the spans that are not removed (nor an HTML attribute's value) gives the
output text. :meth:`Document.check` asserts both."""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from .contract import (
    SCHEMA,
    Action,
    DocumentDict,
    EngineDict,
    NoticeDict,
    OutcomeDict,
    Reason,
    SpanDict,
    printable,
    to_json,
)

__all__ = [
    "Action",
    "Document",
    "EngineRef",
    "Outcome",
    "Reason",
    "Span",
    "UpstreamNotice",
    "printable",
    "to_json",
]


@dataclass(frozen=True, slots=True)
class EngineRef:
    """Which model produced a translation."""

    package: str
    version: str
    name: str = "argostranslate"

    def to_dict(self) -> EngineDict:
        return {"name": "argostranslate", "package": self.package, "version": self.version}


@dataclass(slots=True)
class Span:
    """One piece of the source and what became of it (offsets are code points)."""

    source_start: int
    source_end: int
    action: Action
    lang: str
    lang_confidence: float
    source_text: str
    text: str
    reason: Reason | None = None
    engine: EngineRef | None = None
    mt_score: float | None = None
    output_start: int | None = None
    output_end: int | None = None
    #: Next-best translations of a translated span, best first (when asked for); same spacing as ``text``.
    alternatives: list[str] = field(default_factory=list)
    #: What the model answered for a span whose translation was rejected (``bad-translation``).
    rejected_text: str | None = None
    #: A script conversion made before translating (``t2s``: Traditional to Simplified Chinese).
    conversion: str | None = None
    #: HTML pages: offsets into the input bytes, in the page's charset.
    byte_start: int | None = None
    byte_end: int | None = None
    #: HTML pages: the attribute (alt, title, placeholder) whose value the span is; outside ``text``.
    attribute: str | None = None

    @property
    def in_text(self) -> bool:
        """Whether the span contributes to the document's text (removed spans and attributes do not)."""
        return self.action != Action.REMOVED and self.attribute is None

    def to_dict(self) -> SpanDict:
        out: SpanDict = {
            "source_start": self.source_start,
            "source_end": self.source_end,
            "output_start": self.output_start,
            "output_end": self.output_end,
            "action": self.action.value,  # type: ignore[typeddict-item]
            "lang": self.lang,
            "lang_confidence": self.lang_confidence,
            "source_text": self.source_text,
            "text": self.text,
        }
        if self.reason is not None:
            out["reason"] = self.reason.value  # type: ignore[typeddict-item]
        if self.engine is not None:
            out["engine"] = self.engine.to_dict()
        if self.mt_score is not None:
            out["mt_score"] = self.mt_score
        if self.alternatives:
            out["alternatives"] = list(self.alternatives)
        if self.rejected_text is not None:
            out["rejected_text"] = self.rejected_text
        if self.conversion is not None:
            out["conversion"] = self.conversion  # type: ignore[typeddict-item]
        if self.byte_start is not None and self.byte_end is not None:
            out["byte_start"], out["byte_end"] = self.byte_start, self.byte_end
        if self.attribute is not None:
            out["attribute"] = self.attribute  # type: ignore[typeddict-item]
        return out


@dataclass(frozen=True, slots=True)
class UpstreamNotice:
    """An upstream machine-translation notice found in the document, and the service it names."""

    service: str
    evidence: str

    def to_dict(self) -> NoticeDict:
        return {"service": self.service, "evidence": self.evidence}


@dataclass
class Document:
    """A normalized document: the decoded source, its spans, and what was found about it."""

    source: str
    spans: list[Span]
    id: str | None = None
    upstream_translation: list[UpstreamNotice] = field(default_factory=list)
    models: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    source_info: dict[str, Any] = field(default_factory=dict)
    #: HTML pages: what writing the page back needs (:class:`transnorm.htmldoc.PageSource`); not JSON.
    page: Any = field(default=None, repr=False, compare=False)
    text: str = field(init=False)

    def __post_init__(self) -> None:
        parts: list[str] = []
        pos = 0
        for span in self.spans:
            if not span.in_text:
                span.output_start = span.output_end = None
                continue
            span.output_start = pos
            pos += len(span.text)
            span.output_end = pos
            parts.append(span.text)
        self.text = "".join(parts)

    def alternative_texts(self, limit: int) -> list[str]:
        """Up to ``limit`` other renderings of ``text``: the k-th puts each translated span's k-th
        alternative in place of its translation (spans with fewer alternatives keep theirs)."""
        depth = min(limit, max((len(s.alternatives) for s in self.spans), default=0))
        texts = []
        for k in range(depth):
            texts.append(
                "".join(
                    s.alternatives[k] if k < len(s.alternatives) else s.text for s in self.spans if s.in_text
                )
            )
        return [t for t in dict.fromkeys(texts) if t != self.text]

    @property
    def complete(self) -> bool:
        """True when no foreign span was left untranslated."""
        return not any(s.action == Action.UNTRANSLATED for s in self.spans)

    @property
    def stats(self) -> dict[str, Any]:
        actions = Counter(s.action for s in self.spans)
        chars = Counter()
        for s in self.spans:
            if s.action in (Action.TRANSLATED, Action.UNTRANSLATED):
                chars[s.lang] += len(s.source_text)
        return {
            "spans": len(self.spans),
            "actions": {a.value: actions.get(a, 0) for a in Action},
            "foreign_chars": dict(sorted(chars.items())),
            "source_chars": len(self.source),
            "output_chars": len(self.text),
        }

    def check(self) -> None:
        """Assert the tiling and round-trip invariants (cheap; used by tests and the pipeline)."""
        pos = 0
        for span in self.spans:
            if span.source_start != pos or span.source_end <= span.source_start:
                raise AssertionError(f"spans do not tile the source at {pos}: {span}")
            if self.source[span.source_start : span.source_end] != span.source_text:
                raise AssertionError(f"span source_text does not match the source: {span}")
            pos = span.source_end
        if pos != len(self.source):
            raise AssertionError(f"spans end at {pos}, source has {len(self.source)} chars")
        if "".join(s.text for s in self.spans if s.in_text) != self.text:
            raise AssertionError("output text is not the join of the kept spans")

    def to_dict(self) -> DocumentDict:
        """The ``transnorm/2`` JSON contract (:class:`DocumentDict`)."""
        source = {
            "chars": len(self.source),
            "sha256": hashlib.sha256(self.source.encode("utf-8", "surrogatepass")).hexdigest(),
            **self.source_info,
        }
        return {  # type: ignore[typeddict-item]
            "schema": SCHEMA,  # type: ignore[typeddict-item]
            "id": self.id,
            "text": self.text,
            "complete": self.complete,
            "source": source,
            "spans": [s.to_dict() for s in self.spans],
            "upstream_translation": [n.to_dict() for n in self.upstream_translation],
            "models": self.models,
            "stats": self.stats,
            "warnings": self.warnings,
        }


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one item given to :meth:`transnorm.pipeline.Pipeline.pipe`: its document,
    or the error that stopped it (never both). The envelope every shell writes for an item."""

    id: str | None
    document: Document | None = None
    error: Exception | None = None

    @property
    def ok(self) -> bool:
        return self.document is not None

    def to_dict(self) -> OutcomeDict:
        """``{"id", "result"}`` or ``{"id", "error"}`` (problem details)."""
        if self.document is not None:
            return {"id": self.id, "result": self.document.to_dict()}
        problem = getattr(self.error, "problem", None)
        if problem is None:  # not a TransnormError: a bug, reported without its text
            from .errors import problem as build

            body = build(500, "Internal error", f"internal error: {type(self.error).__name__}", code="error")
        else:
            body = problem()
        return {"id": self.id, "error": body}

    def to_json(self) -> str:
        """:meth:`to_dict` as one line of JSON (newline-terminated)."""
        return to_json(self.to_dict(), pretty=False)
