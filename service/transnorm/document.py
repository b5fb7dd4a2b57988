"""The ``Document`` and ``Span`` objects every stage produces and every shell renders.

``Document.source`` is the input exactly as decoded from UTF-8 (without a BOM; line endings and
Unicode forms as they came). Spans tile it: sorted, contiguous, covering ``[0, len(source))``.
Joining their ``source_text`` gives the source back (and, encoded as UTF-8 after a BOM if
``source.bom``, the input bytes); joining the ``text`` of the spans that are not removed gives the
output text. :meth:`Document.check` asserts both.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Literal

from pydantic import ConfigDict, with_config

# pydantic reads TypedDicts from typing_extensions on Python < 3.12 (it is one of its dependencies).
from typing_extensions import NotRequired, TypedDict

SCHEMA = "transnorm/2"


class Action(str, Enum):
    """What was done to a span of the source."""

    #: English, or no linguistic content: the text is output as it is.
    KEPT = "kept"
    #: Changed in form only (a rejoined hard wrap, whitespace left by a removal).
    NORMALIZED = "normalized"
    #: Translated into English by a model.
    TRANSLATED = "translated"
    #: Left out of the output (page chrome, repeated titles, ...); kept in the provenance.
    REMOVED = "removed"
    #: Foreign text left as it was (no model, or no usable translation).
    UNTRANSLATED = "untranslated"

    def __str__(self) -> str:
        return self.value


class Reason(str, Enum):
    """Why a span was normalized, removed or left untranslated."""

    HARD_WRAP = "hard-wrap"
    WHITESPACE = "whitespace-after-removal"
    #: CRLF or CR in the input, LF in the output.
    NEWLINE = "newline"
    #: The input was not in Unicode NFC; the output is.
    NFC = "unicode-nfc"
    #: Kept verbatim: a URL, e-mail address, domain name, file path, hashtag or mention.
    ADDRESS = "address"
    #: Kept verbatim: code (a backtick span or a fenced block).
    CODE = "code"
    #: Kept verbatim: a name, title, transliteration or pronunciation that the English text gives
    #: in another script (``Athens (Greek: Αθήνα)``); not foreign text left untranslated.
    GLOSS = "gloss"
    CHROME = "chrome"
    TITLE_REPEAT = "title-repeat"
    COMMENT_FORM = "comment-form"
    MT_NOTICE = "upstream-mt-notice"
    NO_MODEL = "no-model"
    EMPTY_TRANSLATION = "empty-translation"
    #: The engine failed on this sentence (the error is in the document's warnings).
    ENGINE_ERROR = "engine-error"
    #: The model's output was rejected by the quality gate (kept in ``rejected_text``).
    BAD_TRANSLATION = "bad-translation"

    def __str__(self) -> str:
        return self.value


# -- the JSON contract (``Document.to_dict()``); the HTTP service's schema is generated from it ----

_DOCUMENTED = ConfigDict(use_attribute_docstrings=True)


@with_config(_DOCUMENTED)
class EngineDict(TypedDict):
    """The model that translated a span."""

    name: Literal["argostranslate"]
    package: str
    version: str


@with_config(_DOCUMENTED)
class SpanDict(TypedDict):
    """One piece of the source and what became of it."""

    source_start: int
    """Code-point offset into the input as decoded (``source``)."""
    source_end: int
    output_start: int | None
    """Code-point offset into ``text``; null for a removed span."""
    output_end: int | None
    action: Literal["kept", "normalized", "translated", "removed", "untranslated"]
    lang: str
    """An Argos language code (zt, nb, pb ...), langid's code, ``zxx`` (no language) or ``und``."""
    lang_confidence: float
    source_text: str
    """The input of this span, exactly as decoded."""
    text: str
    """What the span contributes to ``text`` (removed spans contribute nothing)."""
    reason: NotRequired[
        Literal[
            "hard-wrap",
            "whitespace-after-removal",
            "newline",
            "unicode-nfc",
            "address",
            "code",
            "gloss",
            "chrome",
            "title-repeat",
            "comment-form",
            "upstream-mt-notice",
            "no-model",
            "empty-translation",
            "engine-error",
            "bad-translation",
        ]
    ]
    engine: NotRequired[EngineDict]
    mt_score: NotRequired[float]
    """exp of the mean log-probability per output token."""
    alternatives: NotRequired[list[str]]
    rejected_text: NotRequired[str]
    """The model's output for a ``bad-translation`` span."""
    conversion: NotRequired[Literal["t2s"]]
    """Traditional Chinese converted to Simplified before translating."""


@with_config(_DOCUMENTED)
class ReplacementDict(TypedDict):
    byte_offset: int
    byte: str
    """The replaced byte, in hexadecimal."""


@with_config(_DOCUMENTED)
class NewlinesDict(TypedDict):
    crlf: int
    cr: int


@with_config(_DOCUMENTED)
class SourceDict(TypedDict):
    """What the input was, and what decoding changed."""

    chars: int
    """Code points of the input as decoded (the length of the joined ``source_text``)."""
    sha256: str
    """sha256 of the input as decoded, in UTF-8."""
    bytes: int
    bytes_sha256: str
    bom: bool
    newlines: NewlinesDict
    nfc_changed: bool
    replacements: NotRequired[list[ReplacementDict]]


@with_config(_DOCUMENTED)
class NoticeDict(TypedDict):
    service: str
    evidence: str


#: An installed package (``from`` is a keyword, so the functional form).
ModelDict = TypedDict("ModelDict", {"package": str, "version": str, "from": str, "to": str, "used": bool})


@with_config(_DOCUMENTED)
class StatsDict(TypedDict):
    spans: int
    actions: dict[str, int]
    foreign_chars: dict[str, int]
    source_chars: int
    output_chars: int


@with_config(_DOCUMENTED)
class DocumentDict(TypedDict):
    """A normalized document: English text, and the provenance of every span of the input."""

    schema: Literal["transnorm/2"]
    id: str | None
    text: str
    complete: bool
    """No foreign span was left untranslated."""
    source: SourceDict
    spans: list[SpanDict]
    upstream_translation: list[NoticeDict]
    models: list[ModelDict]
    stats: StatsDict
    warnings: list[str]


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
    text: str = field(init=False)

    def __post_init__(self) -> None:
        parts: list[str] = []
        pos = 0
        for span in self.spans:
            if span.action == Action.REMOVED:
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
                    s.alternatives[k] if k < len(s.alternatives) else s.text
                    for s in self.spans
                    if s.action != Action.REMOVED
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
        if "".join(s.text for s in self.spans if s.action != Action.REMOVED) != self.text:
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
