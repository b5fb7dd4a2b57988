"""Hypothesis strategies for hostile documents, built from runs of scripts rather than from
examples someone thought of: Han, kana, Hangul, Cyrillic, Arabic (with its marks), Hebrew, Thai,
Devanagari (with vowel signs), Latin words, digits, combining marks, ZWJ/ZWNJ and bidi controls,
emoji sequences — joined by CJK and Western punctuation, quotes, brackets, CR, CRLF, U+2028,
addresses and code markers; plus long runs of one character. Used by the property tests and the
fuzz target (``tests/fuzz_pipeline.py``)."""

from __future__ import annotations

import itertools
import json
import re

from hypothesis import strategies as st
from transnorm.render import render

_BOM = b"\xef\xbb\xbf"


def _chars(*ranges: tuple[int, int]) -> st.SearchStrategy[str]:
    return st.one_of(*(st.characters(min_codepoint=a, max_codepoint=b) for a, b in ranges))


def _run(alphabet: st.SearchStrategy[str], max_size: int = 12) -> st.SearchStrategy[str]:
    return st.text(alphabet, min_size=1, max_size=max_size)


LATIN_WORDS = st.sampled_from(
    "the talks said Koltunov président déclaré Regierung sagte gobierno rząd zapowiedział "
    "inflação Łódź Zürich naïve café e\u0301 I A".split()
)
SCRIPT_RUNS = st.one_of(
    _run(_chars((0x4E00, 0x9FFF))),  # Han
    _run(_chars((0x3041, 0x3096), (0x30A1, 0x30FA))),  # kana
    _run(_chars((0xAC00, 0xD7A3))),  # Hangul
    _run(_chars((0x0410, 0x044F), (0x0456, 0x0457), (0x0454, 0x0454), (0x040E, 0x040E))),  # Cyrillic
    _run(_chars((0x0621, 0x064A), (0x064B, 0x0652), (0x067E, 0x06CC))),  # Arabic, marks, Persian
    _run(_chars((0x05D0, 0x05EA))),  # Hebrew
    _run(_chars((0x0E01, 0x0E3A), (0x0E40, 0x0E4E))),  # Thai
    _run(_chars((0x0905, 0x0939), (0x093E, 0x094D))),  # Devanagari with vowel signs
    st.lists(LATIN_WORDS, min_size=1, max_size=6).map(" ".join),
    _run(st.sampled_from("0123456789"), 6),
    _run(_chars((0x0300, 0x036F)), 3),  # combining marks, alone
    st.sampled_from(
        ["\u200d", "\u200c", "\u200e", "\u200f", "\u202a", "\u202e", "\u2066", "\u2069", "\ufeff"]
    ),
    st.sampled_from(["🙂", "👍🏽", "👩\u200d👩\u200d👧", "🇺🇦", "❤\ufe0f", "#️⃣"]),
)
SEPARATORS = st.sampled_from(
    [
        *"，。、；：！？《》「」『』（）【】",
        *",.;:!?\"'«»“”‘’()[]{}",
        " ",
        "  ",
        "\t",
        "\u3000",
        "\n",
        "\r\n",
        "\r",
        "\n\n",
        "\u2028",
        "\u2029",
        "—",
        "…",
        "-",
        "/",
        "\\",
        "@",
        "#",
        "`",
        "```",
        "https://",
        "www.",
        ".com",
        ".jp/",
        "\x00",
        "\x07",
    ]
)
LONG_RUNS = st.builds(
    lambda ch, n: ch * n,
    st.sampled_from(["中", "科尔图诺夫", "а", "word ", "ب", " ", "。", "x"]),
    st.integers(min_value=100, max_value=2000),
)

#: A document: script runs and separators in any order, sometimes with a long run in it.
DOCUMENTS = st.lists(
    st.one_of(SCRIPT_RUNS, SCRIPT_RUNS, SEPARATORS, SEPARATORS, SEPARATORS), max_size=40
).map("".join)
DOCUMENTS_WITH_LONG_RUNS = st.tuples(DOCUMENTS, LONG_RUNS, DOCUMENTS).map("".join)
ANY_DOCUMENT = st.one_of(DOCUMENTS, DOCUMENTS, DOCUMENTS, DOCUMENTS_WITH_LONG_RUNS)


# -- what every document must satisfy -------------------------------------------------------


def rebuilt(doc) -> bytes:
    """The input bytes, from the JSON contract alone."""
    data = doc.to_dict()
    body = "".join(span["source_text"] for span in data["spans"]).encode("utf-8")
    return (_BOM if data["source"]["bom"] else b"") + body


def check(doc, data: bytes) -> None:
    doc.check()
    assert rebuilt(doc) == data
    spans = doc.spans
    assert all(a.source_end == b.source_start for a, b in itertools.pairwise(spans))
    assert all(s.source_end > s.source_start for s in spans)
    # The markers are unambiguous: dropping rm markers and unwrapping the others gives the text.
    marked = render(doc, "text", "inline")
    unwrapped = re.sub(r"⟦rm:[^|]*\|(?:\\.|[^⟧\\])*⟧", "", marked)
    unwrapped = re.sub(r"⟦(?:tr|un):[^|]*\|((?:\\.|[^⟧\\])*)⟧", r"\1", unwrapped)
    assert re.sub(r"\\(.)", r"\1", unwrapped) == doc.text
    json.dumps(doc.to_dict(), ensure_ascii=False).encode("utf-8")
