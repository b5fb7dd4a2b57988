"""What the detector knows of languages, as data: the scripts and the languages that write
them, the families whose verdicts neighbours settle, function words, the letters and spellings
only some languages use. :mod:`transnorm.detect` holds the logic that reads them.
"""

from __future__ import annotations

import re

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
QUICK_ENGLISH = (
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
AUXILIARY = r"(?:est\w+|continu\w*|fic\w*|and\w*)"
GERUND = re.compile(rf"\b(?:{AUXILIARY}|vem|vêm|vai|vão)\s+\w+ndo\b", re.I)
INFINITIVE = re.compile(rf"\b{AUXILIARY}\s+a\s+\w+[aei]r\b", re.I)

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
AZERI = re.compile(r"[qx]|ə", re.I)

# Lower-case words that join the parts of a personal or place name.
NAME_PARTICLES = frozenset(
    "von van der den de da di du del della des dos das la le bin ibn al el zu ter ten y".split()
)

# A neighbour langid names without the words only it has in the pair: the other one. (Nynorsk
# and Slovenian sentences use their own forms; Bokmål and Croatian/Serbian text named as them
# does not.)
OWN_EVIDENCE = {"nn": "nb", "sl": "hr"}

# Spellings only one of the Ibero-Romance neighbours uses.
SPELLINGS = {
    "pt": re.compile(r"[ãõ]|ç[ãõ]|lh|nh|\bem\b|\bnão\b"),
    "es": re.compile(r"ñ|\b(?:el|los|las|del)\b|ón\b"),
    "gl": re.compile(r"\bx[aeiou]|ción\b|cións\b|ón\b|\bunha\b|\bnon\b"),
    "ca": re.compile(r"l·l|ió\b|ions\b|[àèò]\b|qü|\bl'|\bd'"),
}
