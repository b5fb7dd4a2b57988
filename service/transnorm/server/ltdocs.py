"""What LibreTranslate's responses say about the documents behind them: the detected language,
and the text left untranslated (an extra field and header, which LibreTranslate's clients ignore)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from ..detect import ZXX
from ..document import Action, Document
from .codes import to_lt

#: The header of a ``/translate`` response some of whose text was left untranslated:
#: ``language=reason`` pairs, comma-separated (``zh-Hans=no-model, ru=bad-translation``).
UNTRANSLATED_HEADER = "Transnorm-Untranslated"


def language_shares(docs: list[Document]) -> tuple[Counter[str], dict[str, float]]:
    """Letters per detected language over ``docs``, and the best confidence of each language."""
    chars: Counter[str] = Counter()
    confidence: dict[str, float] = {}
    for doc in docs:
        for span in doc.spans:
            if (
                span.lang == ZXX
                or span.action == Action.NORMALIZED
                or (span.reason is not None and span.action == Action.KEPT)
            ):
                continue
            chars[span.lang] += sum(c.isalpha() for c in span.source_text)
            confidence[span.lang] = max(confidence.get(span.lang, 0.0), span.lang_confidence)
    return chars, confidence


def detected(docs: list[Document]) -> dict[str, Any]:
    """The main language of an item: the foreign language with the most letters, else English;
    confidence 0–100 as LibreTranslate reports it (0 for text with no letters at all)."""
    chars, confidence = language_shares(docs)
    foreign = [(n, lang) for lang, n in chars.items() if lang != "en" and n]
    if foreign:
        lang = max(foreign)[1]
    elif chars:
        lang = "en"
    else:
        return {"language": "en", "confidence": 0.0}
    return {"language": to_lt(lang), "confidence": round(100 * confidence[lang], 1)}


def left_untranslated(docs: list[Document]) -> list[dict[str, Any]]:
    """The text of one item left untranslated: per language and reason (``no-model``,
    ``model-error``, ``bad-translation``, ...), its characters; empty when all was translated."""
    left: Counter[tuple[str, str]] = Counter()
    for doc in docs:
        for span in doc.spans:
            if span.action == Action.UNTRANSLATED:
                left[(span.lang, str(span.reason))] += len(span.source_text)
    return [
        {"language": to_lt(lang), "reason": reason, "characters": n} for (lang, reason), n in left.items()
    ]


def untranslated_header(left: list[list[dict[str, Any]]]) -> str:
    """The :data:`UNTRANSLATED_HEADER` value of the items' :func:`left_untranslated`."""
    return ", ".join(dict.fromkeys(f"{x['language']}={x['reason']}" for item in left for x in item))
