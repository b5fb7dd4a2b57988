"""The JSON contract (``schema: transnorm/2``): what a document, a span and a stream item look
like as JSON -- TypedDicts that document the shape and from which the HTTP service's schema is
generated -- the ``Action`` and ``Reason`` vocabularies, and the one serializer every shell
writes them with.
"""

from __future__ import annotations

import json
from enum import Enum
from typing import Any, Literal

from pydantic import ConfigDict, with_config

# pydantic reads TypedDicts from typing_extensions on Python < 3.12 (it is one of its dependencies).
from typing_extensions import NotRequired, TypedDict  # noqa: UP035

SCHEMA = "transnorm/2"


def to_json(data: Any, pretty: bool = True) -> str:
    """JSON with non-ASCII as is, except that a lone surrogate (an id from a file name that is not
    UTF-8, say), which UTF-8 cannot carry, makes it all ``\\u`` escapes. Every shell writes the
    contract with this."""
    indent = 2 if pretty else None
    text = json.dumps(data, ensure_ascii=False, indent=indent)
    if not text.isascii():
        try:
            text.encode("utf-8")  # (C speed: a regular expression over a page's JSON costs more)
        except UnicodeEncodeError:
            text = json.dumps(data, indent=indent)
    return text + "\n"


def printable(text: str) -> str:
    """``text`` with lone surrogates as ``\\udc80`` escapes, so it can be written as UTF-8."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


class Action(str, Enum):  # noqa: UP042 (str() and format() as the contract has them)
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


class Reason(str, Enum):  # noqa: UP042
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
    #: The sentence's model package cannot be loaded (its language is unavailable; the warnings say why).
    MODEL_ERROR = "model-error"
    #: The model's output was rejected by the quality gate (kept in ``rejected_text``).
    BAD_TRANSLATION = "bad-translation"
    #: The document's time budget (``TRANSNORM_DOCUMENT_TIMEOUT``) ran out before this sentence
    #: was translated.
    DEADLINE = "deadline"
    #: HTML pages: markup (tags, comments, the doctype: kept, contributing no text, or the blank line
    #: between two blocks), or text as HTML writes it (a character reference, a run of whitespace)
    #: normalized to what a reader sees.
    MARKUP = "markup"
    #: HTML pages: the page says not to translate it (``translate="no"``, an ITS 2.0 rule).
    TRANSLATE_NO = "translate-no"
    #: HTML pages: a list of links naming the site's editions in their own languages (page chrome that
    #: is never translated, whatever ``chrome`` says).
    LANGUAGE_MENU = "language-menu"

    def __str__(self) -> str:
        return self.value


# -- the JSON contract (``Document.to_dict()``); the HTTP service's schema is generated from it ----

#: The values of :class:`Action` and :class:`Reason`, as the schema states them.
ActionName = Literal[tuple(a.value for a in Action)]  # type: ignore[valid-type]
ReasonName = Literal[tuple(r.value for r in Reason)]  # type: ignore[valid-type]

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
    """Code-point offset into ``text``; null for a removed span (and an HTML attribute's)."""
    output_end: int | None
    action: ActionName
    lang: str
    """An Argos language code (zt, nb, pb ...), langid's code, ``zxx`` (no language) or ``und``."""
    lang_confidence: float
    source_text: str
    """The input of this span, exactly as decoded."""
    text: str
    """What the span contributes to ``text`` (removed spans contribute nothing)."""
    reason: NotRequired[ReasonName]
    engine: NotRequired[EngineDict]
    mt_score: NotRequired[float]
    """exp of the mean log-probability per output token."""
    alternatives: NotRequired[list[str]]
    rejected_text: NotRequired[str]
    """The model's output for a ``bad-translation`` span."""
    conversion: NotRequired[Literal["t2s"]]
    """Traditional Chinese converted to Simplified before translating."""
    byte_start: NotRequired[int]
    """HTML pages: offset into the input bytes (the page's charset; a BOM counted)."""
    byte_end: NotRequired[int]
    attribute: NotRequired[Literal["alt", "title", "placeholder"]]
    """HTML pages: the span is the value of this attribute (not part of ``text``; output offsets null)."""


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
    format: NotRequired[Literal["text", "html"]]
    """What the input was read as (HTML pages say html)."""
    charset: NotRequired[str]
    """HTML pages: the page's charset (a WHATWG name)."""
    charset_from: NotRequired[Literal["bom", "http", "meta", "default", "caller"]]
    """HTML pages: where the charset came from (caller: the page was given as text)."""


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


@with_config(_DOCUMENTED)
class OutcomeDict(TypedDict):
    """One item of a stream or batch: its document, or the error that stopped it."""

    id: str | None
    result: NotRequired[DocumentDict]
    error: NotRequired[dict[str, Any]]
    """RFC 9457 problem details."""
