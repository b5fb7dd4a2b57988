"""Detect stage: the language of a sentence or run, with a confidence, in Argos codes.

Every language langid knows can be returned (``zt`` is Traditional Chinese, ``nb`` Norwegian
Bokmål, ``pb`` Brazilian Portuguese where it shows), unless ``Settings.languages`` restricts them.

The script decides first: kana → ja; Hangul → ko; Han alone → zh or zt by its characters;
scripts that belong to one language → that language; scripts shared by several (Cyrillic,
Arabic, Devanagari, Bengali, Latin) → the letters only one of them uses, then langid over the
languages written in that script. Latin-script text is English unless it carries evidence of
another language: English function words settle it first; otherwise langid must name another
language confidently *and* the text must use that language's own function words (or be long),
so names with diacritics, outlet names, headlines, loanwords and Latin phrases stay English.
A verdict the text alone cannot settle (a short Cyrillic string, Han characters used alike in
Chinese and Japanese) is ``tentative``: the planner lets its neighbours decide.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from . import langid_model
from .evidence import (
    among_neighbours,
    by_letters,
    chinese_variant_marks,
    outside_names,
    own_evidence,
    portuguese_variant,
    rank,
    second_opinion_foreign,
    sentence_like,
    word_hits,
)
from .languages import (
    ARABIC_LETTERS,
    ARGOS_CODES,
    BENGALI_LETTERS,
    CONFUSABLE,
    CYRILLIC_LETTERS,
    EN_COMMON_WORDS,
    EN_FUNCTION_WORDS,
    KAZAKH,
    LATIN_LANGUAGES,
    LATIN_LETTERS,
    QUICK_ENGLISH,
    SCRIPT_CANDIDATES,
    SCRIPT_LANGUAGE,
)
from .scripts import is_latin_only, script_counts

ZXX = "zxx"  # ISO 639: no linguistic content
UND = "und"  # ISO 639: undetermined (a language outside the allowed set)


def _marks() -> str:
    """A character class of the combining marks (and joiners) that continue a word: Python's
    ``\\w`` leaves out the vowel signs of Devanagari, Bengali, Thai and others."""
    # Marks live in the first two planes, but for the variation selectors of plane 14.
    points = [cp for cp in range(0x20000) if unicodedata.category(chr(cp)).startswith("M")]
    ranges: list[list[int]] = []
    for cp in sorted([*points, 0x200C, 0x200D, *range(0xE0100, 0xE01F0)]):
        if ranges and cp == ranges[-1][1] + 1:
            ranges[-1][1] = cp
        else:
            ranges.append([cp, cp])
    return "".join(re.escape(chr(a)) + (f"-{re.escape(chr(b))}" if b > a else "") for a, b in sorted(ranges))


_LETTER = rf"(?:[^\W\d_]|[{_marks()}])"
_WORD = re.compile(rf"{_LETTER}+(?:['’]{_LETTER}+)*")
# Latin-script text in NFC needs no marks: a plain, much faster pattern (the English fast path).
_LATIN_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")


@dataclass(frozen=True, slots=True)
class Detection:
    """A language (an Argos code where there is one; ``zxx``: no linguistic content), a confidence,
    and whether the text alone could not settle it (``tentative``: neighbours may decide)."""

    lang: str
    confidence: float
    tentative: bool = False


ENGLISH_DEFAULT = Detection("en", 0.5)
NO_LANGUAGE = Detection(ZXX, 1.0)


def all_languages() -> tuple[str, ...]:
    """Every language the detector can return (without ``en``, ``zxx`` and ``und``)."""
    langs = set(SCRIPT_LANGUAGE.values()) | {"zh", "zt", "ja", "pb"}
    for candidates in SCRIPT_CANDIDATES.values():
        langs.update(candidates)
    langs.update(ARGOS_CODES.get(code, code) for code in LATIN_LANGUAGES)
    return tuple(sorted(langs - {"en"}))


class Detector:
    """Language detection with the langid model loaded once.

    ``languages`` restricts what it may return (English always stays possible; empty: all).
    """

    MIN_WORDS = 3

    def __init__(self, languages: Iterable[str] = ()) -> None:
        from langid.langid import LanguageIdentifier

        wanted = set(languages)
        self.languages = tuple(sorted(wanted)) if wanted else all_languages()
        allowed = set(self.languages) | {"en"}
        self._allowed = allowed
        self._identifiers: dict[str, Any] = {}
        for script, candidates in (*SCRIPT_CANDIDATES.items(), ("Latin", LATIN_LANGUAGES)):
            codes = [
                c for c in candidates if ARGOS_CODES.get(c, c) in allowed or (c == "pt" and "pb" in allowed)
            ]
            if len(codes) > 1:
                identifier = LanguageIdentifier(*langid_model.load(), norm_probs=True)
                identifier.set_languages(codes)
                self._identifiers[script] = identifier

    def detect(self, text: str) -> Detection:
        """Detect the language of ``text`` (a sentence or an inline run)."""
        return calibrated(self._detect(text))

    def _detect(self, text: str) -> Detection:
        if is_latin_only(text):  # the common case, English prose: skip the per-character scan
            return self._latin(text)
        counts = script_counts(text)
        letters = sum(counts.values())
        if letters == 0:
            return NO_LANGUAGE
        kana = counts["Hiragana"] + counts["Katakana"]
        han, hangul = counts["Han"], counts["Hangul"]
        cjk = kana + han + hangul
        script, n = counts.most_common(1)[0]
        if cjk and script in ("Han", "Hiragana", "Katakana", "Hangul"):
            if hangul and hangul * 3 >= han:
                return self._allow(Detection("ko", _share(cjk, letters)))
            if kana >= 2 or kana * 10 >= kana + han:
                return self._allow(Detection("ja", _share(cjk, letters)))
            return self._allow(self._chinese(text, cjk, letters))
        if script == "Latin":
            return self._latin(text)
        if script in SCRIPT_LANGUAGE:
            return self._allow(Detection(SCRIPT_LANGUAGE[script], _share(n, letters)))
        if script in SCRIPT_CANDIDATES:
            return self._allow(self._shared_script(script, text, n, letters))
        return Detection(UND, 0.5)

    def _allow(self, detection: Detection) -> Detection:
        if detection.lang in self._allowed or detection.lang == ZXX:
            return detection
        if detection.lang == "pb" and "pt" in self._allowed:
            return Detection("pt", detection.confidence, detection.tentative)
        if detection.lang == "zt" and "zh" in self._allowed:
            return Detection("zh", detection.confidence, detection.tentative)
        return Detection(UND, detection.confidence)

    def _chinese(self, text: str, cjk: int, letters: int) -> Detection:
        """zh or zt by the characters only one of the two writing systems uses."""
        simplified, traditional = chinese_variant_marks(text)
        # Han alone could also be Japanese or Korean written without kana or Hangul. Japanese
        # writes a few characters as Simplified Chinese does (区, 国) and others as Traditional
        # Chinese does (東): with at most one such character, or with both kinds (which Chinese
        # text does not mix), the neighbours may decide.
        lang = "zt" if traditional > simplified else "zh"
        tentative = simplified + traditional <= 1 or (simplified > 0 and traditional > 0)
        return Detection(lang, _share(cjk, letters), tentative=tentative)

    def _shared_script(self, script: str, text: str, n: int, letters: int) -> Detection:
        """A script several languages write: their own letters first, then langid among them."""
        table = {"Cyrillic": CYRILLIC_LETTERS, "Arabic": ARABIC_LETTERS, "Bengali": BENGALI_LETTERS}.get(
            script, ()
        )
        possible = set(SCRIPT_CANDIDATES[script])
        chars = set(text)
        for marks, langs in table:
            if chars & marks and possible & langs:
                possible &= langs
        if "kk" in possible and len(possible) > 1 and n >= 20 and not chars & KAZAKH:
            possible.discard("kk")  # Kazakh text of any length writes one of its own letters
        if "mn" in possible and len(possible) > 1 and text.lower().count("к") >= 2:
            possible.discard("mn")  # Mongolian writes к in loanwords only
        possible &= self._allowed
        share = _share(n, letters)
        if len(possible) == 1:
            return Detection(possible.pop(), min(0.99, share))
        if not possible:
            return Detection(UND, share)
        words = _WORD.findall(text.lower())
        # Function words only one of the possible languages uses.
        hits = sorted(((word_hits(lang, words), lang) for lang in possible), reverse=True)
        by_words = hits[0][1] if hits[0][0] >= 1 and hits[0][0] > hits[1][0] else None
        identifier = self._identifiers.get(script)
        if identifier is None:
            return Detection(by_words or sorted(possible)[0], share, tentative=by_words is None)
        scores = rank(identifier, text)
        lang, prob = max(((lang, p) for lang, p in scores.items() if lang in possible), key=lambda x: x[1])
        if by_words and by_words != lang and (len(words) < 6 or hits[0][0] >= word_hits(lang, words) + 2):
            return Detection(by_words, round(min(0.9, share), 4))
        if len(words) < 4 and prob < 0.99 and by_words is None:
            # Too little text to tell the languages of this script apart: the most used one, unless
            # the neighbours say otherwise.
            default = SCRIPT_CANDIDATES[script][0]
            lang = default if default in possible else lang
            return Detection(lang, round(min(prob, share), 4), tentative=True)
        return Detection(lang, round(min(prob, share), 4))

    def detect_latin(self, text: str) -> Detection:
        """:meth:`detect` for text known to be in the Latin script only (the segmenter knows)."""
        return calibrated(self._latin(text))

    def _latin(self, text: str) -> Detection:
        lower = text.lower()
        # Most English sentences have three of its commonest function words: a C-speed check.
        padded = f" {lower} "
        quick = 0
        for word in QUICK_ENGLISH:
            quick += padded.count(word)
            if quick >= 3:
                return Detection("en", round(min(0.99, 0.6 + 3 / (lower.count(" ") + 1)), 4))
        words = _LATIN_WORD.findall(lower)
        n = len(words)
        if n < self.MIN_WORDS:
            return ENGLISH_DEFAULT if n else NO_LANGUAGE
        english = sum(map(EN_FUNCTION_WORDS.__contains__, words))
        if english >= 3 or (english >= 2 and english * 8 >= n):
            return Detection("en", round(min(0.99, 0.6 + english / n), 4))
        common = sum(map(EN_COMMON_WORDS.__contains__, words))
        if english and common * 10 >= 3 * n:
            return Detection("en", round(min(0.99, 0.6 + common / (2 * n)), 4))
        identifier = self._identifiers.get("Latin")
        if identifier is None:
            return Detection("en", 0.5)
        original = _LATIN_WORD.findall(text)
        scores = rank(identifier, text)
        foreign = 1.0 - scores.get("en", 0.0)  # languages langid confuses share the rest
        lang, prob = max(scores.items(), key=lambda x: x[1])
        lang = ARGOS_CODES.get(lang, lang)
        if lang == "en":
            return Detection("en", round(prob, 4))
        lang = own_evidence(among_neighbours(lang, words, self._allowed), words, self._allowed)
        hits = word_hits(lang, outside_names(original))
        capitalized = sum(1 for w in original if w[0].isupper())
        if capitalized * 10 >= 7 * n:
            # Names, outlet names and headlines: only the language's own function words, more of
            # them than English words, tell a foreign title from an English one.
            evidence = hits >= 2 and hits > common
        else:
            # The language's function words outnumber the English words (or match them, when
            # langid is all but certain); or langid is all but certain and a quarter of the words
            # at most are English ones.
            evidence = (hits >= 2 or (hits and n >= 6)) and (
                hits > common or (foreign >= 0.99 and hits == common)
            )
            evidence = evidence or (n >= 5 and foreign >= 0.99 and common * 4 < n)
        outside = outside_names(original)
        plain = sum(map(EN_COMMON_WORDS.__contains__, outside))
        short = not evidence and foreign >= 0.9 and prob >= 0.4 and plain * 3 < len(outside)
        if short and sentence_like(text, original):
            # A short sentence without the function words the rule above asks for: a second,
            # differently built detector (fastText's lid.176) must also find it foreign.
            evidence = second_opinion_foreign(text, certain=prob >= 0.99)
        if foreign >= 0.9 and evidence:
            lang = by_letters(text, lang, scores, self._allowed)
            if lang == "pt":
                lang = portuguese_variant(text, words)
            return self._allow(Detection(lang, round(foreign, 4)))
        return Detection("en", round(max(0.5, 1.0 - foreign), 4))

    def english_evidence(self, text: str) -> bool:
        """Whether ``text`` uses an English function word (the evidence an English verdict rests on)."""
        return any(w in EN_FUNCTION_WORDS for w in _LATIN_WORD.findall(text.lower()))

    def plausible(
        self, text: str, lang: str, current: str | None = None, lenient: bool = False
    ) -> Detection | None:
        """``lang`` for ``text`` when nothing in the text rules it out (its script, the letters
        only some languages use) and langid gives it a fair share among the languages of the
        script: how a language established elsewhere in the document settles a short or
        ambiguous piece (``current``: what the piece was named; between languages that are easily
        confused, or ``lenient``ly, only the text's letters or script rule one out). None otherwise."""
        if lang not in self._allowed:
            return None
        counts = script_counts(text)
        if not counts:
            return None
        script = counts.most_common(1)[0][0]
        candidates = LATIN_LANGUAGES if script == "Latin" else SCRIPT_CANDIDATES.get(script, ())
        code = {v: k for k, v in ARGOS_CODES.items()}.get(lang, lang)
        if code not in candidates and not (lang == "pb" and "pt" in candidates):
            return None
        table = LATIN_LETTERS if script == "Latin" else {"Cyrillic": CYRILLIC_LETTERS}.get(script, ())
        chars = set(text)
        for marks, langs in table:
            if chars & marks and lang not in langs and code not in langs:
                return None
        identifier = self._identifiers.get(script)
        if identifier is None or lenient:
            return Detection(lang, 0.9)
        scores = rank(identifier, text)
        share = scores.get(code, scores.get("pt", 0.0) if lang == "pb" else 0.0)
        # Between languages a detector confuses, the document decides unless the text rules it out.
        confusable = current is not None and any(lang in g and current in g for g in CONFUSABLE)
        if share < (0.001 if confusable else 0.05) or (not confusable and share * 20 < max(scores.values())):
            return None
        return Detection(lang, round(max(0.5, min(share, 0.95)), 4))


#: The most a foreign verdict is trusted: on the real-text evaluation, verdicts scored near 1.0
#: are right about 95 times in 100.
FOREIGN_CEILING = 0.95


@functools.lru_cache(maxsize=4096)  # the same few values recur: no new object per sentence
def calibrated(detection: Detection) -> Detection:
    """The confidence as the share of verdicts like it that are right (measured on the real-text
    evaluation, docs/detection.md): English verdicts were right at least 97 times in 100 whatever
    their evidence scored, foreign ones about 95 times in 100 at best."""
    lang, confidence = detection.lang, detection.confidence
    if lang == "en":
        confidence = 0.9 + 0.09 * confidence
    elif lang not in (ZXX, UND):
        confidence = min(confidence, FOREIGN_CEILING)
    else:
        return detection
    return Detection(lang, round(confidence, 4), detection.tentative)


def _share(n: int, letters: int) -> float:
    return round(max(0.5, min(1.0, n / letters)), 4)
