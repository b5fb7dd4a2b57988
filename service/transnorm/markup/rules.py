"""What the page says about its parts: page chrome found with the DOM (navigation, headers and footers
outside the article, asides, menus, language menus, search and comment forms, cookie banners) and ITS 2.0
global ``translateRule`` elements."""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Iterable

import turbohtml

from ..document import Reason
from .model import Chrome

# -- what the page says: language menus, chrome, ITS rules ------------------------------------------------

# Names of languages in themselves (and a few common English ones), case-folded: a list of links whose
# texts are these names is a language menu.
_AUTONYMS = frozenset(
    unicodedata.normalize("NFKC", name.strip()).casefold()
    for name in """
    English|Español|Espanol|Français|Francais|Deutsch|Italiano|Português|Portugues|Русский|Українська|Беларуская|
    Български|Српски|Srpski|Hrvatski|Bosanski|Slovenščina|Slovenčina|Čeština|Polski|Magyar|Română|Ελληνικά|
    Türkçe|Azərbaycanca|Қазақша|Кыргызча|Монгол|Тоҷикӣ|O‘zbekcha|Oʻzbekcha|Türkmençe|Հայերեն|ქართული|
    עברית|العربية|عربي|فارسی|اردو|پښتو|کوردی|Kurdî|ئۇيغۇرچە|हिन्दी|हिंदी|मराठी|नेपाली|বাংলা|ਪੰਜਾਬੀ|ગુજરાતી|ଓଡ଼ିଆ|
    தமிழ்|తెలుగు|ಕನ್ನಡ|മലയാളം|සිංහල|ไทย|ລາວ|ខ្មែរ|မြန်မာ|中文|简体中文|繁體中文|繁体中文|简体|繁體|汉语|漢語|
    普通话|國語|粵語|日本語|한국어|조선말|Tiếng Việt|Bahasa Indonesia|Bahasa Melayu|Melayu|Filipino|Tagalog|
    Kiswahili|Swahili|አማርኛ|Hausa|Yorùbá|Igbo|Soomaali|Afrikaans|isiZulu|isiXhosa|Nederlands|Vlaams|Svenska|
    Dansk|Norsk|Norsk bokmål|Nynorsk|Suomi|Íslenska|Eesti|Latviešu|Lietuvių|Gaeilge|Cymraeg|Català|Galego|
    Euskara|Esperanto|Lëtzebuergesch|Malti|Shqip|Македонски|Ўзбекча|Татарча|Башҡортса|Sardu|Corsu|Occitan|
    Chinese|Spanish|French|German|Italian|Portuguese|Russian|Ukrainian|Arabic|Japanese|Korean|Hindi|Turkish|
    Persian|Polish|Dutch|Vietnamese|Indonesian|Thai|Hebrew|Greek|Swedish|Czech|Romanian|Hungarian
    """.replace("\n", "").split("|")
)
# ISO 639-1 codes, as links ("EN | FR | DE") name editions too.
_CODES = frozenset(
    """aa ab af ak am ar as az ba be bg bn bo br bs ca cs cy da de dv dz el en eo es et eu fa ff fi fj fo
    fr fy ga gd gl gn gu ha he hi hr ht hu hy id ig is it ja jv ka kk km kn ko ks ku ky la lb lo lt lv mg mi
    mk ml mn mr ms mt my nb ne nl nn no ny oc om or pa pl ps pt qu rm ro ru rw sa sd si sk sl sm sn so sq sr
    st su sv sw ta te tg th ti tk tl tn tr ts tt ug uk ur uz vi wo xh yi yo zh zu""".split()
)
_CODE_LINK = re.compile(r"(?i)([a-z]{2})(?:[-_][a-z]{2,4})?")
_MENU_CONTAINERS = frozenset(
    {"ul", "ol", "div", "nav", "p", "section", "menu", "details", "span", "li", "dl"}
)
_COOKIE = re.compile(r"(?i)cookie|consent|gdpr|onetrust|cookiebot|didomi|\bcmp\b|cc-(?:window|banner)")
_COMMENTS = re.compile(r"(?i)comment|respond|reply|disqus")
_SEARCH = re.compile(r"(?i)search")
_ROLES = {
    "navigation": "navigation",
    "menu": "menu",
    "menubar": "menu",
    "search": "search form",
    "complementary": "aside",
    "banner": "page header",
    "contentinfo": "page footer",
}
_ARTICLE = frozenset({"article", "main"})
_ITS_NS = "http://www.w3.org/2005/11/its"
_XHTML_NS = "http://www.w3.org/1999/xhtml"
_RULE_TAG = re.compile(r"<(?:[\w.-]+:)?translateRule\b([^>]*)>", re.S)
_RULES_TAG = re.compile(r"<(?:[\w.-]+:)?rules\b([^>]*)>", re.S)
_XML_ATTR = re.compile(r"([\w:.-]+)\s*=\s*(?:\"([^\"]*)\"|'([^']*)')")


def _attr(attrs, name: str) -> str:
    """An attribute's value as written (turbohtml gives token lists, ``class`` and ``rel``, as lists)."""
    value = attrs.get(name)
    if value is None:
        return ""
    return " ".join(value) if isinstance(value, list) else value


def _edition(a: turbohtml.Element) -> tuple[str, str] | None:
    """The edition a link names (an entry of a language menu): its language key and its text; or None."""
    attrs = a.attrs
    text = " ".join(a.text.split())
    declared = _attr(attrs, "hreflang") or _attr(attrs, "lang")
    if declared.strip():
        return declared.strip().casefold(), text or declared
    if not text or len(text) > 40:
        return None
    key = unicodedata.normalize("NFKC", text).casefold()
    if key in _AUTONYMS:
        return key, text
    m = _CODE_LINK.fullmatch(key)
    if m is not None and m.group(1) in _CODES:
        return key, text
    return None


def _language_menus(doc: turbohtml.Document) -> dict[turbohtml.Element, Chrome]:
    """Containers of links most of which name editions of the site in at least three languages."""
    counts: dict[turbohtml.Element, tuple[list[int], dict[str, str]]] = {}
    for a in doc.iter_elements("a"):
        edition = _edition(a)
        node = a.parent
        for _ in range(4):
            if not isinstance(node, turbohtml.Element):
                break
            if node.tag in _MENU_CONTAINERS:
                links, editions = counts.setdefault(node, ([0, 0], {}))
                links[0] += 1
                if edition is not None:
                    links[1] += 1
                    editions.setdefault(*edition)
            node = node.parent
    menus: dict[turbohtml.Element, Chrome] = {}
    for node, ((links, named), editions) in counts.items():
        if len(editions) >= 3 and named >= 0.6 * links:
            names = ", ".join(editions.values())
            evidence = f"{named} links naming editions in {len(editions)} languages: {names[:200]}"
            menus[node] = Chrome(Reason.CHROME, "language menu", evidence)
    # The menu is the smallest container: an ancestor holding no edition link beyond it is not.
    for node in list(menus):
        up = node.parent
        for _ in range(4):
            if not isinstance(up, turbohtml.Element):
                break
            if up in menus and counts[up][0][1] == counts[node][0][1]:
                del menus[up]
            up = up.parent
    return menus


def _describe(el: turbohtml.Element) -> str:
    attrs = el.attrs
    shown = []
    for name in ("id", "class", "role", "aria-label"):
        value = attrs.get(name)
        if value:
            value = " ".join(value) if isinstance(value, list) else value
            shown.append(f'{name}="{value[:60]}"')
    return "<" + " ".join([el.tag, *shown]) + ">"


#: The elements :func:`_chrome_of` can find chrome in without a ``role`` (any element with one can be).
CHROME_TAGS = frozenset({"nav", "aside", "menu", "header", "footer", "form", "div", "section", "dialog", "p"})


def _chrome_of(el: turbohtml.Element, tag: str, in_article: bool) -> Chrome | None:
    """The chrome verdict the element itself carries (its ancestors' are the caller's)."""
    attrs = el.attrs
    role = _attr(attrs, "role").strip().lower()
    what = None
    if tag == "nav":
        what = "navigation"
    elif tag == "aside":
        what = "aside"
    elif tag == "menu":
        what = "menu"
    elif tag in ("header", "footer"):
        if not in_article:
            what = "page header" if tag == "header" else "page footer"
    elif role in _ROLES and tag not in ("html", "body", "main", "article"):
        what = _ROLES[role]
        if what in ("page header", "page footer") and in_article:
            what = None
    if what is not None:
        return Chrome(Reason.CHROME, what, _describe(el))
    if tag in ("html", "body", "main", "article"):
        return None
    names = " ".join(
        " ".join(v) if isinstance(v, list) else str(v)
        for k, v in attrs.items()
        if k in ("id", "class", "aria-label") and v
    )
    if tag == "form":
        action = _attr(attrs, "action")
        if _COMMENTS.search(names) or "comment" in action or el.find("textarea", attrs={"name": "comment"}):
            return Chrome(Reason.COMMENT_FORM, "comment form", _describe(el))
        if _SEARCH.search(names) or "search" in action or el.find("input", attrs={"type": "search"}):
            return Chrome(Reason.CHROME, "search form", _describe(el))
    if (
        names
        and tag in ("div", "section", "aside", "dialog", "form", "footer", "p")
        and _COOKIE.search(names)
    ):
        return Chrome(Reason.CHROME, "cookie banner", _describe(el))
    if tag in ("div", "section") and re.fullmatch(r"(?i)respond|comment-respond|comment-form", names.strip()):
        return Chrome(Reason.COMMENT_FORM, "comment form", _describe(el))
    return None


def _its_rules(doc: turbohtml.Document, warnings: list[str]) -> dict[turbohtml.Element, bool]:
    """Elements an ITS 2.0 global ``translateRule`` (inside ``<script type="application/its+xml">``) selects,
    and whether they are translated; later rules win."""
    decided: dict[turbohtml.Element, bool] = {}
    for script in doc.iter_elements("script"):
        if _attr(script.attrs, "type").strip().lower() != "application/its+xml":
            continue
        body = script.text
        rules = _RULES_TAG.search(body)
        rules_attrs = _xml_attrs(rules.group(1)) if rules else {}
        css = rules_attrs.get("queryLanguage", "xpath").lower() == "css"
        prefixes = [
            k.split(":", 1)[1] for k, v in rules_attrs.items() if k.startswith("xmlns:") and v == _XHTML_NS
        ]
        for m in _RULE_TAG.finditer(body):
            rule = _xml_attrs(m.group(1))
            selector, value = rule.get("selector"), rule.get("translate", "").strip().lower()
            if not selector or value not in ("yes", "no"):
                continue
            try:
                if css:
                    found: Iterable[object] = doc.select(selector)
                else:
                    for prefix in prefixes:  # turbohtml's XPath sees HTML elements without a namespace
                        selector = re.sub(rf"\b{re.escape(prefix)}:(?=[\w*])", "", selector)
                    result = doc.xpath(selector)
                    found = result if isinstance(result, list) else ()
            except ValueError as exc:
                warnings.append(f"ITS translateRule {selector!r} not applied: {exc}")
                continue
            for el in found:
                if isinstance(el, turbohtml.Element):
                    decided[el] = value == "yes"
    for link in doc.iter_elements("link"):
        if "its-rules" in _attr(link.attrs, "rel").lower().split():
            warnings.append(f"external ITS rules not loaded: {_attr(link.attrs, 'href')}")
    return decided


def _xml_attrs(text: str) -> dict[str, str]:
    return {
        m.group(1): html.unescape(m.group(2) if m.group(2) is not None else m.group(3))
        for m in _XML_ATTR.finditer(text)
    }
