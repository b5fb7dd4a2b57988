"""Glosses (issue 19): names, titles, transliterations and pronunciations that English text gives
in another script are English content: kept verbatim with the reason ``gloss``, never translated,
never counted against ``complete`` (unless the option ``glosses: translate`` asks for it)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from transnorm import Pipeline
from transnorm.devtools.evaluate import real_text_case
from transnorm.document import Action, Reason
from transnorm.engine import NoEngine
from transnorm.options import Options


@pytest.fixture(scope="module")
def pipeline():
    return Pipeline(engine=NoEngine())


def _glosses(doc):
    return [(s.source_text, s.lang) for s in doc.spans if s.reason == Reason.GLOSS]


def _foreign(doc):
    return [s.source_text for s in doc.spans if s.action in (Action.TRANSLATED, Action.UNTRANSLATED)]


@pytest.mark.parametrize(
    "text, gloss, lang",
    [
        ("The Hermitage (Russian: Эрмитаж) holds three million items.", "Эрмитаж", "ru"),
        ("Residents call the dish bibimbap (비빔밥), a bowl of mixed rice.", "비빔밥", "ko"),
        ("The word comes from the Greek noun λόγος and means reason.", "λόγος", "el"),
        ("The temple Kinkaku-ji 金閣寺 burned down in 1950.", "金閣寺", "zt"),  # Han alone: zt by 閣
        ("The manga Naruto (ナルト) ran for fifteen years.", "ナルト", "ja"),
        ("The novel שירה (Shira) was published after his death.", "שירה", "he"),
    ],
)
def test_a_gloss_is_kept_with_its_language(pipeline, text, gloss, lang):
    doc = pipeline(text)
    assert _glosses(doc) == [(gloss, lang)]
    assert _foreign(doc) == [] and doc.complete and doc.text == text


def test_a_pronunciation_is_a_gloss(pipeline):
    text = "Reykjavík (/ˈreɪkjəvɪk/ RAYK-yə-vik) is the capital of Iceland."
    doc = pipeline(text)
    assert [s for s, _ in _glosses(doc)] == ["/ˈreɪkjəvɪk/ RAYK-yə-vik"]
    assert _foreign(doc) == [] and doc.text == text


def test_a_whole_foreign_sentence_in_brackets_is_not_a_gloss(pipeline):
    text = (
        "The handwritten note somebody had left on the apartment door (Мы вернёмся через час.) "
        "was still there."
    )
    doc = pipeline(text)
    assert _glosses(doc) == []
    assert _foreign(doc) == ["Мы вернёмся через час"]


def test_a_foreign_name_the_sentence_uses_is_not_a_gloss(pipeline):
    """An outlet named only in its own script is the name the sentence uses: translated."""
    doc = pipeline("He told 《人民日报》 that the plan would change.")
    assert _glosses(doc) == [] and _foreign(doc) == ["《人民日报》"]


def test_the_option_translates_glosses(pipeline):
    text = "The Hermitage (Russian: Эрмитаж) holds three million items."
    doc = pipeline(text, Options(glosses="translate"))
    assert _glosses(doc) == [] and _foreign(doc) == ["Эрмитаж"]
    assert not doc.complete  # no ru→en package here: the gloss was sent for translation


def test_a_lone_letter_of_another_script_is_a_symbol(pipeline):
    doc = pipeline("The sample's mean μ and its deviation σ were small.")
    assert _foreign(doc) == [] and _glosses(doc) == []


# A gloss label, a native-script word, and an optional romanization, as encyclopedias write them.
_WORDS = {
    "Russian": st.sampled_from(["Москва", "Кремль", "Эрмитаж", "Нева", "Волга"]),
    "Greek": st.sampled_from(["Αθήνα", "λόγος", "θάλασσα", "Κνωσός"]),
    "Chinese": st.sampled_from(["北京", "长城", "故宫", "上海"]),
    "Japanese": st.sampled_from(["東京", "京都", "富士山", "さくら"]),
    "Korean": st.sampled_from(["서울", "한강", "비빔밥"]),
    "Arabic": st.sampled_from(["القاهرة", "دمشق", "بغداد"]),
    "Hebrew": st.sampled_from(["ירושלים", "שלום"]),
    "Hindi": st.sampled_from(["वाराणसी", "गंगा", "दिल्ली"]),
    "Georgian": st.sampled_from(["თბილისი", "ქუთაისი"]),
    "Thai": st.sampled_from(["กรุงเทพ", "เชียงใหม่"]),
}


@st.composite
def glossed_sentences(draw):
    label = draw(st.sampled_from(sorted(_WORDS)))
    word = draw(_WORDS[label])
    name = draw(st.sampled_from(["The city", "The river", "Their museum", "The old palace", "The dish"]))
    tail = draw(st.sampled_from(["attracts many visitors.", "was rebuilt in 1920.", "is shown on the map."]))
    romanized = draw(st.sampled_from(["", ", romanized: Sample", "; lit. 'the place'"]))
    form = draw(st.integers(0, 2))
    if form == 0:
        gloss = f"({label}: {word}{romanized})"
    elif form == 1:
        gloss = f"({word}{romanized})"
    else:
        gloss = f"(from {label} {word})"
    return f"{name} {gloss} {tail}", word


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(glossed_sentences())
def test_english_sentences_keep_their_generated_glosses(pipeline, case):
    text, word = case
    doc = pipeline(text)
    assert doc.text == text  # untouched
    assert _foreign(doc) == [], doc.spans
    assert any(source == word for source, _ in _glosses(doc))
    assert doc.complete


# From the real-text evaluation (shared/eval): English sentences with glosses that today's build
# (45805f7) translated.
@pytest.mark.parametrize(
    "case", ["glosses-en-3", "glosses-en-5", "glosses-en-9", "glosses-en-10", "glosses-en-44"]
)
def test_real_glosses_are_kept(pipeline, case):
    example = real_text_case(case)
    if example is None:
        pytest.skip("the real-text evaluation set is not in shared/eval")
    assert example.gold == [] and example.group == "glosses"
    doc = pipeline(example.text, Options(chrome="keep"))
    assert _foreign(doc) == [] and doc.complete
