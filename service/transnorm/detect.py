"""Detect stage: the language of a sentence or run, with a confidence.

Script decides first (Han without kana → zh, kana → ja, Hangul → ko, Cyrillic → among the
Cyrillic languages by their distinctive letters, then langid). Latin-script text is English
unless it carries real evidence of another language: enough words, no English function words,
a confident langid verdict over a restricted candidate set, and that language's own function
words. Short strings, bullets, dates, URLs, names and loanwords therefore stay English.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .scripts import is_latin_only, script_counts
from .settings import DEFAULT_LATIN_CANDIDATES

ZXX = "zxx"  # ISO 639: no linguistic content

_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")
_DOMAIN = re.compile(r"[\w.-]+\.(?:com|org|net|ru|ua|cn|gov|edu|uk|de|fr|io)\W*", re.IGNORECASE)


_ADDRESS_HINT = re.compile(r"://|www\.|@|\.(?:com|org|net|ru|ua|cn|gov|edu|uk|de|fr|io)\b", re.IGNORECASE)


def _without_addresses(text: str) -> str:
    """Drop URLs, e-mail addresses and domain names, token by token (linear time)."""
    if not _ADDRESS_HINT.search(text):
        return text
    return " ".join(
        t
        for t in text.split()
        if not ("://" in t or t.startswith("www.") or "@" in t or _DOMAIN.fullmatch(t))
    )


# English function words that other Latin-script languages do not use as words of their own.
EN_FUNCTION_WORDS = frozenset(
    """
    the of and to that with for was were this these those have has had from which would will
    their they been are by its not but or be at an he she we you his her our about said
    after there than who what when where why how it is as if into also can could should may
    might must more most other some such only then them very just over between against
    because while
    """.split()
)

# Frequent function words of the Latin-script candidates; two of them are the evidence we need.
FUNCTION_WORDS: dict[str, frozenset[str]] = {
    "fr": frozenset(
        """
    le la les des du un une et est sont dans pour que qui pas ne au aux avec sur ce cette
    ces il elle ils nous vous mais ou où son sa ses leur été être avoir fait plus très c'est
    l'on d'un d'une qu'il n'est j'ai
    """.split()
    ),
    "de": frozenset(
        """
    der die das und ist nicht mit ein eine einen dem den des zu auf im für von sich auch es
    wir ich sie er werden wird wurde sind hat haben aber oder wie noch nach bei aus über
    dass kein keine nur schon
    """.split()
    ),
    "es": frozenset(
        """
    el la los las y es son del en una un por con para que se no al lo como más pero sus su
    le ya muy también está están fue ser hay este esta estos esas nos
    """.split()
    ),
    "it": frozenset(
        """
    il lo la gli le di del della dei delle e è un una per con non che si sono nel nella al
    alla come più ma anche questo questa stato essere ha hanno
    """.split()
    ),
    "pt": frozenset(
        """
    o a os as um uma de do da dos das em no na nos nas e é são que não para com por se mais
    mas como foi ser está também pelo pela ao
    """.split()
    ),
    "nl": frozenset(
        """
    de het een en is van in op te dat die niet met zijn voor er maar ook als bij nog wordt
    werd door naar heeft hebben deze dit geen
    """.split()
    ),
}

_CYRILLIC_MARKERS = (
    ("uk", set("іїєґІЇЄҐ")),
    ("be", set("ўЎ")),
    ("sr", set("јљњћђџЈЉЊЋЂЏ")),
    ("mk", set("ѓќѕЃЌЅ")),
    ("ru", set("ыэъёЫЭЪЁ")),
)

# Words one of Russian/Ukrainian uses and the other does not; they settle texts that have none
# of the distinctive letters (ы э ъ ё / і ї є ґ).
_UK_WORDS = frozenset(
    """
    та що як це від але або її їх він вона вони також буде вже ще дуже після між коли де чи
    й його цей ця ці тому якщо
    """.split()
)
_RU_WORDS = frozenset(
    """
    и что как это но или его ее её их он она они мы вы также был будет есть уже еще очень
    после между когда где ли который которые этот эта эти потому если
    """.split()
)

_SCRIPT_LANG = {
    "Hangul": "ko",
    "Greek": "el",
    "Arabic": "ar",
    "Hebrew": "he",
    "Devanagari": "hi",
    "Bengali": "bn",
    "Thai": "th",
    "Armenian": "hy",
    "Georgian": "ka",
}


@dataclass(frozen=True, slots=True)
class Detection:
    """A language (ISO 639-1 where it has one; ``zxx`` for no linguistic content) and a confidence."""

    lang: str
    confidence: float


ENGLISH_DEFAULT = Detection("en", 0.5)


class Detector:
    """Language detection with the langid model loaded once.

    ``latin_candidates`` restricts langid for Latin-script text (English must be among them).
    """

    MIN_WORDS = 3

    def __init__(self, latin_candidates: Iterable[str] = DEFAULT_LATIN_CANDIDATES) -> None:
        from langid.langid import LanguageIdentifier

        self.latin_candidates = tuple(latin_candidates)
        self._latin = LanguageIdentifier(*_langid_model(), norm_probs=True)
        self._latin.set_languages(list(self.latin_candidates))
        self._cyrillic = LanguageIdentifier(*_langid_model(), norm_probs=True)
        self._cyrillic.set_languages(["ru", "uk", "bg", "sr", "mk", "be"])

    def detect(self, text: str) -> Detection:
        """Detect the language of ``text`` (a sentence or an inline run)."""
        if is_latin_only(text):  # the common case, English prose: skip the per-character scan
            return self._latin_lang(text)
        counts = script_counts(text)
        letters = sum(counts.values())
        if letters == 0:
            return Detection(ZXX, 1.0)
        script, n = counts.most_common(1)[0]
        if counts["Hiragana"] + counts["Katakana"] and script in ("Han", "Hiragana", "Katakana"):
            kana = counts["Hiragana"] + counts["Katakana"]
            return Detection("ja", _share(kana + counts["Han"], letters))
        if script == "Han":
            return Detection("zh", _share(n, letters))
        if script == "Cyrillic":
            return self._cyrillic_lang(text, n, letters)
        if script in _SCRIPT_LANG:
            return Detection(_SCRIPT_LANG[script], _share(n, letters))
        if script == "Latin":
            return self._latin_lang(text)
        return Detection("und", 0.5)

    def _cyrillic_lang(self, text: str, n: int, letters: int) -> Detection:
        chars = set(text)
        for lang, marks in _CYRILLIC_MARKERS:
            if chars & marks:
                if lang == "ru" and chars & _CYRILLIC_MARKERS[0][1]:
                    continue  # both ы and і: let langid decide
                return Detection(lang, min(0.99, _share(n, letters)))
        words = [w.lower() for w in _WORD.findall(text)]
        uk = sum(1 for w in words if w in _UK_WORDS)
        ru = sum(1 for w in words if w in _RU_WORDS)
        if uk != ru:
            return Detection("uk" if uk > ru else "ru", min(0.95, _share(n, letters)))
        if len(words) < 4:
            # Too little to tell the Cyrillic languages apart: Russian is by far the most common.
            return Detection("ru", 0.6)
        lang, prob = self._cyrillic.classify(text)
        if lang != "ru" and prob < 0.9:
            lang = "ru"
        return Detection(lang, round(min(prob, _share(n, letters)), 4))

    def _latin_lang(self, text: str) -> Detection:
        words = _WORD.findall(_without_addresses(text).lower())
        if len(words) < self.MIN_WORDS:
            return ENGLISH_DEFAULT if words else Detection(ZXX, 1.0)
        english = sum(map(EN_FUNCTION_WORDS.__contains__, words))
        if english / len(words) >= 0.12 or english >= 3:
            return Detection("en", round(min(0.99, 0.6 + english / len(words)), 4))
        lang, prob = self._latin.classify(text)
        if lang == "en":
            return Detection("en", round(prob, 4))
        own = FUNCTION_WORDS.get(lang, frozenset())
        hits = sum(1 for w in words if w in own)
        n = len(words)
        # Two of the language's function words; one in a longer sentence; or a long sentence
        # that langid is all but certain about.
        evidence = (hits >= 2 and hits / n >= 0.1) or (hits >= 1 and n >= 6) or (n >= 8 and prob >= 0.99)
        if prob >= 0.9 and evidence:
            return Detection(lang, round(prob, 4))
        return Detection("en", round(max(0.5, 1.0 - prob), 4))


@functools.lru_cache(maxsize=1)
def _langid_model() -> tuple[Any, ...]:
    """langid's model, decompressed once per process (about a second); identifiers share it."""
    import base64
    import bz2
    import pickle

    import numpy as np
    from langid.langid import model

    nb_ptc, nb_pc, nb_classes, tk_nextmove, tk_output = pickle.loads(bz2.decompress(base64.b64decode(model)))
    nb_pc = np.array(nb_pc)
    nb_numfeats = len(nb_ptc) // len(nb_pc)
    nb_ptc = np.array(nb_ptc).reshape(nb_numfeats, len(nb_pc))
    return nb_ptc, nb_pc, nb_numfeats, nb_classes, tk_nextmove, tk_output


def _share(n: int, letters: int) -> float:
    return round(max(0.5, min(1.0, n / letters)), 4)
