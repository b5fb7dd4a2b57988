"""The detection evaluation (issue 19): the gates on the real-text set kept in shared/eval, and
the scoring rules the figures rest on."""

from __future__ import annotations

import pytest
from transnorm.devtools.evaluate import (
    GATES,
    Example,
    Result,
    evaluate,
    load_dataset,
    packaged_languages,
    real_text_path,
    score,
)


@pytest.fixture(scope="module")
def real_text(detector_module):
    path = real_text_path()
    if path is None:
        pytest.skip("the real-text evaluation set is not in shared/eval")
    return evaluate(load_dataset(path), detector_module, baseline=False)


@pytest.fixture(scope="module")
def detector_module():
    from transnorm.detect import Detector

    return Detector()


def test_the_real_text_set_meets_the_gates(real_text):
    """Span F1 ≥ 0.99, language accuracy ≥ 0.95 for languages with a package, short-sentence
    recall ≥ 0.98, no English text and no gloss flagged."""
    gates = real_text.gates()["real_text"]
    failed = {k: v for k, v in gates.items() if not v[2]}
    assert not failed, (failed, real_text.mistakes)
    figures = real_text.collections()["real_text"].figures()
    assert figures["gloss_cases"] >= 40 and figures["gloss_cases_flagged"] == 0


def test_the_real_text_set_covers_every_package_and_each_group(real_text):
    collection = real_text.collections()["real_text"]
    assert packaged_languages() <= set(collection.gold_count)
    assert {"paragraph", "short-line", "inline", "wrapped", "neighbours", "glosses", "english"} <= set(
        real_text.groups
    )
    assert collection.short_gold >= 250
    # Languages without a package keep their own name (or their group's).
    assert {"sr", "hr", "mk", "be", "kk", "mr", "nn", "af"} <= set(collection.gold_count)


def test_every_piece_names_its_source():
    path = real_text_path()
    if path is None:
        pytest.skip("the real-text evaluation set is not in shared/eval")
    for example in load_dataset(path):
        assert example.sources, example.id
        for source in example.sources:
            assert source["repo"].count("/") == 1 and len(source["commit"]) == 40 and source["path"]


def test_the_confidence_is_calibrated(real_text):
    """Spans at a confidence c are right about c of the time (within five points, on average)."""
    collection = real_text.collections()["real_text"]
    assert collection.calibration_error("foreign") <= 0.05
    assert collection.calibration_error("en") <= 0.05


def test_gates_are_the_issues():
    assert GATES["real_text"] == {
        "f1": 0.99,
        "packaged_accuracy": 0.95,
        "short_recall": 0.98,
        "english_flagged": 0,
    }


def test_a_split_region_is_not_english_flagged_but_english_is():
    text = "Dies ist ein Satz. Und noch einer.\nThis is English."
    gold = [(0, 34, "de")]
    result = Result()
    score(text, gold, [(0, 18, "de"), (19, 34, "fr"), (35, 51, "de")], result)
    assert result.tp == 1 and result.fp == 2 and result.english_flagged == 1


def test_neighbours_one_package_serves_count_as_right():
    text = "Não é necessário. Você vem?"
    result = Result()
    score(text, [(0, len(text), "pb")], [(0, 17, "pt"), (18, len(text), "pb")], result)
    assert result.tp == 1 and result.fp == 0 and result.lang_correct == 1


def test_short_sentences_are_counted():
    result = Result()
    text = "Hello. Det fremkalder smil."
    score(text, [(7, len(text), "da")], [], result)
    assert result.short_gold == 1 and result.short_found == 0 and result.fn == 1


def test_an_example_knows_its_group():
    assert Example("x", []).group == "self-written"


def test_collections_add_up_their_groups():
    one, two = (
        Result(tp=1, fp=2, english_flagged=1, gloss_docs=1),
        Result(tp=3, english_flagged=2, short_gold=4),
    )
    total = Result()
    total.groups = {"glosses": one, "inline": two}
    (collection,) = total.collections().values()
    assert (collection.tp, collection.fp, collection.english_flagged) == (4, 2, 3)
    assert (collection.gloss_docs, collection.short_gold) == (1, 4)
