"""Chrome stage: scraped UI strings, repeated titles, comment forms and upstream MT notices.

Works on whole logical lines only: a phrase inside a sentence is never chrome. The verdicts
say why a line would be removed; the planner decides (``--chrome keep|remove``).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass

from .document import Reason
from .segment import Line


@dataclass(frozen=True, slots=True)
class Verdict:
    """Why a line is not part of the article."""

    reason: Reason
    #: For MT notices, the canonical name of the upstream service.
    service: str | None = None


# Page furniture that is chrome wherever it stands alone on a line.
_STRONG = {
    # English
    "skip to main content",
    "skip to content",
    "skip to navigation",
    "advertisement",
    "live broadcast",
    "main slide",
    "beginning of the article",
    "select important",
    "listen to this article",
    "share this article",
    "click to share",
    "read more",
    "read also",
    "most read",
    "related articles",
    "back to top",
    "toggle navigation",
    "subscribe",
    "sign in",
    "log in",
    "print this page",
    "follow us",
    "share on facebook",
    "share on twitter",
    "tweet",
    "copy link",
    "font size",
    # Russian / Ukrainian
    "озвучить текст",
    "выделить главное",
    "реклама",
    "прямой эфир",
    "главный слайд",
    "начало статьи",
    "читать далее",
    "читайте также",
    "поделиться",
    "подписаться",
    "наверх",
    "версия для печати",
    "реклама на сайте",
    "читайте також",
    "поділитися",
    # Chinese / Japanese / Korean
    "分享到",
    "返回顶部",
    "扫一扫",
    "点击查看",
    "相关阅读",
    "责任编辑",
    "打印本页",
    "关闭窗口",
    "广告",
    "共有",
    "シェア",
    "広告",
    "공유하기",
    "광고",
    # German / French / Spanish
    "werbung",
    "anzeige",
    "zum inhalt springen",
    "publicité",
    "aller au contenu",
    "publicidad",
    "saltar al contenido",
    "leer más",
}

# Short words that are chrome only beside other chrome, or at the very top or bottom.
_WEAK = {
    "on",
    "off",
    "menu",
    "search",
    "close",
    "share",
    "print",
    "home",
    "next",
    "previous",
    "вкл",
    "выкл",
    "поиск",
    "меню",
    "закрыть",
    "搜索",
    "首页",
    "comments",
    "комментарии",
}

_COMMENT_FORM = re.compile(
    r"^(?:leave a (?:reply|comment)|post (?:a )?comment|cancel reply|add a comment|comments?"
    r"|your email address will not be published.*|required fields are marked.*"
    r"|save my name, email,? and website.*|you must be logged in to post a comment.*"
    r"|(?:name|email|e-mail|website|comment)\s*\*?|оставить комментарий|комментарии"
    r"|ваш (?:e-mail|адрес email) не будет опубликован.*|发表评论|评论)$"
)

_TRANSLATION_CUE = re.compile(
    r"translat|переведен|перевод|перекладено|переклад|übersetz|tradu|翻译|翻譯|翻訳|번역",
    re.IGNORECASE,
)
# (pattern, canonical service name); the first that matches names the service.
_SERVICES = [
    (re.compile(r"яндекс|yandex", re.I), "Yandex Translate"),
    (re.compile(r"google|гугл|谷歌", re.I), "Google Translate"),
    (re.compile(r"deepl", re.I), "DeepL"),
    (re.compile(r"bing|microsoft", re.I), "Microsoft Translator"),
    (re.compile(r"papago|파파고", re.I), "Papago"),
    (re.compile(r"baidu|百度", re.I), "Baidu Translate"),
    (re.compile(r"youdao|有道", re.I), "Youdao"),
    (re.compile(r"chatgpt|openai", re.I), "ChatGPT"),
    (
        re.compile(r"machine|automatic|автоматическ|машинн|机器|機器|自动|自動|機械|자동|기계", re.I),
        "unspecified machine translation",
    ),
]


def key(text: str) -> str:
    """A line reduced for lexicon lookup: case-folded, NFKC, outer punctuation removed."""
    if len(text) > 300:
        return ""  # no lexicon entry is that long; skip the work on huge lines
    text = unicodedata.normalize("NFKC", text).casefold()
    start, end = 0, len(text)
    while start < end and not text[start].isalnum():
        start += 1
    while end > start and not text[end - 1].isalnum():
        end -= 1
    return text[start:end]


def mt_notice_service(text: str) -> str | None:
    """The upstream service if ``text`` is a machine-translation notice, else None."""
    if len(text) > 200 or not _TRANSLATION_CUE.search(text):
        return None
    for pattern, name in _SERVICES:
        if pattern.search(text):
            return name
    return None


def find_title(text: str, lines: list[Line]) -> int | None:
    """Index of the article title: the first heading-like line among the first few."""
    for i, line in enumerate(lines[:6]):
        body = text[line.start : line.end]
        words = [w for w in body.split() if any(c.isalpha() for c in w)]
        if 3 <= len(words) <= 40 and len(body) <= 250 and body[-1] not in ".:;,":
            return i
    return None


def _runs(indices: list[int]) -> Iterator[list[int]]:
    """Maximal runs of consecutive numbers in the ascending ``indices``."""
    run: list[int] = []
    for i in indices:
        if run and i != run[-1] + 1:
            yield run
            run = []
        run.append(i)
    if run:
        yield run


def classify(text: str, lines: list[Line]) -> dict[int, Verdict]:
    """Verdicts for the lines (by index) that are chrome, title repeats, forms or MT notices."""
    verdicts: dict[int, Verdict] = {}
    keys = [key(text[line.start : line.end]) for line in lines]
    weak: list[int] = []
    for i, (line, k) in enumerate(zip(lines, keys, strict=True)):
        body = text[line.start : line.end]
        service = mt_notice_service(body)
        if service:
            verdicts[i] = Verdict(Reason.MT_NOTICE, service)
        elif k in _STRONG:
            verdicts[i] = Verdict(Reason.CHROME)
        elif _COMMENT_FORM.match(k) and (k not in _WEAK or i == len(lines) - 1):
            verdicts[i] = Verdict(Reason.COMMENT_FORM)
        elif k in _WEAK:
            weak.append(i)

    # Weak words count where they stand beside chrome or at the edge of the document, and so
    # does a run of them that touches chrome or an edge (each run looked at once: linear).
    last = len(lines) - 1
    for run in _runs(weak):
        if run[0] == 0 or run[-1] == last or (run[0] - 1) in verdicts or (run[-1] + 1) in verdicts:
            for i in run:
                verdicts[i] = Verdict(Reason.CHROME)

    title = find_title(text, lines)
    if title is not None:
        for i in range(title + 1, len(lines)):
            if i not in verdicts and keys[i] == keys[title]:
                verdicts[i] = Verdict(Reason.TITLE_REPEAT)
    return verdicts
