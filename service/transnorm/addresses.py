"""Addresses and code: text that is kept verbatim, whatever script it is in.

URLs (``https://zh.wikipedia.org/wiki/北京``), e-mail addresses (``info@例え.jp``, ``пресса@пример.рф``:
internationalized local parts too), domain names,
file paths (``/data/报告/2024.csv``, ``C:\\Users\\张三``), file names with an extension, hashtags
and mentions, and backtick code spans are found here, per line; segmentation never cuts a
sentence or a foreign run inside one, and the planner keeps each as a ``kept`` span with the
reason ``address`` or ``code``. A pure function over the text.
"""

from __future__ import annotations

import re

from . import gloss
from .document import Reason

_TLDS = (
    "com|org|net|edu|gov|mil|int|info|biz|io|co|ai|app|dev|news|tv|me|xyz|online|site|media|press|"
    "ru|ua|by|kz|cn|tw|hk|jp|kr|uk|de|fr|it|es|pt|br|pl|nl|be|ch|at|se|no|fi|dk|cz|sk|hu|ro|bg|gr|"
    "tr|ir|il|in|pk|id|my|vn|th|ph|au|nz|ca|us|mx|ar|eu|su|rs|hr|si|lt|lv|ee"
)
# An address ends at white space, quotes, or CJK punctuation (a CJK sentence goes on after it).
_END = "\\s<>\"'`\u3000-\u303f\uff01\uff08\uff09\uff0c\uff1a\uff1b\uff1f"
# One pattern, one pass per line; the first alternative that matches at a position wins.
_PATTERN = re.compile(
    r"(?P<code>``[^\n]+?``|`[^`\n]+`)"
    rf"|(?P<url>(?:(?:https?|ftp|file)://|www\.)[^{_END}]+)"
    # The local part may be in any alphabet (пресса@пример.рф), but not in a script written
    # without spaces: there the text runs up to the @ ("请发邮件至info@…").
    r"|(?P<email>(?<![\w.+-])(?:(?![\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af\u0e00-\u0eff])[\w.%+-])+"
    r"@[\w-]+(?:\.[\w-]+)+)"
    rf"|(?P<path>(?<![\w/\\])(?:[A-Za-z]:\\|~/|\.{{1,2}}/|/(?=[^\s/]+/))[^{_END}|]+)"
    r"|(?P<relpath>(?<![\w/.-])[\w.-]+(?:/[\w.-]+){2,}/?)"
    r"|(?P<tag>(?<![\w&#@])[#@][^\W_][\w-]*)"
    rf"|(?P<domain>(?<![\w@/.-])(?:[\w-]+\.)+(?:{_TLDS})(?![\w-])(?:/[^{_END}]*)?)"
    r"|(?P<file>(?<![\w/.-])[\w-]+(?:\.[\w-]+)*\.(?:txt|pdf|docx?|xlsx?|pptx?|csv|tsv|json|xml|ya?ml|html?|"
    r"jpe?g|png|gif|svg|zip|gz|tar|7z|rar|py|js|ts|md|mp3|mp4|mov|exe|sh)(?![\w-]))"
)
# Punctuation a sentence puts after an address, which is not part of it.
_TRAILING = ".,;:!?\"'»”’。，、；：！？…"
_CLOSERS = {")": "(", "]": "[", "}": "{", "）": "（", "】": "【", "》": "《"}
# A quick look for anything the pattern could match (most English lines have none).
_HINT = re.compile(r"[`@#/\\]|www\.|\.[a-z]", re.ASCII)


def find(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int, Reason]]:
    """Addresses and code in ``text[start:end]``: sorted, non-overlapping ``(start, end, reason)``."""
    end = len(text) if end is None else end
    if not _HINT.search(text, start, end):
        return []
    found = []
    for m in _PATTERN.finditer(text, start, end):
        s, e = m.span()
        kind = m.lastgroup
        if kind != "code":
            e = _trim(text, s, e)
        if e - s < 2 or (kind == "tag" and e - s < 3):
            continue
        if kind == "path" and gloss.is_pronunciation(text[s:e]):
            continue  # /ˈbeɪdʒɪŋ/ is IPA between slashes, not a path

        found.append((s, e, Reason.CODE if kind == "code" else Reason.ADDRESS))
    return found


def _trim(text: str, start: int, end: int) -> int:
    """Drop trailing punctuation, and closing brackets that do not close one opened inside."""
    while end > start:
        last = text[end - 1]
        if last in _TRAILING or (
            last in _CLOSERS and text.count(_CLOSERS[last], start, end) < text.count(last, start, end)
        ):
            end -= 1
        else:
            break
    return end
