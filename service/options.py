"""Per-document options, validated strictly: unknown names and wrong types are errors."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields

from .errors import OptionsError

LANG_CODE = re.compile(r"[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})?")

FORMATS = ("json", "text", "html")
MARKERS = ("inline", "footnotes", "none")
CHROME = ("remove", "keep")
ERRORS = ("strict", "replace")
MAX_ALTERNATIVES = 8
INTEGER_OPTIONS = ("beam_size", "alternatives")


@dataclass(frozen=True)
class Options:
    """How to process and render one document.

    ``chrome``: remove scraped UI strings, repeated titles, comment forms and upstream MT notices
    from the English text (they stay in the provenance), or keep them as text.
    ``errors``: ``strict`` rejects invalid UTF-8; ``replace`` substitutes U+FFFD and records it.
    ``beam_size``: overrides the pipeline's default for this document (None: the default).
    ``alternatives``: also keep up to this many next-best translations per translated span
    (the beam widens to at least ``alternatives + 1``).
    """

    format: str = "json"
    markers: str = "inline"
    chrome: str = "remove"
    errors: str = "strict"
    beam_size: int | None = None
    #: ``auto``: find foreign spans and translate them; a language code: translate all text as that language.
    source: str = "auto"
    #: Output language: English, or with an explicit ``source`` any installed pair's target.
    target: str = "en"
    alternatives: int = 0

    def __post_init__(self) -> None:
        for name, allowed in (
            ("format", FORMATS),
            ("markers", MARKERS),
            ("chrome", CHROME),
            ("errors", ERRORS),
        ):
            value = getattr(self, name)
            if value not in allowed:
                raise OptionsError(f"option {name!r} must be one of {', '.join(allowed)}; got {value!r}")
        for name in ("source", "target"):
            value = getattr(self, name)
            if not (isinstance(value, str) and (value == "auto" or LANG_CODE.fullmatch(value))):
                raise OptionsError(f"option {name!r} must be a language code such as 'zh'; got {value!r}")
        if self.target == "auto":
            raise OptionsError("option 'target' cannot be 'auto'")
        if self.source == "auto" and self.target != "en":
            raise OptionsError(
                f"with source 'auto' transnorm normalizes into English; target {self.target!r} needs an "
                "explicit source language"
            )
        for name, low, high, none_ok in (
            ("beam_size", 1, 16, True),
            ("alternatives", 0, MAX_ALTERNATIVES, False),
        ):
            value = getattr(self, name)
            if value is None and none_ok:
                continue
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise OptionsError(f"option {name!r} must be an integer from {low} to {high}; got {value!r}")

    @classmethod
    def from_mapping(cls, data: Mapping[str, object] | None) -> Options:
        """Build options from user data (JSON, query string), rejecting unknown names and types."""
        if data is None:
            return cls()
        if not isinstance(data, Mapping):
            raise OptionsError(f"options must be an object; got {type(data).__name__}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise OptionsError(
                f"unknown option(s): {', '.join(map(str, unknown))}; known: {', '.join(sorted(known))}"
            )
        values = dict(data)
        for name, value in values.items():
            if name in INTEGER_OPTIONS:
                if isinstance(value, float) and value.is_integer():
                    values[name] = int(value)  # JSON has one number type: 4.0 is the integer 4
            elif not isinstance(value, str):
                raise OptionsError(f"option {name!r} must be a string; got {type(value).__name__}")
        return cls(**values)  # type: ignore[arg-type]

    def to_dict(self) -> dict[str, object]:
        return asdict(self)
