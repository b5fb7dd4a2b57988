"""Glosses: foreign-script names, titles, transliterations and pronunciations that a sentence
gives beside its own words, as encyclopedias, dictionaries and newspapers write them.

``Athens (Greek: Αθήνα, Athína)``, ``the Hebrew root צדקים``, ``Sikong Tu 司空图 (837–908)``,
``from Greek πλάσμα, "anything formed"``, ``Jerome (/dʒəˈroʊm/)``: the English already says what
the run is; translating it would say it twice ("Athens (Greek: Athens, Athína)") or garble it.
A run of another script is a gloss when it is short (no sentence of its own: no sentence-final
mark, a few words) and the sentence presents it as one:

- after a label: a language or script name, optionally with the kind of thing it names
  (``Chinese:``, ``Ancient Greek σχολεῖον``, ``the Hebrew root``, ``Greek suffix``), or a
  marker of a rendering (``lit.``, ``romanized:``, ``pinyin:``);
- inside brackets that follow a word (``Korean War (Korean: 한국전쟁)``, ``飲茶)``): a
  parenthetical after a term, not a bracketed sentence;
- right after a capitalized romanized name it renders (``Xishan Qinkuang 谿山琴况``), or right
  before its transliteration in brackets (``δῆμος (dêmos)``);
- beside another gloss of the same script in the sentence (``… and -γενής``).

Pronunciations are glosses too, whatever their script: IPA between slashes or square brackets,
or words spelled with letters only IPA uses (``Rhymes: -ɛkst``).

A pure function over the text; the segmenter marks what it finds as verbatim regions with the
reason ``gloss``, and the planner keeps them (or, with the option ``glosses: translate``,
treats them as it would without this rule).
"""

from __future__ import annotations

import re

from .scripts import group_of

#: English names of languages and scripts that a gloss label names.
LANGUAGE_NAMES = frozenset(
    """
    Afrikaans Albanian Amharic Arabic Aramaic Armenian Assamese Azerbaijani Azeri Balinese Basque
    Belarusian Bengali Bangla Bosnian Breton Bulgarian Burmese Cantonese Catalan Chechen Cherokee
    Chinese Coptic Croatian Cyrillic Czech Danish Dari Devanagari Dutch Dzongkha Egyptian English
    Esperanto Estonian Farsi Finnish French Galician Ge'ez Georgian German Gothic Greek Gujarati
    Hakka Hangul Hanja Hanzi Hausa Hawaiian Hebrew Hindi Hiragana Hokkien Hungarian Icelandic
    Indonesian Irish Italian Japanese Javanese Kanji Kannada Katakana Kazakh Khmer Korean Kurdish
    Kyrgyz Lao Latin Latvian Lithuanian Macedonian Malay Malayalam Maltese Manchu Mandarin Maori
    Marathi Mongolian Nepali Norwegian Odia Oriya Pali Pashto Persian Phoenician Polish Portuguese
    Punjabi Romanian Russian Sanskrit Serbian Sindhi Sinhala Sinhalese Slovak Slovene Slovenian
    Somali Sorani Spanish Sumerian Swahili Swedish Syriac Tagalog Tajik Tamil Tatar Telugu Thai
    Tibetan Tigrinya Turkish Turkmen Ukrainian Urdu Uyghur Uzbek Vietnamese Welsh Yiddish Yoruba
    Zhuang
    """.split()
)
_QUALIFIERS = (
    "Ancient|Old|Middle|Modern|Classical|Literary|Standard|Traditional|Simplified|Koine|Biblical|"
    "Byzantine|Medieval|Late|Early|Vulgar|Church|Egyptian|Levantine|Brazilian|European|Northern|"
    "Southern|Proto"
)
_KINDS = (
    "pronunciation|script|name|names|spelling|word|words|root|roots|noun|verb|adjective|suffix|"
    "prefix|form|term|title|character|characters|letter|letters|plural|singular|stem|phrase|"
    "transliteration|original|text|writing|alphabet"
)
_NAMES = "|".join(sorted(LANGUAGE_NAMES, key=len, reverse=True))
# What stands right before a gloss: a language label, or a marker of a rendering.
_LABEL = re.compile(
    rf"(?:\b(?:(?:{_QUALIFIERS})[ -])?(?:{_NAMES})(?:\s+(?:{_KINDS}))?"
    r"|\b(?:lit|literally|romani[sz]ed|romani[sz]ation|transliterated|transliteration|transcribed|"
    r"pinyin|Hepburn|Wade[-–]Giles|Jyutping|Yale|RR|MR|IPA|native|locally|officially|also)"
    r")\s*[:.]?\s*[“\"'«‘(]*\s*$",
    re.I,
)
# Sentence-final marks: a run that holds one is a sentence, not a gloss.
_SENTENCE_END = re.compile(r"[。！？!?]|[.…](?=\s|$)")
_STOPS = frozenset(".!?。！？…")
_OPEN = "([（【"
_CLOSE = ")]）】"
_WORD_BEFORE = re.compile(r"[\w\"”’'\)\]]\s*$")
_CAPITALIZED = re.compile(r"\b[A-Z][A-Za-z\u00c0-\u024f\u1e00-\u1eff'’-]*\s+$")
# Letters only the IPA uses (not ə, which Azerbaijani writes), and its stress and length marks.
_IPA_ONLY = "ɐɑɒɓɔɕɖɗɘɚɛɜɝɞɟɠɡɢɣɤɥɦɧɨɪɫɬɭɮɯɰɱɲɳɴɵɶɷɸɹɺɻɼɽɾɿʀʁʂʃʄʅʆʇʈʉʊʋʌʍʎʏʐʑʒʓʔʕʖʗʘʙʚʛʜʝʞʟʠʡʢˈˌː"
_IPA_HINT = re.compile(f"[{_IPA_ONLY}]")
_IPA = re.compile(
    rf"(?<![\w/])/[^/\n]{{0,60}}[{_IPA_ONLY}][^/\n]{{0,60}}/(?![\w/])"  # /ˈbeɪdʒɪŋ/
    rf"|\[[^\[\]\n]{{0,60}}[{_IPA_ONLY}][^\[\]\n]{{0,60}}\]"  # [bɛʁˈnʊli]
    rf"|(?<!\S)-?[^\s,;()\[\]/]*[{_IPA_ONLY}][^\s,;()\[\]/]*"  # a bare word in IPA letters: -ɛkst
    r"|(?<=enPR:)\s*[^,;\n]+"  # a dictionary's respelling: enPR: trŭst
)
# The respelling Wikipedia gives after the IPA: /ˈbeɪdʒɪŋ/ BAY-jing, / dəˈvɔːrʒɑːk / d(ə)-VOR-zha(h)k.
_RESPELLING = re.compile(r"\s+[\w()]*[A-Z]{2,}[\w()]*(?:-[\w()]+)+|\s+[\w()]+(?:-[\w()]+)*-[A-Z]{2,}[\w()-]*")
_ROMANIZED_AFTER = re.compile(r"\s*[(（]\s*[A-Za-z\u00c0-\u024f\u1e00-\u1eff'’-]+[\s,;:)）]")
#: How long a gloss may be: words for spaced scripts, characters for the dense ones.
MAX_WORDS = 6
MAX_DENSE = 12


def find(
    text: str,
    start: int,
    end: int,
    runs: tuple[tuple[int, int], ...],
    verbatim: tuple[tuple[int, int, object], ...] = (),
) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """The glosses of the sentence ``text[start:end]``: ``(glosses, runs left)``. ``runs`` are its
    runs of another script; ``verbatim`` its addresses and code (never part of a gloss)."""
    glosses = [r for r in runs if _presented(text, start, end, r)]
    if glosses:
        # Other short runs of a script already glossed in the sentence are glosses too.
        scripts = {group_of(next(c for c in text[s:e] if c.isalpha())) for s, e in glosses}
        for s, e in runs:
            if (s, e) not in glosses and _short(text[s:e]) and _group(text[s:e]) in scripts:
                glosses.append((s, e))
    glosses.sort()
    left = [r for r in runs if r not in glosses]
    taken = [*glosses, *left, *((s, e) for s, e, _ in verbatim)]
    glosses += pronunciations(text, start, end, taken)
    glosses.sort()
    return glosses, left


def pronunciations(
    text: str, start: int, end: int, taken: list[tuple[int, int]] | None = None
) -> list[tuple[int, int]]:
    """IPA transcriptions in ``text[start:end]`` (none overlapping ``taken``)."""
    taken = taken or []
    if not _IPA_HINT.search(text, start, end):
        return []
    out = []
    for m in _IPA.finditer(text, start, end):
        s, e = m.span()
        if text[s] == "/" and (respelling := _RESPELLING.match(text, e, end)):
            e = respelling.end()
            while text[e - 1] == ")" and text.count("(", s, e) < text.count(")", s, e):
                e -= 1  # the bracket that closes around the pronunciation
        if not any(s < te and ts < e for ts, te in taken):
            out.append((s, e))
    return out


def is_pronunciation(text: str) -> bool:
    """Whether ``text`` holds letters or marks only the IPA uses."""
    return _IPA_HINT.search(text) is not None


def _group(run: str) -> str:
    return group_of(next((c for c in run if c.isalpha()), " "))


def _short(run: str) -> bool:
    """Short enough to be a name or a title, and not a sentence."""
    body = run.strip("《》「」『』“”\"'()（）[]【】 ")
    if _SENTENCE_END.search(body):
        return False
    if _group(body) in ("CJK", "Hangul", "Thai", "Lao", "Khmer", "Myanmar", "Tibetan"):
        return len(body) <= MAX_DENSE or (_group(body) == "Hangul" and len(body.split()) <= MAX_WORDS // 2)
    return len(body.split()) <= MAX_WORDS


def _presented(text: str, start: int, end: int, run: tuple[int, int]) -> bool:
    """Whether the sentence presents the run as a gloss (see the module's rules)."""
    s, e = run
    if not _short(text[s:e]) or text[e : e + 1] in _STOPS:
        return False  # a sentence of its own (its final mark comes right after the run)
    line_start = text.rfind("\n", start, s) + 1
    before = text[max(start, line_start, s - 80) : s]
    if _LABEL.search(before):
        return True
    if _in_brackets(text, max(start, line_start), s):
        return True
    # The sentence gives its transliteration right after it: "δῆμος (dêmos)", "نزد (nazd, …)".
    if _ROMANIZED_AFTER.match(text, e, end):
        return True
    # A romanized name, then its native spelling: "Sikong Tu 司空图 (837–908)".
    after = text[e : min(end, e + 2)]
    ends = not after.strip() or after.lstrip()[0] in "(,;:)）" or after[:1].isspace()
    return bool(_CAPITALIZED.search(before)) and ends


def _in_brackets(text: str, start: int, s: int) -> bool:
    """Whether ``s`` lies inside a bracket opened after a word, between ``start`` and ``s``."""
    depth = 0
    for i in range(s - 1, start - 1, -1):
        c = text[i]
        if c in _CLOSE:
            depth += 1
        elif c in _OPEN:
            if depth:
                depth -= 1
                continue
            return i > start and bool(_WORD_BEFORE.search(text, start, i))
    return False
