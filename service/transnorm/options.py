"""Per-document options, validated strictly: unknown names and wrong types are errors.

One pydantic model is the contract: it validates library, CLI, ``/v1`` and batch options and
its JSON schema documents them in ``/openapi.json``.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextvars import ContextVar
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictInt,
    StrictStr,
    ValidationError,
    WithJsonSchema,
    model_validator,
)

from .errors import OptionsError

LANG_CODE_PATTERN = r"^[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})?$"
SOURCE_PATTERN = r"^(?:auto|[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})?)$"

Format = Literal["json", "text", "html"]
Markers = Literal["inline", "footnotes", "none"]
Chrome = Literal["remove", "keep"]
Errors = Literal["strict", "replace"]
Glosses = Literal["keep", "translate"]
InputFormat = Literal["auto", "text", "html"]
FORMATS: tuple[str, ...] = Format.__args__  # type: ignore[attr-defined]
MARKERS: tuple[str, ...] = Markers.__args__  # type: ignore[attr-defined]
CHROME: tuple[str, ...] = Chrome.__args__  # type: ignore[attr-defined]
ERRORS: tuple[str, ...] = Errors.__args__  # type: ignore[attr-defined]
GLOSSES: tuple[str, ...] = Glosses.__args__  # type: ignore[attr-defined]
INPUT_FORMATS: tuple[str, ...] = InputFormat.__args__  # type: ignore[attr-defined]
CHARSET_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,39}$"
MAX_ALTERNATIVES = 8
# Set while Options.merged checks one layer: the rules between options wait for the merge.
_CHECKING_LAYER: ContextVar[bool] = ContextVar("transnorm_options_layer", default=False)
MAX_BEAM = 16


def _whole(value: Any) -> Any:
    # JSON has one number type: 4.0 is the integer 4. Strings and booleans stay wrong.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def Whole(low: int, high: int) -> Any:
    """A whole number in [low, high]; the bounds come before the coercion so the schema shows them."""
    return Annotated[StrictInt, Field(ge=low, le=high), BeforeValidator(_whole)]


class Options(BaseModel):
    """How to process and render one document."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        strict=True,
        # The rule of _target_needs_source, for the schema's readers (and API fuzzers).
        json_schema_extra={
            "if": {"not": {"required": ["source"], "properties": {"source": {"not": {"const": "auto"}}}}},
            "then": {"properties": {"target": {"const": "en"}}},
        },
    )

    format: Format = Field("json", description="output format")
    input_format: InputFormat = Field(
        "auto",
        description="what the input is: text, an HTML page (the page comes back with its foreign passages "
        "translated in place), or auto (HTML when it starts with <!doctype html or <html)",
    )
    charset: StrictStr | None = Field(
        None,
        pattern=CHARSET_PATTERN,
        description="an HTML page's charset, as an HTTP Content-Type would give it (default: the page's "
        "byte order mark or <meta charset>, else UTF-8); text is always UTF-8 (this is not read for it)",
    )
    markers: Markers = Field("none", description="markers in text output (none: plain English)")
    chrome: Chrome = Field(
        "remove",
        description="remove scraped UI strings, repeated titles, comment forms and upstream MT notices "
        "from the text (they stay in the provenance), or keep them",
    )
    errors: Errors = Field("strict", description="invalid UTF-8: reject it, or replace it with U+FFFD")
    glosses: Glosses = Field(
        "keep",
        description="names, titles, transliterations and pronunciations that English text gives in another "
        "script (Athens (Greek: Αθήνα)): keep them verbatim (reason gloss), or translate them",
    )
    beam_size: Whole(1, MAX_BEAM) | None = Field(  # type: ignore[valid-type]
        None, description="beam size for this document (default: the setting)"
    )
    source: str = Field(
        "auto",
        pattern=SOURCE_PATTERN,
        description="auto: find the foreign spans; a language code: translate all text as that language",
    )
    target: str = Field(
        "en",
        pattern=LANG_CODE_PATTERN,
        description="output language: en, or with an explicit source any installed pair's target",
    )
    alternatives: Whole(0, MAX_ALTERNATIVES) = Field(  # type: ignore[valid-type]
        0,
        description="next-best translations kept per translated span (the beam widens to at least this + 1)",
    )

    def __init__(self, **values: Any) -> None:
        try:
            super().__init__(**values)
        except ValidationError as exc:
            raise OptionsError(describe(exc)) from None

    @model_validator(mode="after")
    def _target_needs_source(self) -> Options:
        if _CHECKING_LAYER.get():
            return self  # one layer of several: the rule applies to the merge
        if self.source == "auto" and self.target != "en":
            raise ValueError(
                f"with source 'auto' transnorm normalizes into English; target {self.target!r} needs an "
                "explicit source language"
            )
        return self

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any] | None) -> Options:
        """Options from user data (JSON, query string), rejecting unknown names and wrong types."""
        return cls.merged(data)

    @classmethod
    def merged(cls, *layers: Mapping[str, Any] | None) -> Options:
        """Options from layers, a later one winning name by name (the shells' defaults, then
        flags or the query string, then a document's own options). Each layer is checked on its
        own first, so an error names the value that was given, not one merged from elsewhere;
        the rules between options (a target needs a source) apply to the result."""
        values: dict[str, Any] = {}
        for layer in layers:
            if layer is None:
                continue
            if not isinstance(layer, Mapping):
                raise OptionsError(f"options must be an object; got {type(layer).__name__}")
            if any(not isinstance(k, str) for k in layer):
                raise OptionsError("option names must be strings")
            token = _CHECKING_LAYER.set(True)
            try:
                cls(**layer)
            finally:
                _CHECKING_LAYER.reset(token)
            values.update(layer)
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump()


class DocumentRequest(BaseModel):
    """A document to normalize, given as JSON: the ``/v1/normalize`` body, an item of a batch,
    a line of a JSON-lines stream. ``options`` are checked as :class:`Options` where they are
    merged with the defaults of the shell (the query string, the command's flags)."""

    model_config = ConfigDict(extra="forbid", strict=True, use_attribute_docstrings=True)

    text: StrictStr
    """The document."""
    id: StrictStr | None = None
    """Echoed in the result."""
    options: Annotated[
        dict[str, Any] | None,
        WithJsonSchema({"anyOf": [{"$ref": "#/components/schemas/Options"}, {"type": "null"}]}),
    ] = None
    """Options for this document (see Options)."""

    @classmethod
    def parse(cls, data: Any, where: str = "the JSON body") -> DocumentRequest:
        """A request from parsed JSON; :class:`OptionsError` says what is wrong in a few words."""
        if not isinstance(data, Mapping):
            raise OptionsError(f'{where} must be an object with a "text" member')
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            errors = exc.errors()
        unknown = sorted(_safe(str(e["loc"][0])) for e in errors if e["type"] == "extra_forbidden")
        if unknown:
            raise OptionsError(f"unknown member(s): {', '.join(unknown)}")
        fields = {str(e["loc"][0]) for e in errors if e["loc"]}
        if "text" in fields:
            raise OptionsError(f'{where} needs a "text" member that is a string')
        if "id" in fields:
            raise OptionsError('"id" must be a string')
        raise OptionsError("options must be an object")


def describe(exc: ValidationError) -> str:
    """A readable message for bad options: the option, what it must be, and what it was."""
    known = ", ".join(Options.model_fields)
    parts = []
    for error in exc.errors(include_url=False):
        loc = [str(x) for x in error["loc"] if not str(x).startswith(("function-", "constrained-"))]
        name = loc[0] if loc else ""
        given = error.get("input")
        kind = error["type"]
        if kind == "extra_forbidden":
            parts.append(f"unknown option {_safe(name)!r}; known: {known}")
            continue
        if not name:  # a model-level rule
            parts.append(str(error["msg"]).removeprefix("Value error, "))
            continue
        spec = Options.model_fields[name]
        bounds = _bounds(name)
        choices = getattr(spec.annotation, "__args__", None)
        if bounds:
            expected = "an integer from {} to {}".format(*bounds)
        elif name == "charset":
            expected = "a charset name such as 'windows-1251'"
        elif name in ("source", "target"):
            expected = "a language code such as 'zh'" + (" or 'auto'" if name == "source" else "")
        elif choices and all(isinstance(c, str) for c in choices):
            expected = "one of " + ", ".join(choices)
        else:
            expected = str(error["msg"]).lower()
        parts.append(f"option {name!r} must be {expected}; got {_safe(given)!r}")
    return "; ".join(parts)


def _bounds(name: str) -> tuple[int, int] | None:
    """An integer option's range, read from the schema it documents."""
    schema = Options.model_json_schema()["properties"][name]
    for alternative in [schema, *schema.get("anyOf", ())]:
        if "minimum" in alternative and "maximum" in alternative:
            return alternative["minimum"], alternative["maximum"]
    return None


def _safe(value: Any) -> Any:
    """Values echoed back in messages: lone surrogates escaped so the message can be encoded."""
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    return value
