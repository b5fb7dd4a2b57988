"""The HTTP contract, defined once: pydantic models that validate requests and, through
:mod:`~transnorm.server.openapi`, document them in ``/openapi.json``.

The ``/v1`` API is strict (unknown members and options are errors, types are not coerced); the
LibreTranslate API is lenient exactly where LibreTranslate is (form fields are strings, ``q`` a
string or a list, ``alternatives`` a number or a numeric string, unknown fields ignored). The
document itself is :class:`~transnorm.document.DocumentDict`, the library's own contract.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

from ..contract import DocumentDict, ModelDict
from ..options import MAX_ALTERNATIVES, DocumentRequest, Options


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, use_attribute_docstrings=True)


class BatchRequest(Strict):
    """Documents normalized together: their sentences share model calls."""

    documents: list[
        Annotated[dict[str, Any], WithJsonSchema({"$ref": "#/components/schemas/DocumentRequest"})]
    ]


class Problem(BaseModel):
    """An error (RFC 9457, ``application/problem+json``)."""

    model_config = ConfigDict(use_attribute_docstrings=True)

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    instance: str | None = None
    code: str | None = None
    """A stable name for library errors (invalid-utf8, too-large, invalid-options, model-error)."""
    byte_offset: int | None = None
    """Where invalid UTF-8 starts."""


class BatchOk(BaseModel):
    id: str | None
    result: DocumentDict


class BatchError(BaseModel):
    id: str | None
    error: Problem


class BatchResponse(BaseModel):
    results: list[BatchOk | BatchError]
    """One per document, in order."""


class Languages(BaseModel):
    translation: list[Annotated[dict[str, str], WithJsonSchema({"type": "object"})]]
    """The installed packages into English."""
    detection: list[str]
    """Every language the detector can name."""


class Health(BaseModel):
    status: Literal["ok"]


class Ready(BaseModel):
    status: Literal["ready"]
    models: list[ModelDict] | list[Annotated[dict[str, str], WithJsonSchema({"type": "object"})]]
    """The installed packages into English."""
    loaded: list[str]
    """The packages loaded now, least recently used first."""
    preload: list[str]
    """The packages loaded before serving (``TRANSNORM_PRELOAD``)."""
    engine: dict[str, int]


# -- LibreTranslate ------------------------------------------------------------------------------


class Lenient(BaseModel):
    """LibreTranslate's parameters: JSON, a form, or the query string; unknown ones ignored."""

    model_config = ConfigDict(extra="allow", use_attribute_docstrings=True)


#: What ``int()`` reads as 0–8, or as a negative number (which LibreTranslate takes as 0).
LT_ALTERNATIVES_PATTERN = r"^\s*(?:\+?0*[0-8]|-\d+)\s*$"
#: ``q``: one text or a list of them; empty is "missing", as in LibreTranslate.
LTTexts = Annotated[str, Field(min_length=1)] | Annotated[list[str], Field(min_length=1)]
#: A language code; case does not matter (the served codes are listed in ``/openapi.json``).
LTCode = Annotated[str, Field(min_length=1)]


class LTTranslateRequest(Lenient):
    q: LTTexts
    """Text(s) to translate."""
    source: LTCode
    """A language code, or auto (find the foreign spans)."""
    target: LTCode
    """en, or with an explicit source the target of an installed package."""
    format: Literal["text", "html", ""] | None = "text"
    """Empty means text, as in LibreTranslate."""
    alternatives: (
        Annotated[float, Field(lt=MAX_ALTERNATIVES + 1, allow_inf_nan=False)]
        | Annotated[str, Field(pattern=LT_ALTERNATIVES_PATTERN)]
    ) = 0
    """Next-best translations wanted (0–8): a number, truncated as by ``int()`` (negative means 0), or a
    string of digits."""
    api_key: Any = None
    """The key, when the server has API keys (then a string); ignored otherwise, as by LibreTranslate."""


class LTDetectRequest(Lenient):
    q: LTTexts
    api_key: Any = None
    """As for ``/translate``."""


# A form carries strings only, and one q field is a text where several are a list.
NonEmpty = Annotated[str, Field(min_length=1)]
LTFormTexts = (
    NonEmpty
    | Annotated[list[str], Field(min_length=2)]
    | Annotated[list[NonEmpty], Field(min_length=1, max_length=1)]
)


class LTTranslateForm(LTTranslateRequest):
    """``/translate`` parameters as a form (urlencoded or multipart) or in the query string."""

    q: LTFormTexts  # type: ignore[assignment]
    """Text(s) to translate: repeat the field for a list."""
    format: Literal["text", "html", ""] = "text"  # type: ignore[assignment]
    alternatives: Annotated[str, Field(pattern=LT_ALTERNATIVES_PATTERN)] = "0"  # type: ignore[assignment]
    api_key: str = ""  # type: ignore[assignment]


class LTDetectForm(LTDetectRequest):
    """``/detect`` parameters as a form or in the query string."""

    q: LTFormTexts  # type: ignore[assignment]
    api_key: str = ""  # type: ignore[assignment]


class LTDetected(BaseModel):
    language: str
    confidence: Annotated[float, Field(ge=0, le=100)]


class LTTranslateResponse(BaseModel):
    translatedText: str | list[str]
    detectedLanguage: LTDetected | list[LTDetected] | None = None
    alternatives: list[str] | list[list[str]] | None = None


class LTLanguage(BaseModel):
    code: str
    name: str
    targets: list[str]


class LTNamedLanguage(BaseModel):
    code: str
    name: str


class LTFrontendLanguages(BaseModel):
    source: LTNamedLanguage
    target: LTNamedLanguage


class LTSettings(BaseModel):
    charLimit: int
    batchLimit: int
    frontendTimeout: int
    apiKeys: bool
    keyRequired: bool
    suggestions: bool
    filesTranslation: bool
    supportedFilesFormat: list[str]
    language: LTFrontendLanguages


class LTError(BaseModel):
    error: str


#: Every model the OpenAPI document lists under components.
COMPONENTS: tuple[type[BaseModel], ...] = (
    Options,
    DocumentRequest,
    BatchRequest,
    Problem,
    BatchResponse,
    Languages,
    Health,
    Ready,
    LTTranslateRequest,
    LTDetectRequest,
    LTTranslateForm,
    LTDetectForm,
    LTDetected,
    LTTranslateResponse,
    LTLanguage,
    LTSettings,
    LTError,
)
