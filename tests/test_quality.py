"""The quality gate: translations into English that are not in the Latin script, loop, or copy their
source are rejected, the same through the library, the CLI, /v1 and the LibreTranslate API."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from conftest import ROOT, FakeEngine, run_cli
from hypothesis import assume, given
from hypothesis import strategies as st
from transnorm import Pipeline, Settings
from transnorm.quality import COPIES, LOOPS, NOT_LATIN, copies, loops, rejection
from transnorm.translate import Translation

SHARED = ROOT.parent / "shared" / "models" / "synthetic-test-only"
HAN = re.compile(r"[\u4e00-\u9fff]")


@pytest.mark.parametrize(
    "source, translation, why",
    [
        ("科尔图诺夫。", "Koltunov said 科尔图诺夫", NOT_LATIN),  # Chinese left in
        ("Путин сказал.", "Путин сказал it", NOT_LATIN),  # mostly Cyrillic
        ("他说。", "the the the the the the the the the the", LOOPS),
        ("会谈。", "and the talks and the talks and the talks and the talks", LOOPS),
        (
            "Le gouvernement a annoncé lundi de nouvelles mesures.",
            "Le gouvernement a annoncé lundi de nouvelles mesures.",
            COPIES,
        ),
        ("科尔图诺夫说。", "Koltunov said so.", None),
        ("Emmanuel Macron.", "Emmanuel Macron.", None),  # a name translates to itself
        ("他说。", "talks country country country attention side took than new terms much too", None),
        ("Путин сказал.", "Putin (Путин) said.", None),  # a name kept beside its translation
    ],
)
def test_rejection(source, translation, why):
    assert rejection(source, translation) == why


@given(st.lists(st.sampled_from(["talks", "moscow", "said", "the", "war", "peace"]), min_size=1, max_size=4))
def test_any_group_repeated_over_the_whole_output_is_a_loop(group):
    assert loops(group * 8)
    assert not loops(group)  # too short to say


@given(st.text(alphabet="abcdefghij ", min_size=30, max_size=80))
def test_an_identical_copy_of_four_words_or_more_is_caught(text):
    assume(len(text.split()) >= 4)
    assert copies(text, text)


class Echo(FakeEngine):
    """An untrained model: answers in the source's script."""

    def translate(self, lang, sentences, beam_size=None, target="en", alternatives=0):
        return [Translation(f"{s} the", 0.1, 3) for s in sentences]


def test_library_marks_rejections_and_keeps_the_output(detector):
    doc = Pipeline(Settings(), engine=Echo(), detector=detector)("Intro.\n科尔图诺夫说。\n".encode())
    (span,) = [s for s in doc.spans if s.lang == "zh"]
    assert (span.action, span.reason) == ("untranslated", "bad-translation")
    assert span.rejected_text == "科尔图诺夫说。 the" and span.text == span.source_text
    assert span.to_dict()["rejected_text"] == "科尔图诺夫说。 the"
    assert not doc.complete


def test_http_v1_and_libretranslate_use_the_same_gate(make_app):
    client = make_app(engine=Echo()).test_client()
    r = client.post("/v1/normalize", data="Intro. 科尔图诺夫说。".encode(), content_type="text/plain")
    assert r.status_code == 200 and r.json["complete"] is False
    assert [s["reason"] for s in r.json["spans"] if s["lang"] == "zh"] == ["bad-translation"]
    r = client.post("/translate", json={"q": "科尔图诺夫说。", "source": "auto", "target": "en"})
    assert r.status_code == 200 and r.json["translatedText"] == "科尔图诺夫说。"  # not the rejected output


def _install(name: str, tmp_path: Path) -> Path:
    from transnorm.packages import install_file

    install_file(SHARED / name, tmp_path / name)
    return tmp_path / name


@pytest.mark.skipif(not SHARED.is_dir(), reason="../shared is not on this machine")
def test_shared_han_output_package_translates_nothing_on_seed_003(tmp_path, seeds, detector):
    """Issue 10, done when: the random Han-output package yields no translated span with Chinese."""
    models = _install("translate-zh_en-SYNTHETIC-RANDOM-WEIGHTS.argosmodel", tmp_path)
    doc = Pipeline(Settings(models_dir=models, compute_type="float32"), detector=detector)(seeds["003"])
    assert not [s for s in doc.spans if s.action == "translated" and HAN.search(s.text)]
    assert [s for s in doc.spans if s.reason == "bad-translation"] and not doc.complete


@pytest.mark.skipif(not SHARED.is_dir(), reason="../shared is not on this machine")
def test_shared_english_output_package_translates_seed_003(tmp_path, seeds, detector):
    """... and the English-output package translates the same spans, completely."""
    models = _install("translate-zh_en-0_0-SYNTHETIC-LATIN-OUTPUT.argosmodel", tmp_path)
    doc = Pipeline(Settings(models_dir=models, compute_type="float32"), detector=detector)(seeds["003"])
    chinese = [s for s in doc.spans if s.lang == "zh"]
    assert len(chinese) >= 25 and all(s.action == "translated" for s in chinese) and doc.complete


@pytest.mark.slow
def test_cli_fail_incomplete_exits_5_on_a_rejected_translation(tmp_path, tiny_package):
    """The tiny package answers in English words; a copy of its model that always answers '<unk>'
    replaced by the source (replace_unknowns) gives Chinese back: rejected, exit 5."""
    from transnorm.packages import install_file

    info = install_file(tiny_package, tmp_path / "m")
    vocabulary = info.path / "model" / "target_vocabulary.json"
    pieces = json.loads(vocabulary.read_text())
    # Every target piece is the unknown piece: the model can only answer <unk>, which CTranslate2
    # replaces with the source token it attends to most (argostranslate's replace_unknowns).
    vocabulary.write_text(json.dumps(["<unk>" if p not in ("<s>", "</s>") else p for p in pieces]))
    env = {"TRANSNORM_MODELS_DIR": str(tmp_path / "m"), "TRANSNORM_COMPUTE_TYPE": "float32"}
    r = run_cli(["normalize", "-", "--fail-incomplete"], input="科尔图诺夫说。".encode(), env=env)
    doc = json.loads(r.stdout)
    assert r.returncode == 5, r.stderr
    assert [s["reason"] for s in doc["spans"] if s["lang"] == "zh"] == ["bad-translation"]
