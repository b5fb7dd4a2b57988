"""Language codes as LibreTranslate names them, and the codes a loaded pipeline serves.

Shared by the LibreTranslate blueprint and the OpenAPI document (which states the codes this
server accepts), so neither imports the other.
"""

from __future__ import annotations

from typing import Any

from ..packages import by_source
from ..pipeline import Pipeline
from ..route import FALLBACKS

#: LibreTranslate's names for Argos codes (its ``language.py``), and back (lower-cased).
ALIASES = {"pb": "pt-BR", "zh": "zh-Hans", "zt": "zh-Hant"}
REVERSE = {v.lower(): k for k, v in ALIASES.items()}


def to_lt(code: str) -> str:
    return ALIASES.get(code, code)


def from_lt(code: Any) -> Any:
    """An Argos code from a LibreTranslate one (any case); non-strings are returned as they are."""
    return REVERSE.get(code.lower(), code.lower()) if isinstance(code, str) else code


def sources(pipeline: Pipeline) -> set[str]:
    """Languages translated into English: installed packages, and those the planner serves
    through another language's package (zt through zh, pb and pt through each other)."""
    into_english = set(by_source(pipeline.engine.packages().values()))
    return into_english | {code for code, (via, _) in FALLBACKS.items() if via in into_english}


def accepted(pipeline: Pipeline) -> tuple[set[str], set[str]]:
    """The Argos codes ``/translate`` takes as source (besides auto) and as target."""
    installed = pipeline.engine.packages()
    return sources(pipeline) | {"en"} | {s for s, _ in installed}, pipeline.targets()


def served_codes(pipeline: Pipeline) -> tuple[list[str], list[str]]:
    """The LibreTranslate codes ``/translate`` accepts as source (``auto`` included) and target."""
    source_codes, target_codes = accepted(pipeline)
    return sorted(["auto", *map(to_lt, source_codes)]), sorted(map(to_lt, target_codes))
