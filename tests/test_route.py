"""Routing a piece to translation (transnorm.route): a sentence longer than a passage is planned as
several requests, cut at clause punctuation, else whitespace, else a grapheme boundary, so the
document's time budget can stop between them; every shorter sentence is one request, as before."""

from __future__ import annotations

import itertools
import os

import regex
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import check
from transnorm.plan import Pending, Unit
from transnorm.route import PASSAGE, passages

EXAMPLES = int(os.environ.get("TRANSNORM_PROPERTY_EXAMPLES", "300"))
_RU = "переговоры продолжатся на следующей неделе заявили официальные лица в понедельник"


def _wrapped(words: str, width: int = 70) -> str:
    """``words`` hard-wrapped at ``width`` (a long line that does not end a sentence goes on)."""
    lines, line = [], ""
    for word in words.split():
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    return "\n".join([*lines, line])


def test_a_sentence_far_longer_than_a_passage_is_planned_as_several_requests(fake_pipeline):
    sentence = " ".join([_RU] * 300)  # ~25,000 characters, not one full stop
    data = f"An English opening line.\n{_wrapped(sentence)}\n"
    plan = fake_pipeline.plan(data)
    pending = plan.pending
    assert len(pending) >= len(sentence) // PASSAGE
    assert all(len(p.request.text) <= PASSAGE for p in pending)
    # The requests, with the whitespace kept between them, are the sentence (its hard wraps joined).
    assert " ".join(p.request.text for p in pending) == sentence
    assert all(p.request.text == " ".join(data[p.start : p.end].split()) for p in pending)
    first, last = pending[0].start, pending[-1].end
    between = [u for u in plan.units if not isinstance(u, Pending) and first < u.start < last]
    assert all(not plan.text[u.start : u.end].strip() for u in between)
    assert any(u.reason == "hard-wrap" for u in between if isinstance(u, Unit))
    units = plan.units
    assert units[0].start == 0 and units[-1].end == len(plan.text)
    assert all(a.end == b.start for a, b in itertools.pairwise(units))
    doc = fake_pipeline(data.encode())
    check(doc, data.encode())
    assert [s.action for s in doc.spans if s.lang == "ru"] == ["translated"] * len(pending)


def test_han_without_punctuation_or_spaces_is_cut_between_characters(fake_pipeline):
    sentence = "会谈将于下周继续进行官员们在周一的声明中表示双方同意继续对话" * 100
    data = f"{sentence}\n".encode()
    pending = fake_pipeline.plan(data).pending
    assert len(pending) == -(-len(sentence) // PASSAGE)
    assert "".join(p.request.text for p in pending) == sentence
    assert all(a.end == b.start for a, b in itertools.pairwise(pending))
    check(fake_pipeline(data), data)


def test_a_sentence_as_long_as_a_passage_is_one_request_as_before(fake_pipeline):
    sentence = ("переговоры продолжатся, " * (PASSAGE // 20))[: PASSAGE - 1] + "."
    assert len(sentence) == PASSAGE
    (pending,) = fake_pipeline.plan(f"Intro.\n{sentence}\n").pending
    assert pending.request.text == sentence


def test_clause_punctuation_comes_first_then_whitespace():
    text = "a" * 250 + ", " + "b" * 100 + " " + "c" * 350
    assert passages(text, 0, len(text), 400) == [(0, 251), (252, 352), (353, len(text))]
    numbers = ("1,000,000 " * 60).strip()  # a comma inside a number is not a clause
    assert all(numbers[s:e].endswith("0") for s, e in passages(numbers, 0, len(numbers), 400))


# Letters, clause marks, whitespace and what makes one grapheme of several code points.
_PARTS = "a é e\u0301 中 ， , क्ष ि 👩\u200d💻 🇫🇷 \u0301 한 \u1100\u1161 \u0e33 \r\n".split(" ")
_ALPHABET = st.sampled_from([*_PARTS, " ", "\n", ", "])


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.lists(_ALPHABET, max_size=200).map("".join), st.integers(2, 40))
def test_passages_keep_every_character_and_cut_only_between_graphemes(text, limit):
    text = text.strip()
    got = passages(text, 0, len(text), limit)
    if len(text) <= limit:
        assert got == ([(0, len(text))] if text else [(0, 0)])
        return
    graphemes = [m.span() for m in regex.finditer(r"\X", text)]
    bounds = {0} | {e for _, e in graphemes}
    longest = max(e - s for s, e in graphemes)
    pos = 0
    for s, e in got:
        assert pos <= s < e and not text[pos:s].strip()  # only whitespace left out
        assert text[s:e].strip()
        if longest <= limit:
            assert e - s <= limit and s in bounds and e in bounds
        pos = e
    assert pos == len(text)
